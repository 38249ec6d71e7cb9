/**
 * Errors of the credential exchange. Codes are the ones the agent receives (EXCHANGE_CODES), so a
 * failure reads the same in the control plane's log, on the wire and in the signer's 503.
 * Messages never hold the client secret, the JWT-SVID or a session token.
 */
import { ControlPlaneError } from '../errors.js';
import { EXCHANGE_CODES } from '../../protocol/exchange.js';

export type ExchangeErrorCode = (typeof EXCHANGE_CODES)[keyof typeof EXCHANGE_CODES];

export class ExchangeError extends ControlPlaneError {
  override readonly name = 'ExchangeError';

  constructor(code: ExchangeErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}

/** Removes every occurrence of the given secrets from text that came from outside (e.g. an error body). */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length >= 4) out = out.split(secret).join('[redacted]');
  }
  return out;
}
