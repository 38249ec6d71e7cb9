/**
 * Ships the signer's audit events to the control plane (protocol/audit.ts, on the agent's own
 * `subjects.audit(id)`), in batches on a timer. `record` is what the signer's hot path calls: it copies
 * named fields into a bounded buffer and returns; nothing in it waits on NATS. When the buffer is full
 * (NATS away for long), the oldest events are dropped and the next batch says how many.
 *
 * With every flush it also reports the kernel's count of connections from unbound processes to policy
 * destinations (passed unsigned / denied) since the previous report, so copies that are not bound
 * show up in the audit trail too, by host and time (the kernel counts them, not per process).
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { MAX_AUDIT_BATCH_EVENTS, type AuditBatch, type AuditEvent as WireAuditEvent } from '../../protocol/audit.js';
import { subjects } from '../../protocol/subjects.js';
import type { AuditEvent } from '../signer/index.js';

export interface AuditShipperOptions {
  agentId: string;
  /** The fleet client's NATS connection, once there is one. */
  connection: () => NatsConnection | undefined;
  /** The kernel's per-branch counters (KernelSteering.counters()); absent: no unbound reports. */
  counters?: () => Record<string, number> | undefined;
  log: Logger;
  /** How often batches go out (default 1 s). */
  flushIntervalMs?: number;
  /** Events kept while NATS is away (default 10 000). */
  maxBuffered?: number;
}

export class AuditShipper {
  readonly #options: AuditShipperOptions;
  #buffer: WireAuditEvent[] = [];
  #dropped = 0;
  #lastUnbound: { passed: number; denied: number } | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AuditShipperOptions) {
    this.#options = options;
  }

  /** The signer's listener: copies the event's named fields; never throws, never waits. */
  readonly record = (event: AuditEvent): void => {
    this.#push({
      kind: 'request', at: new Date().toISOString(), spiffeId: event.spiffeId,
      ...(event.binding !== undefined ? { binding: event.binding } : {}),
      tgid: event.tgid, exePath: event.exePath, exeSha256: event.exeSha256, host: event.host, method: event.method,
      path: event.path, status: event.status, latencyMs: event.latencyMs,
      ...(event.errorCode !== undefined ? { refusal: event.errorCode } : {}),
      ...(event.aborted ? { aborted: true } : {}),
    });
  };

  start(): void {
    const ms = this.#options.flushIntervalMs ?? 1000;
    this.#timer = setInterval(() => this.flush(), ms);
    this.#timer.unref();
  }

  /** Publishes what is buffered (and the kernel's unbound counts) when connected; keeps it otherwise. */
  flush(): void {
    const nc = this.#options.connection();
    if (!nc || nc.isClosed()) return;
    this.#noteUnbound();
    try {
      while (this.#buffer.length > 0) {
        const events = this.#buffer.slice(0, MAX_AUDIT_BATCH_EVENTS);
        const batch: AuditBatch = { agentId: this.#options.agentId, dropped: this.#dropped, events };
        nc.publish(subjects.audit(this.#options.agentId), JSON.stringify(batch));
        this.#buffer = this.#buffer.slice(events.length);
        this.#dropped = 0;
      }
    } catch (err) {
      this.#options.log.warn({ err }, 'audit batch not published; kept for the next flush');
    }
  }

  /** Stops the timer after a last flush. */
  stop(): void {
    clearInterval(this.#timer);
    this.flush();
  }

  #noteUnbound(): void {
    let counters: Record<string, number> | undefined;
    try {
      counters = this.#options.counters?.();
    } catch {
      return;
    }
    if (!counters) return;
    const now = { passed: counters['passedUnbound'] ?? 0, denied: counters['denied'] ?? 0 };
    const last = this.#lastUnbound;
    this.#lastUnbound = now;
    // The first reading is the baseline (what happened before this agent started is not news).
    if (!last) return;
    const passed = Math.max(0, now.passed - last.passed);
    const denied = Math.max(0, now.denied - last.denied);
    if (passed > 0 || denied > 0) this.#push({ kind: 'unbound', at: new Date().toISOString(), passed, denied });
  }

  #push(event: WireAuditEvent): void {
    const max = this.#options.maxBuffered ?? 10_000;
    if (this.#buffer.length >= max) {
      this.#buffer.shift();
      this.#dropped++;
    }
    this.#buffer.push(event);
  }
}
