import { SigilError } from '../common/errors.js';

/**
 * The control plane's error base: a stable `code` (SIGIL_ERR_<AREA>_<WHAT>) and, where the error is
 * answered over HTTP, the status to answer with. Each folder's `errors.ts` is the catalogue of its codes.
 */
export class ControlPlaneError extends SigilError {
  override readonly name: string = 'ControlPlaneError';
}

/** Codes of the control plane's own top-level parts (server.ts, nats-connection.ts). */
export const CONTROLPLANE_CODES = {
  /** Stopped before any NATS server of the cluster answered. */
  NATS_UNAVAILABLE: 'SIGIL_ERR_NATS_UNAVAILABLE',
  /** NATS refused the control plane's connection (names nats.credsFile: unset, or creds it does not accept). */
  NATS_AUTHORIZATION: 'SIGIL_ERR_NATS_AUTHORIZATION',
} as const;
