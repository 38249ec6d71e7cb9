/**
 * What identity protection costs in the kernel, as ratios to a no-op program of the same type on the
 * same hook, measured in the same run (bpf/noop.bpf.c, attached beside Sigil's own programs, so both
 * run for every event): connect4 steered and passed, the exec tracepoint (which now copies argv and
 * environ), and the openat exit tracepoint that taint-only mode adds to every open on the host.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import path from 'node:path';
import type { NativeProgramStats } from '../native/binding.js';
import { KernelSteering, findCgroup2Mount, loadNative } from '../agent/steering/index.js';
import { PROBE_PEER, PeerProcess, spawnInCgroup } from '../agent/steering/probe.js';
import { perRun, type Snapshot } from './program-runs.js';

export interface IdentityCostBench {
  protection: string;
  /** Mean ns per run, Sigil's program and the no-op of the same type during the same events. */
  connect4: { steeredNs: number; passNs: number; noopNs: number; steeredOverNoop: number; passOverNoop: number; connects: number };
  exec: { sigilNs: number; noopNs: number; overNoop: number; execs: number };
  openat: { sigilNs: number; noopNs: number; overNoop: number; opens: number } | null;
}


/** By kernel name; names are cut to 15 characters, so same-prefix programs (the three open exits) add up. */
function snapshot(stats: NativeProgramStats[]): Snapshot {
  const out: Snapshot = new Map();
  for (const s of stats) {
    const seen = out.get(s.name) ?? { runs: 0, ns: 0 };
    out.set(s.name, { runs: seen.runs + s.runCount, ns: seen.ns + s.runTimeNs });
  }
  return out;
}

const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;

export async function benchIdentityCost(connects = 2000, execs = 300, opens = 20_000): Promise<IdentityCostBench> {
  const id = randomBytes(4).toString('hex');
  const cgroup = path.join(await findCgroup2Mount(), `sigil-bench-id-${id}`);
  const pinDir = `/sys/fs/bpf/sigil-bench-id-${id}`;
  await mkdir(cgroup);
  const peers: PeerProcess[] = [];
  let steering: KernelSteering | undefined;
  let noops: InstanceType<ReturnType<typeof loadNative>['NoopSet']> | undefined;
  try {
    const listener = new PeerProcess(spawnInCgroup(cgroup, process.execPath, [PROBE_PEER, 'listen', '--host', '127.77.251.1']));
    peers.push(listener);
    await listener.ready();
    steering = await KernelSteering.attach({ signerIPv4: '127.77.251.1', signerPort: listener.port, cgroupPath: cgroup, pinDir });
    steering.setScanComplete(true);
    steering.setDestination({ addr: '127.77.251.9', port: 443, destId: 1 });
    noops = new (loadNative().NoopSet)(cgroup);
    const dialer = new PeerProcess(spawnInCgroup(cgroup, process.execPath, [PROBE_PEER, 'dial']));
    peers.push(dialer);
    await dialer.ready();
    steering.setProcess(dialer.pid, { state: 'bound', bindingId: 1 });
    steering.enableStats();
    const both = (): Snapshot => snapshot([...steering!.programStats(), ...noops!.stats()]);

    const dialAll = async (host: string, port: number): Promise<void> => {
      for (let done = 0; done < connects; done += 100) {
        const results = await dialer.dial(host, port, 100);
        if (results.some((r) => !r.ok)) throw new Error(`dial ${host}:${port} failed`);
      }
    };
    let before = both();
    await dialAll('127.77.251.9', 443);
    let after = both();
    const steeredNs = perRun(before, after, 'sigil_connect4');
    const noopSteered = perRun(before, after, 'noop_connect4');
    before = both();
    await dialAll('127.77.251.1', listener.port);
    after = both();
    const passNs = perRun(before, after, 'sigil_connect4');
    const noopPass = perRun(before, after, 'noop_connect4');
    const noopNs = (noopSteered + noopPass) / 2;

    before = both();
    for (let i = 0; i < execs; i++) spawnSync('/bin/true');
    after = both();
    const execSigil = perRun(before, after, 'sigil_exec');
    const execNoop = perRun(before, after, 'noop_exec');

    let openat: IdentityCostBench['openat'] = null;
    if (steering.protectionChoice.mode === 'taint-only') {
      before = both();
      for (let i = 0; i < opens; i++) closeSync(openSync('/proc/self/stat', 'r'));
      after = both();
      const sigil = perRun(before, after, 'sigil_taint_ope');
      const noop = perRun(before, after, 'noop_openat');
      openat = { sigilNs: Math.round(sigil), noopNs: Math.round(noop), overNoop: ratio(sigil, noop), opens };
    }
    return {
      protection: steering.protectionChoice.mode,
      connect4: {
        steeredNs: Math.round(steeredNs), passNs: Math.round(passNs), noopNs: Math.round(noopNs),
        steeredOverNoop: ratio(steeredNs, noopSteered), passOverNoop: ratio(passNs, noopPass), connects,
      },
      exec: { sigilNs: Math.round(execSigil), noopNs: Math.round(execNoop), overNoop: ratio(execSigil, execNoop), execs },
      openat,
    };
  } finally {
    for (const p of peers) p.child.kill('SIGKILL');
    await Promise.all(peers.map((p) => new Promise((r) => (p.child.exitCode !== null || p.child.signalCode !== null ? r(null) : p.child.once('exit', r)))));
    noops?.close();
    steering?.detach();
    steering?.close();
    await rm(pinDir, { recursive: true, force: true });
    await rmdir(cgroup).catch(() => undefined);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchIdentityCost().then((r) => console.log(JSON.stringify({ identityCost: r }, null, 2)), (err) => { console.error(err); process.exit(1); });
}
