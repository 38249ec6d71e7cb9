/**
 * One structured event per request the signer handled. Built from named fields only, so no header,
 * token, key or signature can ride along; the logger's redaction config is the second line of defence.
 */
import type { Logger } from '../log.js';

export interface AuditEvent {
  spiffeId: string;
  /** The binding whose credential signed the request; absent when none was chosen (e.g. 403). */
  binding: string | undefined;
  tgid: number;
  exePath: string;
  exeSha256: string;
  host: string;
  method: string;
  /** Request path as the client sent it; the query is left out. */
  path: string;
  status: number;
  latencyMs: number;
  /** opc-request-id of the exchange (ours when the signer answered itself). */
  requestId: string | undefined;
  /** The SIGIL error code when the signer answered itself. */
  errorCode?: string;
  /** True when the client went away before the response was complete. */
  aborted?: boolean;
}

/** Path without query; pre-authenticated request ids (`/p/<secret>/`) are masked. */
export function auditPath(requestTarget: string): string {
  const q = requestTarget.indexOf('?');
  const path = q === -1 ? requestTarget : requestTarget.slice(0, q);
  return path.replace(/^\/p\/[^/]+\//, '/p/[redacted]/');
}

/** Hears every audit event too (metrics, the heartbeat's inventory); must not throw. */
export type AuditListener = (event: AuditEvent) => void;

export class Auditor {
  readonly #log: Logger;
  readonly #listener: AuditListener | undefined;

  constructor(log: Logger, agentId: string, listener?: AuditListener) {
    this.#log = log.child({ part: 'signer-audit', agentId });
    this.#listener = listener;
  }

  record(event: AuditEvent): void {
    this.#log.info({ event: 'request', ...event }, 'signed request');
    this.#listener?.(event);
  }
}
