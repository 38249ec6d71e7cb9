/**
 * Driving probe-peer children inside a cgroup: used by `sigil-agent doctor` and by the kernel tests.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The compiled probe-peer script next to this module. */
export const PROBE_PEER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'probe-peer.js');

/** Spawns `command args` inside `cgroupPath`: the shell joins the cgroup, then execs, so every socket is in it. */
export function spawnInCgroup(cgroupPath: string, command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  return spawn('sh', ['-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroupPath, command, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'], ...options,
  });
}

export interface DialResult { ok: boolean; code?: string; localAddress?: string; localPort?: number; remoteAddress?: string; remotePort?: number }
export interface AcceptedRecord { origAddr: string; origPort: number; family: string; tgid: number; uid: number; execSeq: number; startTime: string; cookie: string }
export interface Accepted { peerAddress: string; peerPort: number; localAddress: string; localPort: number; record: AcceptedRecord | null }

/** A probe-peer child: send JSON commands, wait for JSON messages. */
export class PeerProcess {
  readonly messages: Record<string, unknown>[] = [];
  private readonly waiters: (() => void)[] = [];
  private nextId = 1;
  stderr = '';
  /** Listening port (listen mode, after ready()). */
  port = 0;

  constructor(readonly child: ChildProcess) {
    readline.createInterface({ input: child.stdout! }).on('line', (line) => {
      try { this.messages.push(JSON.parse(line) as Record<string, unknown>); } catch { return; }
      this.wake();
    });
    child.stderr?.on('data', (d: Buffer) => { this.stderr += d.toString(); });
    child.on('exit', () => this.wake());
  }

  get pid(): number { return this.child.pid ?? -1; }

  /** Waits for {ready}: dial mode has exec'd, listen mode is listening (and knows its port). */
  async ready(timeoutMs = 15_000): Promise<this> {
    const [ready] = await this.waitFor<{ port: number }>((m) => m['ready'] === true, 1, timeoutMs);
    this.port = ready!.port;
    return this;
  }

  /** dial mode: `count` concurrent connections to host:port; resolves when all finished. */
  async dial(host: string, port: number, count = 1, timeoutMs = 30_000): Promise<DialResult[]> {
    const id = this.nextId++;
    this.child.stdin!.write(`${JSON.stringify({ id, host, port, count })}\n`);
    const [reply] = await this.waitFor<{ results: DialResult[] }>((m) => m['id'] === id, 1, timeoutMs);
    return reply!.results;
  }

  /** listen mode: every accepted connection so far. */
  accepted(): Accepted[] {
    return this.messages.filter((m) => m['accepted']).map((m) => m['accepted'] as Accepted);
  }

  /** listen mode: the accepted connection whose peer port is `peerPort`. */
  async acceptedFrom(peerPort: number, timeoutMs = 15_000): Promise<Accepted> {
    const [m] = await this.waitFor((msg) => (msg['accepted'] as Accepted | undefined)?.peerPort === peerPort, 1, timeoutMs);
    return m!['accepted'] as Accepted;
  }

  /** Resolves with the messages matching `pred` once there are `count` of them. */
  async waitFor<T = Record<string, unknown>>(pred: (m: Record<string, unknown>) => boolean, count = 1, timeoutMs = 15_000): Promise<T[]> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.messages.filter(pred);
      if (found.length >= count) return found.slice(0, count) as T[];
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`probe peer ${this.pid} exited: ${this.stderr.trim()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`probe peer ${this.pid}: timed out waiting for ${count} message(s); stderr: ${this.stderr.trim()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}
