import type { pino, LoggerOptions } from 'pino';
import { COMMON_REDACTED_PATHS, createProgramLogger, type Logger } from '../common/log.js';

/** What the agent's logs must never hold, beyond the common paths: OCI's token header and the key id. */
export const REDACTED_PATHS = [...COMMON_REDACTED_PATHS, 'headers["opc-obo-token"]', 'keyId', '*.keyId'];

export type { Logger };

/** The agent's root logger; parts take `log.child({ part: 'signer' })`. */
export function createLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  return createProgramLogger('sigil-agent', REDACTED_PATHS, options, destination);
}
