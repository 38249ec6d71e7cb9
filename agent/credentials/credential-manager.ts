/**
 * Session credentials for every binding on this host: the signer's CredentialProvider.
 *
 *   const credentials = new CredentialManager({ client: new NatsExchangeClient(nc, agentId), log });
 *   credentials.setBindings(bundle.bindings);   // adds new bindings (exchange starts), drops gone ones
 *   const { keyId, privateKey } = await credentials.get('billing-exporter');
 *   credentials.stats                           // refreshes, failures, waited, blockedOnRefresh
 *   await credentials.close();
 *
 * Listeners (the file fallback) hear of every new credential and every removed binding.
 */
import type { Logger } from 'pino';
import type { BindingSpec } from '../../protocol/bindings.js';
import type { CredentialProvider, SessionCredential } from '../signer/index.js';
import type { ExchangeClient } from './exchange-client.js';
import { BindingCredential, type BindingEvents, type BindingStatus, type IssuedCredential } from './binding-credential.js';
import { CREDENTIAL_ERRORS, CredentialError } from './errors.js';
import { DEFAULT_TIMING, type RefreshTiming } from './refresh-timing.js';

export interface CredentialListener {
  credentialIssued(binding: BindingSpec, credential: IssuedCredential): void;
  bindingRemoved(bindingId: string): void;
}

export interface CredentialStats {
  /** Successful exchanges (first ones and refreshes). */
  refreshes: number;
  /** Failed exchanges. */
  failures: number;
  /** get() calls that had to wait for an exchange (including a binding's first). */
  waited: number;
  /** get() calls that had to wait although the binding had held a token before: should stay 0. */
  blockedOnRefresh: number;
}

export interface CredentialManagerOptions {
  client: ExchangeClient;
  log?: Logger;
  timing?: Partial<RefreshTiming>;
  listeners?: CredentialListener[];
}

/** Changing either of these changes what the token stands for, so the binding starts over. */
function sameIdentity(a: BindingSpec, b: BindingSpec): boolean {
  return a.spiffeId === b.spiffeId && a.source === b.source;
}

export class CredentialManager implements CredentialProvider {
  readonly #bindings = new Map<string, BindingCredential>();
  readonly #timing: RefreshTiming;
  readonly #listeners: CredentialListener[];
  readonly #stats: CredentialStats = { refreshes: 0, failures: 0, waited: 0, blockedOnRefresh: 0 };
  readonly #events: BindingEvents;

  constructor(private readonly options: CredentialManagerOptions) {
    this.#timing = { ...DEFAULT_TIMING, ...options.timing };
    this.#listeners = [...(options.listeners ?? [])];
    this.#events = {
      exchanged: (binding, credential) => {
        this.#stats.refreshes++;
        this.options.log?.info({ bindingId: binding.id, expiresAt: credential.expiresAt.toISOString() }, 'session token obtained');
        this.#notify((l) => l.credentialIssued(binding, credential));
      },
      failed: () => {
        this.#stats.failures++;
      },
      waited: (_binding, hadTokenBefore) => {
        this.#stats.waited++;
        if (hadTokenBefore) this.#stats.blockedOnRefresh++;
      },
    };
  }

  /** A snapshot of the counters. */
  get stats(): CredentialStats {
    return { ...this.#stats };
  }

  addListener(listener: CredentialListener): void {
    this.#listeners.push(listener);
  }

  /** Makes the set of bindings exactly `bindings`: new ones start exchanging, gone ones are dropped at once. */
  setBindings(bindings: readonly BindingSpec[]): void {
    const wanted = new Map(bindings.map((b) => [b.id, b]));
    for (const [id, existing] of this.#bindings) {
      const next = wanted.get(id);
      if (next === undefined || !sameIdentity(existing.spec, next)) this.#remove(id);
    }
    for (const spec of wanted.values()) {
      const existing = this.#bindings.get(spec.id);
      if (existing) {
        existing.updateSpec(spec);
        continue;
      }
      const binding = new BindingCredential(spec, this.options.client, this.#timing, this.#events, this.options.log);
      this.#bindings.set(spec.id, binding);
      binding.start();
    }
  }

  get(bindingId: string): Promise<SessionCredential> {
    const binding = this.#bindings.get(bindingId);
    if (binding === undefined) {
      return Promise.reject(new CredentialError(CREDENTIAL_ERRORS.UNKNOWN_BINDING, `binding "${bindingId}" is not on this host`));
    }
    return binding.get();
  }

  status(bindingId: string): BindingStatus | undefined {
    return this.#bindings.get(bindingId)?.status();
  }

  statuses(): BindingStatus[] {
    return [...this.#bindings.values()].map((b) => b.status());
  }

  /** Drops every binding (keys and tokens forgotten, listeners told). */
  async close(): Promise<void> {
    for (const id of [...this.#bindings.keys()]) this.#remove(id);
  }

  #remove(id: string): void {
    const binding = this.#bindings.get(id);
    if (binding === undefined) return;
    binding.drop();
    this.#bindings.delete(id);
    this.options.log?.info({ bindingId: id }, 'binding removed: session key and token dropped');
    this.#notify((l) => l.bindingRemoved(id));
  }

  #notify(call: (listener: CredentialListener) => void): void {
    for (const listener of this.#listeners) {
      try {
        call(listener);
      } catch (err) {
        this.options.log?.error({ err }, 'credential listener failed');
      }
    }
  }
}
