import test from 'ava';
import { closeSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProcessFacts } from '../../../agent/attest/facts.js';
import { HashCache } from '../../../agent/attest/hash-cache.js';
import { PasswdNames } from '../../../agent/attest/passwd.js';
import { openScript } from '../../../agent/attest/script-path.js';
import { sha256sum, spawnProcess, tempDir } from './support.js';

const deps = () => ({ hashes: new HashCache(), passwd: new PasswdNames() });
const IDLE = 'setTimeout(() => {}, 30000);\n';

/** A bound script, and an attacker's directory holding a different file at the same relative path. */
function layout(t: Parameters<typeof tempDir>[0]) {
  const dir = tempDir(t);
  const bound = join(dir, 'app', 'bound.js');
  mkdirSync(join(dir, 'app'), { mode: 0o755 });
  writeFileSync(bound, `${IDLE}// the bound script\n`, { mode: 0o644 });
  const evilRoot = join(dir, 'evil');
  mkdirSync(join(evilRoot, dir.slice(1), 'app'), { recursive: true, mode: 0o755 });
  writeFileSync(join(evilRoot, dir.slice(1), 'app', 'bound.js'), `${IDLE}// the attacker's code\n`, { mode: 0o644 });
  return { dir, bound, evilRoot };
}

test('/proc/self/cwd/... names the attacker\'s file to the interpreter: never hashed as the agent\'s file', async (t) => {
  const { bound, evilRoot } = layout(t);
  // The interpreter resolves /proc/self as itself (cwd: evilRoot); the agent would resolve it as the agent.
  const direct = spawnProcess(t, process.execPath, [`/proc/self/cwd${bound}`], { cwd: evilRoot, uid: 65534, gid: 65534 });
  t.is((await readProcessFacts(direct.pid, deps())).script, undefined);
  // The same through a symlink the attacker owns, and through /dev/fd.
  symlinkSync(`/proc/self/cwd${bound}`, join(evilRoot, 'link.js'));
  const linked = spawnProcess(t, process.execPath, ['link.js'], { cwd: evilRoot, uid: 65534, gid: 65534 });
  t.is((await readProcessFacts(linked.pid, deps())).script, undefined);
  t.is(openScript(process.pid, '/dev/stdin'), undefined);
  t.is(openScript(process.pid, '/proc/self/exe'), undefined);
});

test('symlinks, ".." and relative paths resolve as for the process; the path is the file reached', async (t) => {
  const { dir, bound } = layout(t);
  symlinkSync('app', join(dir, 'current')); // a release symlink, relative
  symlinkSync(join(dir, 'app'), join(dir, 'absolute')); // and absolute
  const want = sha256sum(bound);
  for (const [cwd, arg] of [[dir, 'current/bound.js'], [dir, 'absolute/./bound.js'], [join(dir, 'app'), '../current/bound.js'], ['/', bound]] as const) {
    const p = spawnProcess(t, process.execPath, [arg], { cwd });
    const facts = await readProcessFacts(p.pid, deps());
    t.deepEqual(facts.script, { interpreter: 'node', path: bound, sha256: want }, `${cwd} ${arg}`);
  }
});

test('openScript refuses loops, directories and missing files, and opens regular files', (t) => {
  const dir = tempDir(t);
  symlinkSync('b', join(dir, 'a'));
  symlinkSync('a', join(dir, 'b'));
  t.is(openScript(process.pid, join(dir, 'a')), undefined);
  t.is(openScript(process.pid, dir), undefined);
  t.is(openScript(process.pid, join(dir, 'missing.js')), undefined);
  t.is(openScript(process.pid, '/'), undefined);
  writeFileSync(join(dir, 'x.js'), 'x');
  const opened = openScript(process.pid, join(dir, 'x.js'));
  t.truthy(opened);
  if (opened === undefined) return;
  t.is(opened.path, join(dir, 'x.js'));
  t.is(readFileSync(`/proc/self/fd/${opened.fd}`, 'utf8'), 'x');
  closeSync(opened.fd);
});

test('a script that anyone but root could replace or rewrite is no script: the swap race has nothing to win', async (t) => {
  const { dir, bound } = layout(t);
  const want = sha256sum(bound);
  t.is((await readProcessFacts(spawnProcess(t, process.execPath, [bound]).pid, deps())).script?.sha256, want, 'root-only: found');
  // The directory handed to another uid: it could rename a copy of the bound script over the file it ran.
  const { chownSync, chmodSync } = await import('node:fs');
  chownSync(join(dir, 'app'), 65534, 65534);
  t.is((await readProcessFacts(spawnProcess(t, process.execPath, [bound]).pid, deps())).script, undefined, 'directory owned by another uid');
  chownSync(join(dir, 'app'), 0, 0);
  chmodSync(join(dir, 'app'), 0o777);
  t.is((await readProcessFacts(spawnProcess(t, process.execPath, [bound]).pid, deps())).script, undefined, 'world-writable directory');
  chmodSync(join(dir, 'app'), 0o1777);
  t.is((await readProcessFacts(spawnProcess(t, process.execPath, [bound]).pid, deps())).script?.sha256, want, 'sticky root directory, root-owned file: found');
  chmodSync(bound, 0o666);
  t.is((await readProcessFacts(spawnProcess(t, process.execPath, [bound]).pid, deps())).script, undefined, 'world-writable file');
  chmodSync(bound, 0o644);
  chownSync(bound, 65534, 65534);
  t.is((await readProcessFacts(spawnProcess(t, process.execPath, [bound]).pid, deps())).script, undefined, 'file owned by another uid (in a sticky directory it may rename it)');
});
