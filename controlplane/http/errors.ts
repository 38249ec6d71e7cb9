import { ControlPlaneError } from '../errors.js';

/** Stable codes of this folder's errors (SIGIL_ERR_<AREA>_<WHAT>). */
export const HTTP_CODES = {
  API_NOT_FOUND: 'SIGIL_ERR_API_NOT_FOUND',
  API_TOO_LARGE: 'SIGIL_ERR_API_TOO_LARGE',
  API_UNAUTHORIZED: 'SIGIL_ERR_API_UNAUTHORIZED',
  /** A viewer token on a write endpoint. */
  API_FORBIDDEN: 'SIGIL_ERR_API_FORBIDDEN',
  API_UNKNOWN_KIND: 'SIGIL_ERR_API_UNKNOWN_KIND',
  ACCESS_BAD_REQUEST: 'SIGIL_ERR_ACCESS_BAD_REQUEST',
  AUTH_TOKEN_FILE: 'SIGIL_ERR_AUTH_TOKEN_FILE',
  INTERNAL: 'SIGIL_ERR_INTERNAL',
  RESOURCE_NOT_FOUND: 'SIGIL_ERR_RESOURCE_NOT_FOUND',
} as const;

export function accessError(code: string, message: string, status: number): ControlPlaneError {
  return new ControlPlaneError(code, message, { status });
}
