/**
 * Runs a workload the way a real host would, but fenced for tests and the demo: inside a given
 * cgroup (the steered one), in its own mount namespace whose /etc/hosts maps the real OCI hostnames
 * to loopback stand-ins (the machine's /etc/hosts is never touched), as an unprivileged uid (never root).
 * The chain sh → unshare → setpriv → program keeps one pid (every step execs), so the kernel sees
 * exactly the execs a real program would make. As another uid the program gets no capability at all:
 * it reads only what that uid may read (deploy its files with test/helpers/test-app.ts).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { WORKLOAD_UID } from '../helpers/test-app.js';

export interface WorkloadRun {
  /** Exit code; 97/98 are the runner's own (see workload-failure.ts); null when killed. */
  code: number | null;
  /** The signal that ended it, when code is null. */
  signal?: string;
  /** One parsed object per JSON line the program printed. */
  lines: Array<Record<string, unknown>>;
  stdout: string;
  stderr: string;
  pid: number;
}

export interface WorkloadOptions {
  cgroup: string;
  /** hostname → address for the private /etc/hosts. */
  hosts: Record<string, string>;
  command: string;
  args: string[];
  env?: Record<string, string>;
  /** Default WORKLOAD_UID; root is not an option: workloads run as users do. */
  uid?: number;
  gid?: number;
  timeoutMs?: number;
  /** Told the pid as soon as the program is spawned (for attest or fault tests). */
  onSpawn?: (pid: number) => void;
}

const SCRIPT = [
  'echo $$ > "$SIGIL_CG/cgroup.procs" || exit 97',
  'exec unshare --mount --propagation private sh -c \'mount --bind "$SIGIL_HOSTS" /etc/hosts || exit 98; exec "$@"\' sh "$@"',
].join('\n');

export async function runWorkload(options: WorkloadOptions): Promise<WorkloadRun> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-test-hosts-'));
  const hostsFile = path.join(dir, 'hosts');
  const lines = ['127.0.0.1 localhost', '::1 localhost', ...Object.entries(options.hosts).map(([h, a]) => `${a} ${h}`)];
  await writeFile(hostsFile, `${lines.join('\n')}\n`, { mode: 0o644 });
  const uid = options.uid ?? WORKLOAD_UID;
  if (uid === 0) throw new Error('runWorkload: workloads never run as root');
  // Changing every uid away from 0 drops all capabilities; none are inherited or ambient.
  const argv = ['setpriv', `--reuid=${uid}`, `--regid=${options.gid ?? uid}`, '--clear-groups', '--inh-caps=-all', options.command, ...options.args];
  try {
    return await new Promise<WorkloadRun>((resolve, reject) => {
      const child = spawn('sh', ['-c', SCRIPT, 'sh', ...argv], {
        env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, ...options.env, SIGIL_CG: options.cgroup, SIGIL_HOSTS: hostsFile },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (child.pid === undefined) return reject(new Error('workload did not start'));
      options.onSpawn?.(child.pid);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
      const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        const parsed = stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve({ code, ...(signal ? { signal } : {}), lines: parsed, stdout, stderr, pid: child.pid as number });
      });
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The identity the SDK workload reports on stderr (`uid=… gid=… CapEff=… CapAmb=…`, from /proc/self/status). */
export function reportedIdentity(run: Pick<WorkloadRun, 'stderr'>): { uids: number[]; capEff: string; capAmb: string } | undefined {
  const m = /oci-sdk-workload identity: uid=([\d\s]+) gid=[\d\s]+ CapEff=(\w+) CapAmb=(\w+)/.exec(run.stderr);
  if (!m) return undefined;
  return { uids: m[1]!.trim().split(/\s+/).map(Number), capEff: m[2]!, capAmb: m[3]! };
}
