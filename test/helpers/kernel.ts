/**
 * Kernel test fixture, for any test that needs real BPF: a private cgroup v2 child, a private bpffs
 * pin dir, processes spawned into that cgroup, and a teardown that undoes all of it (also on failure).
 *
 *   const fx = await KernelFixture.create(t);           // teardown registered with t.teardown
 *   const steering = fx.track(await KernelSteering.attach({ ..., cgroupPath: fx.cgroupPath, pinDir: fx.pinDir }));
 *   const child = fx.spawn('node', ['script.js']);      // runs inside fx.cgroupPath
 *
 * Gate tests with `kernelTest` / `kernelTest.serial` (skipped with a reason locally, failing with it in
 * CI, where any non-empty CI counts). `requireBpf(t)` is only a guard inside such a test.
 * Loopback addresses come from fx.loopback() (127.77.x.y, unique per fixture); ports are always 0.
 */
import { execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { IN_CI, gatedTest } from './ci.js';
import { KernelSteering, ensureBpffs, findCgroup2Mount, loadNative } from '../../agent/steering/index.js';
import { PROBE_PEER, PeerProcess, spawnInCgroup } from '../../agent/steering/probe.js';

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

/** `test` when BPF works; a failing test in CI and a skipped one elsewhere when it does not. */
export const kernelTest = gatedTest(bpfUnavailableReason, 'kernel (BPF)');
/** `kernelTest`, one at a time (tests that each start several processes). */
export const kernelSerialTest = kernelTest.serial;

/**
 * Guard inside a kernelTest: true when BPF is usable. When it is not, the test fails (it never passes
 * without having run); a test outside kernelTest that calls this fails locally too, so gate it.
 */
export function requireBpf(t: ExecutionContext): boolean {
  if (bpfUnavailableReason === undefined) return true;
  t.fail(`BPF unavailable${IN_CI ? ' in CI' : ''}: ${bpfUnavailableReason}`);
  return false;
}

export { PeerProcess, type DialResult, type Accepted } from '../../agent/steering/probe.js';

/** The cgroup attach types Sigil's programs use, as BPF_PROG_QUERY names them. */
export const CGROUP_TYPES = ['cgroup_inet4_connect', 'cgroup_inet6_connect', 'cgroup_sock_ops', 'cgroup_inet4_getpeername', 'cgroup_inet6_getpeername'];

/** Sigil's cgroup programs as `<attach type>/<name>`, sorted: two (steering + guard) on each connect hook. */
export const SIGIL_CGROUP_PROGRAMS = [
  'cgroup_inet4_connect/sigil_connect4', 'cgroup_inet4_connect/sigil_guard4',
  'cgroup_inet4_getpeername/sigil_peername4',
  'cgroup_inet6_connect/sigil_connect6', 'cgroup_inet6_connect/sigil_guard6',
  'cgroup_inet6_getpeername/sigil_peername6',
  'cgroup_sock_ops/sigil_sockops',
];

/** A kernel view (query() or `bpftool cgroup show -j`) as sorted `<attach type>/<name>`, comparable to SIGIL_CGROUP_PROGRAMS. */
export function cgroupView(programs: Array<{ attachType?: string; attach_type?: string; name: string }>): string[] {
  // bpftool 7 names attach types as libbpf does (cgroup_inet4_connect); older ones said connect4 etc.
  const OLD: Record<string, string> = { connect4: 'cgroup_inet4_connect', connect6: 'cgroup_inet6_connect', sock_ops: 'cgroup_sock_ops', getpeername4: 'cgroup_inet4_getpeername', getpeername6: 'cgroup_inet6_getpeername' };
  return programs.map((p) => `${p.attachType ?? OLD[p.attach_type ?? ''] ?? p.attach_type}/${p.name}`).sort();
}

/**
 * How many links one attached set holds: the cgroup programs above; exec, fork, exit and the thread
 * map's fork/exit (tp_btf); 10 credential-syscall tracepoints and setns; plus 8 lsm/ programs
 * (enforce) or 9 taint programs (syscall tracepoints and signal_generate, taint-only). Counted by hand
 * from bpf/sigil.bpf.c on purpose.
 */
export function expectedLinkCount(mode: 'enforce' | 'taint-only'): number {
  return SIGIL_CGROUP_PROGRAMS.length + 5 + 11 + (mode === 'enforce' ? 8 : 9);
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

  /**
   * The usual steering set-up: a signer listener reporting the kernel's record per connection, a real
   * destination listener on another address, and Sigil attached to steer towards that signer.
   */
  async steeringToListener(): Promise<{ signerHost: string; destHost: string; signer: PeerProcess; realDest: PeerProcess; steering: KernelSteering }> {
    const signerHost = this.loopback();
    const destHost = this.loopback();
    const signer = await this.listener(signerHost, this.pinDir);
    const realDest = await this.listener(destHost);
    const steering = await this.attach({ signerIPv4: signerHost, signerPort: signer.port });
    return { signerHost, destHost, signer, realDest, steering };
  }

  /** For upgrade tests: two signer listeners on one address (old port, new port) and a real destination. */
  async twoSignerPorts(): Promise<{ signerHost: string; destHost: string; signerA: PeerProcess; signerB: PeerProcess; realDest: PeerProcess }> {
    const signerHost = this.loopback();
    const destHost = this.loopback();
    const signerA = await this.listener(signerHost, this.pinDir);
    const signerB = await this.listener(signerHost, this.pinDir);
    const realDest = await this.listener(destHost);
    return { signerHost, destHost, signerA, signerB, realDest };
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
