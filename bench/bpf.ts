/**
 * ns per connect on the connect4 hook, steered and not steered, from the kernel's own run-time stats
 * (BPF_ENABLE_STATS): a probe peer in a private cgroup dials a listed destination (rewritten to the
 * listener) and then the listener directly (not listed: passes untouched). The hook runs two programs
 * (sigil_connect4 and its guard, sigil_guard4): the hook figures are their sum, per program beside.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { KernelSteering, findCgroup2Mount } from '../agent/steering/index.js';
import { PROBE_PEER, PeerProcess, spawnInCgroup } from '../agent/steering/probe.js';

const CONNECT4_PROGRAMS = ['sigil_connect4', 'sigil_guard4'];

export interface BpfBench {
  /** Both programs of the hook, per connect. */
  connect4SteeredNs: number;
  connect4PassNs: number;
  /** ns per run of each program on the hook. */
  connect4ByProgram: { steered: Record<string, number>; pass: Record<string, number> };
  connects: number;
}

function connect4Stats(steering: KernelSteering): Map<string, { runs: number; ns: number }> {
  const out = new Map<string, { runs: number; ns: number }>();
  for (const s of steering.programStats()) if (CONNECT4_PROGRAMS.includes(s.name)) out.set(s.name, { runs: Number(s.runCount), ns: Number(s.runTimeNs) });
  for (const name of CONNECT4_PROGRAMS) if (!out.has(name)) throw new Error(`${name} not found in programStats()`);
  return out;
}

async function measure(steering: KernelSteering, dial: () => Promise<void>, connects: number): Promise<{ hookNs: number; byProgram: Record<string, number> }> {
  const before = connect4Stats(steering);
  await dial();
  const after = connect4Stats(steering);
  const byProgram: Record<string, number> = {};
  let total = 0;
  for (const name of CONNECT4_PROGRAMS) {
    const runs = after.get(name)!.runs - before.get(name)!.runs;
    if (runs <= 0) throw new Error(`${name} did not run`);
    const ns = after.get(name)!.ns - before.get(name)!.ns;
    byProgram[name] = Math.round(ns / runs);
    total += ns;
  }
  return { hookNs: total / connects, byProgram };
}

export async function benchBpf(connects = 2000): Promise<BpfBench> {
  const id = randomBytes(4).toString('hex');
  const cgroup = path.join(await findCgroup2Mount(), `sigil-bench-${id}`);
  const pinDir = `/sys/fs/bpf/sigil-bench-${id}`;
  await mkdir(cgroup);
  const peers: PeerProcess[] = [];
  let steering: KernelSteering | undefined;
  try {
    const listener = new PeerProcess(spawnInCgroup(cgroup, process.execPath, [PROBE_PEER, 'listen', '--host', '127.77.250.1']));
    peers.push(listener);
    await listener.ready();
    steering = await KernelSteering.attach({ signerIPv4: '127.77.250.1', signerPort: listener.port, cgroupPath: cgroup, pinDir });
    steering.setScanComplete(true);
    steering.setDestination({ addr: '127.77.250.9', port: 443, destId: 1 });
    const dialer = new PeerProcess(spawnInCgroup(cgroup, process.execPath, [PROBE_PEER, 'dial']));
    peers.push(dialer);
    await dialer.ready();
    steering.setProcess(dialer.pid, { state: 'bound', bindingId: 1 });
    steering.enableStats();
    const batch = 100;
    const run = (host: string, port: number) => async () => {
      for (let done = 0; done < connects; done += batch) {
        const results = await dialer.dial(host, port, batch);
        if (results.some((r) => !r.ok)) throw new Error(`dial ${host}:${port} failed: ${JSON.stringify(results.find((r) => !r.ok))}`);
      }
    };
    const steered = await measure(steering, run('127.77.250.9', 443), connects);
    const pass = await measure(steering, run('127.77.250.1', listener.port), connects);
    return {
      connect4SteeredNs: Math.round(steered.hookNs), connect4PassNs: Math.round(pass.hookNs),
      connect4ByProgram: { steered: steered.byProgram, pass: pass.byProgram }, connects,
    };
  } finally {
    for (const p of peers) p.child.kill('SIGKILL');
    await Promise.all(peers.map((p) => new Promise((r) => (p.child.exitCode !== null || p.child.signalCode !== null ? r(null) : p.child.once('exit', r)))));
    steering?.detach();
    steering?.close();
    await rm(pinDir, { recursive: true, force: true });
    await rmdir(cgroup).catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchBpf().then((r) => console.log(JSON.stringify({ bpf: r })), (err) => { console.error(err); process.exit(1); });
}
