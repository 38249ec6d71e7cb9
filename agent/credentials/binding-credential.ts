/**
 * The session credential of one binding: its key pair, the current token, the refresh timer.
 *
 * - One exchange in flight at a time; everything else reads the cached token.
 * - `get()` answers at once while a usable token exists, even while a refresh runs. It waits only when
 *   there is no usable token and no failure to report: for the first exchange, or a refresh that came
 *   late. While exchanges fail it answers at once with the reason.
 * - A failure keeps the last token while it is usable, retries with backoff, and is remembered as the
 *   reason `get()` gives once no usable token is left.
 * - `drop()` forgets key and token at once and rejects whoever is waiting.
 */
import type { KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import type { BindingSpec } from '../../protocol/bindings.js';
import type { SessionCredential } from '../signer/index.js';
import type { ExchangeClient } from './exchange-client.js';
import { CREDENTIAL_ERRORS, CredentialError } from './errors.js';
import { createSessionKey, type SessionKey } from './session-key.js';
import { expiryMargin, refreshDelay, retryDelay, type RefreshTiming } from './refresh-timing.js';

/** A freshly exchanged credential, as listeners (the file fallback) receive it. */
export interface IssuedCredential {
  token: string;
  privateKey: KeyObject;
  expiresAt: Date;
  region?: string;
}

/** What the binding reports to its manager (counters and listeners live there). */
export interface BindingEvents {
  exchanged(binding: BindingSpec, credential: IssuedCredential): void;
  failed(binding: BindingSpec, error: { code: string; message: string }): void;
  waited(binding: BindingSpec, hadTokenBefore: boolean): void;
}

export interface BindingStatus {
  bindingId: string;
  /** `fresh`: usable token; `pending`: first exchange running; `failing`: no usable token, retrying. */
  state: 'fresh' | 'pending' | 'failing';
  expiresAt?: Date;
  nextAttemptAt?: Date;
  consecutiveFailures: number;
  lastError?: { code: string; message: string; at: Date };
}

interface Current {
  credential: SessionCredential;
  /** When it stops being handed out (expiry minus margin), ms since epoch. */
  usableUntil: number;
}

export class BindingCredential {
  #spec: BindingSpec;
  #key: SessionKey | undefined;
  #current: Current | undefined;
  #everHadToken = false;
  #inFlight: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #nextAttemptAt: number | undefined;
  #failures = 0;
  #lastError: { code: string; message: string; at: Date } | undefined;
  #dropped = false;
  readonly #droppedSignal = new AbortController();

  constructor(
    spec: BindingSpec,
    private readonly client: ExchangeClient,
    private readonly timing: RefreshTiming,
    private readonly events: BindingEvents,
    private readonly log: Logger | undefined,
  ) {
    this.#spec = spec;
  }

  get spec(): BindingSpec {
    return this.#spec;
  }

  /** Destinations or methods changed: same identity and source, so the token stays. */
  updateSpec(spec: BindingSpec): void {
    this.#spec = spec;
  }

  start(): void {
    this.#refreshNow();
  }

  async get(): Promise<SessionCredential> {
    const usable = this.#usable();
    if (usable) return usable;
    if (this.#dropped) throw this.#unknown();
    // While failing, answer at once with the reason rather than hold requests through retries.
    if (this.#lastError !== undefined) throw this.#unavailable();
    // A timer that fired late (suspended VM, blocked loop): refresh now and wait for it.
    this.#refreshNow();
    if (this.#inFlight === undefined) throw this.#unavailable();
    this.events.waited(this.#spec, this.#everHadToken);
    await Promise.race([this.#inFlight, this.#whenDropped()]);
    const after = this.#usable();
    if (after) return after;
    if (this.#dropped) throw this.#unknown();
    throw this.#unavailable();
  }

  status(now = Date.now()): BindingStatus {
    const usable = this.#current !== undefined && this.#current.usableUntil > now;
    const status: BindingStatus = {
      bindingId: this.#spec.id,
      state: usable ? 'fresh' : this.#lastError === undefined ? 'pending' : 'failing',
      consecutiveFailures: this.#failures,
    };
    if (this.#current) status.expiresAt = this.#current.credential.expiresAt;
    if (this.#nextAttemptAt !== undefined) status.nextAttemptAt = new Date(this.#nextAttemptAt);
    if (this.#lastError) status.lastError = { ...this.#lastError };
    return status;
  }

  /** Forgets key and token now; an exchange still running is ignored when it returns. */
  drop(): void {
    this.#dropped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#key = undefined;
    this.#current = undefined;
    this.#droppedSignal.abort();
  }

  #usable(): SessionCredential | undefined {
    const current = this.#current;
    return current !== undefined && current.usableUntil > Date.now() ? current.credential : undefined;
  }

  #whenDropped(): Promise<void> {
    const signal = this.#droppedSignal.signal;
    return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  }

  #unknown(): CredentialError {
    return new CredentialError(CREDENTIAL_ERRORS.UNKNOWN_BINDING, `binding "${this.#spec.id}" was removed from this host`);
  }

  #unavailable(): CredentialError {
    const last = this.#lastError;
    const reason = last ? `${last.message} (${last.code})` : 'no exchange has completed yet';
    return new CredentialError(CREDENTIAL_ERRORS.UNAVAILABLE, `no session token for binding "${this.#spec.id}": ${reason}`, { status: 503 });
  }

  #schedule(delayMs: number): void {
    clearTimeout(this.#timer);
    this.#nextAttemptAt = Date.now() + delayMs;
    this.#timer = setTimeout(() => this.#refreshNow(), delayMs);
    this.#timer.unref();
  }

  #refreshNow(): void {
    if (this.#dropped || this.#inFlight !== undefined) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#nextAttemptAt = undefined;
    this.#inFlight = this.#exchange().finally(() => {
      this.#inFlight = undefined;
    });
  }

  async #exchange(): Promise<void> {
    try {
      const key = this.#key ?? (await createSessionKey());
      if (this.#dropped) return;
      this.#key = key;
      const result = await this.client.exchange(this.#spec.id, key.publicKeyDerB64);
      if (this.#dropped) return;
      const receivedAt = Date.now();
      const lifetime = result.expiresAt.getTime() - receivedAt;
      this.#current = {
        credential: { keyId: `ST$${result.token}`, privateKey: key.privateKey, expiresAt: result.expiresAt },
        usableUntil: result.expiresAt.getTime() - expiryMargin(this.timing, lifetime),
      };
      this.#everHadToken = true;
      this.#failures = 0;
      this.#lastError = undefined;
      this.#schedule(refreshDelay(this.timing, lifetime));
      const issued: IssuedCredential = { token: result.token, privateKey: key.privateKey, expiresAt: result.expiresAt };
      if (result.region !== undefined) issued.region = result.region;
      this.events.exchanged(this.#spec, issued);
    } catch (err) {
      if (this.#dropped) return;
      const code = typeof (err as { code?: unknown }).code === 'string' ? (err as { code: string }).code : CREDENTIAL_ERRORS.UNAVAILABLE;
      const message = err instanceof Error ? err.message : String(err);
      this.#failures++;
      this.#lastError = { code, message, at: new Date() };
      const usableFor = this.#current ? this.#current.usableUntil - Date.now() : undefined;
      const delay = retryDelay(this.timing, this.#failures, usableFor);
      this.#schedule(delay);
      this.log?.warn({ bindingId: this.#spec.id, code, reason: message, failures: this.#failures, retryInMs: delay }, 'session token exchange failed');
      this.events.failed(this.#spec, { code, message });
    }
  }
}
