import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Field paths that may hold a secret. pino removes them by configuration, so a careless
 * `log.info({ req })` cannot leak the admin token, a JWT-SVID, a client secret or a private key.
 */
export const REDACTED_PATHS = [
  'token', '*.token', 'svid', '*.svid', 'jwt', '*.jwt', 'upst', '*.upst',
  'secret', '*.secret', 'clientSecret', '*.clientSecret', 'privateKey', '*.privateKey', 'd', '*.d',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'adminToken', '*.adminToken', 'password', '*.password',
];

export type { Logger };

/** The control plane's root logger; parts take `log.child({ part: 'store' })`. */
export function createLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const base: LoggerOptions = {
    name: 'sigil-controlplane',
    level: process.env['SIGIL_LOG_LEVEL'] ?? 'info',
    redact: { paths: REDACTED_PATHS, remove: true },
    ...options,
  };
  return destination ? pino(base, destination) : pino(base);
}
