/**
 * Issue 13: no unprivileged process can wear another program's identity. Every attack class of the
 * issue, run as an unprivileged uid with no capabilities, in the steered cgroup of a real running
 * stack (agent + control plane + NATS + OCI stand-ins), against a bound workload identity (node +
 * the script attack-victim.js). The judge is the Object Storage stand-in: what it accepted, under
 * which principal, tagged by which program — never what the agent says.
 *
 * Each attack must get zero requests accepted (no attacker-tagged request authenticated, nothing
 * stored), and the genuine workload must be accepted before and after it. The suite runs twice: with
 * the default config (protection `auto`: `enforce` where BPF LSM is active and the kernel accepts BPF
 * LSM programs, checked here with attacks/lsm-probe.c, else `taint-only`) and with
 * `attestation.protection: taint-only`. For attacks on a bound process (ptrace, process_vm_writev,
 * /proc/<pid>/mem, a credential change) the two modes differ: enforce refuses the operation (EPERM)
 * and the victim keeps being signed; taint-only lets it happen and the victim is unbound from then on.
 *
 * The C programs are in attacks/ (built here with cc); attack-kit.ts prepares them, the victim and the
 * evil scripts; attack-launcher.ts starts each process as the uid asked for, with no capabilities.
 */
import test, { type ExecutionContext } from 'ava';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { KernelSteering } from '../../agent/steering/index.js';
import { OS_HOST, startStack, type Stack } from '../e2e/stack.js';
import { IN_CI } from '../helpers/ci.js';
import { requireBpf } from '../helpers/kernel.js';
import { buildUnavailableReason } from './attack-build.js';
import { WORKLOAD_UID, prepareKit, type AttackKit } from './attack-kit.js';
import { launch, type Launched, type Line } from './attack-launcher.js';
import { NOBODY, applyAndWait, identityDocs, sha256Of, waitFor } from './stack-support.js';

const VICTIM_ID = 'spiffe://demo.sigil.dev/attacks/victim';
const VICTIM_PRINCIPAL = 'ocid1.user.oc1..attackvictim';
const SETUID_ID = 'spiffe://demo.sigil.dev/attacks/setuid';
const SETUID_PRINCIPAL = 'ocid1.user.oc1..attacksetuid';
const EPERM = 1;
const NODE = realpathSync(process.execPath);
const execFileP = promisify(execFile);

type Mode = 'default' | 'taint-only';
type Protection = 'enforce' | 'taint-only';

/**
 * What `auto` must resolve to on this kernel, found independently of the agent: enforce where `bpf`
 * is an active LSM and the kernel accepts a BPF LSM program (attacks/lsm-probe.c loads the smallest
 * one, never attaching it); taint-only otherwise.
 */
