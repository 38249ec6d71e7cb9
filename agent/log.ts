import { pino, type Logger, type LoggerOptions } from 'pino';

/**
 * Field paths that may hold a credential. pino removes them by configuration, so a careless
 * `log.info({ req })` cannot leak a token, a key or a signature. Tests grep the logs to prove it.
 */
export const REDACTED_PATHS = [
  'token', '*.token', 'upst', '*.upst', 'privateKey', '*.privateKey', 'signature', '*.signature',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'headers["opc-obo-token"]', 'keyId', '*.keyId', 'secret', '*.secret',
];

export type { Logger };

/** The agent's root logger; parts take `log.child({ part: 'signer' })`. */
export function createLogger(options: LoggerOptions = {}, destination?: pino.DestinationStream): Logger {
  const base: LoggerOptions = {
    name: 'sigil-agent',
    level: process.env['SIGIL_LOG_LEVEL'] ?? 'info',
    redact: { paths: REDACTED_PATHS, remove: true },
    ...options,
  };
  return destination ? pino(base, destination) : pino(base);
}
