/**
 * Kernel test fixture, for any test that needs real BPF: a private cgroup v2 child, a private bpffs
 * pin dir, processes spawned into that cgroup, and a teardown that undoes all of it (also on failure).
 *
 *   const fx = await KernelFixture.create(t);           // teardown registered with t.teardown
 *   const steering = fx.track(await KernelSteering.attach({ ..., cgroupPath: fx.cgroupPath, pinDir: fx.pinDir }));
 *   const child = fx.spawn('node', ['script.js']);      // runs inside fx.cgroupPath
 *
 * Gate tests with `kernelTest` (skips with a reason locally, runs and fails in CI) or `requireBpf(t)`.
 * Loopback addresses come from fx.loopback() (127.77.x.y, unique per fixture); ports are always 0.
 */
import { execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { KernelSteering, ensureBpffs, findCgroup2Mount, loadNative } from '../../agent/steering/index.js';
import { PROBE_PEER, PeerProcess, spawnInCgroup } from '../../agent/steering/probe.js';

const IN_CI = process.env['CI'] === 'true';

/** Why BPF tests cannot run here, or undefined if they can. Computed once, synchronously. */
export const bpfUnavailableReason: string | undefined = (() => {
  if (process.getuid?.() !== 0) return 'needs root (CAP_BPF, CAP_NET_ADMIN, cgroup writes)';
  try {
    const mounts = readFileSync('/proc/mounts', 'utf8');
    if (!mounts.split('\n').some((l) => l.split(' ')[2] === 'cgroup2')) return 'no cgroup2 mount';
    const missing = loadNative().probeFeatures().filter((c) => !c.ok);
    if (missing.length > 0) return `kernel lacks: ${missing.map((c) => `${c.name} (${c.detail})`).join(', ')}`;
  } catch (err) {
    return `native addon unavailable: ${(err as Error).message}`;
  }
  return undefined;
})();

/** `test` when BPF works or in CI (where missing BPF must fail); `test.skip` elsewhere. */
export const kernelTest = bpfUnavailableReason === undefined || IN_CI ? test : test.skip;
if (bpfUnavailableReason !== undefined && !IN_CI) process.stderr.write(`kernel tests skipped: ${bpfUnavailableReason}\n`);

/** Inside a test: false (test passes with a logged reason) when BPF is unavailable; in CI it fails the test. */
export function requireBpf(t: ExecutionContext): boolean {
  if (bpfUnavailableReason === undefined) return true;
  if (IN_CI) {
    t.fail(`BPF unavailable in CI: ${bpfUnavailableReason}`);
  } else {
    t.log(`skipped: ${bpfUnavailableReason}`);
    t.pass();
  }
  return false;
}

export { PeerProcess, type DialResult, type Accepted } from '../../agent/steering/probe.js';

/** The cgroup attach types Sigil's programs use, as BPF_PROG_QUERY names them. */
export const CGROUP_TYPES = ['cgroup_inet4_connect', 'cgroup_inet6_connect', 'cgroup_sock_ops', 'cgroup_inet4_getpeername', 'cgroup_inet6_getpeername'];

/**
 * How many links one attached set holds: 5 cgroup programs; exec, fork, exit and the thread map's
 * fork/exit (tp_btf); 10 credential-syscall tracepoints and setns; plus 7 lsm/ programs (enforce) or 8
 * syscall-tracepoint taint programs (taint-only). Counted by hand from bpf/sigil.bpf.c on purpose.
 */
export function expectedLinkCount(mode: 'enforce' | 'taint-only'): number {
  return 5 + 5 + 11 + (mode === 'enforce' ? 7 : 8);
}

/** Whether the kernel still has a program with this id (asked of bpftool, not of the addon). */
export function programExists(id: number): boolean {
  try {
    execFileSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Polls `fn` every 20 ms until it returns something other than undefined. */
export async function until<T>(fn: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

export class KernelFixture {
  private readonly children = new Set<ChildProcess>();
  private readonly handles = new Set<KernelSteering>();
  private nextHost = 1;
  private readonly subnet = 1 + (randomBytes(1)[0]! % 250);

  private constructor(readonly id: string, readonly cgroupPath: string, readonly pinDir: string) {}

  /** Creates `<cgroup2>/sigil-test-<id>` and names `/sys/fs/bpf/sigil-test-<id>` (created by attach). */
  static async create(t?: ExecutionContext): Promise<KernelFixture> {
    const id = randomBytes(6).toString('hex');
    const cg2 = await findCgroup2Mount();
    const fx = new KernelFixture(id, path.join(cg2, `sigil-test-${id}`), `/sys/fs/bpf/sigil-test-${id}`);
    await ensureBpffs(fx.pinDir);
    mkdirSync(fx.cgroupPath);
    t?.teardown(() => fx.teardown());
    return fx;
  }

  /** A fresh 127.77.x.y address for this fixture (Linux routes all of 127/8 to lo). */
  loopback(): string {
    return `127.77.${this.subnet}.${this.nextHost++}`;
  }

  /** Attach Sigil with pins in this fixture; tracked for teardown. */
  async attach(options: { signerIPv4: string; signerPort: number; signerIPv6?: string }): Promise<KernelSteering> {
    return this.track(await KernelSteering.attach({ ...options, cgroupPath: this.cgroupPath, pinDir: this.pinDir }));
  }

  /** Registers a handle to detach and close at teardown. */
  track(steering: KernelSteering): KernelSteering {
    this.handles.add(steering);
    return steering;
  }

  /** Spawns `command args` inside the fixture's cgroup (it joins before exec, so its sockets are in it). */
  spawn(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawnInCgroup(this.cgroupPath, command, args, options);
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** probe-peer in the cgroup, returned once it is ready (exec done; listening, for 'listen'). */
  async peer(mode: 'listen' | 'dial', args: string[] = []): Promise<PeerProcess> {
    return new PeerProcess(this.spawn(process.execPath, [PROBE_PEER, mode, ...args])).ready();
  }

  /** A probe-peer listener on `host` (port 0); with `pinDir`, it reports the kernel's record per connection. */
  async listener(host: string, pinDir?: string, extraHosts: string[] = []): Promise<PeerProcess> {
    return this.peer('listen', [...(pinDir ? ['--pin', pinDir] : []), '--host', host, ...extraHosts.flatMap((h) => ['--host', h])]);
  }

  /** Kills every process in the cgroup (only ours live there), detaches, removes pins and the cgroup. */
  async teardown(): Promise<void> {
    const pids = () => (existsSync(this.cgroupPath) ? readFileSync(path.join(this.cgroupPath, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number) : []);
    for (let i = 0; i < 100; i++) {
      const live = pids();
      for (const child of this.children) child.kill('SIGKILL');
      if (live.length === 0) break;
      for (const pid of live) { try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ } }
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const h of this.handles) {
      try { h.detach(); } catch { /* closed or never attached */ }
      h.close();
    }
    rmSync(this.pinDir, { recursive: true, force: true });
    for (let i = 0; i < 50 && existsSync(this.cgroupPath); i++) {
      try { rmdirSync(this.cgroupPath); } catch { await new Promise((r) => setTimeout(r, 20)); }
    }
  }
}
