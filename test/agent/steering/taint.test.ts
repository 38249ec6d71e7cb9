/**
 * The kernel's identity record and taint (bpf/sigil.bpf.c "Identity protection"), asked of the maps
 * directly: what exec fixes, which operations taint whom, that fork copies and exec clears a taint,
 * and that connect4 stops steering a tainted process whatever user space wrote.
 */
import { closeSync, openSync, statSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import type { ExecutionContext } from 'ava';
import { KernelFixture, kernelTest as test, until } from '../../helpers/kernel.js';
import type { KernelSteering } from '../../../agent/steering/index.js';

const MM = 0x1, USERNS = 0x2, CREDS = 0x4, TRACED = 0x8;
const PY = '/usr/bin/python3';

/** A python3 child that runs `code`, prints "ready", then sleeps; resolves once it is ready (with what it printed). */
async function python(fx: KernelFixture, code: string): Promise<ChildProcess & { printed: string }> {
  const child = fx.spawn(PY, ['-c', `import os, sys, time, ctypes\n${code}\nprint("ready", flush=True)\ntime.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const printed = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('ready')) resolve(out); });
    child.once('exit', (code) => reject(new Error(`python exited early (${code})`)));
  });
  return Object.assign(child, { printed });
}

function taintOf(s: KernelSteering, pid: number): number {
  return s.getImage(pid)?.taint ?? 0;
}

async function attached(t: ExecutionContext): Promise<{ fx: KernelFixture; s: KernelSteering }> {
  const fx = await KernelFixture.create(t);
  const s = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  return { fx, s };
}

test('exec fixes the executed file (device, inode, ctime) and starts untainted', async (t) => {
  const { fx, s } = await attached(t);
  const child = await python(fx, '');
  const image = await until(() => s.getImage(child.pid!) ?? undefined);
  const st = statSync(PY, { bigint: true });
  const real = statSync(`/proc/${child.pid}/exe`, { bigint: true });
  t.is(BigInt(image.dev), real.dev);
  t.is(image.ino, real.ino);
  t.is(image.ctimeNs, real.ctimeNs, 'ctime in ns as stat(2) reports it (no flag bits)');
  t.is(real.ino, st.ino, 'python3 itself');
  t.true(image.execSeq >= 1);
  t.is(image.originTgid, child.pid!);
  t.is(image.taint, 0);
});

test('a user namespace, a credential call and PR_SET_MM taint the caller', async (t) => {
  const { fx, s } = await attached(t);
  const userns = await python(fx, 'ctypes.CDLL(None, use_errno=True).unshare(0x10000000)');
  const creds = await python(fx, 'os.setgid(os.getgid())');
  // PR_SET_MM (35) with a bogus sub-option: refused by the kernel, but the attempt alone taints.
  const mm = await python(fx, 'ctypes.CDLL(None, use_errno=True).prctl(35, 0xffff, 0, 0, 0)');
  t.is(taintOf(s, userns.pid!) & USERNS, USERNS);
  t.is(taintOf(s, creds.pid!) & CREDS, CREDS);
  t.is(taintOf(s, mm.pid!) & MM, MM);
});

test('ptrace attach, process_vm_writev and /proc/<pid>/mem taint the target, not the caller', async (t) => {
  const { fx, s } = await attached(t);
  const victims = await Promise.all([python(fx, ''), python(fx, ''), python(fx, '')]);
  const [a, b, c] = victims.map((v) => v.pid!);
  const attacker = await python(fx, [
    'libc = ctypes.CDLL(None, use_errno=True)',
    `libc.ptrace(16, ${a}, 0, 0)`,
    `libc.process_vm_writev(${b}, 0, 0, 0, 0, 0)`,
    `open("/proc/${c}/mem", "rb").close()`,
  ].join('\n'));
  for (const pid of [a!, b!, c!]) t.is(taintOf(s, pid) & TRACED, TRACED, `victim ${pid} tainted`);
  t.is(taintOf(s, attacker.pid!), 0, 'the caller itself is not tainted by these');
});

test('a taint is copied by fork', async (t) => {
  const { fx, s } = await attached(t);
  const parent = await python(fx, [
    'os.setgid(os.getgid())',
    'pid = os.fork()',
    'if pid == 0:',
    '    time.sleep(60)',
    '    os._exit(0)',
    'print("child", pid, flush=True)',
  ].join('\n'));
  const childPid = Number(/child (\d+)/.exec(parent.printed)?.[1]);
  t.true(childPid > 0, parent.printed);
  t.is(taintOf(s, parent.pid!) & CREDS, CREDS);
  t.is(taintOf(s, childPid) & CREDS, CREDS, 'the forked child carries the taint');
  t.is(s.getImage(childPid)?.originTgid, parent.pid, "and names its parent's exec as its image");
  t.is(s.getImage(childPid)?.execSeq, s.getImage(parent.pid!)?.execSeq);
});

test('exec clears a taint: the new image starts clean', async (t) => {
  const { fx, s } = await attached(t);
  const child = fx.spawn(PY, ['-c', 'import os\nos.setgid(os.getgid())\nos.execv("/bin/sleep", ["sleep", "60"])']);
  const sleepIno = statSync('/bin/sleep', { bigint: true }).ino;
  const image = await until(() => {
    const i = s.getImage(child.pid!);
    return i !== null && i.ino === sleepIno ? i : undefined;
  });
  t.is(image.taint, 0, "sleep, exec'd after python tainted itself, is clean");
});

test('connect4 does not steer a tainted process even when user space marked it bound', async (t) => {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const signer = await fx.listener(signerHost);
  const s = await fx.attach({ signerIPv4: signerHost, signerPort: signer.port });
  const dest = fx.loopback();
  const direct = await fx.listener(dest);
  s.setDestination({ addr: dest, port: direct.port, destId: 1 });
  const dialer = await fx.peer('dial');
  s.setProcess(dialer.pid, { state: 'bound', bindingId: 1 });
  const [steered] = await dialer.dial(dest, direct.port);
  t.true(steered?.ok);
  await signer.acceptedFrom(steered!.localPort!, 5_000);
  t.is(s.counters()['steered'], 1, 'bound and clean: steered to the signer');
  // Taint it from outside, as an attacker opening its memory would, then dial again.
  closeSync(openSync(`/proc/${dialer.pid}/mem`, 'r'));
  t.is(taintOf(s, dialer.pid) & TRACED, TRACED);
  t.is(s.getProcess(dialer.pid)?.state, 'bound', 'user space still says bound');
  const [after] = await dialer.dial(dest, direct.port);
  t.true(after?.ok);
  await direct.acceptedFrom(after!.localPort!, 5_000);
  t.is(s.counters()['steered'], 1, 'not steered again');
  t.is(s.counters()['passedTainted'], 1, 'passed because tainted');
});
