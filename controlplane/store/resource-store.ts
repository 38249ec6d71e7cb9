import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import type { KV } from '@nats-io/kv';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { ControlPlaneError } from '../errors.js';
import { KINDS, type Kind } from '../resources/kinds.js';
import { resourceKey, type Resource } from '../resources/types.js';
import { checkResource } from '../resources/parse.js';
import { duplicateIssues, referenceIssues } from '../resources/references.js';
import { ValidationError } from '../resources/issues.js';
import { DEFAULT_BUCKET, JS_REQUEST_TIMEOUT_MS, openBucket, type BucketOptions } from './bucket.js';
import { META_KEY, type Change, type MetaEntry, type PolicyRecord, readMeta, settle, writeMeta } from './journal.js';
import { withRetry } from './kv-errors.js';
import { onAbort, sleep } from '../../common/abort.js';
import { HTTP_CODES } from '../http/errors.js';
import { STORE_CODES } from './errors.js';

/** A consistent view of all resources at one policy revision. */
export interface Snapshot {
  revision: number;
  /** Keyed by `<kind>.<name>`. */
  resources: Map<string, Resource>;
}

export type ChangeAction = 'created' | 'configured' | 'unchanged' | 'deleted';

export interface ChangeReport {
  kind: Kind;
  name: string;
  action: ChangeAction;
}

export interface CommitResult {
  /** The policy revision after the commit (unchanged when nothing changed). */
  revision: number;
  changes: ChangeReport[];
}

/** Keeps the intent well inside nats-server's default 1 MiB message limit. */
const MAX_INTENT_BYTES = 900 * 1024;
const MAX_ATTEMPTS = 50;
/** Keys the health probe writes (not a resource kind, so never read as one). */
const PROBE_PREFIX = 'probe.';

/**
 * Resources in NATS JetStream KV (`<kind>.<name>` → JSON), the only source of truth. Every change is an
 * all-or-nothing commit through the journal (journal.ts), so replicas sharing one bucket never lose an
 * update: a commit that raced another re-reads, re-validates and tries again.
 */
export class ResourceStore {
  private constructor(readonly kv: KV, private readonly jsm: JetStreamManager, private readonly bucket: string) {}

  static async open(nc: NatsConnection, bucket: string = DEFAULT_BUCKET, options: BucketOptions = {}): Promise<ResourceStore> {
    const kv = await openBucket(nc, bucket, options);
    return new ResourceStore(kv, await withRetry(() => jetstreamManager(nc, { timeout: JS_REQUEST_TIMEOUT_MS })), bucket);
  }

  /**
   * Writes `probe.<name>` once, no retry: succeeds only while the bucket's stream can commit (has a
   * leader and a quorum of its replicas) — reads alone would not tell, as any replica serves a
   * direct get, and a leader that lost its followers still answers stream info for a while.
   * One key per replica, history 1: the bucket does not grow.
   */
  async probe(name: string): Promise<void> {
    await this.kv.put(`${PROBE_PREFIX}${name}`, new Date().toISOString());
  }

  /**
   * The policy revision last committed, from one read of the policy record (no snapshot); `pending`
   * when an apply is being written out. For pollers that back up watchCommits().
   */
  async committedRevision(): Promise<{ revision: number; pending: boolean }> {
    const meta = await readMeta(this.kv);
    return { revision: meta.record.revision, pending: meta.record.pending !== undefined };
  }

  /**
   * Committed policy changes, as they happen: yields the policy revision of each commit (an apply still
   * being written out is not one). Ends when `signal` fires. One KV watch per call; readers need not
   * know the journal's records.
   */
  async *watchCommits(signal: AbortSignal): AsyncGenerator<number> {
    const watch = await this.kv.watch({ key: META_KEY });
    const cancel = onAbort(signal, () => watch.stop());
    try {
      for await (const entry of watch) {
        if (entry.operation !== 'PUT') continue;
        const record = entry.json<PolicyRecord>();
        if (record.pending === undefined) yield record.revision;
      }
    } finally {
      cancel();
      watch.stop();
    }
  }

