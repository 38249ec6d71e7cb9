import { SigilError } from '../common/errors.js';

/**
 * The control plane's error base: a stable `code` (SIGIL_ERR_<AREA>_<WHAT>) and, where the error is
 * answered over HTTP, the status to answer with. Each folder's `errors.ts` is the catalogue of its codes.
 */
export class ControlPlaneError extends SigilError {
  override readonly name: string = 'ControlPlaneError';
}

/** NATS refused the control plane's connection (names nats.credsFile: unset, or creds it does not accept). */
export const NATS_AUTH_FAILED = 'SIGIL_ERR_NATS_AUTHORIZATION';
