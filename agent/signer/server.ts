/**
 * The signer's listener. Steered connections arrive on a loopback port; each is attributed by the
 * kernel's record (never by anything the client says), tied to its attested workload, terminated
 * with a leaf for an allowed SNI and handed to an HTTP/1.1 server that signs every request.
 */
import net from 'node:net';
import tls from 'node:tls';
import { AgentError } from '../errors.js';
import type { Logger } from '../log.js';
import { Auditor, type AuditListener } from './audit.js';
import type { SignerSettings } from './config.js';
import { CONNECTION_ERRORS, SIGNER_ERRORS } from './errors.js';
import { Forwarder } from './forward.js';
import { ClientConnection, type ConnectionEvents } from './http1/index.js';
import { ConnectionSweeper } from './http1/index.js';
import type { LocalCa } from './local-ca.js';
import { destinationAllowed } from './policy.js';
import type { AddressReclaimer, ConnectionAttributor, ConnectionRecord, CredentialProvider, DestinationIndex, WorkloadResolver } from './ports.js';
import { createRequestHandler, type ConnectionContext } from './request-handler.js';
import type { Exchange } from './http1/index.js';
import { SigningPool } from './signing-pool.js';
import { unmapV4 } from '../../common/addresses.js';
import { PerProcessCount } from './per-process-count.js';

export interface SignerDeps {
  attributor: ConnectionAttributor;
  resolver: WorkloadResolver;
  destinations: DestinationIndex;
  credentials: CredentialProvider;
  ca: LocalCa;
  log: Logger;
  agentId: string;
  settings: SignerSettings;
  /** Audit sink; default a child of `log`. */
  auditLog?: Logger;
  /** Hears every audit event (metrics, inventory). */
  onAudit?: AuditListener;
  /** Takes the listen address back from a squatter at start-up; without it EADDRINUSE is fatal. */
  reclaimer?: AddressReclaimer;
}

/** Binds tried per address when a squatter keeps re-listening (only root can, on a privileged port). */
const RECLAIM_ATTEMPTS = 3;