  /** Every resource at one revision; finishes any half-written apply first. */
  async snapshot(): Promise<Snapshot> {
    return (await this.snapshotWithMeta()).snapshot;
  }

  async revision(): Promise<number> {
    return (await this.snapshot()).revision;
  }

  async list(kind?: Kind): Promise<Resource[]> {
    const { resources } = await this.snapshot();
    return [...resources.values()]
      .filter((r) => kind === undefined || r.kind === kind)
      .sort((a, b) => a.kind.localeCompare(b.kind) || a.metadata.name.localeCompare(b.metadata.name));
  }

  async get(kind: Kind, name: string): Promise<Resource | undefined> {
    return (await this.snapshot()).resources.get(resourceKey(kind, name));
  }

  /** Creates or replaces `resources` (already checked one by one by parseResources), all or none. */
  async apply(resources: Resource[]): Promise<CommitResult> {
    return this.commit(applyPlan(resources));
  }

  /**
   * What `apply(resources)` would do now (`apply --dry-run`): the same checks, references included,
   * and the same change report, against the current revision; nothing is written.
   */
  async dryRun(resources: Resource[]): Promise<CommitResult> {
    const plan = applyPlan(resources);
    const { snapshot } = await this.snapshotWithMeta();
    return { revision: snapshot.revision, changes: plan(snapshot.resources).changes };
  }

  /** Deletes one resource; refused (409) while a WorkloadCredential still refers to it. */
  async delete(kind: Kind, name: string): Promise<CommitResult> {
    return this.commit((current) => {
      const key = resourceKey(kind, name);
      if (!current.has(key)) {
        throw new ControlPlaneError(HTTP_CODES.RESOURCE_NOT_FOUND, `${kind} "${name}" does not exist`, { status: 404 });
      }
      const next = new Map(current);
      next.delete(key);
      const issues = referenceIssues(next, new Map());
      if (issues.length > 0) throw new ValidationError(issues, STORE_CODES.RESOURCE_IN_USE, 409);
      return { next, changes: [{ kind, name, action: 'deleted' }] };
    });
  }

  /**
   * The commit loop: plan against a snapshot, claim the next revision with a CAS on the policy record
   * (fails if anything was committed since the snapshot), then write the keys. `plan` may throw to refuse.
   */
  private async commit(
    plan: (current: ReadonlyMap<string, Resource>) => { next: Map<string, Resource>; changes: ChangeReport[] },
  ): Promise<CommitResult> {
    const applyId = randomUUID();
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const { snapshot, meta } = await this.snapshotWithMeta();
      const { next, changes } = plan(snapshot.resources);
      if (meta.record.lastApplyId === applyId) return { revision: meta.record.revision, changes }; // our claim landed before a lost reply
      const writes = diff(snapshot.resources, next, snapshot.revision + 1);
      if (writes.length === 0) return { revision: snapshot.revision, changes };
      const record = { revision: snapshot.revision + 1, pending: { applyId, changes: writes } };
      if (Buffer.byteLength(JSON.stringify(record)) > MAX_INTENT_BYTES) {
        throw new ControlPlaneError(STORE_CODES.STORE_TOO_LARGE, `this apply is too large for one commit (over ${MAX_INTENT_BYTES} bytes); split it`, { status: 413 });
      }
      const claimSeq = await writeMeta(this.kv, record, meta.seq);
      if (claimSeq === undefined) {
        await sleep(Math.random() * 20 * (attempt + 1)); // lost the race: back off a little, re-plan
        continue;
      }
      await settle(this.kv, { record, seq: claimSeq });
      return { revision: record.revision, changes };
    }
    throw new ControlPlaneError(STORE_CODES.STORE_CONFLICT, `gave up after ${MAX_ATTEMPTS} conflicting attempts`, { status: 503 });
  }

  /**
   * Keys of every resource (deleted ones included) in one request, from the stream's per-subject
   * counts; cheaper under contention than kv.keys(), which creates a consumer each call.
   */
  private async resourceKeys(): Promise<string[]> {
    const prefix = `$KV.${this.bucket}.`;
    const info = await withRetry(() => this.jsm.streams.info(`KV_${this.bucket}`, { subjects_filter: `${prefix}>` }));
    return Object.keys(info.state.subjects ?? {})
      .map((subject) => subject.slice(prefix.length))
      .filter((key) => KINDS.some((kind) => key.startsWith(`${kind}.`)));
  }

  private async snapshotWithMeta(): Promise<{ snapshot: Snapshot; meta: MetaEntry }> {
    for (;;) {
      const meta = await readMeta(this.kv);
      if (meta.record.pending) {
        await settle(this.kv, meta);
        continue;
      }
      const resources = new Map<string, Resource>();
      const entries = await Promise.all((await this.resourceKeys()).map(async (key) => [key, await withRetry(() => this.kv.get(key))] as const));
      for (const [key, entry] of entries) {
        if (!entry || entry.operation !== 'PUT') continue;
        resources.set(key, decode(key, entry.json<unknown>()));
      }
      const again = await readMeta(this.kv);
      if (again.seq === meta.seq) return { snapshot: { revision: meta.record.revision, resources }, meta };
    }
  }
}

