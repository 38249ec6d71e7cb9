/**
 * The signer's narrow view of the parts around it. The agent's composition root plugs the real
 * kernel steering, attestation, DNS resolver and credential manager into these; tests plug fakes.
 */
import type net from 'node:net';
import type crypto from 'node:crypto';
import type { BindingSpec } from '../../protocol/bindings.js';

/** What the kernel recorded when it steered a connection to the signer (never what the client says). */
export interface ConnectionRecord {
  /** The address the process dialled (IPv4 dotted or IPv6 text, v4-mapped already unwrapped). */
  origAddr: string;
  origPort: number;
  family: 4 | 6;
  tgid: number;
  uid: number;
  /** The process start time as the kernel recorded it (guards against PID reuse). */
  startTime: bigint;
  /**
   * The process's exec sequence number at connect (guards against exec: the connection belongs to the
   * program image that opened it). Absent only where no kernel recorded it (tests).
   */
  execSeq?: number;
  cookie: bigint;
}

/** Asks the kernel who is on the other end of an accepted socket. */
export interface ConnectionAttributor {
  /** The kernel's record for this socket, or null when the connection was not steered. */
  connectionFor(socket: net.Socket): ConnectionRecord | null;
}

/** A process that attestation found bound to one or more bindings. */
export interface ResolvedWorkload {
  tgid: number;
  exePath: string;
  exeSha256: string;
  spiffeId: string;
  /** The bindings this process may use on this host; never empty for a resolved workload. */
  bindings: readonly BindingSpec[];
  /** Asked before each request: why the process lost its identity since (a kernel taint), or undefined. */
  lost?: () => string | undefined;
}

/**
 * Turns a kernel record into the workload behind it. Rejects with a coded AgentError when the
 * process is still pending past its bound, its PID was reused, or it is bound to nothing.
 */
export interface WorkloadResolver {
  resolve(rec: ConnectionRecord): Promise<ResolvedWorkload>;
}

/** The addresses the agent's own DNS resolution found for a policy hostname. */
export interface DestinationIndex {
  addressesOf(hostname: string): ReadonlySet<string>;
  /**
   * True when the destination is egress-locked (`unboundAccess: deny`): a process that was pending at
   * connect and attests unbound is closed, not relayed. Absent: nothing is locked.
   */
  deniesUnbound?(addr: string, port: number): boolean;
}

/** A session credential for one binding: the UPST as keyId and the in-memory session key. */
export interface SessionCredential {
  /** `ST$<token>`. */
  keyId: string;
  privateKey: crypto.KeyObject;
  expiresAt: Date;
}

/** Hands out the current credential of a binding; rejects with a coded error saying why not. */
export interface CredentialProvider {
  get(bindingId: string): Promise<SessionCredential>;
}

/**
 * Frees the signer's listen address when something else holds it (agent start-up): ends listeners
 * bound to exactly host:port and says what it ended and what else listens there (wildcards).
 */
export interface AddressReclaimer {
  reclaim(host: string, port: number): { ended: string[]; remaining: string[] };
}
