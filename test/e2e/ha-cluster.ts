/**
 * The parts of an HA installation as separate processes, for failover tests: nats-server nodes started
 * on the configs `init-nats --cluster` wrote, and control-plane replicas (`sigil-controlplane run`).
 * Each can be killed with SIGKILL (by its pid) and started again on the same config and state.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './stack.js';

export const SERVER_MAIN = path.join(ROOT, 'dist/controlplane/cli/server-main.js');

/** A child process that can be killed and started again with the same command; its output kept. */
export class Restartable {
  #child: ChildProcess | undefined;
  #output = '';
  constructor(readonly name: string, private readonly command: string, private readonly args: string[]) {}

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  get running(): boolean {
    return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null;
  }

  output(): string {
    return this.#output;
  }

  /** Starts it and resolves once `ready()` holds (polled until `timeoutMs`). */
  async start(ready: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#child = child;
    this.#output += `--- start ${new Date().toISOString()}\n`;
    const keep = (d: Buffer): void => { this.#output = (this.#output + d.toString()).slice(-200_000); };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (!this.running) throw new Error(`${this.name} exited (${child.exitCode ?? child.signalCode}):\n${this.#output.slice(-4000)}`);
      if (await ready().catch(() => false)) return;
      if (Date.now() > deadline) throw new Error(`${this.name} not ready after ${timeoutMs} ms:\n${this.#output.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** SIGKILL (or `signal`) by pid; resolves once it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.#child;
    if (!child || !this.running) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  }
}

export async function httpStatus(url: string, timeoutMs = 2_000): Promise<number> {
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  await res.arrayBuffer();
  return res.status;
}

/**
 * The load balancer in front of the replicas' API (the issuer URL OCI IAM fetches the JWKS from):
 * each connection goes to the first backend that accepts it.
 */
export async function startTcpBalancer(listen: { host: string; port: number }, backends: Array<{ host: string; port: number }>): Promise<{ close(): Promise<void> }> {
  const { createServer, connect } = await import('node:net');
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.pause();
    const tryBackend = (i: number): void => {
      const b = backends[i];
      if (!b) return void client.destroy();
      const upstream = connect(b.port, b.host);
      upstream.once('error', () => { upstream.destroy(); tryBackend(i + 1); });
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        sockets.add(upstream);
        upstream.once('close', () => sockets.delete(upstream));
        upstream.on('error', () => client.destroy());
        client.on('error', () => upstream.destroy());
        client.pipe(upstream).pipe(client);
        client.resume();
      });
    };
    tryBackend(0);
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.port, listen.host, () => resolve()));
  return {
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
