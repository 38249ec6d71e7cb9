/**
 * Impersonation against the real running system (issue 10): the kernel steering, the attestor and
 * the signer of a real `sigil-agent run`, the official OCI SDK as the client, and the verifying
 * Object Storage stand-in as the judge of who signed what.
 *
 * The attribution rule tested here: a connection belongs to the process image that opened it. The
 * kernel decides at connect() from the process map at that moment (bound or pending → steered to the
 * signer; unbound → left alone, so it reaches the service unsigned), and the signer attests that
 * process (tgid + kernel start time) when it accepts the connection. An exec afterwards does not
 * move a connection already made; only connections the new image opens are judged by the new image.
 */
import test from 'ava';
import { settledLines } from '../helpers/agent-output.js';
import { appendFile, chmod, copyFile, realpath, rename } from 'node:fs/promises';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { AgentError } from '../../agent/errors.js';
import { Attestor } from '../../agent/attest/index.js';
import { nsFromTicks, readProcStat } from '../../agent/attest/proc-stat.js';
import type { ProcessStateEntry } from '../../agent/attest/types.js';
import { bpfUnavailableReason, kernelTest, requireBpf } from '../helpers/kernel.js';
import { AGENT_MAIN, OS_HOST, PRINCIPAL, REGION, startStack, type Stack } from '../e2e/stack.js';
import { runWorkload } from '../e2e/workload-runner.js';
import { LEDGER_ENV } from '../secrets/ledger.js';
import { NOBODY, applyAndWait, captureEnviron, identityDocs, nodeCopy, publicTempDir, scanStack, sha256Of } from './stack-support.js';

const execFileP = promisify(execFile);
const PATH_ID = 'spiffe://demo.sigil.dev/hardening/by-path';
const UID_ID = 'spiffe://demo.sigil.dev/hardening/by-uid';
const EXEC_ID = 'spiffe://demo.sigil.dev/hardening/exec-target';

let stack: Stack | undefined;
let work: Awaited<ReturnType<typeof publicTempDir>> | undefined;
let ledger = '';
const environs: string[] = [];
const apps: Record<string, { file: string; sha256: string }> = {};

test.before(async () => {
  work = await publicTempDir('impersonation');
  ledger = path.join(work.dir, 'secrets.ledger');
  process.env[LEDGER_ENV] = ledger;
  if (bpfUnavailableReason !== undefined) return;
  apps['path'] = await nodeCopy(work.dir, 'billing-app', 1);
  apps['uid'] = await nodeCopy(work.dir, 'uid-app', 2);
  apps['exec'] = await nodeCopy(work.dir, 'exec-target', 3);
  stack = await startStack({ heartbeatMs: 500 });
  await applyAndWait(stack, [
    ...identityDocs('by-path', PATH_ID, [`unix:sha256:${apps['path']!.sha256}`, `unix:path:${apps['path']!.file}`]),
    ...identityDocs('by-uid', UID_ID, [`unix:sha256:${apps['uid']!.sha256}`, `unix:uid:${NOBODY}`]),
    ...identityDocs('exec-target', EXEC_ID, [`unix:sha256:${apps['exec']!.sha256}`]),
  ]);
});
test.after.always(async () => {
  await stack?.stop();
  await work?.cleanup();
});

/**
 * Runs the SDK workload and keeps its environment for the secrets scan. A workload running as
 * `nobody` gets its own placeholder OCI config (the stack's is root's, mode 0600).
 */
async function sdk(s: Stack, opts: { node?: string; tag: string; uid?: number }) {
  const exe = opts.node ?? process.execPath;
  let captured: Promise<boolean> | undefined;
  const into = path.join(work!.dir, `environ-${opts.tag}-${environs.length}`);
  const onSpawn = (pid: number): void => { captured = captureEnviron(pid, exe, into); };
  const run = opts.uid === undefined
    ? await s.runSdkWorkload({ ...opts, onSpawn })
    : await runWorkload({
      cgroup: s.workloadCgroup,
      hosts: { [OS_HOST]: s.objectStorage.address },
      command: exe,
      args: [s.workloadScript, '--config', await nobodyConfig(), '--region', REGION, '--tag', opts.tag],
      env: { NODE_EXTRA_CA_CERTS: s.caBundle },
      uid: opts.uid,
      onSpawn,
    });
  if (await captured) environs.push(into);
  return run;
}

let nobodyConfigFile: string | undefined;
async function nobodyConfig(): Promise<string> {
  if (nobodyConfigFile) return nobodyConfigFile;
  const dir = path.join(work!.dir, 'oci-nobody');
  await execFileP(process.execPath, [AGENT_MAIN, 'oci-config', '--dir', dir, '--region', REGION]);
  await execFileP('chown', ['-R', `${NOBODY}:${NOBODY}`, dir]);
  nobodyConfigFile = path.join(dir, 'config');
  return nobodyConfigFile;
}

