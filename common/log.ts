import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/**
 * Field paths that may hold a credential in either program. pino removes them by configuration, so a
 * careless `log.info({ req })` cannot leak a token, a key, a signature or a secret; tests grep the logs.
 */
export const COMMON_REDACTED_PATHS: readonly string[] = [
  'token', '*.token', 'upst', '*.upst', 'privateKey', '*.privateKey', 'signature', '*.signature',
  'secret', '*.secret', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
];

/** A program's root logger (`sigil-agent`, `sigil-controlplane`); parts take `log.child({ part })`. */
export function createProgramLogger(
  name: string,
  redactedPaths: readonly string[],
  options: LoggerOptions = {},
  destination?: pino.DestinationStream,
): Logger {
  const base: LoggerOptions = {
    name,
    level: process.env['SIGIL_LOG_LEVEL'] ?? 'info',
    redact: { paths: [...new Set([...COMMON_REDACTED_PATHS, ...redactedPaths])], remove: true },
    ...options,
  };
  return destination ? pino(base, destination) : pino(base);
}
