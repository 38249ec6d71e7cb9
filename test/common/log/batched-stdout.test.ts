/**
 * The programs' stdout logger writes in batches (common/log.ts): a line must still reach the reader
 * promptly while the process runs on, and no line may be lost when it ends, also by an uncaught error.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const LOG_MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../common/log.js');

function child(script: string): { lines: () => string[]; firstLineAfterMs: Promise<number>; exited: Promise<number | null> } {
  const started = Date.now();
  const proc = spawn(process.execPath, ['--input-type=module', '-e', `import { createProgramLogger } from ${JSON.stringify(LOG_MODULE)};\nconst log = createProgramLogger('t', []);\n${script}`], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  let resolveFirst: (ms: number) => void;
  const firstLineAfterMs = new Promise<number>((r) => { resolveFirst = r; });
  proc.stdout.on('data', (c: Buffer) => {
    out += c.toString();
    if (out.includes('\n')) resolveFirst(Date.now() - started);
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { lines: () => out.split('\n').filter(Boolean), firstLineAfterMs, exited };
}

test('a line is written while the process runs on, within a fraction of a second', async (t) => {
  // Logs once, then stays alive 5 s: the line must not wait for the exit.
  const c = child(`log.info('one'); setTimeout(() => undefined, 5_000);`);
  const outcome = await Promise.race([c.firstLineAfterMs.then(() => 'line arrived'), c.exited.then(() => 'only at exit')]);
  t.is(outcome, 'line arrived');
  t.is(JSON.parse(c.lines()[0]!).msg, 'one');
  await c.exited;
});

test('every line reaches stdout when the process ends normally or by an uncaught error', async (t) => {
  const normal = child(`for (let i = 0; i < 5000; i++) log.info({ i }, 'line');`);
  t.is(await normal.exited, 0);
  t.is(normal.lines().length, 5000);
  const crashed = child(`for (let i = 0; i < 100; i++) log.info({ i }, 'line'); setImmediate(() => { throw new Error('boom'); });`);
  t.not(await crashed.exited, 0);
  t.is(crashed.lines().length, 100);
});
