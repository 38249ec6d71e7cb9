import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Logger } from '../log.js';
import { BUNDLE_FORMAT, type AgentBundle } from '../../protocol/bundle.js';
import type { BundleGetReply } from '../../protocol/fleet.js';
import { agentIdOfSubject, subjects } from '../../protocol/subjects.js';
import type { ResourceStore } from '../store/resource-store.js';
import type { AgentRegistry, AgentRecord } from './agent-registry.js';
import { BindingsMemo } from './bindings-memo.js';
import { onAbort, sleep } from '../../common/abort.js';

/** How often each replica reads the policy record in case its watch missed a commit. */
const POLL_MS = 1_000;
import type { BundleSigningKey } from './bundle-signing-key.js';
import { FLEET_CODES } from './errors.js';
import { answersOwnInbox, type RefusedReplyListener } from './reply-guard.js';

/** Agents signed between two yields to the event loop during a refresh (~3 ms of signing). */
const SIGN_BATCH = 100;

/** The bundle last issued to one agent. */
export interface IssuedBundle {
  revision: number;
  issuedAt: string;
  /** sha256 of the bindings' JSON: a new revision with the same digest is not pushed. */
  digest: string;
  jws: string;
}

/**
 * Keeps every agent's signed bundle current and delivers it.
 *
 * Triggers: a watch on the policy record (`meta.policy`: a committed apply, i.e. no `pending`) and a
 * watch on the agent registry (enrolment, revocation). Each refresh takes one store snapshot,
 * recomputes every agent's bindings and pushes a newly signed bundle (revision = the policy revision)
 * only to agents whose bindings changed; an agent whose bindings did not change is current with the
 * bundle it has. Refreshes are coalesced: changes during a refresh cause exactly one more.
 *
 * Agents ask for their bundle on every (re)connect (`bundle.get`, answered from the cache through the
 * queue group, so replicas share the work); pushes go out from every replica and agents ignore
 * revisions they already run.
 *
 * Across replicas this is at-least-once on purpose, with no claim or lease: every replica follows the
 * policy record (a watch, backed by a 1 s poll of one key) and pushes what changed, so a change reaches
 * every agent whichever replica sees it first, also when a replica dies mid-push — the others push
 * the same revision anyway. A bundle is idempotent by revision (agents apply a revision once and ack
 * it), so a duplicate costs one verify on the agent; a claim would add a lease to wait out exactly
 * when a replica has died.
 */
export class BundleDistributor {
  readonly #issued = new Map<string, IssuedBundle>();
  readonly #agents = new Map<string, AgentRecord>();
  #revision = 0;
  #refreshing: Promise<void> | undefined;
  #dirty = false;
  /** Resolves every time a refresh finished (tests and the bench wait on it). */
  #listeners = new Set<(revision: number) => void>();

  constructor(private readonly parts: {
    nc: NatsConnection;
    store: ResourceStore;
    registry: AgentRegistry;
    key: BundleSigningKey;
    log: Logger;
    /** Told of every bundle.get dropped because its reply subject is not the asker's own inbox. */
    onRefusedReply?: RefusedReplyListener;
  }) {}

  /** The policy revision of the last refresh. */
  get revision(): number {
    return this.#revision;
  }

  issuedTo(agentId: string): IssuedBundle | undefined {
    return this.#issued.get(agentId);
  }