/** The plan of an apply: refuses duplicates and broken references, reports each resource's change. */
function applyPlan(resources: Resource[]): (current: ReadonlyMap<string, Resource>) => { next: Map<string, Resource>; changes: ChangeReport[] } {
  const duplicates = duplicateIssues(resources);
  if (duplicates.length > 0) throw new ValidationError(duplicates);
  return (current) => {
    const next = new Map(current);
    const documents = new Map<string, number>();
    const changes: ChangeReport[] = [];
    resources.forEach((resource, index) => {
      const key = resourceKey(resource.kind, resource.metadata.name);
      documents.set(key, index);
      const before = current.get(key);
      const action: ChangeAction = !before ? 'created' : sameSpec(before, resource) ? 'unchanged' : 'configured';
      changes.push({ kind: resource.kind, name: resource.metadata.name, action });
      if (action !== 'unchanged') next.set(key, resource);
    });
    const issues = referenceIssues(next, documents);
    if (issues.length > 0) throw new ValidationError(issues);
    return { next, changes };
  };
}

function sameSpec(a: Resource, b: Resource): boolean {
  return canonicalJson(a.spec) === canonicalJson(b.spec);
}

function diff(current: ReadonlyMap<string, Resource>, next: ReadonlyMap<string, Resource>, revision: number): Change[] {
  const changes: Change[] = [];
  const updatedAt = new Date().toISOString();
  for (const [key, resource] of next) {
    if (current.get(key) === resource) continue;
    const stored: Resource = { ...resource, metadata: { name: resource.metadata.name, policyRevision: revision, updatedAt } };
    changes.push({ key, value: JSON.stringify(stored) });
  }
  for (const key of current.keys()) if (!next.has(key)) changes.push({ key, value: null });
  return changes;
}

/** A stored value that no longer passes the checks (hand-edited KV) is an error, not silently skipped. */
function decode(key: string, value: unknown): Resource {
  const problems: string[] = [];
  const resource = checkResource(value, (issue) => problems.push(`${issue.field}: ${issue.message}`));
  if (!resource) throw new ControlPlaneError(STORE_CODES.STORE_CORRUPT, `stored resource ${key} is invalid: ${problems.join('; ')}`, { status: 500 });
  const metadata = (value as { metadata: Resource['metadata'] }).metadata;
  resource.metadata = { name: resource.metadata.name, policyRevision: metadata.policyRevision, updatedAt: metadata.updatedAt } as Resource['metadata'];
  return resource;
}

function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v);
}
