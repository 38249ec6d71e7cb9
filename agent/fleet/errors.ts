import { AgentError } from '../errors.js';

/** Why a bundle was refused, or enrolment failed (stable codes). */
export const AGENT_FLEET_CODES = {
  BAD_SIGNATURE: 'SIGIL_ERR_BUNDLE_BAD_SIGNATURE',
  WRONG_AGENT: 'SIGIL_ERR_BUNDLE_WRONG_AGENT',
  ROLLBACK: 'SIGIL_ERR_BUNDLE_ROLLBACK',
  MALFORMED: 'SIGIL_ERR_BUNDLE_MALFORMED',
  /** A bundle format newer than this agent reads: refused whole (upgrade the agent). */
  FORMAT: 'SIGIL_ERR_BUNDLE_FORMAT',
  APPLY_FAILED: 'SIGIL_ERR_BUNDLE_APPLY_FAILED',
  /** Applied, but the last-good copy on disk could not be written (disk full, read-only). */
  PERSIST_FAILED: 'SIGIL_ERR_BUNDLE_PERSIST_FAILED',
  ENROLL_FAILED: 'SIGIL_ERR_ENROLL_FAILED',
  NOT_ENROLLED: 'SIGIL_ERR_ENROLL_MISSING',
} as const;

export class BundleRefused extends AgentError {
  override readonly name = 'BundleRefused';
  constructor(code: string, message: string, readonly revision?: number) {
    super(code, message);
  }
}
