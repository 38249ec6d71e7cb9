/** The audit trail agents ship: the bounded JetStream stream and its reader. */
export { AuditStream, AUDIT_STREAM, type AuditRetention, type AuditRow, type RecentAudit } from './audit-stream.js';