/** An impostor is never signed for: its calls fail (401 from the service, or closed by the signer). */
function refusedEverywhere(t: import('ava').ExecutionContext, run: { lines: Array<Record<string, unknown>>; stdout: string; stderr: string }): void {
  t.is(run.lines.length, 5, run.stdout + run.stderr);
  t.true(run.lines.every((l) => l['ok'] === false && (l['status'] === undefined || l['status'] === 401)), run.stdout);
  t.true(run.lines.some((l) => l['status'] === 401), run.stdout);
}

function since(s: Stack, before: number) {
  return s.objectStorage.requests.slice(before);
}

kernelTest.serial('a different binary at the bound path, same name and size, is not bound: 401, nothing signed', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const app = apps['path']!;
  let before = stack.objectStorage.requests.length;
  const good = await sdk(stack, { node: app.file, tag: 'path-genuine' });
  t.is(good.code, 0, good.stderr);
  t.true(good.lines.length === 5 && good.lines.every((l) => l['ok'] === true), good.stdout + good.stderr);
  t.true(since(stack, before).every((r) => r.status < 300 && r.sourceSubject === PATH_ID), JSON.stringify(since(stack, before)));

  // Overwrite in place: same path, same inode, same size; only the content (and the hash) differ.
  const impostor = await nodeCopy(work!.dir, 'impostor', 99);
  await copyFile(impostor.file, app.file);
  t.is(await sha256Of(app.file), impostor.sha256);
  before = stack.objectStorage.requests.length;
  const bad = await sdk(stack, { node: app.file, tag: 'path-impostor' });
  refusedEverywhere(t, bad);
  const seen = since(stack, before);
  t.true(seen.length >= 1);
  t.true(seen.every((r) => r.status === 401 && r.principal === undefined), JSON.stringify(seen));

  // Replaced by rename (a new inode at the path), as a package upgrade would: still not bound.
  const other = await nodeCopy(work!.dir, 'impostor-2', 98);
  await rename(other.file, app.file);
  before = stack.objectStorage.requests.length;
  const bad2 = await sdk(stack, { node: app.file, tag: 'path-renamed' });
  // A binary never seen is hashed (100 MB) while node starts: an early connect may still find it
  // pending, steered to the signer, which then closes it as unbound. Either way: nothing signed.
  refusedEverywhere(t, bad2);
  t.true(since(stack, before).every((r) => r.principal === undefined));
});

kernelTest.serial('the bound binary under another uid than the identity pins is not bound', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const app = apps['uid']!;
  let before = stack.objectStorage.requests.length;
  const asNobody = await sdk(stack, { node: app.file, tag: 'uid-pinned', uid: NOBODY });
  t.is(asNobody.code, 0, asNobody.stdout + asNobody.stderr);
  t.true(asNobody.lines.every((l) => l['ok'] === true), asNobody.stdout);
  t.true(since(stack, before).every((r) => r.sourceSubject === UID_ID && r.status < 300));

  before = stack.objectStorage.requests.length;
  const asRoot = await sdk(stack, { node: app.file, tag: 'uid-root' });
  refusedEverywhere(t, asRoot);
  const seen = since(stack, before);
  t.true(seen.length >= 1 && seen.every((r) => r.principal === undefined), JSON.stringify(seen));
  // The identity without the uid pin (the default one) is not a fallback for a different program.
  t.false(seen.some((r) => r.principal === PRINCIPAL));
});

kernelTest.serial('a connection opened before an exec into the bound binary stays unsigned; the new image’s own connections are signed', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const app = apps['exec']!;
  const before = stack.objectStorage.requests.length;
  // bash is not bound. It waits until the agent has attested it (so the kernel knows it as unbound,
  // not pending), connects, then execs into the bound program, handing it the connected socket.
  const script = `sleep 0.5; exec 3<>/dev/tcp/${OS_HOST}/443 || exit 91; exec "$0" "$@"`;
  let pid = 0;
  const run = await runWorkload({
    cgroup: stack.workloadCgroup,
    hosts: { [OS_HOST]: stack.objectStorage.address },
    command: 'bash',
    args: ['-c', script, app.file, stack.app.path('test/hardening/stack-fd-client.js'), '--fd', '3', '--host', OS_HOST, '--tag', 'exec-after-connect'],
    env: { NODE_EXTRA_CA_CERTS: stack.caBundle },
    onSpawn: (p) => { pid = p; },
  });
  t.is(run.code, 0, run.stdout + run.stderr);
  const byVia = Object.fromEntries(run.lines.map((l) => [l['via'], l]));
  // The inherited connection went straight to the service (bash was unbound at connect): unsigned, 401.
  t.is(byVia['inherited']?.['status'], 401, run.stdout + run.stderr);
  // The same process, now the bound image, opens its own connection: steered and signed.
  t.is(byVia['fresh']?.['status'], 200, run.stdout + run.stderr);
  const seen = since(stack, before).filter((r) => r.tag === 'exec-after-connect');
  t.is(seen.length, 2, JSON.stringify(seen));
  t.deepEqual(seen.map((r) => [r.status, r.sourceSubject]).sort(), [[200, EXEC_ID], [401, undefined]]);
  // The signer saw only the fresh connection, from this pid, attested as the exec target.
  const audit = await settledLines(() => stack!.agent.output(), (l) => l.includes('"event":"request"') && l.includes(EXEC_ID), 1);
  t.is(audit.length, 1, audit.join('\n'));
  t.true(audit[0]!.includes(`"tgid":${pid}`), audit[0]);
});

