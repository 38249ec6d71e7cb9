import test from 'ava';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { ResourceStore } from '../../../controlplane/store/resource-store.js';
import { META_KEY, readMeta, rollForward } from '../../../controlplane/store/journal.js';
import { parseResources } from '../../../controlplane/resources/parse.js';
import { ValidationError } from '../../../controlplane/resources/issues.js';
import { ControlPlaneError } from '../../../controlplane/errors.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { credentialDoc, identityDoc, sourceDoc, yamlOf } from '../fixtures.js';

async function setup(t: import('ava').ExecutionContext): Promise<{ nats: NatsServer; connectTo: () => Promise<NatsConnection> }> {
  const nats = await startNatsServer();
  const conns: NatsConnection[] = [];
  t.teardown(async () => {
    await Promise.all(conns.map((nc) => nc.close()));
    await nats.cleanup();
  });
  return {
    nats,
    connectTo: async () => {
      const nc = await connect({ servers: nats.url, reconnectTimeWait: 200, maxReconnectAttempts: -1 });
      conns.push(nc);
      return nc;
    },
  };
}

const policy = (): ReturnType<typeof parseResources> => parseResources(yamlOf(identityDoc(), sourceDoc(), credentialDoc()));

test('apply, get, re-apply, change and delete round trip with a monotonic policy revision', async (t) => {
  const { connectTo } = await setup(t);
  const store = await ResourceStore.open(await connectTo());
  t.is(await store.revision(), 0);

  const first = await store.apply(policy());
  t.is(first.revision, 1);
  t.deepEqual(first.changes.map((c) => c.action), ['created', 'created', 'created']);
  const stored = await store.get('WorkloadIdentity', 'billing-exporter');
  t.is(stored?.metadata.policyRevision, 1);
  t.deepEqual(stored?.spec, identityDoc().spec);

  const again = await store.apply(policy());
  t.is(again.revision, 1, 'an apply that changes nothing does not bump the revision');
  t.deepEqual(again.changes.map((c) => c.action), ['unchanged', 'unchanged', 'unchanged']);

  const changed = await store.apply(parseResources(yamlOf(credentialDoc('billing-os', { ttl: '30m' }))));
  t.deepEqual([changed.revision, changed.changes[0]?.action], [2, 'configured']);
  t.is((await store.get('WorkloadIdentity', 'billing-exporter'))?.metadata.policyRevision, 1, 'untouched resources keep their revision');

  const inUse = await t.throwsAsync(store.delete('WorkloadIdentity', 'billing-exporter'), { instanceOf: ValidationError });
  t.is(inUse?.code, 'SIGIL_ERR_RESOURCE_IN_USE');
  t.is(inUse?.status, 409);
  await t.throwsAsync(store.delete('WorkloadIdentity', 'nope'), { instanceOf: ControlPlaneError, message: /does not exist/ });

  t.is((await store.delete('WorkloadCredential', 'billing-os')).revision, 3);
  t.is((await store.delete('WorkloadIdentity', 'billing-exporter')).revision, 4);
  t.deepEqual((await store.list()).map((r) => r.metadata.name), ['oci-ashburn']);
});

test('an apply with one bad reference stores nothing', async (t) => {
  const { connectTo } = await setup(t);
  const store = await ResourceStore.open(await connectTo());
  const bad = parseResources(yamlOf(identityDoc(), credentialDoc('billing-os', { source: 'missing-source' })));
  const err = await t.throwsAsync(store.apply(bad), { instanceOf: ValidationError });
  t.deepEqual(err?.details, [{ document: 1, kind: 'WorkloadCredential', name: 'billing-os', field: 'spec.source', message: 'CredentialSource "missing-source" does not exist' }]);
  t.deepEqual(await store.list(), []);
  t.is(await store.revision(), 0);
  // References resolve against the store too: the source applied alone, then the rest.
  await store.apply(parseResources(yamlOf(sourceDoc('missing-source'))));
  t.is((await store.apply(bad)).revision, 2);
});

