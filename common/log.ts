import { pino, type Logger, type LoggerOptions } from 'pino';
import { COMMON_CODES, SigilError } from './errors.js';
import { prettyStream } from './log-pretty.js';

export type { Logger };

/**
 * Field paths that may hold a credential in either program. pino removes them by configuration, so a
 * careless `log.info({ req })` cannot leak a token, a key, a signature or a secret; tests grep the logs.
 */
export const COMMON_REDACTED_PATHS: readonly string[] = [
  'token', '*.token', 'upst', '*.upst', 'privateKey', '*.privateKey', 'signature', '*.signature',
  'secret', '*.secret', 'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A log level that is not one: names where it came from and the allowed values; a usage error (exit 2). */
export class LogLevelError extends SigilError {
  override readonly name = 'LogLevelError';
  readonly exitCode = 2;
}

/** `level`, if it is a level; otherwise a LogLevelError naming `field` (`--log-level`, `<file>: log.level`). */
export function checkLogLevel(level: string, field: string): string {
  if ((LOG_LEVELS as readonly string[]).includes(level)) return level;
  throw new LogLevelError(COMMON_CODES.CONFIG, `${field}: "${level}" is not a log level (use one of ${LOG_LEVELS.join(', ')})`);
}

/** The level a program runs at: flag > SIGIL_LOG_LEVEL > config file (`where`: its name) > info; each checked. */
export function resolveLogLevel(flag: string | undefined, fromFile: string | undefined, where: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag !== undefined) return checkLogLevel(flag, '--log-level');
  const fromEnv = env['SIGIL_LOG_LEVEL'];
  if (fromEnv !== undefined && fromEnv !== '') return checkLogLevel(fromEnv, 'SIGIL_LOG_LEVEL');
  if (fromFile !== undefined) return checkLogLevel(fromFile, `${where}: log.level`);
  return 'info';
}

/**
 * stdout (journald under systemd), written once per event-loop turn: the signer logs an audit line per
 * request, and a synchronous write per line was a tenth of the agent's event loop under load. Lines
 * logged in one turn (several requests finishing in one poll) go out in one write at its end, or as
 * soon as 8 KiB are pending; pino writes out what is left when the process exits, also on an uncaught
 * error. A line is never held past the turn it was logged in, so readers (journald, tests) see it as
 * promptly as before.
 */
function batchedStdout(): pino.DestinationStream {
  const out = pino.destination({ dest: 1, sync: true, minLength: 8 * 1024 });
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    out.flushSync();
  };
  return {
    write: (line: string) => {
      out.write(line);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
  };
}

/**
 * A program's root logger (`sigil-agent`, `sigil-controlplane`); parts take `log.child({ part })`.
 * Lines carry level names and ISO times; JSON (one object a line) unless stdout is a terminal, where a
 * person reads them (log-pretty.ts). An explicit `destination` always gets JSON.
 */
export function createProgramLogger(
  name: string,
  redactedPaths: readonly string[],
  options: LoggerOptions = {},
  destination?: pino.DestinationStream,
): Logger {
  const base: LoggerOptions = {
    name,
    level: options.level ?? resolveLogLevel(undefined, undefined, ''),
    redact: { paths: [...new Set([...COMMON_REDACTED_PATHS, ...redactedPaths])], remove: true },
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...options,
  };
  if (destination) return pino(base, destination);
  return process.stdout.isTTY ? pino(base, prettyStream(process.stdout)) : pino(base, batchedStdout());
}
