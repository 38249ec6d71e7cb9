/**
 * HTTPS listener shared by the stand-ins: HTTP/1.1 on a loopback address, port 0 by default,
 * and a close() that also ends kept-alive and hung connections (tests must not leak sockets).
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface HttpsListener {
  readonly server: Server;
  readonly address: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function listenHttps(opts: {
  address: string;
  port?: number;
  certPem: string;
  keyPem: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}): Promise<HttpsListener> {
  const server = createServer({ cert: opts.certPem, key: opts.keyPem, ALPNProtocols: ['http/1.1'] }, opts.handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  // A client that hangs up mid-handshake is its own problem, not a reason to crash the test run.
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.address, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('listener has no TCP address');

  let closing: Promise<void> | undefined;
  return {
    server,
    address: opts.address,
    port: bound.port,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
      return closing;
    },
  };
}

/** Reads a request body up to maxBytes; undefined when it is larger (the rest is discarded). */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    if (tooLarge) continue;
    size += chunk.length;
    if (size > maxBytes) {
      tooLarge = true;
      chunks.length = 0;
      continue;
    }
    chunks.push(chunk);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}
