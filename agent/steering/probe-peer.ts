#!/usr/bin/env node
/**
 * A tiny TCP peer for `sigil-agent doctor` and the kernel tests, run as a child process inside a test
 * cgroup. Talks JSON lines: commands on stdin, results on stdout (bigints as strings).
 *
 *   probe-peer listen [--pin <pinDir>] --host <ip> [--host <ip> ...] [--port <n>]
 *     prints {"ready":true,"port":n}; then per accepted connection {"accepted":{peerAddress, peerPort,
 *     localAddress, localPort, record}} (record = the kernel's connectionFor(), null if none), replies "k".
 *   probe-peer dial
 *     prints {"ready":true} (the process has exec'd), then reads stdin {"id":1,"host":"127.77.0.9","port":443,"count":1} -> {"id":1,"results":[{ok, code?,
 *     localAddress, localPort, remoteAddress, remotePort}]} once every connection got its "k" (or failed).
 */
import net from 'node:net';
import readline from 'node:readline';
import { KernelSteering } from './steering.js';

function emit(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}\n`);
}

function flag(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) if (args[i] === name && args[i + 1] !== undefined) out.push(args[++i] as string);
  return out;
}

async function listen(args: string[]): Promise<void> {
  const [pin] = flag(args, '--pin');
  const hosts = flag(args, '--host');
  let port = Number(flag(args, '--port')[0] ?? 0);
  // Opened at the first accept: the parent attaches (and pins) only after it learnt our port.
  let steering: KernelSteering | undefined;
  for (const host of hosts) {
    const server = net.createServer((socket) => {
      if (pin && !steering) steering = KernelSteering.openPinned(pin);
      const record = steering ? steering.connectionFor(socket) : null;
      emit({ accepted: { peerAddress: socket.remoteAddress, peerPort: socket.remotePort, localAddress: socket.localAddress, localPort: socket.localPort, record } });
      socket.on('error', () => {});
      socket.end('k');
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: true }, () => resolve());
    });
    port = (server.address() as net.AddressInfo).port;
  }
  emit({ ready: true, port });
}

interface DialCommand { id: number; host: string; port: number; count?: number }

function dialOnce(host: string, port: number): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let info: Record<string, unknown> = {};
    socket.setTimeout(10_000, () => socket.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    socket.on('connect', () => {
      info = { ok: true, localAddress: socket.localAddress, localPort: socket.localPort, remoteAddress: socket.remoteAddress, remotePort: socket.remotePort };
    });
    socket.on('data', () => {});
    socket.on('close', () => resolve(info));
    socket.on('error', (err: NodeJS.ErrnoException) => { info = { ok: false, code: err.code }; });
  });
}

async function dial(): Promise<void> {
  const lines = readline.createInterface({ input: process.stdin });
  // Past exec now: state the parent writes for this pid from here on sticks.
  emit({ ready: true, port: 0 });
  for await (const line of lines) {
    if (!line.trim()) continue;
    const cmd = JSON.parse(line) as DialCommand;
    const results = await Promise.all(Array.from({ length: cmd.count ?? 1 }, () => dialOnce(cmd.host, cmd.port)));
    emit({ id: cmd.id, results });
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === 'listen') {
  await listen(rest);
} else if (mode === 'dial') {
  await dial();
} else {
  process.stderr.write('usage: probe-peer listen [--pin dir] --host ip [--port n] | probe-peer dial\n');
  process.exit(2);
}
