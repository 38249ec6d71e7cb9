/**
 * The SDK workload as an ordinary user would run it: its own placeholder OCI config (owned by that
 * uid, as `sigil-agent oci-config` run by the user makes it), the CA bundle from the stack, nothing else.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { installDir } from '../helpers/test-app.js';
import { AGENT_MAIN, OS_HOST, REGION, type Stack } from './stack.js';
import { runWorkload, type WorkloadRun } from './workload-runner.js';

const execFileP = promisify(execFile);
const configs = new Map<string, string>();

/** The home of `uid` under the stack's stand-in host root (0700, its own). */
function homeOf(stack: Stack, uid: number): string {
  return path.join(stack.host, 'home', `u${uid}`);
}

/** A placeholder OCI config in the uid's home, owned by it (root writes it, hands it over). */
export async function ociConfigFor(stack: Stack, uid: number): Promise<string> {
  const key = `${stack.root}|${uid}`;
  const known = configs.get(key);
  if (known) return known;
  const home = await installDir(homeOf(stack, uid), 0o700, { uid, gid: uid });
  const dir = path.join(home, '.oci');
  await execFileP(process.execPath, [AGENT_MAIN, 'oci-config', '--dir', dir, '--region', REGION]);
  await execFileP('chown', ['-R', `${uid}:${uid}`, dir]);
  const file = path.join(dir, 'config');
  configs.set(key, file);
  return file;
}

export interface UidWorkloadOptions {
  uid: number;
  tag: string;
  /** Program that runs the script (default this node; a copy hashes differently). */
  node?: string;
  repeat?: number;
  pauseMs?: number;
  timeoutMs?: number;
  onSpawn?: (pid: number) => void;
}

export async function runSdkAs(stack: Stack, opts: UidWorkloadOptions): Promise<WorkloadRun> {
  return runWorkload({
    cgroup: stack.workloadCgroup,
    hosts: { [OS_HOST]: stack.objectStorage.address },
    command: opts.node ?? process.execPath,
    args: [stack.workloadScript, '--config', await ociConfigFor(stack, opts.uid), '--region', REGION, '--tag', opts.tag,
      '--repeat', String(opts.repeat ?? 1), ...(opts.pauseMs ? ['--pause-ms', String(opts.pauseMs)] : [])],
    // The signer's CA and the stand-ins' "public" CA in one file, made by the workload user (stack).
    env: { NODE_EXTRA_CA_CERTS: stack.caBundle, HOME: homeOf(stack, opts.uid) },
    uid: opts.uid,
    ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.onSpawn ? { onSpawn: opts.onSpawn } : {}),
  });
}

/**
 * Plain TCP connects to the Object Storage host on 443 as `uid` under `node` (the program whose
 * identity is judged), until one fails with an errno or 50 attempts (100 ms apart) have connected.
 * One JSON line per attempt: {"op":"connect","ok":false,"cause":"EPERM"}, or {"op":"connect","ok":true,
 * "closedByPeer":bool} (a connection made while the process was still pending attestation goes to the
 * signer, which closes it when the process attests unbound and the destination is locked).
 * The SDK hides why a connect failed ("fetch failed"); this says whether the kernel refused it.
 */
export async function runConnectProbe(stack: Stack, opts: { uid: number; node?: string; attempts?: number }): Promise<WorkloadRun> {
  const script = `const net = require('net');
let left = ${opts.attempts ?? 50};
function attempt() {
  const s = net.connect(443, ${JSON.stringify(OS_HOST)});
  let connected = false, peerClosed = false;
  s.on('connect', () => { connected = true; setTimeout(() => { console.log(JSON.stringify({ op: 'connect', ok: true, closedByPeer: peerClosed })); s.destroy(); if (--left > 0) setTimeout(attempt, 100); }, 200); });
  s.on('close', () => { if (connected) peerClosed = true; });
  s.on('error', (e) => { if (!connected) console.log(JSON.stringify({ op: 'connect', ok: false, cause: e.code })); });
}
attempt();`;
  return runWorkload({
    cgroup: stack.workloadCgroup,
    hosts: { [OS_HOST]: stack.objectStorage.address },
    command: opts.node ?? process.execPath,
    args: ['-e', script],
    uid: opts.uid,
  });
}
