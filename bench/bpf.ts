/**
 * ns per run of the connect4 hook, steered and not steered, from the kernel's own run-time stats
 * (BPF_ENABLE_STATS): a probe peer in a private cgroup dials a listed destination (rewritten to the
 * listener) and then the listener directly (not listed: passes untouched).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { KernelSteering, findCgroup2Mount } from '../agent/steering/index.js';
import { PROBE_PEER, PeerProcess, spawnInCgroup } from '../agent/steering/probe.js';

export interface BpfBench {
  connect4SteeredNs: number;
  connect4PassNs: number;
  connects: number;
}

function connect4Stats(steering: KernelSteering): { runs: number; ns: number } {
  const s = steering.programStats().find((p) => p.name.includes('connect4'));
  if (!s) throw new Error('connect4 program not found in programStats()');
  return { runs: Number(s.runCount), ns: Number(s.runTimeNs) };
}

async function measure(steering: KernelSteering, dial: () => Promise<void>): Promise<number> {
  const before = connect4Stats(steering);
  await dial();
  const after = connect4Stats(steering);
  const runs = after.runs - before.runs;
  if (runs <= 0) throw new Error('the connect4 hook did not run');
  return (after.ns - before.ns) / runs;
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
    const connect4SteeredNs = await measure(steering, run('127.77.250.9', 443));
    const connect4PassNs = await measure(steering, run('127.77.250.1', listener.port));
    return { connect4SteeredNs: Math.round(connect4SteeredNs), connect4PassNs: Math.round(connect4PassNs), connects };
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
