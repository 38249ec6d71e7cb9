import { ControlPlaneError } from '../errors.js';

/** Fleet error codes (SIGIL_ERR_FLEET_*), with the HTTP status where they reach the API. */
export const FLEET_CODES = {
  TOKEN_INVALID: 'SIGIL_ERR_FLEET_TOKEN_INVALID',
  TOKEN_USED: 'SIGIL_ERR_FLEET_TOKEN_USED',
  TOKEN_EXPIRED: 'SIGIL_ERR_FLEET_TOKEN_EXPIRED',
  BAD_REQUEST: 'SIGIL_ERR_FLEET_BAD_REQUEST',
  AGENT_NOT_FOUND: 'SIGIL_ERR_FLEET_AGENT_NOT_FOUND',
  NOT_ENABLED: 'SIGIL_ERR_FLEET_NOT_ENABLED',
  NO_BUNDLE: 'SIGIL_ERR_FLEET_NO_BUNDLE',
  API_METHOD: 'SIGIL_ERR_API_METHOD',
  FLEET_NATS_UPDATE: 'SIGIL_ERR_FLEET_NATS_UPDATE',
} as const;

export function fleetError(code: string, message: string, status: number, cause?: unknown): ControlPlaneError {
  return new ControlPlaneError(code, message, { status, ...(cause === undefined ? {} : { cause }) });
}
