/**
 * The signer's error catalogue. Errors that reach a client become OCI-shaped JSON bodies
 * (`{"code","message"}`) so the SDKs and the CLI show them like any service error.
 */
import { AgentError } from '../errors.js';

/** Stable codes: the SIGIL code for logs and tests, the OCI-style code and status for the client. */
export const SIGNER_ERRORS = {
  NOT_ALLOWED: { code: 'SIGIL_ERR_SIGNER_NOT_ALLOWED', ociCode: 'NotAllowed', status: 403 },
  /** The kernel tainted the process after its connection was attributed (ptrace, PR_SET_MM, setuid ...). */
  IDENTITY_LOST: { code: 'SIGIL_ERR_SIGNER_IDENTITY_LOST', ociCode: 'NotAllowed', status: 403 },
  MISDIRECTED: { code: 'SIGIL_ERR_SIGNER_MISDIRECTED', ociCode: 'Misdirected', status: 421 },
  BODY_TOO_LARGE: { code: 'SIGIL_ERR_SIGNER_BODY_TOO_LARGE', ociCode: 'PayloadTooLarge', status: 413 },
  BAD_REQUEST: { code: 'SIGIL_ERR_SIGNER_BAD_REQUEST', ociCode: 'InvalidParameter', status: 400 },
  LENGTH_REQUIRED: { code: 'SIGIL_ERR_SIGNER_LENGTH_REQUIRED', ociCode: 'LengthRequired', status: 411 },
  TOO_MANY_HEADERS: { code: 'SIGIL_ERR_SIGNER_TOO_MANY_HEADERS', ociCode: 'RequestHeaderFieldsTooLarge', status: 431 },
  TOO_MANY_REQUESTS: { code: 'SIGIL_ERR_SIGNER_TOO_MANY_REQUESTS', ociCode: 'TooManyRequests', status: 429 },
  UPSTREAM_FAILED: { code: 'SIGIL_ERR_SIGNER_UPSTREAM_FAILED', ociCode: 'UpstreamFailed', status: 502 },
  NO_CREDENTIAL: { code: 'SIGIL_ERR_SIGNER_NO_CREDENTIAL', ociCode: 'CredentialUnavailable', status: 503 },
} as const;

export type SignerErrorKind = keyof typeof SIGNER_ERRORS;

/** An error the signer answers a request with. */
export class SignerError extends AgentError {
  override readonly name = 'SignerError';
  readonly ociCode: string;

  constructor(kind: SignerErrorKind, message: string, options: { cause?: unknown } = {}) {
    const def = SIGNER_ERRORS[kind];
    super(def.code, message, { status: def.status, ...options });
    this.ociCode = def.ociCode;
  }

  /** The response body: OCI's error shape; the message says what to fix and carries our code. */
  toJSON(): { code: string; message: string } {
    return { code: this.ociCode, message: `${this.message} (${this.code})` };
  }
}

/** Codes for failures that close a connection before any HTTP exchange (logged, never sent). */
export const CONNECTION_ERRORS = {
  UNATTRIBUTED: 'SIGIL_ERR_SIGNER_UNATTRIBUTED',
  /** Over limits.maxConnectionsPerProcess or limits.maxConnections: closed before TLS. */
  TOO_MANY_CONNECTIONS: 'SIGIL_ERR_SIGNER_TOO_MANY_CONNECTIONS',
  HANDSHAKE_REFUSED: 'SIGIL_ERR_SIGNER_HANDSHAKE_REFUSED',
  WORKLOAD_UNRESOLVED: 'SIGIL_ERR_SIGNER_WORKLOAD_UNRESOLVED',
  /** The resolver's verdict "bound to nothing" (a pending process that attested unbound). */
  UNBOUND: 'SIGIL_ERR_ATTEST_UNBOUND',
  /** An unbound process's connection to an egress-locked destination (`unboundAccess: deny`). */
  UNBOUND_DENIED: 'SIGIL_ERR_SIGNER_UNBOUND_DENIED',
  /** Something else listened on the signer's address at start-up; it was ended (logged with who). */
  ADDRESS_RECLAIMED: 'SIGIL_ERR_SIGNER_ADDRESS_RECLAIMED',
  /** The signer's address is held and could not be taken back. */
  ADDRESS_IN_USE: 'SIGIL_ERR_SIGNER_ADDRESS_IN_USE',
  CA_KEY_INSECURE: 'SIGIL_ERR_SIGNER_CA_KEY_INSECURE',
  CA_INVALID: 'SIGIL_ERR_SIGNER_CA_INVALID',
} as const;
