import type { pino, LoggerOptions } from 'pino';
import { COMMON_REDACTED_PATHS, createProgramLogger, type Logger } from '../common/log.js';

/** What the control plane's logs must never hold, beyond the common paths: SVIDs, client secrets, JWK `d`, the admin token. */
export const REDACTED_PATHS = [
  ...COMMON_REDACTED_PATHS,
  'svid', '*.svid', 'jwt', '*.jwt', 'clientSecret', '*.clientSecret', 'd', '*.d',
  'adminToken', '*.adminToken', 'password', '*.password',
];

export type { Logger };

/** The control plane's root logger; parts take `log.child({ part: 'store' })`. */
export function createLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  return createProgramLogger('sigil-controlplane', REDACTED_PATHS, options, destination);
}
