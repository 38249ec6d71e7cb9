import type { Service } from '../../common/service.js';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ControlPlaneError } from '../errors.js';
import { JwtSvidIssuer } from '../issuer/issuer.js';
import type { ResourceStore } from '../store/resource-store.js';
import type { Logger } from '../log.js';
import { isReadMethod, type AccessControl } from './access-tokens.js';
import { handleApi, type ApiHooks } from './api.js';
import { sendError, sendJson } from './respond.js';
import { HTTP_CODES, accessError } from './errors.js';
import { untilAborted } from '../../common/abort.js';

/** Extra endpoints mounted by other parts (fleet): true when the request was handled. */
export type RouteHandler = (req: IncomingMessage, res: ServerResponse, path: string) => Promise<boolean>;

export interface HttpServiceOptions {
  host: string;
  port: number;
  store: ResourceStore;
  /** Admin token and viewer tokens: who may call /v1/, and as which role. */
  access: AccessControl;
  log: Logger;
  /** Whether the parts behind the API are ready (for /readyz), and why not. */
  ready: () => boolean | { ready: boolean; reason?: string };
  /** Told of what the admin API changed (metrics). */
  hooks?: ApiHooks;
}

/**
 * The control plane's HTTP endpoint. Public: /healthz, /readyz and the issuer's discovery, JWKS and
 * SPIFFE bundle (under the issuer URL's path). Everything under /v1/ needs a bearer token: the admin
 * token for everything, a viewer token for reads only (any other method is a 403 before routing).
 */
export class HttpService implements Service {
  readonly name = 'http';
  private server: Server | undefined;
  private issuer: JwtSvidIssuer | undefined;
  private issuerPrefix = '';
  private readonly routes: { public: RouteHandler[]; admin: RouteHandler[] } = { public: [], admin: [] };

  constructor(private readonly options: HttpServiceOptions) {}

  /**
   * Serves this issuer's discovery, JWKS and bundle under its URL's path. Separate from the constructor
   * because the default issuer URL is the listen address, known only after listen() (port 0).
   */
  setIssuer(issuer: JwtSvidIssuer): void {
    this.issuer = issuer;
    this.issuerPrefix = new URL(issuer.issuerUrl).pathname.replace(/\/+$/, '');
  }

  /** Mounts more endpoints: `public` ones are tried before the admin-token check, `admin` ones after it. */
  mount(access: 'public' | 'admin', handler: RouteHandler): void {
    this.routes[access].push(handler);
  }

  /** Listens; resolves once listening so callers can read `address()`. */
  async listen(): Promise<AddressInfo> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!(err instanceof ControlPlaneError) || (err.status ?? 500) >= 500) this.options.log.error({ err }, 'request failed');
        if (!res.headersSent) sendError(res, err);
        else res.destroy();
      });
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port, this.options.host, () => { server.off('error', reject); resolve(); });
    });
    return server.address() as AddressInfo;
  }

  address(): AddressInfo | undefined {
    return (this.server?.address() as AddressInfo | null) ?? undefined;
  }

  /** Serves until the signal fires, then stops accepting and closes idle connections. */
  async run(signal: AbortSignal): Promise<void> {
    const server = this.server;
    if (!server) throw new Error('listen() first');
    await untilAborted(signal);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const { store, log, access } = this.options;
    const issuer = this.issuer;
    if (path === '/healthz') return sendJson(res, 200, { status: 'live' });
    if (path === '/readyz') {
      const answer = this.options.ready();
      const { ready, reason } = typeof answer === 'boolean' ? { ready: answer, reason: answer ? undefined : 'starting' } : answer;
      return sendJson(res, ready ? 200 : 503, ready ? { status: 'ready' } : { status: 'not ready', reason: reason ?? 'starting' });
    }
    if (issuer && (req.method === 'GET' || req.method === 'HEAD')) {
      const publicHeaders = { 'cache-control': 'public, max-age=60' };
      if (path === `${this.issuerPrefix}${JwtSvidIssuer.DISCOVERY_PATH}`) return sendJson(res, 200, issuer.discovery(), publicHeaders);
      if (path === `${this.issuerPrefix}${JwtSvidIssuer.JWKS_PATH}`) return sendJson(res, 200, await issuer.jwks(), publicHeaders);
      if (path === `${this.issuerPrefix}${JwtSvidIssuer.BUNDLE_PATH}`) return sendJson(res, 200, await issuer.bundle(), publicHeaders);
    }
    for (const route of this.routes.public) if (await route(req, res, path)) return;
    if (path.startsWith('/v1/')) {
      const role = await access.roleOfHeader(req.headers.authorization);
      if (role === undefined) throw accessError(HTTP_CODES.API_UNAUTHORIZED, 'missing or wrong bearer token (admin or viewer)', 401);
      if (role === 'viewer' && !isReadMethod(req.method)) {
        throw accessError(HTTP_CODES.API_FORBIDDEN, `a viewer token may only read (GET); ${req.method ?? ''} ${path} needs the admin token`, 403);
      }
      if (await handleApi(req, res, path, store, log, this.options.hooks)) return;
      for (const route of this.routes.admin) if (await route(req, res, path)) return;
    }
    throw new ControlPlaneError(HTTP_CODES.API_NOT_FOUND, `no such endpoint: ${req.method} ${path}`, { status: 404 });
  }
}
