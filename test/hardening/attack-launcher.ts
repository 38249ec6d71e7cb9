/**
 * Starts an attacker (or the genuine workload) the way identity-attacks.test.ts needs it: in the
 * stack's steered workload cgroup, in a private mount namespace whose /etc/hosts maps the OCI host to
 * its stand-in, as an unprivileged uid with NO capabilities (no ambient, inheritable or bounding
 * set; unlike e2e/workload-runner.ts, which grants read-search for checkouts under /root), and stays
 * interactive: stdin is a pipe, stdout JSON lines can be awaited while it runs.
 *
 *   const p = launch({ cgroup, hosts, uid: 65534, command, args });
 *   const line = await p.line((l) => l.event === 'swapped');
 *   p.write('go\n'); await p.exited; p.kill();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Line = Record<string, unknown>;

export interface LaunchOptions {
  cgroup: string;
  hosts: Record<string, string>;
  uid: number;
  gid?: number;
  command: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface Launched {
  /** The pid of the chain sh → unshare → sh → setpriv → command (one pid: every step execs). */
  pid: number;
  lines: Line[];
  output(): string;
  /** Resolves with the first line (already seen or still to come) that matches, or rejects at the deadline. */
  line(match: (l: Line) => boolean, timeoutMs?: number): Promise<Line>;
  write(text: string): void;
  closeStdin(): void;
  /** Exit code (null when killed), once the process and its output are done. */
  exited: Promise<number | null>;
  /** SIGKILL by pid if still running. */
  kill(): void;
}

const SCRIPT = [
  'echo $$ > "$SIGIL_CG/cgroup.procs" || exit 97',
  'exec unshare --mount --propagation private sh -c \'mount --bind "$SIGIL_HOSTS" /etc/hosts || exit 98; exec "$@"\' sh "$@"',
].join('\n');

export function launch(options: LaunchOptions): Launched {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sigil-test-attack-hosts-'));
  const hostsFile = path.join(dir, 'hosts');
  writeFileSync(hostsFile, ['127.0.0.1 localhost', ...Object.entries(options.hosts).map(([h, a]) => `${a} ${h}`)].join('\n') + '\n', { mode: 0o644 });
  const gid = options.gid ?? options.uid;
  const argv = ['setpriv', `--reuid=${options.uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', '--ambient-caps=-all', '--bounding-set=-all',
    options.command, ...options.args];
  const child: ChildProcess = spawn('sh', ['-c', SCRIPT, 'sh', ...argv], {
    env: { PATH: process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin', HOME: dir, ...options.env, SIGIL_CG: options.cgroup, SIGIL_HOSTS: hostsFile },
    stdio: ['pipe', 'pipe', 'pipe'],
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  if (child.pid === undefined) throw new Error(`could not start ${options.command}`);
  const lines: Line[] = [];
  const waiters = new Set<() => void>();
  let stdout = '';
  let stderr = '';
  let partial = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
    partial += d.toString();
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.startsWith('{')) continue;
      try { lines.push(JSON.parse(p) as Line); } catch { /* not ours */ }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => {
      rmSync(dir, { recursive: true, force: true });
      for (const w of [...waiters]) w();
      resolve(code);
    });
  });
  const output = (): string => `stdout:\n${stdout}\nstderr:\n${stderr}`;
  return {
    pid: child.pid,
    lines,
    output,
    line(match, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(match);
          if (found) { done(); resolve(found); return; }
          if (child.exitCode !== null || child.signalCode !== null) { done(); reject(new Error(`exited (${child.exitCode ?? child.signalCode}) before the expected line:\n${output()}`)); }
        };
        const timer = setTimeout(() => { done(); reject(new Error(`no expected line after ${timeoutMs} ms:\n${output()}`)); }, timeoutMs);
        const done = (): void => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
    write(text) { child.stdin!.write(text); },
    closeStdin() { child.stdin!.end(); },
    exited,
    kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