async function autoProtection(kit: AttackKit): Promise<{ protection: Protection; why: string }> {
  let list = '';
  try {
    list = readFileSync('/sys/kernel/security/lsm', 'utf8').trim();
  } catch (err) {
    return { protection: 'taint-only', why: `no LSM list (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  if (!list.split(',').includes('bpf')) return { protection: 'taint-only', why: `bpf is not an active LSM (${list})` };
  const { stdout: btf } = await execFileP('bpftool', ['btf', 'dump', 'file', '/sys/kernel/btf/vmlinux', 'format', 'raw'], { maxBuffer: 256 * 1024 * 1024 });
  const id = /^\[(\d+)\] FUNC 'bpf_lsm_file_open'/m.exec(btf)?.[1];
  if (id === undefined) return { protection: 'taint-only', why: 'no bpf_lsm_file_open in the kernel BTF' };
  const { stdout } = await execFileP(kit.bin['lsm-probe'], [id]);
  const probe = JSON.parse(stdout) as { ok: boolean; error: string };
  return probe.ok
    ? { protection: 'enforce', why: `bpf is an active LSM (${list}) and a BPF LSM program loads` }
    : { protection: 'taint-only', why: `bpf is an active LSM (${list}) but the kernel refuses a minimal BPF LSM program (${probe.error})` };
}

interface Env {
  mode: Mode;
  protection: Protection;
  /** Why this protection is expected. */
  why: string;
  stack: Stack;
  kit: AttackKit;
  /** Maps only (nothing attached): the kernel's process state, used to sequence, never to judge. */
  kernel: KernelSteering;
  reconciles: number;
}

let kitPromise: Promise<AttackKit> | undefined;
const running = new Map<Mode, Promise<Env>>();
let toolReason: string | undefined | null = null;

async function stopEnv(env: Env): Promise<void> {
  env.kernel.close();
  await killCgroupProcesses(env.stack.workloadCgroup);
  await env.stack.stop();
}

/** The stack of one mode; starting it stops the other mode's stack (one stack at a time). */
function envFor(mode: Mode): Promise<Env> {
  const existing = running.get(mode);
  if (existing) return existing;
  const started = (async () => {
    for (const [other, envP] of [...running]) {
      running.delete(other);
      await envP.then(stopEnv, () => undefined);
    }
    kitPromise ??= prepareKit();
    // The kit builds (cc) while the stack starts; a stack that started for a failed build is stopped.
    const stackP = startStack({
      heartbeatMs: 500,
      principals: [{ equals: VICTIM_ID, principal: VICTIM_PRINCIPAL }, { equals: SETUID_ID, principal: SETUID_PRINCIPAL }],
      ...(mode === 'taint-only' ? { agentConfig: { attestation: { protection: 'taint-only' } } } : {}),
    });
    const [kitR, stackR] = await Promise.allSettled([kitPromise, stackP]);
    if (stackR.status === 'rejected') throw stackR.reason;
    const stack = stackR.value;
    if (kitR.status === 'rejected') {
      await stack.stop();
      throw kitR.reason;
    }
    const kit = kitR.value;
    try {
      await applyAndWait(stack, [
        ...identityDocs('attack-victim', VICTIM_ID, [`unix:sha256:${await sha256Of(NODE)}`, `script:sha256:${kit.victim.sha256}`]),
        ...identityDocs('attack-setuid', SETUID_ID, [`unix:sha256:${kit.setuid.sha256}`, `unix:uid:${WORKLOAD_UID}`]),
      ]);
      const expected = mode === 'taint-only' ? { protection: 'taint-only' as const, why: 'configured' } : await autoProtection(kit);
      return { mode, ...expected, stack, kit, kernel: KernelSteering.openPinned(stack.pinDir), reconciles: 0 } satisfies Env;
    } catch (err) {
      await stack.stop();
      throw err;
    }
  })();
  running.set(mode, started);
  return started;
}

test.after.always(async () => {
  for (const envP of running.values()) await envP.then(stopEnv, () => undefined);
  running.clear();
  await (await kitPromise?.catch(() => undefined))?.cleanup();
});

/** False (and the test passes with a reason, or fails in CI) when root/BPF or the C toolchain is missing. */
async function ready(t: ExecutionContext): Promise<boolean> {
  if (!requireBpf(t)) return false;
  if (toolReason === null) toolReason = await buildUnavailableReason();
  if (toolReason === undefined) return true;
  if (IN_CI) t.fail(`cannot build the attack programs in CI: ${toolReason}`);
  else {
    t.log(`skipped: ${toolReason}`);
    t.pass();
  }
  return false;
}

/** Processes this test started, killed by pid at teardown if still alive and still in the stack's cgroup. */
function tracker(t: ExecutionContext, env: Env) {
  const procs: Launched[] = [];
  const pids = new Set<number>();
  const files: string[] = [];
  t.teardown(async () => {
    for (const p of procs) p.kill();
    for (const pid of pids) await killIfOurs(pid, env.stack.workloadCgroup);
    for (const f of files) await rm(f, { force: true });
  });
  return {
    launch(options: Omit<Parameters<typeof launch>[0], 'cgroup' | 'hosts'>): Launched {
      const p = launch({ cgroup: env.stack.workloadCgroup, hosts: { [OS_HOST]: env.stack.objectStorage.address }, ...options });
      procs.push(p);
      pids.add(p.pid);
      return p;
    },
    pid(pid: unknown): void { if (typeof pid === 'number') pids.add(pid); },
    file(f: string): void { files.push(f); },
  };
}

async function killIfOurs(pid: number, cgroup: string): Promise<void> {
  try {
    const where = (await readFile(`/proc/${pid}/cgroup`, 'utf8')).trim().split(':').pop() ?? '';
    if (cgroup.endsWith(where) && where.length > 1) process.kill(pid, 'SIGKILL');
  } catch { /* gone */ }
}

/**
 * Safety net before the stack is removed: every process left in our own workload cgroup is one we
 * started. Killed by pid, then waited for until the cgroup is empty (so its rmdir cannot fail).
 */
async function killCgroupProcesses(cgroup: string): Promise<void> {
  const procs = async (): Promise<number[]> => {
    try {
      return (await readFile(path.join(cgroup, 'cgroup.procs'), 'utf8')).split('\n').filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  for (const pid of await procs()) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  await waitFor('the workload cgroup to empty', async () => (await procs()).length === 0, 10_000, 50).catch(() => undefined);
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms); }),
  ]);
}

const victimArgs = (env: Env, object: string, serve = false): string[] =>
  [env.kit.victim.file, '--host', OS_HOST, '--object', object, ...(serve ? ['--serve'] : [])];

/** The genuine workload (node + the bound script, as the workload uid): accepted, under the victim's principal. */
async function genuine(t: ExecutionContext, env: Env, object: string): Promise<void> {
  const p = tracker(t, env).launch({ uid: WORKLOAD_UID, command: NODE, args: victimArgs(env, object), env: { NODE_EXTRA_CA_CERTS: env.stack.caBundle } });
  await within(p.exited, 30_000, `genuine workload ${object}`);
  const seen = env.stack.objectStorage.requests.filter((r) => r.tag === object);
  t.deepEqual(seen.map((r) => [r.status, r.principal]), [[200, VICTIM_PRINCIPAL]], `genuine ${object} is accepted as the workload\n${p.output()}`);
}

/** Zero attacker requests accepted: none of `objects` authenticated under any principal, none stored. */
function noneAccepted(t: ExecutionContext, env: Env, objects: string[]): void {
  const seen = env.stack.objectStorage.requests.filter((r) => r.tag !== undefined && objects.includes(r.tag));
  const accepted = seen.filter((r) => r.principal !== undefined).map((r) => ({ tag: r.tag, status: r.status, principal: r.principal, subject: r.sourceSubject }));
  t.deepEqual(accepted, [], `the stand-in accepted attacker requests: ${JSON.stringify(accepted)}`);
  for (const object of objects) t.false(env.stack.objectStorage.objects.has(`attacks/${object}`), `attacks/${object} was stored`);
}

/** Nothing but the genuine workload was accepted under the victim's principal since `from`. */
function onlyGenuineAs(t: ExecutionContext, env: Env, from: number, principal: string, genuineTags: string[]): void {
  const others = env.stack.objectStorage.requests.slice(from).filter((r) => r.principal === principal && !genuineTags.includes(r.tag ?? ''));
  t.deepEqual(others.map((r) => r.tag), [], `accepted under ${principal} from something other than the genuine workload`);
}

function accepted(env: Env, object: string): Array<[number, string | undefined]> {
  return env.stack.objectStorage.requests.filter((r) => r.tag === object).map((r) => [r.status, r.principal]);
}

/** The swap is real: /proc/self of the swapped process names node and the forged command line. */
function assertSwapped(t: ExecutionContext, env: Env, p: Launched, forged: string[]): Line | undefined {
  const swapped = p.lines.find((l) => l['event'] === 'swapped');
  if (!swapped) {
    const err = p.lines.find((l) => l['event'] === 'error');
    // Enforce mode may refuse the swap itself; taint-only must let it happen (and taint).
    if (env.protection === 'enforce' && err && err['errno'] === EPERM && ['unshare-user', 'prctl-set-mm-map'].includes(String(err['step']))) {
      t.log(`swap refused by the kernel at ${String(err['step'])}: EPERM`);
      return undefined;
    }
    t.fail(`the swap did not happen:\n${p.output()}`);
    return undefined;
  }
  t.is(swapped['exe'], NODE, p.output());
  t.is(swapped['cmdline'], forged.join(' '), p.output());
  return swapped;
}

/** The agent's own 'identity protection' log line: shown next to the results, never judged on. */
function agentSays(env: Env): string {
  const line = env.stack.agent.output().split('\n').find((l) => l.includes('identity protection'));
  if (!line) return '(no identity protection line)';
  try {
    const parsed = JSON.parse(line) as { mode?: string; reason?: string };
    return `${parsed.mode ?? '?'} (${parsed.reason ?? ''})`;
  } catch {
    return line;
  }
}

async function assertPortFree(t: ExecutionContext, port: number): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
  if (!free) t.fail(`127.0.0.1:${port} is in use`);
}

async function triggerReconcile(env: Env): Promise<void> {
  // The agent's 30 s timer and every policy change run the same Attestor.reconcile() (a /proc
  // rescan of processes it does not track); a policy change runs it now, and the ack says it is done.
  env.reconciles += 1;
  await applyAndWait(env.stack, identityDocs(`reconcile-${env.reconciles}`, `spiffe://demo.sigil.dev/attacks/reconcile-${env.reconciles}`, [`unix:sha256:${'0'.repeat(64)}`]));
}

/**
 * Registers `body` once per mode, with the genuine workload accepted before and after it. `body`
 * returns the tags the genuine program itself legitimately sent under the victim's principal
 * meanwhile (a victim that stays bound); anything else accepted under that principal fails the test.
 */
const ATTACKS: Array<[string, (t: ExecutionContext, env: Env) => Promise<string[] | void>]> = [];
function attack(title: string, body: (t: ExecutionContext, env: Env) => Promise<string[] | void>): void {
  ATTACKS.push([title, body]);
}

/** The whole suite once per mode, one mode after the other (one stack each). */
function registerSuite(): void {
  for (const mode of ['default', 'taint-only'] as const) {
    for (const [title, body] of ATTACKS) {
      test.serial(`[${mode}] ${title}`, async (t) => {
        if (!(await ready(t))) return;
        const env = await envFor(mode);
        t.log(`protection expected: ${env.protection} (${env.why}); the agent says: ${agentSays(env)}`);
        const slug = title.replace(/[^a-z0-9]+/gi, '-').slice(0, 40).toLowerCase();
        const from = env.stack.objectStorage.requests.length;
        await genuine(t, env, `genuine-${slug}-before`);
        const allowed = (await body(t, env)) ?? [];
        await genuine(t, env, `genuine-${slug}-after`);
        onlyGenuineAs(t, env, from, VICTIM_PRINCIPAL, [`genuine-${slug}-before`, `genuine-${slug}-after`, ...allowed]);
      });
    }
  }
}

// ---------------------------------------------------------------------------------------------
// a. exe/argv swap (user namespace + PR_SET_MM_MAP)

attack('exe/argv swap in a child forked while its parent is pending is never signed', async (t, env) => {
  const track = tracker(t, env);
  const padded = await env.kit.padded(env.kit.bin['swap-exe'], 'swap-exe-padded');
  track.file(padded);
  const forged = [NODE, ...victimArgs(env, 'forged')];
  const p = track.launch({ uid: NOBODY, command: padded, args: ['pending', env.stack.objectStorage.address, OS_HOST, 'swap-pending', NODE, ...forged] });
  await within(p.exited, 30_000, 'swap-exe pending');
  track.pid(p.lines.find((l) => l['event'] === 'child')?.['child']);
  if (assertSwapped(t, env, p, forged)) {
    const sent = p.lines.find((l) => l['event'] === 'request' || (l['event'] === 'error' && l['step'] === 'connect'));
    t.truthy(sent, `the swapped child got to send its request:\n${p.output()}`);
    t.log(`attacker request: ${JSON.stringify(sent)}`);
  }
  noneAccepted(t, env, ['swap-pending']);
});

attack('exe/argv swap in a child of an attested parent, then the agent’s /proc reconcile, is never signed', async (t, env) => {
  const track = tracker(t, env);
  const go = path.join(env.kit.dir, `go-reconcile-${env.mode}`);
  await mkdir(go, { mode: 0o755 });
  track.file(path.join(go, 'fork'));
  track.file(path.join(go, 'connect'));
  const forged = [NODE, ...victimArgs(env, 'forged')];
  const p = track.launch({ uid: NOBODY, command: env.kit.bin['swap-exe'], args: ['reconcile', env.stack.objectStorage.address, OS_HOST, 'swap-reconcile', go, NODE, ...forged] });
  await p.line((l) => l['event'] === 'started');
  // Sequencing only: fork once the kernel holds this image's verdict (unbound), so the child inherits it.
  await waitFor('the attacker to be attested', () => env.kernel.getProcess(p.pid)?.state === 'unbound', 15_000, 20);
  await writeFile(path.join(go, 'fork'), '');
  await p.line((l) => l['event'] === 'swapped' || l['event'] === 'error');
  track.pid(p.lines.find((l) => l['event'] === 'child')?.['child']);
  if (assertSwapped(t, env, p, forged)) {
    await triggerReconcile(env);
    await writeFile(path.join(go, 'connect'), '');
    const sent = await p.line((l) => l['event'] === 'request' || (l['event'] === 'error' && l['step'] === 'connect'));
    t.log(`attacker request: ${JSON.stringify(sent)}`);
  }
  await within(p.exited, 30_000, 'swap-exe reconcile');
  noneAccepted(t, env, ['swap-reconcile']);
});

// ---------------------------------------------------------------------------------------------
// b. fd passing after a swap

attack('a swapped process’s steered socket handed over SCM_RIGHTS to another program is never signed', async (t, env) => {
  const track = tracker(t, env);
  const padded = await env.kit.padded(env.kit.bin['pass-fd'], 'pass-fd-padded');
  track.file(padded);
  const forged = [NODE, ...victimArgs(env, 'forged')];
  const p = track.launch({ uid: NOBODY, command: padded, args: [env.stack.objectStorage.address, OS_HOST, 'fd-pass', env.kit.bin['fd-receiver'], NODE, ...forged] });
  await within(p.exited, 30_000, 'pass-fd');
  const swapped = assertSwapped(t, env, p, forged);
  track.pid(swapped?.['pid']);
  if (swapped) {
    const received = p.lines.find((l) => l['event'] === 'received');
    t.truthy(received, `the receiver got the socket:\n${p.output()}`);
    t.not(received?.['pid'], swapped['pid'], 'TLS is spoken by another process than the one that connected');
    t.log(`receiver request: ${JSON.stringify(p.lines.find((l) => l['event'] === 'request'))}`);
  }
  noneAccepted(t, env, ['fd-pass']);
});

// ---------------------------------------------------------------------------------------------
// c. into a bound process: ptrace attach/seize, process_vm_writev, /proc/<pid>/mem

const INJECTIONS: Array<[string, 'inject-ptrace' | 'inject-vm-writev' | 'inject-proc-mem', string[]]> = [
  ['ptrace(PTRACE_ATTACH)', 'inject-ptrace', ['attach']],
  ['ptrace(PTRACE_SEIZE)', 'inject-ptrace', ['seize']],
  ['process_vm_writev', 'inject-vm-writev', []],
  ['a write to /proc/<pid>/mem', 'inject-proc-mem', []],
];

for (const [what, program, modeArgs] of INJECTIONS) {
  attack(`${what} into a bound process by its own uid: enforce refuses it (EPERM) and the victim stays signed; taint-only unbinds the victim`, async (t, env) => {
    const track = tracker(t, env);
    const object = `victim-${program}-${modeArgs.join('')}`;
    const p = track.launch({
      uid: WORKLOAD_UID,
      command: env.kit.bin[program],
      args: [...modeArgs, NODE, ...victimArgs(env, object, true)],
      env: { NODE_EXTRA_CA_CERTS: env.stack.caBundle },
    });
    const victim = Number((await p.line((l) => l['event'] === 'victim'))['victim']);
    track.pid(victim);
    await p.line((l) => l['object'] === `${object}-0`);
    t.deepEqual(accepted(env, `${object}-0`), [[200, VICTIM_PRINCIPAL]], `the victim is bound before the attack\n${p.output()}`);
    const status = await readFile(`/proc/${p.pid}/status`, 'utf8');
    t.regex(status, /^CapEff:\s+0+$/m, 'the attacker has no capabilities');
    t.regex(status, new RegExp(`^Uid:\\s+${WORKLOAD_UID}\\s`, 'm'), 'the attacker runs as the workload uid');

    p.write('go\n');
    const result = await p.line((l) => l['event'] === 'attack');
    process.kill(victim, 'SIGUSR2');
    await p.line((l) => l['object'] === `${object}-1`);
    // Everything happened first, then judged: the log shows what the stand-in did with the victim afterwards.
    t.log(`attack: ${JSON.stringify(result)}; the victim afterwards: ${JSON.stringify(accepted(env, `${object}-1`))}`);
    if (env.protection === 'enforce') {
      t.is(result['ok'], false, `${what} must be refused on a bound process`);
      t.is(result['errno'], EPERM, JSON.stringify(result));
      t.deepEqual(accepted(env, `${object}-1`), [[200, VICTIM_PRINCIPAL]], 'the victim keeps being signed');
    } else {
      t.is(result['ok'], true, `taint-only lets ${what} happen: ${JSON.stringify(result)}`);
      noneAccepted(t, env, [`${object}-1`]);
    }
    p.closeStdin();
    await within(p.exited, 15_000, program);
    return [`${object}-0`, ...(env.protection === 'enforce' ? [`${object}-1`] : [])];
  });
}

attack('node’s SIGUSR1 inspector opened in a bound process by its own uid (beyond the issue’s list): the code it runs is never signed', async (t, env) => {
  const track = tracker(t, env);
  // `node inspect -p` always uses 9229; if something else held it the attack could not happen and prove nothing.
  await assertPortFree(t, 9229);
  const object = 'victim-inspected';
  const victim = track.launch({ uid: WORKLOAD_UID, command: NODE, args: victimArgs(env, object, true), env: { NODE_EXTRA_CA_CERTS: env.stack.caBundle } });
  await victim.line((l) => l['object'] === `${object}-0`);
  t.deepEqual(accepted(env, `${object}-0`), [[200, VICTIM_PRINCIPAL]], `the victim is bound before the attack\n${victim.output()}`);
  // The attacker: node's own debugger client (SIGUSR1 to the victim, then the inspector protocol).
  const attacker = track.launch({ uid: WORKLOAD_UID, command: NODE, args: ['inspect', '-p', String(victim.pid)] });
  let connected = false;
  try {
    await waitFor('the debugger to connect', () => /connecting to .* ok[\s\S]*debug>/.test(attacker.output()), 15_000, 50);
    connected = true;
  } catch { /* refused: SIGUSR1 or the inspector was stopped */ }
  let evil: Line | undefined;
  if (connected) {
    attacker.write(`exec(${JSON.stringify(env.kit.evil.inspectorCode)})\n`);
    evil = await victim.line((l) => l['object'] === 'evil-inspector', 15_000).catch(() => undefined);
    // Connected means the attack happened: the code must have run, or this test proves nothing.
    t.truthy(evil, `the debugger connected but the injected code did not report:\n${attacker.output()}\n${victim.output()}`);
  }
  t.log(`debugger connected: ${connected}; injected request: ${JSON.stringify(evil)}`);
  attacker.write('.exit\n');
  attacker.closeStdin();
  await within(attacker.exited, 15_000, 'node inspect');
  noneAccepted(t, env, ['evil-inspector']);
  return [`${object}-0`];
});

// ---------------------------------------------------------------------------------------------
// d. a credential change after attestation

attack('a bound setuid program that changes its credentials: enforce refuses it (EPERM); taint-only unbinds it', async (t, env) => {
  const track = tracker(t, env);
  const p = track.launch({ uid: NOBODY, command: env.kit.setuid.file, args: [env.stack.objectStorage.address, OS_HOST, 'setuid'] });
  const ids = await p.line((l) => l['event'] === 'ids');
  t.deepEqual([ids['ruid'], ids['euid']], [NOBODY, WORKLOAD_UID], `runs as nobody with the workload's effective uid (setuid bit honoured)\n${p.output()}`);
  p.write('go\n');
  await p.line((l) => l['object'] === 'setuid-before');
  t.deepEqual(accepted(env, 'setuid-before'), [[200, SETUID_PRINCIPAL]], `bound before the change\n${p.output()}`);
  p.write('go\n');
  const change = await p.line((l) => l['event'] === 'setresuid');
  await p.line((l) => l['object'] === 'setuid-after');
  t.log(`setresuid: ${JSON.stringify(change)}; afterwards: ${JSON.stringify(accepted(env, 'setuid-after'))}`);
  if (env.protection === 'enforce') {
    t.is(change['ok'], false, 'a bound process may not change its credentials');
    t.is(change['errno'], EPERM);
    t.deepEqual(accepted(env, 'setuid-after'), [[200, SETUID_PRINCIPAL]], 'still signed: nothing changed');
  } else {
    t.is(change['ok'], true, JSON.stringify(change));
    t.is(change['euid'], NOBODY);
    noneAccepted(t, env, ['setuid-after']);
  }
  await within(p.exited, 15_000, 'setuid-drop');
});

// ---------------------------------------------------------------------------------------------
// e. interpreter command lines and the injection environment

interface Trick { what: string; object: string; command(env: Env): string; args(env: Env): string[] }

const TRICKS: Trick[] = [
  { what: 'node --eval=<code> bound.js', object: 'evil-eval', command: () => NODE, args: (env) => [`--eval=${env.kit.evil.evalCode}`, ...victimArgs(env, 'victim-in-eval')] },
  { what: 'node --disable-warning bound.js evil.js', object: 'evil-disable-warning', command: () => NODE, args: (env) => ['--disable-warning', env.kit.victim.file, env.kit.evil.disableWarning] },
  { what: 'node -r ./evil.js bound.js', object: 'evil-require', command: () => NODE, args: (env) => ['-r', env.kit.evil.require, ...victimArgs(env, 'victim-in-require')] },
  { what: 'node --import ./evil.mjs bound.js', object: 'evil-import', command: () => NODE, args: (env) => ['--import', env.kit.evil.import, ...victimArgs(env, 'victim-in-import')] },
  { what: 'NODE_OPTIONS=--require=./evil.js node bound.js', object: 'evil-node-options', command: () => 'env', args: (env) => [`NODE_OPTIONS=--require=${env.kit.evil.nodeOptions}`, NODE, ...victimArgs(env, 'victim-in-node-options')] },
  { what: 'LD_PRELOAD=./evil.so node bound.js', object: 'evil-ld-preload', command: () => 'env', args: (env) => [`LD_PRELOAD=${env.kit.bin['evil-preload.so']}`, NODE, ...victimArgs(env, 'victim-in-ld-preload')] },
];

for (const trick of TRICKS) {
  attack(`${trick.what}: the injected code is never signed as the bound script`, async (t, env) => {
    const p = tracker(t, env).launch({ uid: NOBODY, command: trick.command(env), args: trick.args(env), env: { NODE_EXTRA_CA_CERTS: env.stack.caBundle } });
    await within(p.exited, 30_000, trick.what);
    const evil = p.lines.find((l) => l['object'] === trick.object);
    t.truthy(evil, `the injected code ran and sent its request:\n${p.output()}`);
    t.log(`injected request: ${JSON.stringify(evil)}`);
    // The bound script's own requests from the same (injected) process are not the genuine workload.
    noneAccepted(t, env, [trick.object]);
  });
}

registerSuite();
