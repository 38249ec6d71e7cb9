/**
 * ns per connect on the connect4 hook, steered and not steered, from the kernel's own run-time stats
 * (BPF_ENABLE_STATS), as ratios to a no-op program of the same type attached the same way to the same
 * cgroup in the same run (bpf/noop.bpf.c: one attached before Sigil's programs, one after, so the
 * baseline is not flattered or punished by where it sits in the hook's program array). A probe peer
 * in a private cgroup dials a listed destination (rewritten to the listener) and then the listener
 * directly (not listed: passes untouched). The hook runs two Sigil programs (sigil_connect4 and its
 * guard sigil_guard4): the ratios are for sigil_connect4, the program that steers or passes; the
 * hook's total for both is beside (over two no-ops). Each figure is the median of `rounds` rounds.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { NativeProgramStats } from '../native/binding.js';
import { KernelSteering, findCgroup2Mount, loadNative } from '../agent/steering/index.js';
import { PROBE_PEER, PeerProcess, spawnInCgroup } from '../agent/steering/probe.js';
import { spread, type Spread } from './median-spread.js';
import { perRun, type Snapshot } from './program-runs.js';

const CONNECT4_PROGRAMS = ['sigil_connect4', 'sigil_guard4'];

interface Round {
  steeredNs: number; passNs: number; guardSteeredNs: number; guardPassNs: number;
  noopFirstNs: number; noopLastNs: number; noopNs: number;
  steeredOverNoop: number; passOverNoop: number; hookSteeredOverNoops: number; hookPassOverNoops: number;
}

export interface BpfBench {
  /** sigil_connect4 ns per steered / passed connect (medians). */
  connect4SteeredNs: number;
  connect4PassNs: number;
  /** The no-op connect4's ns per run in the same connects (mean of the one before and the one after). */
  noopNs: number;
  /** sigil_connect4 ÷ the no-op, per round, median. Goals (issue 19): ≤ 3 steered, ≤ 1.5 passed. */
  connect4SteeredOverNoop: number;
  connect4PassOverNoop: number;
  /** Both Sigil programs of the hook ÷ two no-ops. */
  hookSteeredOverNoops: number;
  hookPassOverNoops: number;
  connects: number;
  rounds: number;
  spread: Record<keyof Round, Spread>;
}


function snapshot(stats: NativeProgramStats[], prefix = ''): Snapshot {
  const out: Snapshot = new Map();
  for (const s of stats) out.set(prefix + s.name, { runs: Number(s.runCount), ns: Number(s.runTimeNs) });
  return out;
}

const r2 = (n: number): number => Math.round(n * 100) / 100;

export async function benchBpf(connects = 2000, rounds = 5): Promise<BpfBench> {
  const id = randomBytes(4).toString('hex');
  const cgroup = path.join(await findCgroup2Mount(), `sigil-bench-${id}`);
  const pinDir = `/sys/fs/bpf/sigil-bench-${id}`;
  await mkdir(cgroup);
  const peers: PeerProcess[] = [];
  let steering: KernelSteering | undefined;
  const noops: Array<InstanceType<ReturnType<typeof loadNative>['NoopSet']>> = [];
  try {
    const listener = new PeerProcess(spawnInCgroup(cgroup, process.execPath, [PROBE_PEER, 'listen', '--host', '127.77.250.1']));
    peers.push(listener);
    await listener.ready();
    const { NoopSet } = loadNative();
    noops.push(new NoopSet(cgroup)); // before Sigil's programs in the hook
    steering = await KernelSteering.attach({ signerIPv4: '127.77.250.1', signerPort: listener.port, cgroupPath: cgroup, pinDir });
    noops.push(new NoopSet(cgroup)); // after them
    steering.setScanComplete(true);
    steering.setDestination({ addr: '127.77.250.9', port: 443, destId: 1 });
    const dialer = new PeerProcess(spawnInCgroup(cgroup, process.execPath, [PROBE_PEER, 'dial']));
    peers.push(dialer);
    await dialer.ready();
    steering.setProcess(dialer.pid, { state: 'bound', bindingId: 1 });
    steering.enableStats();
    const all = (): Snapshot => new Map([
      ...snapshot(steering!.programStats().filter((s) => CONNECT4_PROGRAMS.includes(s.name))),
      ...snapshot(noops[0]!.stats(), 'first:'), ...snapshot(noops[1]!.stats(), 'last:'),
    ]);
    const dialAll = async (host: string, port: number): Promise<void> => {
      for (let done = 0; done < connects; done += 100) {
        const results = await dialer.dial(host, port, Math.min(100, connects - done));
        if (results.some((r) => !r.ok)) throw new Error(`dial ${host}:${port} failed: ${JSON.stringify(results.find((r) => !r.ok))}`);
      }
    };
    const measure = async (host: string, port: number) => {
      const before = all();
      await dialAll(host, port);
      const after = all();
      const first = perRun(before, after, 'first:noop_connect4');
      const last = perRun(before, after, 'last:noop_connect4');
      return { sigil: perRun(before, after, 'sigil_connect4'), guard: perRun(before, after, 'sigil_guard4'), first, last, noop: (first + last) / 2 };
    };
    const results: Round[] = [];
    for (let round = 0; round < rounds; round++) {
      const steered = await measure('127.77.250.9', 443);
      const pass = await measure('127.77.250.1', listener.port);
      const noopNs = (steered.noop + pass.noop) / 2;
      results.push({
        steeredNs: steered.sigil, passNs: pass.sigil, guardSteeredNs: steered.guard, guardPassNs: pass.guard,
        noopFirstNs: (steered.first + pass.first) / 2, noopLastNs: (steered.last + pass.last) / 2, noopNs,
        steeredOverNoop: steered.sigil / steered.noop, passOverNoop: pass.sigil / pass.noop,
        hookSteeredOverNoops: (steered.sigil + steered.guard) / (2 * steered.noop), hookPassOverNoops: (pass.sigil + pass.guard) / (2 * pass.noop),
      });
    }
    const s = Object.fromEntries((Object.keys(results[0]!) as Array<keyof Round>).map((k) => [k, spread(results.map((r) => r[k]), k.endsWith('Ns') ? 0 : 2)])) as Record<keyof Round, Spread>;
    return {
      connect4SteeredNs: s.steeredNs.median, connect4PassNs: s.passNs.median, noopNs: s.noopNs.median,
      connect4SteeredOverNoop: r2(s.steeredOverNoop.median), connect4PassOverNoop: r2(s.passOverNoop.median),
      hookSteeredOverNoops: r2(s.hookSteeredOverNoops.median), hookPassOverNoops: r2(s.hookPassOverNoops.median),
      connects, rounds, spread: s,
    };
  } finally {
    for (const p of peers) p.child.kill('SIGKILL');
    await Promise.all(peers.map((p) => new Promise((r) => (p.child.exitCode !== null || p.child.signalCode !== null ? r(null) : p.child.once('exit', r)))));
    for (const n of noops) n.close();
    steering?.detach();
    steering?.close();
    await rm(pinDir, { recursive: true, force: true });
    await rmdir(cgroup).catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchBpf().then((r) => console.log(JSON.stringify({ bpf: r }, null, 2)), (err) => { console.error(err); process.exit(1); });
}
