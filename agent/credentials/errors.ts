/**
 * The credentials part's error catalogue. A credential that cannot be handed out says why, in words
 * the signer can put into its 503 (`no session token for binding "x": <last reason>`).
 */
import { AgentError } from '../errors.js';

export const CREDENTIAL_ERRORS = {
  /** The binding is not (or no longer) on this host. */
  UNKNOWN_BINDING: 'SIGIL_ERR_CREDENTIALS_UNKNOWN_BINDING',
  /** No valid session token right now; the message carries the last exchange failure. */
  UNAVAILABLE: 'SIGIL_ERR_CREDENTIALS_UNAVAILABLE',
  /** The control plane could not be asked (NATS down, no responder, timeout). */
  CONTROL_PLANE_UNREACHABLE: 'SIGIL_ERR_CREDENTIALS_CONTROL_PLANE_UNREACHABLE',
  /** The file fallback cannot write where it was told to (unsafe or unusable directory). */
  FALLBACK_UNSAFE_DIR: 'SIGIL_ERR_CREDENTIALS_FALLBACK_UNSAFE_DIR',
  /** The file fallback configuration is invalid. */
  FALLBACK_BAD_CONFIG: 'SIGIL_ERR_CREDENTIALS_FALLBACK_BAD_CONFIG',
  CREDENTIALS_FALLBACK_WRITE: 'SIGIL_ERR_CREDENTIALS_FALLBACK_WRITE',
} as const;

export class CredentialError extends AgentError {
  override readonly name = 'CredentialError';

  constructor(code: string, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(code, message, options);
  }
}
