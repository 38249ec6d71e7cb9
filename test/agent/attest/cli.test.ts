import test from 'ava';
import { execFile } from 'node:child_process';
import { copyFileSync, chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { binding, sha256sum, spawnProcess, tempDir } from './support.js';

const MAIN = fileURLToPath(new URL('../../../agent/cli/main.js', import.meta.url));
const run = promisify(execFile);

async function attest(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [MAIN, 'attest', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('attest <pid> --json: sha256 equals sha256sum of the executable, selectors are listed', async (t) => {
  const dir = tempDir(t);
  const bin = join(dir, 'reporter');
  copyFileSync('/bin/sleep', bin);
  chmodSync(bin, 0o755);
  const p = spawnProcess(t, bin, ['30'], { uid: 65534, gid: 65534 });
  const { code, stdout } = await attest([String(p.pid), '--json']);
  t.is(code, 0);
  const out = JSON.parse(stdout) as { facts: Record<string, unknown>; selectors: string[]; binding?: unknown };
  t.is(out.facts['sha256'], sha256sum(bin));
  t.is(out.facts['exePath'], bin);
  t.is(out.facts['uid'], 65534);
  t.is(out.facts['systemdUnit'], null);
  t.true(out.selectors.includes(`unix:sha256:${sha256sum(bin)}`));
  t.true(out.selectors.includes('unix:uid:65534'));
  t.is(out.binding, undefined);
});

test('attest --bindings shows the binding the process would get', async (t) => {
  const dir = tempDir(t);
  const p = spawnProcess(t, '/bin/sleep', ['30']);
  const file = join(dir, 'bundle.json');
  writeFileSync(file, JSON.stringify({
    agentId: 'a1', revision: 3, issuedAt: new Date().toISOString(),
    bindings: [binding('b-os', 'sleeper', [`unix:sha256:${sha256sum('/bin/sleep')}`, 'unix:uid:0'])],
  }));
  const json = await attest([String(p.pid), '--json', '--bindings', file]);
  t.is(json.code, 0);
  t.like(JSON.parse(json.stdout).binding, { state: 'bound', workload: 'sleeper', spiffeId: 'spiffe://example.org/sleeper' });
  const text = await attest([String(p.pid), '--bindings', file]);
  t.regex(text.stdout, /binding: bound to workload sleeper/);
  t.regex(text.stdout, new RegExp(`sha256\\s+${sha256sum('/bin/sleep')}`));
});

test('attest: usage errors exit 2, a missing process exits 1 with the error code', async (t) => {
  t.is((await attest([])).code, 2);
  t.is((await attest(['abc'])).code, 2);
  const gone = await attest([String(2 ** 22 + 999)]);
  t.is(gone.code, 1);
  t.regex(gone.stderr, /SIGIL_ERR_ATTEST_GONE/);
});

test('attest --bindings: an injection variable the identity does not allow is named, and env:allow: binds', async (t) => {
  const dir = tempDir(t);
  const p = spawnProcess(t, '/bin/sleep', ['30'], { env: { PATH: '/usr/bin:/bin', LD_LIBRARY_PATH: '/nonexistent' } });
  const selectors = [`unix:sha256:${sha256sum('/bin/sleep')}`, 'unix:uid:0'];
  const strict = join(dir, 'strict.json');
  writeFileSync(strict, JSON.stringify([binding('b-os', 'sleeper', selectors)]));
  const json = await attest([String(p.pid), '--json', '--bindings', strict]);
  t.is(json.code, 0);
  const out = JSON.parse(json.stdout) as { facts: Record<string, unknown>; binding: unknown };
  t.deepEqual(out.facts['injectionEnv'], ['LD_LIBRARY_PATH']);
  t.deepEqual(out.binding, { state: 'unbound', reason: 'injection-env', workload: 'sleeper', variables: ['LD_LIBRARY_PATH'], envComplete: true });
  const text = await attest([String(p.pid), '--bindings', strict]);
  t.regex(text.stdout, /binding: unbound \(injection-env: workload sleeper does not allow LD_LIBRARY_PATH/);
  t.regex(text.stdout, /injection\s+LD_LIBRARY_PATH/);

  const allowing = join(dir, 'allowing.json');
  writeFileSync(allowing, JSON.stringify([binding('b-os', 'sleeper', [...selectors, 'env:allow:LD_LIBRARY_PATH'])]));
  t.like(JSON.parse((await attest([String(p.pid), '--json', '--bindings', allowing])).stdout).binding, { state: 'bound', workload: 'sleeper' });
});

test('attest --bindings explains the egress lock: which locked hosts this process is refused, and how; reads the saved bundle.json', async (t) => {
  const dir = tempDir(t);
  const p = spawnProcess(t, '/bin/sleep', ['30']);
  const locked = { ...binding('b-locked', 'other', ['unix:uid:4242']), destinations: ['objectstorage.us-ashburn-1.oraclecloud.com'], unboundAccess: 'deny' };
  const payload = { agentId: 'a1', revision: 4, issuedAt: new Date().toISOString(), bindings: [locked] };
  // As the agent saves it: {"jws": header.payload.signature}.
  const file = join(dir, 'bundle.json');
  writeFileSync(file, JSON.stringify({ jws: `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.sig`, appliedAt: new Date().toISOString() }));
  const json = await attest([String(p.pid), '--json', '--bindings', file]);
  t.is(json.code, 0, json.stderr);
  t.deepEqual(JSON.parse(json.stdout).egress, { refused: ['objectstorage.us-ashburn-1.oraclecloud.com'], lockedBy: ['b-locked'], how: 'connect refused by the kernel (EPERM)' });
  const text = await attest([String(p.pid), '--bindings', file]);
  t.regex(text.stdout, /egress lock \(unboundAccess: deny in b-locked\):\n  refused: objectstorage\.us-ashburn-1\.oraclecloud\.com\n  how: connect refused by the kernel \(EPERM\)/);
});