test('a duplicate document in one apply is refused', async (t) => {
  const { connectTo } = await setup(t);
  const store = await ResourceStore.open(await connectTo());
  const err = await t.throwsAsync(store.apply(parseResources(yamlOf(sourceDoc(), sourceDoc()))), { instanceOf: ValidationError });
  t.is(err?.details[0]?.field, 'metadata.name');
  t.deepEqual(await store.list(), []);
});

test('two replicas applying concurrently lose no update', async (t) => {
  const { connectTo } = await setup(t);
  const [a, b] = [await ResourceStore.open(await connectTo()), await ResourceStore.open(await connectTo())];
  await a.apply(parseResources(yamlOf(sourceDoc())));
  const rounds = 8;
  const writes: Array<Promise<unknown>> = [];
  for (let i = 0; i < rounds; i++) {
    writes.push(a.apply(parseResources(yamlOf(identityDoc(`a-${i}`)))));
    writes.push(b.apply(parseResources(yamlOf(identityDoc(`b-${i}`)))));
    // Both replicas also rewrite one shared resource with different values.
    writes.push(a.apply(parseResources(yamlOf(sourceDoc('shared', { clientId: `a-${i}` })))));
    writes.push(b.apply(parseResources(yamlOf(sourceDoc('shared', { clientId: `b-${i}` })))));
  }
  const results = await Promise.all(writes) as Array<{ revision: number; changes: Array<{ action: string }> }>;
  const names = (await b.list('WorkloadIdentity')).map((r) => r.metadata.name);
  t.is(names.length, rounds * 2);
  const revisions = results.map((r) => r.revision);
  t.is(new Set(revisions).size, revisions.length, 'every commit got its own revision');
  t.is(await a.revision(), 1 + results.filter((r) => r.changes.some((c) => c.action !== 'unchanged')).length);
  // The shared resource holds the value of the shared write that committed last.
  const sharedWrites = results.map((r, i) => ({ r, i })).filter(({ i }) => i % 4 >= 2);
  const last = sharedWrites.reduce((best, w) => (w.r.revision > best.r.revision ? w : best));
  const shared = await a.get('CredentialSource', 'shared');
  t.is(shared?.metadata.policyRevision, last.r.revision);
  t.is((shared?.spec as { clientId: string }).clientId, `${last.i % 4 === 2 ? 'a' : 'b'}-${Math.floor(last.i / 4)}`);
});

test('an apply interrupted after its claim is finished by the next reader, and a late helper cannot undo newer state', async (t) => {
  const { connectTo } = await setup(t);
  const nc = await connectTo();
  const store = await ResourceStore.open(nc);
  await store.apply(parseResources(yamlOf(sourceDoc())));
  // Simulate a replica that claimed revision 2 and died before writing any key.
  const meta = await readMeta(store.kv);
  const value = JSON.stringify({ ...sourceDoc('half-done'), metadata: { name: 'half-done', policyRevision: 2 } });
  const intent = { applyId: 'crashed', changes: [{ key: 'CredentialSource.half-done', value }, { key: 'CredentialSource.oci-ashburn', value: null }] };
  const claimSeq = await store.kv.put(META_KEY, JSON.stringify({ revision: 2, pending: intent }), { previousSeq: meta.seq });

  const other = await ResourceStore.open(await connectTo());
  t.deepEqual((await other.list()).map((r) => r.metadata.name), ['half-done']);
  t.is(await other.revision(), 2);
  t.is((await readMeta(store.kv)).record.pending, undefined);

  // A newer apply recreates oci-ashburn; the crashed replica waking up must not delete it again.
  await other.apply(parseResources(yamlOf(sourceDoc())));
  await rollForward(store.kv, intent, claimSeq);
  t.deepEqual((await store.list()).map((r) => r.metadata.name), ['half-done', 'oci-ashburn']);
});

test('a NATS restart loses nothing and the store keeps working after it', async (t) => {
  const { nats, connectTo } = await setup(t);
  const store = await ResourceStore.open(await connectTo());
  await store.apply(policy());
  await nats.restart();
  t.is((await store.list()).length, 3);
  t.is(await store.revision(), 1);
  t.is((await store.apply(parseResources(yamlOf(sourceDoc('after-restart'))))).revision, 2);
});
