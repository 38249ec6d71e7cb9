import type { Kind } from '../resources/kinds.js';
import type { CredentialSource, Resource, WorkloadCredential, WorkloadIdentity } from '../resources/types.js';

const COLUMNS: Record<Kind, { headers: string[]; row: (r: Resource) => string[] }> = {
  WorkloadIdentity: {
    headers: ['NAME', 'SPIFFE ID', 'OWNER', 'SELECTORS', 'REVISION'],
    row: (r) => {
      const { spec, metadata } = r as WorkloadIdentity;
      return [metadata.name, spec.spiffeId, spec.owner, String(spec.selectors.length), String(metadata.policyRevision ?? '')];
    },
  },
  CredentialSource: {
    headers: ['NAME', 'KIND', 'REGION', 'DOMAIN', 'REVISION'],
    row: (r) => {
      const { spec, metadata } = r as CredentialSource;
      return [metadata.name, spec.kind, spec.region, spec.domainUrl, String(metadata.policyRevision ?? '')];
    },
  },
  WorkloadCredential: {
    headers: ['NAME', 'WORKLOAD', 'SOURCE', 'DESTINATIONS', 'TTL', 'REVISION'],
    row: (r) => {
      const { spec, metadata } = r as WorkloadCredential;
      return [metadata.name, spec.workload, spec.source, spec.destinations.join(','), String(spec.ttl), String(metadata.policyRevision ?? '')];
    },
  },
};

/** kubectl-like aligned columns. */
export function formatTable(kind: Kind, items: Resource[]): string {
  if (items.length === 0) return `No ${kind} resources found.\n`;
  const { headers, row } = COLUMNS[kind];
  const rows = [headers, ...items.map(row)];
  const widths = headers.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return `${rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('')).join('\n')}\n`;
}
