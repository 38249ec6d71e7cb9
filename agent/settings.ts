import { bounded } from '../common/bounded.js';

/**
 * The agent's tunable numbers, each with its default and allowed range in one place. The config
 * reader (config.ts) checks a configured value against these; the parts default to them.
 */
export const AGENT_SETTINGS = {
  /** Bodies up to this size are signed (OCI signs the body hash of PUT/POST); larger ones are refused. */
  signerMaxSignedBodyBytes: bounded(8 * 1024 * 1024, 1024, 2 ** 31),
  /** How long the signer waits for a pending process's attestation before refusing the request. */
  signerAttestTimeoutMs: bounded(10_000, 10, 60_000),
  /** Connections one process may hold through the signer at once (each costs the agent 30–60 KB). */
  signerMaxConnectionsPerProcess: bounded(1024, 1, 65_536),
  /** Steered connections the signer holds in all; bounds its connection memory (the unit allows 65,536 fds). */
  signerMaxConnections: bounded(4096, 1, 30_000),
  /** How long an address DNS stopped returning stays steered (clients may have cached it). */
  dnsGraceSeconds: bounded(300, 0, 86_400),
} as const;

/** Where the agent pins its programs and maps unless configured otherwise. */
export const DEFAULT_PIN_DIR = '/sys/fs/bpf/sigil';
/** The loopback admin endpoint (/metrics, /healthz, /readyz); Prometheus' node-exporter range. */
export const DEFAULT_ADMIN_LISTEN = '127.0.0.1:9464';
