import test from 'ava';
import { computeBindingsFor } from '../../../controlplane/bindings/compute.js';
import { parseResources } from '../../../controlplane/resources/parse.js';
import { credentialDoc, identityDoc, sourceDoc, yamlOf } from '../fixtures.js';

const resources = parseResources(yamlOf(
  identityDoc('billing-exporter', { agents: { labels: { role: 'billing', env: 'prod' } } }),
  identityDoc('backup', { agents: { ids: ['agent-7'] } }),
  sourceDoc(),
  credentialDoc('billing-os', { methods: ['GET', 'PUT'], ttl: '15m' }),
  credentialDoc('backup-os', { workload: 'backup', ttl: 3600 }),
  credentialDoc('billing-iaas', { destinations: ['iaas.us-ashburn-1.oraclecloud.com'], ttl: '5m' }),
));

test('an agent with all the labels gets that identity\'s bindings, sorted, and nothing secret', (t) => {
  const bindings = computeBindingsFor({ id: 'agent-1', labels: { role: 'billing', env: 'prod', zone: 'a' } }, resources);
  t.deepEqual(bindings, [
    { id: 'billing-iaas', spiffeId: 'spiffe://example.org/billing-exporter', workload: 'billing-exporter', selectors: identityDoc().spec ? (identityDoc().spec as { selectors: string[] }).selectors : [], destinations: ['iaas.us-ashburn-1.oraclecloud.com'], ttlSeconds: 300, source: 'oci-ashburn' },
    { id: 'billing-os', spiffeId: 'spiffe://example.org/billing-exporter', workload: 'billing-exporter', selectors: (identityDoc().spec as { selectors: string[] }).selectors, destinations: ['objectstorage.us-ashburn-1.oraclecloud.com'], methods: ['GET', 'PUT'], ttlSeconds: 900, source: 'oci-ashburn' },
  ]);
  t.false(JSON.stringify(bindings).includes('clientSecretFile'));
});

test('a partial label match or another id gets nothing; a listed id gets its binding', (t) => {
  t.deepEqual(computeBindingsFor({ id: 'agent-2', labels: { role: 'billing' } }, resources), []);
  t.deepEqual(computeBindingsFor({ id: 'agent-7', labels: {} }, resources).map((b) => [b.id, b.ttlSeconds]), [['backup-os', 3600]]);
});

test('a credential whose identity is missing yields no binding (the store refuses that state anyway)', (t) => {
  const orphan = resources.filter((r) => r.kind !== 'WorkloadIdentity' || r.metadata.name !== 'backup');
  t.deepEqual(computeBindingsFor({ id: 'agent-7', labels: {} }, orphan), []);
});

test('unboundAccess: deny travels in the binding; allow and absent leave the bundle as before', (t) => {
  const docs = parseResources(yamlOf(
    identityDoc('billing-exporter', { agents: { ids: ['agent-1'] } }), sourceDoc(),
    credentialDoc('locked', { unboundAccess: 'deny' }),
    credentialDoc('open', { unboundAccess: 'allow', destinations: ['iaas.us-ashburn-1.oraclecloud.com'] }),
  ));
  const bindings = computeBindingsFor({ id: 'agent-1', labels: {} }, docs);
  t.deepEqual(bindings.map((b) => [b.id, b.unboundAccess]), [['locked', 'deny'], ['open', undefined]]);
  t.false('unboundAccess' in (bindings[1] ?? {}));
});
