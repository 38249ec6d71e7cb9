import { AGENT_SETTINGS } from '../settings.js';
/** The signer's settings, with the defaults an operator gets when the agent config says nothing. */
export interface SignerLimits {
  /** Largest request header block accepted (bytes). */
  maxHeaderSize: number;
  /** Most request header lines accepted (431 above); Node would otherwise drop the excess silently. */
  maxHeaderCount: number;
  /** Time a client has to send the whole header block. */
  headersTimeoutMs: number;
  /** Time a client has to send a whole request, body included (large uploads need room). */
  requestTimeoutMs: number;
  /** Idle time after which a kept-alive connection is closed. */
  keepAliveTimeoutMs: number;
  /** Idle time on an active connection (nothing read or written) before it is closed. */
  idleTimeoutMs: number;
  /** Time a client has to finish the TLS handshake. */
  handshakeTimeoutMs: number;
  /** Longest wait for attestation of a pending process before the connection is closed. */
  attestTimeoutMs: number;
  /** Largest body that is buffered to be hashed and signed (413 above). */
  maxSignedBodyBytes: number;
  /** Requests in flight per process (tgid); 429 above. */
  maxConcurrentPerProcess: number;
  /**
   * Open connections per process (tgid); a connection over it is closed before TLS. Each held
   * connection costs the agent 30–60 KB (OpenSSL's state and buffers, mostly), so without it one
   * process could make the agent hold memory and file descriptors until every workload is refused.
   */
  maxConnectionsPerProcess: number;
  /** Open steered connections in all, the same way: what bounds the agent's connection memory. */
  maxConnections: number;
}

export interface UpstreamSettings {
  /** Extra PEM CA file trusted next to the system store (private endpoints, tests). */
  caFile?: string;
  /** Time without a response or data from the upstream before the request fails with 502. */
  timeoutMs: number;
  /** Kept-alive sockets per original destination. */
  maxSocketsPerDestination: number;
}

export interface SignerSettings {
  /** Loopback addresses the kernel redirects steered connections to. */
  listenHosts: string[];
  /** The signer port (0 picks one; the agent then tells the kernel which). */
  port: number;
  limits: SignerLimits;
  upstream: UpstreamSettings;
  /** Most signatures handed to libuv's pool at once; absent: two per core (signing-pool.ts). */
  signingThreads?: number;
}

export const DEFAULT_LIMITS: SignerLimits = {
  maxHeaderSize: 16 * 1024,
  maxHeaderCount: 256,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 15 * 60_000,
  keepAliveTimeoutMs: 15_000,
  idleTimeoutMs: 60_000,
  handshakeTimeoutMs: 10_000,
  attestTimeoutMs: 3_000,
  maxSignedBodyBytes: 8 * 1024 * 1024,
  maxConcurrentPerProcess: 64,
  maxConnectionsPerProcess: AGENT_SETTINGS.signerMaxConnectionsPerProcess.default,
  maxConnections: AGENT_SETTINGS.signerMaxConnections.default,
};

export const DEFAULT_UPSTREAM: UpstreamSettings = { timeoutMs: 120_000, maxSocketsPerDestination: 64 };

export const DEFAULT_SETTINGS: SignerSettings = {
  listenHosts: ['127.0.0.1', '::1'],
  port: 0,
  limits: DEFAULT_LIMITS,
  upstream: DEFAULT_UPSTREAM,
};

/** Settings with every missing field taken from the defaults. */
export function signerSettings(partial: {
  listenHosts?: string[];
  port?: number;
  limits?: Partial<SignerLimits>;
  upstream?: Partial<UpstreamSettings>;
  signingThreads?: number;
} = {}): SignerSettings {
  return {
    listenHosts: partial.listenHosts ?? DEFAULT_SETTINGS.listenHosts,
    port: partial.port ?? DEFAULT_SETTINGS.port,
    limits: { ...DEFAULT_LIMITS, ...partial.limits },
    upstream: { ...DEFAULT_UPSTREAM, ...partial.upstream },
    ...(partial.signingThreads === undefined ? {} : { signingThreads: partial.signingThreads }),
  };
}
