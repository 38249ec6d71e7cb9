/**
 * The loopback admin endpoint: GET /metrics (Prometheus text 0.0.4), /healthz (live) and /readyz
 * (ready). Loopback only, because it needs no authentication: it says how the agent is doing, never
 * who holds which credential. Used by the agent and, through the same module, the control plane.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { AgentError } from '../errors.js';
import { EXPOSITION_CONTENT_TYPE } from '../../common/metrics/exposition.js';
import { ADMIN_CODES } from './errors.js';

/** SPIRE-style health: started (init done), ready (serving: programs attached, policy loaded), live (not wedged). */
export interface HealthState {
  started: boolean;
  ready: boolean;
  live: boolean;
  /** Short human text, e.g. why not ready. Never a secret. */
  detail?: string;
  /** Why the agent is degraded (e.g. a kernel program it could not re-attach); non-empty means not ready. */
  degraded?: string[];
}

export interface AdminServerOptions {
  /** host:port, e.g. "127.0.0.1:9464" or "[::1]:9464"; port 0 picks a free one. Host must be loopback. */
  listen: string;
  log: Logger;
  metrics: () => Promise<string> | string;
  health: () => HealthState;
}

export interface AdminServer {
  host: string;
  port: number;
  /** e.g. http://127.0.0.1:9464 */
  url: string;
  close(): Promise<void>;
}

export const AdminErrorCode = {
  BadListen: ADMIN_CODES.ADMIN_LISTEN,
} as const;

/** "127.0.0.1:9464" / "[::1]:0" / "localhost:9464" → host and port; loopback hosts only. */
export function parseAdminListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(listen);
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!m || host === undefined || port > 65535) throw new AgentError(AdminErrorCode.BadListen, `admin listen "${listen}" must be host:port`);
  const loopback = host === 'localhost' || (isIP(host) === 4 && host.startsWith('127.')) || (isIP(host) === 6 && host === '::1');
  if (!loopback) throw new AgentError(AdminErrorCode.BadListen, `admin listen "${listen}" must be a loopback address (127.0.0.0/8, ::1, localhost): the endpoint has no authentication`);
  return { host, port };
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { host, port } = parseAdminListen(options.listen);
  const log = options.log.child({ part: 'admin' });

  const send = (res: ServerResponse, status: number, type: string, body: string): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
  const probe = (res: ServerResponse, ok: boolean, state: HealthState): void => {
    const status = ok ? 'ok' : state.degraded?.length ? 'degraded' : 'unavailable';
    send(res, ok ? 200 : 503, 'application/json', `${JSON.stringify({ status, ...state })}\n`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'text/plain', 'method not allowed\n');
    }
    switch (path) {
      case '/metrics':
        return send(res, 200, EXPOSITION_CONTENT_TYPE, await options.metrics());
      case '/healthz': {
        const state = options.health();
        return probe(res, state.live, state);
      }
      case '/readyz': {
        const state = options.health();
        return probe(res, state.started && state.ready && state.live && !state.degraded?.length, state);
      }
      default:
        return send(res, 404, 'text/plain', 'not found: try /metrics, /healthz, /readyz\n');
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log.error({ err, path: req.url }, 'admin request failed');
      if (!res.headersSent) send(res, 500, 'text/plain', 'internal error\n');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(new AgentError(AdminErrorCode.BadListen, `admin endpoint cannot listen on ${options.listen}: ${err.code ?? err.message}`, { cause: err })));
    server.listen(port, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  const url = `http://${bound.family === 'IPv6' ? `[${bound.address}]` : bound.address}:${bound.port}`;
  log.info({ url }, 'admin endpoint listening');
  return {
    host: bound.address,
    port: bound.port,
    url,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}