  /** Called after each refresh with the revision it covered. */
  onRefreshed(listener: (revision: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async run(signal: AbortSignal): Promise<void> {
    const { nc, store, registry, log } = this.parts;
    const unfollow = registry.view.onChange((id, record) => {
      if (record) this.#agents.set(id, record);
      else this.#agents.delete(id);
      this.refresh().catch((err: unknown) => log.error({ err }, 'bundle refresh failed'));
    });
    const getSub = nc.subscribe(subjects.bundleGet('*'), { queue: subjects.controlPlaneQueue, callback: (err, msg) => {
      if (err) return log.error({ err }, 'bundle.get subscription failed');
      if (!answersOwnInbox('bundle.get', msg.subject, msg.reply, log, this.parts.onRefusedReply)) return;
      void this.#answerGet(msg.subject).then((reply) => msg.respond(JSON.stringify(reply)), (e: unknown) => log.error({ err: e }, 'bundle.get failed'));
    } });
    onAbort(signal, () => {
      unfollow();
      void getSub.drain().catch(() => undefined);
    });
    await this.refresh().catch((err: unknown) => log.error({ err }, 'bundle refresh failed'));
    await Promise.all([
      this.#followPolicy(store, signal),
      this.#pollPolicy(store, signal),
      closedOf(getSub),
    ]);
    await this.#refreshing;
  }

  /** A committed apply triggers a refresh; the commit watch is re-opened whenever it ends (server restart, consumer lost). */
  async #followPolicy(store: ResourceStore, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        for await (const revision of store.watchCommits(signal)) {
          if (revision > this.#revision) this.refresh().catch((err: unknown) => this.parts.log.error({ err }, 'bundle refresh failed'));
        }
      } catch (err) {
        if (!signal.aborted) this.parts.log.warn({ err: (err as Error).message }, 'policy watch failed; re-opening');
      }
      await sleep(250, signal);
    }
  }

  /**
   * The watch's backstop: a KV watch can stay silent for several seconds after its stream's leader
   * died (until its consumer is recreated), so the committed revision is also read every POLL_MS (one
   * get of one key), and a revision newer than the last refresh triggers one.
   */
  async #pollPolicy(store: ResourceStore, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(POLL_MS, signal);
      if (signal.aborted) return;
      try {
        const committed = await store.committedRevision();
        if (committed.revision > this.#revision || committed.pending) await this.refresh();
      } catch (err) {
        this.parts.log.debug({ err: (err as Error).message }, 'policy poll failed');
      }
    }
  }

  /** Recomputes every agent's bundle from one snapshot and pushes those that changed. */
  refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#dirty = true;
      return this.#refreshing;
    }
    this.#refreshing = (async () => {
      try {
        do {
          this.#dirty = false;
          await this.#refreshOnce();
        } while (this.#dirty);
      } finally {
        this.#refreshing = undefined;
      }
    })();
    return this.#refreshing;
  }

  async #refreshOnce(): Promise<void> {
    const snapshot = await this.parts.store.snapshot();
    if (this.#agents.size === 0) for (const record of await this.parts.registry.list()) this.#agents.set(record.id, record);
    // Bindings once per label set; each bundle is signed (synchronously, ~30 µs) and published at
    // once, yielding to the event loop every SIGN_BATCH agents so API requests are not held up.
    const memo = new BindingsMemo(snapshot.resources.values());
    let pushed = 0;
    let sinceYield = 0;
    for (const agent of [...this.#agents.values()]) {
      if (agent.revokedAt) {
        this.#issued.delete(agent.id);
        continue;
      }
      if (this.#issue(agent, snapshot.revision, memo)) pushed++;
      if (++sinceYield >= SIGN_BATCH) {
        sinceYield = 0;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
    this.#revision = Math.max(this.#revision, snapshot.revision);
    if (pushed > 0) this.parts.log.info({ revision: snapshot.revision, pushed, agents: this.#agents.size }, 'bundles pushed');
    for (const listener of this.#listeners) listener(snapshot.revision);
  }

  /** Signs and pushes a new bundle for `agent` when its bindings changed; true when it did. */
  #issue(agent: AgentRecord, revision: number, memo: BindingsMemo): boolean {
    const { bindings, digest } = memo.for({ id: agent.id, labels: agent.labels });
    const previous = this.#issued.get(agent.id);
    if (previous && (previous.digest === digest || previous.revision >= revision)) return false;
    const bundle: AgentBundle = { format: BUNDLE_FORMAT, agentId: agent.id, revision, issuedAt: new Date().toISOString(), bindings };
    const issued: IssuedBundle = { revision: bundle.revision, issuedAt: bundle.issuedAt, digest, jws: this.parts.key.signSync(bundle) };
    this.#issued.set(agent.id, issued);
    this.parts.nc.publish(subjects.bundlePush(agent.id), issued.jws);
    return true;
  }

  async #answerGet(subject: string): Promise<BundleGetReply> {
    const agentId = agentIdOfSubject(subject);
    if (agentId === undefined) return { ok: false, code: FLEET_CODES.NO_BUNDLE, message: 'subject names no agent' };
    let issued = this.#issued.get(agentId);
    if (!issued) {
      // Enrolled a moment ago (the registry watch has not caught up yet) or never computed.
      const record = this.#agents.get(agentId) ?? await this.parts.registry.get(agentId);
      if (!record || record.revokedAt) return { ok: false, code: FLEET_CODES.NO_BUNDLE, message: `agent "${agentId}" is not enrolled or was revoked` };
      this.#agents.set(agentId, record);
      await this.refresh();
      issued = this.#issued.get(agentId);
    }
    return issued ? { ok: true, jws: issued.jws } : { ok: false, code: FLEET_CODES.NO_BUNDLE, message: 'no bundle yet' };
  }
}

async function closedOf(sub: Subscription): Promise<void> {
  await sub.closed.catch(() => undefined);
}