/** True when `addr` is one of `candidates`, comparing IPv4, IPv6 and v4-mapped forms by value. */
function addressIn(addr: string, candidates: ReadonlySet<string>): boolean {
  const list = new net.BlockList();
  for (const c of candidates) {
    const family = net.isIPv6(c) ? 'ipv6' : net.isIPv4(c) ? 'ipv4' : undefined;
    if (family) list.addAddress(c, family);
  }
  const family = net.isIPv6(addr) ? 'ipv6' : 'ipv4';
  const v4 = unmapV4(addr);
  return list.check(addr, family) || (v4 !== undefined && list.check(v4, 'ipv4'));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AgentError(CONNECTION_ERRORS.WORKLOAD_UNRESOLVED, `${what} took longer than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class SignerServer {
  readonly #deps: SignerDeps;
  readonly #log: Logger;
  readonly #listeners: net.Server[] = [];
  readonly #handle: (ex: Exchange, ctx: ConnectionContext) => void;
  readonly #sweeper: ConnectionSweeper;
  readonly #forwarder: Forwarder;
  readonly #signing: SigningPool;
  readonly #sockets = new Set<net.Socket>();
  /** Open steered connections per tgid, and in all (limits.maxConnectionsPerProcess, maxConnections). */
  readonly #openByProcess = new PerProcessCount();
  #open = 0;
  /** A context with no certificate: a client that sends no SNI gets no handshake. */
  readonly #noCertContext = tls.createSecureContext({ minVersion: 'TLSv1.2' });
  #port = 0;

  private constructor(deps: SignerDeps, forwarder: Forwarder) {
    this.#deps = deps;
    this.#log = deps.log.child({ part: 'signer' });
    this.#forwarder = forwarder;
    this.#signing = new SigningPool(deps.settings.signingThreads === undefined ? {} : { size: deps.settings.signingThreads });
    const limits = deps.settings.limits;
    this.#sweeper = new ConnectionSweeper(Math.min(1000, limits.headersTimeoutMs));
    this.#handle = createRequestHandler({
      credentials: deps.credentials,
      forwarder,
      signer: this.#signing,
      auditor: new Auditor(deps.auditLog ?? deps.log, deps.agentId, deps.onAudit),
      limits,
      log: this.#log,
    });
  }

  /** Creates the signer and listens on every configured loopback host (all on one port). */
  static async listen(deps: SignerDeps): Promise<SignerServer> {
    const server = new SignerServer(deps, await Forwarder.create(deps.settings.upstream));
    try {
      await server.#signing.start();
      await server.#listenAll();
    } catch (err) {
      await server.close();
      throw err;
    }
    return server;
  }

  /** The port every listen host is bound to. */
  get port(): number {
    return this.#port;
  }

  /** The addresses actually bound (an absent ::1 is skipped). */
  addresses(): net.AddressInfo[] {
    return this.#listeners.map((l) => l.address() as net.AddressInfo);
  }

  async #listenAll(): Promise<void> {
    let port = this.#deps.settings.port;
    for (const host of this.#deps.settings.listenHosts) {
      // noDelay: a response's last small write must not wait for the client's delayed ACK (Nagle).
      const listener = net.createServer({ pauseOnConnect: true, noDelay: true }, (socket) => this.#onConnection(socket));
      try {
        await this.#listenReclaiming(listener, host, port);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // A host without IPv6 loopback still gets IPv4 steering.
        if (net.isIPv6(host) && (code === 'EADDRNOTAVAIL' || code === 'EAFNOSUPPORT')) {
          this.#log.warn({ host, code }, 'loopback address unavailable; not listening there');
          continue;
        }
        throw err;
      }
      this.#listeners.push(listener);
      port = (listener.address() as net.AddressInfo).port;
      this.#port = port;
    }
  }

  /**
   * Listens on host:port. If something else holds it (a squatter, a stale process), the reclaimer
   * ends that listener and the bind is retried, so nobody can keep the agent from serving; who it
   * was is logged. Still held after that: a clear error naming the holders.
   */
  async #listenReclaiming(listener: net.Server, host: string, port: number): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await new Promise<void>((resolve, reject) => {
          listener.once('error', reject);
          listener.listen({ host, port, exclusive: true }, () => {
            listener.off('error', reject);
            resolve();
          });
        });
        return;
      } catch (err) {
        const reclaimer = this.#deps.reclaimer;
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !reclaimer || port === 0) throw err;
        const { ended, remaining } = reclaimer.reclaim(host, port);
        if (ended.length > 0) {
          this.#log.error({ code: CONNECTION_ERRORS.ADDRESS_RECLAIMED, host, port, ended, attempt },
            `something else was listening on the signer's address ${host}:${port}; its listener was ended so the signer can serve: ${ended.join('; ')}`);
        }
        if (ended.length === 0 || attempt >= RECLAIM_ATTEMPTS) {
          const holders = [...ended, ...remaining];
          throw new AgentError(CONNECTION_ERRORS.ADDRESS_IN_USE,
            `the signer's address ${host}:${port} is in use${holders.length > 0 ? ` by ${holders.join('; ')}` : ''} and could not be taken back; stop that process or choose another signer address`, { cause: err });
        }
      }
    }
  }

  #onConnection(socket: net.Socket): void {
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', (err) => this.#log.debug({ reason: err.message }, 'client socket error'));
    let record;
    try {
      record = this.#deps.attributor.connectionFor(socket);
    } catch (err) {
      this.#log.warn({ reason: (err as Error).message }, 'kernel attribution failed');
      record = null;
    }
    if (!record) {
      // Dialled directly, not steered by the kernel: the signer is not a relay.
      this.#log.warn({ code: CONNECTION_ERRORS.UNATTRIBUTED, peer: `${socket.remoteAddress}:${socket.remotePort}` }, 'connection without a kernel record closed');
      socket.destroy();
      return;
    }
    const limits = this.#deps.settings.limits;
    if (!this.#admit(socket, record.tgid)) return;
    withTimeout(this.#deps.resolver.resolve(record), limits.attestTimeoutMs, `attestation of process ${record.tgid}`).then(
      (workload) => {
        if (socket.destroyed) return;
        this.#terminateTls(socket, { record, workload, sni: '' });
      },
      (err: unknown) => {
        const code = err instanceof AgentError ? err.code : CONNECTION_ERRORS.WORKLOAD_UNRESOLVED;
        if (code === CONNECTION_ERRORS.UNBOUND) {
          this.#passThrough(socket, record);
          return;
        }
        this.#log.warn({ code, tgid: record.tgid, reason: (err as Error).message }, 'connection from an unresolved process closed');
        socket.destroy();
      },
    );
  }

  /** Counts the connection against its process and the total until it closes; false (closed) over either limit. */
  #admit(socket: net.Socket, tgid: number): boolean {
    const limits = this.#deps.settings.limits;
    const mine = this.#openByProcess.of(tgid);
    if (mine >= limits.maxConnectionsPerProcess || this.#open >= limits.maxConnections) {
      const which = mine >= limits.maxConnectionsPerProcess ? `process ${tgid} already holds ${mine} connections through the signer (limits.maxConnectionsPerProcess)` : `the signer already holds ${this.#open} connections (limits.maxConnections)`;
      this.#log.warn({ code: CONNECTION_ERRORS.TOO_MANY_CONNECTIONS, tgid, open: mine, total: this.#open }, `connection closed: ${which}`);
      socket.destroy();
      return false;
    }
    this.#openByProcess.add(tgid);
    this.#open++;
    socket.once('close', () => {
      this.#open--;
      this.#openByProcess.remove(tgid);
    });
    return true;
  }

  /**
   * A process still pending when it connected is steered here (so nothing connects unseen); if it
   * then attests as bound to nothing, it gets what it would have had without Sigil: its bytes relayed
   * unchanged to the destination it dialled (from the kernel's record, never from the client), TLS
   * end to end, no signature. The relay socket is the agent's own, which the kernel never steers.
   */
  #passThrough(socket: net.Socket, record: ConnectionRecord): void {
    if (socket.destroyed) return;
    if (this.#deps.destinations.deniesUnbound?.(record.origAddr, record.origPort)) {
      // What the kernel does to an unbound process's connect there (EPERM): nothing goes out.
      this.#log.warn({ code: CONNECTION_ERRORS.UNBOUND_DENIED, tgid: record.tgid, destination: `${record.origAddr}:${record.origPort}` }, 'unbound process refused: the destination is egress-locked (unboundAccess: deny)');
      socket.destroy();
      return;
    }
    this.#log.info({ code: CONNECTION_ERRORS.UNBOUND, tgid: record.tgid, destination: `${record.origAddr}:${record.origPort}` }, 'unbound process relayed unchanged to its destination');
    const upstream = net.connect({ host: record.origAddr, port: record.origPort });
    this.#sockets.add(upstream);
    upstream.once('close', () => {
      this.#sockets.delete(upstream);
      socket.destroy();
    });
    socket.once('close', () => upstream.destroy());
    upstream.on('error', (err) => this.#log.debug({ reason: err.message }, 'pass-through upstream error'));
    upstream.once('connect', () => {
      socket.pipe(upstream);
      upstream.pipe(socket);
      socket.resume();
    });
  }

  #terminateTls(socket: net.Socket, ctx: ConnectionContext): void {
    const { record, workload } = ctx;
    const tlsSocket = new tls.TLSSocket(socket, {
      isServer: true,
      secureContext: this.#noCertContext,
      ALPNProtocols: ['http/1.1'],
      requestCert: false,
      rejectUnauthorized: false,
      SNICallback: (servername, cb) => {
        const host = servername.toLowerCase();
        const reason = this.#refusal(ctx, host);
        if (reason) {
          this.#log.warn({ code: CONNECTION_ERRORS.HANDSHAKE_REFUSED, tgid: record.tgid, exePath: workload.exePath, sni: host }, reason);
          cb(new AgentError(CONNECTION_ERRORS.HANDSHAKE_REFUSED, reason), undefined);
          return;
        }
        this.#deps.ca.secureContextFor(host).then(
          (context) => {
            ctx.sni = host;
            cb(null, context);
          },
          (err: Error) => cb(err, undefined),
        );
      },
    });
    let established = false;
    // A TLSSocket made by hand ignores handshakeTimeout (only tls.Server applies it), so a client that
    // connects and says nothing would hold its socket forever.
    const handshakeMs = this.#deps.settings.limits.handshakeTimeoutMs;
    const handshakeTimer = setTimeout(() => {
      this.#log.info({ code: CONNECTION_ERRORS.HANDSHAKE_REFUSED, tgid: record.tgid, reason: `no TLS handshake within ${handshakeMs} ms` }, 'TLS handshake failed');
      tlsSocket.destroy();
    }, handshakeMs);
    tlsSocket.once('close', () => clearTimeout(handshakeTimer));
    tlsSocket.once('secure', () => {
      established = true;
      clearTimeout(handshakeTimer);
      if (tlsSocket.alpnProtocol && tlsSocket.alpnProtocol !== 'http/1.1') {
        tlsSocket.destroy();
        return;
      }
      // A resumed TLS session (Node's https.Agent resumes by default) never reaches SNICallback: OpenSSL
      // asks for no certificate. Apply the same checks to the name the session carries here.
      if (ctx.sni === '') {
        const servername = (tlsSocket as unknown as { servername?: string | false }).servername;
        const host = typeof servername === 'string' ? servername.toLowerCase() : '';
        const reason = host === '' ? 'resumed TLS session without a server name' : this.#refusal(ctx, host);
        if (reason) {
          this.#log.warn({ code: CONNECTION_ERRORS.HANDSHAKE_REFUSED, tgid: record.tgid, exePath: workload.exePath, sni: host }, reason);
          tlsSocket.destroy();
          return;
        }
        ctx.sni = host;
      }
      this.#serveHttp(tlsSocket, ctx);
    });
    tlsSocket.on('error', (err: NodeJS.ErrnoException) => {
      if (!established) {
        this.#log.info({ code: CONNECTION_ERRORS.HANDSHAKE_REFUSED, tgid: record.tgid, reason: err.message }, 'TLS handshake failed');
      }
      tlsSocket.destroy();
    });
  }

  /** HTTP/1.1 on the terminated connection: every request goes to the handler with this connection's context. */
  #serveHttp(tlsSocket: tls.TLSSocket, ctx: ConnectionContext): void {
    const events: ConnectionEvents = {
      request: (ex) => this.#handle(ex, ctx),
      refused: (code, reason, target) => {
        if (code === 'CONNECT') this.#log.info({ code: SIGNER_ERRORS.BAD_REQUEST.code, target }, 'CONNECT refused');
        else this.#log.info({ code, reason }, 'malformed request refused');
      },
    };
    new ClientConnection(tlsSocket, this.#deps.settings.limits, events, this.#sweeper);
  }

  /** Why this connection may not be served as `host`, or undefined when it may. */
  #refusal(ctx: ConnectionContext, host: string): string | undefined {
    if (!destinationAllowed(ctx.workload.bindings, host)) return `${host} is not a destination of ${ctx.workload.spiffeId}'s bindings`;
    if (!addressIn(ctx.record.origAddr, this.#deps.destinations.addressesOf(host))) return `${host} does not resolve to the dialled address ${ctx.record.origAddr}`;
    return undefined;
  }

  /** Stops listening and ends every connection and upstream pool. */
  async close(): Promise<void> {
    await Promise.all(this.#listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    this.#sweeper.close();
    for (const s of this.#sockets) s.destroy();
    this.#forwarder.close();
    await this.#signing.close();
  }
}