/** A copy of bash with 100 MB of trailing bytes: runs as bash, never seen before, slow to hash. */
async function slowShell(dir: string): Promise<string> {
  const file = path.join(dir, `slow-shell-${process.hrtime.bigint()}`);
  await copyFile(await realpath('/bin/bash'), file);
  await appendFile(file, Buffer.alloc(100 * 1024 * 1024, 7));
  await chmod(file, 0o755);
  return file;
}

kernelTest.serial('exec while pending: a child keeping the socket its parent opened before exec\'ing into the bound program is never signed for', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const app = apps['exec']!;
  const shell = await slowShell(work!.dir);
  const before = stack.objectStorage.requests.length;
  // The unbound shell connects while still pending (its 100 MB hash is in progress), so the kernel
  // steers it to the signer. A background subshell keeps the socket; once the parent has exec'd into
  // the bound program, it runs the fd client on it. The parent sleeps as the bound program.
  const script = [
    `exec 3<>/dev/tcp/${OS_HOST}/443 || exit 91`,
    `( while [ "$(readlink /proc/$$/exe)" != "$1" ]; do sleep 0.01; done; exec "$2" "$3" --fd 3 --host ${OS_HOST} --tag exec-while-pending ) &`,
    `exec 3>&-; exec "$1" -e "setTimeout(() => {}, 4000)"`,
  ].join('\n');
  let pid = 0;
  const run = await runWorkload({
    cgroup: stack.workloadCgroup,
    hosts: { [OS_HOST]: stack.objectStorage.address },
    command: shell,
    args: ['-c', script, 'slow-shell', app.file, process.execPath, stack.app.path('test/hardening/stack-fd-client.js')],
    env: { NODE_EXTRA_CA_CERTS: stack.caBundle },
    onSpawn: (p) => { pid = p; },
  });
  t.is(run.code, 0, run.stdout + run.stderr);
  const inherited = run.lines.find((l) => l['via'] === 'inherited');
  // The signer closed it: the program that opened it is gone, so nobody is signed for.
  t.truthy(inherited?.['error'], run.stdout + run.stderr);
  const seen = since(stack, before).filter((r) => r.tag === 'exec-while-pending');
  t.false(seen.some((r) => r.sourceSubject === EXEC_ID), JSON.stringify(seen));
  const audit = await settledLines(() => stack!.agent.output(), (l) => l.includes('"event":"request"') && l.includes(`"tgid":${pid}`));
  t.deepEqual(audit, [], 'the signer signed nothing for the parent\'s tgid');
  t.true((await settledLines(() => stack!.agent.output(), (l) => l.includes('SIGIL_ERR_ATTEST_EXECED'), 1)).length > 0, 'closed because the process exec\'d after it connected');
});

test.serial('PID reuse: the attestor refuses a live process whose start time is not the one the kernel recorded', async (t) => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  t.teardown(() => { child.kill('SIGKILL'); });
  const pid = child.pid!;
  const writes: Array<[number, ProcessStateEntry]> = [];
  const attestor = new Attestor({ sink: { set: (tgid, e) => { writes.push([tgid, e]); }, delete: () => undefined, scanComplete: () => undefined } });
  t.teardown(() => attestor.close());
  // Wait for sleep to be sleep (spawn returns before exec).
  for (let i = 0; i < 100 && !(await import('node:fs/promises').then((fs) => fs.readlink(`/proc/${pid}/exe`))).endsWith('/sleep'); i++) await new Promise((r) => setTimeout(r, 10));
  const start = nsFromTicks(readProcStat(pid).startTimeTicks);

  const right = await attestor.attestation(pid, start);
  t.is(right.tgid, pid);
  t.is(right.state, 'unbound');
  t.true(right.facts.exePath.endsWith('/sleep'));

  // The kernel's record says this pid started 2 s earlier: another process had the pid then.
  const err = await t.throwsAsync(attestor.attestation(pid, start - 2_000_000_000n));
  t.true(err instanceof AgentError);
  t.is((err as AgentError).code, 'SIGIL_ERR_ATTEST_PID_REUSED');
  t.is((err as AgentError).status, 403);

  // And once the process is gone, its old (pid, start) gets nothing either.
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const gone = await t.throwsAsync(attestor.attestation(pid, start));
  t.regex((gone as AgentError).code ?? '', /SIGIL_ERR_ATTEST_(GONE|PID_REUSED)/);
});

kernelTest.serial('secrets scan: no token, signature or private key in the agent output, workload environments or workload-readable state', async (t) => {
  if (!requireBpf(t) || !stack) return;
  t.true(environs.length >= 4, `captured ${environs.length} environments`);
  const result = await scanStack(stack, { ledger, files: environs, readableBy: NOBODY, dir: work!.dir });
  t.true(result.secrets >= 10, `ledger holds ${result.secrets} secrets`);
  t.deepEqual(result.findings, []);
  t.log(`scanned ${result.files} files for ${result.secrets} secrets: ${result.findings.length} found`);
});
