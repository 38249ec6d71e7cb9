import test from 'ava';
import { parseEnviron, readEnviron } from '../../../agent/attest/proc-environ.js';
import { spawnProcess } from './support.js';

test('parseEnviron splits NUL-separated entries; a last entry without its NUL is incomplete', (t) => {
  t.deepEqual(parseEnviron(Buffer.from('A=1\0B=\0LD_PRELOAD=/x.so\0')), { env: ['A=1', 'B=', 'LD_PRELOAD=/x.so'], complete: true });
  t.deepEqual(parseEnviron(Buffer.from('')), { env: [], complete: true });
  t.deepEqual(parseEnviron(Buffer.from('A=1\0LD_PRE')), { env: ['A=1', 'LD_PRE'], complete: false });
});

test('readEnviron of a live process sees what it was started with, empty values included', (t) => {
  const p = spawnProcess(t, '/bin/sleep', ['30'], { env: { PATH: '/usr/bin:/bin', NODE_OPTIONS: '', SIGIL_TEST: 'x y' } });
  const environ = readEnviron(p.pid);
  t.true(environ.complete);
  t.deepEqual([...environ.env].sort(), ['NODE_OPTIONS=', 'PATH=/usr/bin:/bin', 'SIGIL_TEST=x y']);
});

test('readEnviron of a process that is not there is incomplete, never a throw', (t) => {
  t.deepEqual(readEnviron(2 ** 22 + 999), { env: [], complete: false });
});
