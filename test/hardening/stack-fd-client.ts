/**
 * The program a process execs into after it connected (stack-impersonation.test.ts): it speaks
 * HTTPS GetNamespace over the TCP socket it inherited as `--fd N` (opened by the program before the
 * exec), then over a connection of its own, and prints one JSON line per attempt:
 * {via: 'inherited' | 'fresh', status[, body]} or {via, error}. Without --fd only the fresh one. Trust comes from NODE_EXTRA_CA_CERTS.
 *
 *   exec 3<>/dev/tcp/<host>/443; exec <node> stack-fd-client.js --fd 3 --host <host> --tag <t>
 */
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { fd: { type: 'string' }, host: { type: 'string' }, tag: { type: 'string', default: 'fd-client' } } });
const host = values.host ?? '';

function report(via: string, result: { status?: number; error?: string; body?: string }): void {
  process.stdout.write(`${JSON.stringify({ via, ...result })}\n`);
}

/** One GetNamespace over an already connected TLS socket; resolves with the status line's code. */
function overSocket(socket: tls.TLSSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    let data = '';
    socket.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3}) /.exec(data);
      if (m) {
        resolve(Number(m[1]));
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed without an answer: ${JSON.stringify(data.slice(0, 80))}`)));
    socket.write(`GET /n/ HTTP/1.1\r\nHost: ${host}\r\nx-test-tag: ${values.tag}\r\nconnection: close\r\n\r\n`);
  });
}

async function inherited(fd: number): Promise<void> {
  try {
    const raw = new net.Socket({ fd, readable: true, writable: true });
    // No `ca`: the default store includes NODE_EXTRA_CA_CERTS.
    const socket = tls.connect({ socket: raw, servername: host });
    await new Promise<void>((resolve, reject) => {
      socket.once('secureConnect', resolve);
      socket.once('error', reject);
    });
    report('inherited', { status: await overSocket(socket) });
  } catch (err) {
    report('inherited', { error: (err as Error).message });
  }
}

function fresh(): Promise<void> {
  return new Promise((resolve) => {
    const req = https.get({ host, path: '/n/', headers: { 'x-test-tag': values.tag }, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => {
        report('fresh', { status: res.statusCode ?? 0, body: body.slice(0, 500) });
        resolve();
      });
    });
    req.on('error', (err) => {
      report('fresh', { error: err.message });
      resolve();
    });
  });
}

if (values.fd !== undefined) await inherited(Number(values.fd));
await fresh();
