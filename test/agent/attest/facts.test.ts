import test from 'ava';
import { copyFileSync, chmodSync, renameSync, unlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { readProcessFacts } from '../../../agent/attest/facts.js';
import { HashCache } from '../../../agent/attest/hash-cache.js';
import { PasswdNames } from '../../../agent/attest/passwd.js';
import { sha256sum, spawnProcess, tempDir } from './support.js';

const deps = () => ({ hashes: new HashCache(), passwd: new PasswdNames() });

test('facts of a running program: sha256 equals sha256sum, path, ids, user, start time', async (t) => {
  const p = spawnProcess(t, '/bin/sleep', ['30']);
  const facts = await readProcessFacts(p.pid, deps());
  const exe = execFileSync('readlink', ['-f', '/bin/sleep'], { encoding: 'utf8' }).trim();
  t.is(facts.exePath, exe);
  t.is(facts.sha256, sha256sum(exe));
  t.false(facts.exeDeleted);
  t.is(facts.uid, process.geteuid!());
  t.is(facts.gid, process.getegid!());
  t.is(facts.user, 'root');
  t.is(facts.startTimeTicks * 10_000_000n, p.startTime);
  t.is(facts.script, undefined);
});

test('a process under uid/gid 65534 reports them and the passwd name', async (t) => {
  const p = spawnProcess(t, '/bin/sleep', ['30'], { uid: 65534, gid: 65534 });
  const facts = await readProcessFacts(p.pid, deps());
  t.is(facts.uid, 65534);
  t.is(facts.gid, 65534);
  t.is(facts.realUid, 65534);
  const expected = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === '65534')?.split(':')[0];
  t.truthy(expected);
  t.is(facts.user, expected);
});

test('a binary overwritten and deleted after exec is attested by what ran', async (t) => {
  const dir = tempDir(t);
  const bin = join(dir, 'sleepy');
  copyFileSync('/bin/sleep', bin);
  chmodSync(bin, 0o755);
  const original = sha256sum(bin);
  const p = spawnProcess(t, bin, ['30']);
  // A running executable cannot be written (ETXTBSY): replace it by rename, as installers do, then delete.
  writeFileSync(join(dir, 'new'), '#!/bin/sh\necho replaced\n', { mode: 0o755 });
  renameSync(join(dir, 'new'), bin);
  t.not(sha256sum(bin), original);
  unlinkSync(bin);
  const facts = await readProcessFacts(p.pid, deps());
  t.is(facts.sha256, original);
  t.true(facts.exeDeleted);
  t.is(facts.exePath, bin);
});

test('a shell script: interpreter hash and script hash, relative path resolved against the cwd', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'job.sh'), 'read _\n'); // a builtin: no child process to orphan
  const p = spawnProcess(t, '/bin/sh', ['job.sh'], { cwd: dir, stdio: ['pipe', 'ignore', 'ignore'] });
  const facts = await readProcessFacts(p.pid, deps());
  t.is(facts.sha256, sha256sum(facts.exePath));
  t.deepEqual(facts.script, { interpreter: 'shell', path: join(dir, 'job.sh'), sha256: sha256sum(join(dir, 'job.sh')) });
});

test('a perl script given by absolute path', async (t) => {
  const dir = tempDir(t);
  const script = join(dir, 'tool.pl');
  writeFileSync(script, 'sleep 30;\n');
  const p = spawnProcess(t, '/usr/bin/perl', ['-w', script]);
  const facts = await readProcessFacts(p.pid, deps());
  t.is(facts.script?.interpreter, 'perl');
  t.is(facts.script?.path, script);
  t.is(facts.script?.sha256, sha256sum(script));
});

test('inline code (sh -c) has no script; a FIFO named as script does not hang attestation', async (t) => {
  const inline = spawnProcess(t, '/bin/sh', ['-c', 'read _; :'], { stdio: ['pipe', 'ignore', 'ignore'] });
  t.is((await readProcessFacts(inline.pid, deps())).script, undefined);

  const dir = tempDir(t);
  const fifo = join(dir, 'fifo.sh');
  execFileSync('mkfifo', [fifo]);
  const blocked = spawnProcess(t, '/bin/sh', [fifo]); // sh itself blocks opening it
  const facts = await readProcessFacts(blocked.pid, deps());
  t.is(facts.script, undefined);
  t.is(facts.sha256, sha256sum(facts.exePath));
});

test('exe path with " (deleted)" in a live file name is not mistaken for deletion', async (t) => {
  const dir = tempDir(t);
  const odd = join(dir, 'tool (deleted)');
  copyFileSync('/bin/sleep', odd);
  chmodSync(odd, 0o755);
  const p = spawnProcess(t, odd, ['30']);
  const facts = await readProcessFacts(p.pid, deps());
  t.false(facts.exeDeleted);
  t.is(facts.exePath, odd);
});

test('a process that is gone is GONE', async (t) => {
  const p = spawnProcess(t, '/bin/sleep', ['30']);
  await p.exit();
  await t.throwsAsync(readProcessFacts(p.pid, deps()), { code: 'SIGIL_ERR_ATTEST_GONE' });
});

test('code-injection variables of the environment at start are facts; an ordinary environment has none', async (t) => {
  const env = { PATH: '/usr/bin:/bin', NODE_OPTIONS: '', PYTHONPATH: '/nonexistent', LANG: 'C' };
  const injected = await readProcessFacts(spawnProcess(t, '/bin/sleep', ['30'], { env }).pid, deps());
  t.deepEqual(injected.injectionEnv, ['NODE_OPTIONS', 'PYTHONPATH']);
  t.true(injected.envComplete);
  const plain = await readProcessFacts(spawnProcess(t, '/bin/sleep', ['30'], { env: { PATH: '/usr/bin:/bin' } }).pid, deps());
  t.deepEqual(plain.injectionEnv, []);
  t.true(plain.envComplete);
});

test('a node script whose option value breaks its rule (--disable-warning bound.js evil.js) has no script', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'bound.js'), 'setTimeout(() => {}, 30000);\n');
  writeFileSync(join(dir, 'evil.js'), 'setTimeout(() => {}, 30000);\n');
  const ok = spawnProcess(t, process.execPath, ['--enable-source-maps', 'bound.js'], { cwd: dir });
  t.is((await readProcessFacts(ok.pid, deps())).script?.sha256, sha256sum(join(dir, 'bound.js')));
  const attack = spawnProcess(t, process.execPath, ['--disable-warning', 'bound.js', 'evil.js'], { cwd: dir });
  t.is((await readProcessFacts(attack.pid, deps())).script, undefined);
});
