import { ControlPlaneError } from '../errors.js';

/** Admin API access codes (SIGIL_ERR_API_... and SIGIL_ERR_ACCESS_...), with the HTTP status they answer with. */
export const ACCESS_CODES = {
  UNAUTHORIZED: 'SIGIL_ERR_API_UNAUTHORIZED',
  /** A viewer token on a write endpoint. */
  FORBIDDEN: 'SIGIL_ERR_API_FORBIDDEN',
  BAD_REQUEST: 'SIGIL_ERR_ACCESS_BAD_REQUEST',
} as const;

export function accessError(code: string, message: string, status: number): ControlPlaneError {
  return new ControlPlaneError(code, message, { status });
}
