/**
 * Log lines for a person at a terminal: `12:00:01.123 INFO  [part] message key=value ...`, from the
 * JSON line pino made (after redaction, so it shows nothing the JSON would not). A few lines of our
 * own instead of pino-pretty: the agent runs as root, and this needs no dozen more dependencies.
 */
import type { Writable } from 'node:stream';
import type { pino } from 'pino';

const SKIP = new Set(['level', 'time', 'msg', 'name', 'pid', 'hostname', 'part']);
const COLOURS: Record<string, string> = { fatal: '35', error: '31', warn: '33', info: '32', debug: '36', trace: '90' };

export function prettyLine(json: string, colour: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const level = String(entry['level'] ?? '');
  const time = typeof entry['time'] === 'string' ? entry['time'].slice(11, 23) : '';
  const label = level.toUpperCase().padEnd(5);
  const part = entry['part'] === undefined ? '' : ` [${String(entry['part'])}]`;
  const fields = Object.entries(entry).filter(([k]) => !SKIP.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  const shownLevel = colour && COLOURS[level] ? `\u001b[${COLOURS[level]}m${label}\u001b[0m` : label;
  return `${time} ${shownLevel}${part} ${String(entry['msg'] ?? '')}${fields.length > 0 ? ` ${fields.join(' ')}` : ''}`;
}

export function prettyStream(out: Writable & { hasColors?: () => boolean }): pino.DestinationStream {
  const colour = typeof out.hasColors === 'function' && out.hasColors();
  return {
    write(chunk: string): void {
      for (const line of chunk.split('\n')) if (line !== '') out.write(`${prettyLine(line, colour)}\n`);
    },
  };
}
