import test from 'ava';
import { BUNDLE_FORMAT, decodeBundle } from '../../protocol/bundle.js';

const AGENT = 'agt-0123456789abcdef';
const binding = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'billing', spiffeId: 'spiffe://example.org/billing', workload: 'billing', selectors: ['unix:uid:1001'],
  destinations: ['objectstorage.us-ashburn-1.oraclecloud.com'], ttlSeconds: 900, source: 'oci', ...over,
});
const bundle = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  format: BUNDLE_FORMAT, agentId: AGENT, revision: 7, issuedAt: '2026-12-01T00:00:00.000Z', bindings: [binding()], ...over,
});

test('a well-formed bundle decodes to exactly its known fields', (t) => {
  const decoded = decodeBundle({ ...bundle({ bindings: [binding({ methods: ['GET'], unboundAccess: 'deny', extra: 'x' })] }), future: true });
  if (!decoded.ok) return t.fail(`${decoded.field}: ${decoded.reason}`);
  t.deepEqual(decoded.bundle, {
    format: 1, agentId: AGENT, revision: 7, issuedAt: '2026-12-01T00:00:00.000Z',
    bindings: [{ ...binding(), methods: ['GET'], unboundAccess: 'deny' }],
  });
});

test('a bundle without a format (older control planes) is format 1', (t) => {
  const { format: _, ...old } = bundle();
  const decoded = decodeBundle(old);
  t.true(decoded.ok && decoded.bundle.format === 1);
});

/** Each malformed bundle, and the field the refusal must name. */
const CORPUS: Array<[string, unknown, string]> = [
  ['not an object', [], '(bundle)'],
  ['null', null, '(bundle)'],
  ['newer format', bundle({ format: BUNDLE_FORMAT + 1 }), 'format'],
  ['format not a number', bundle({ format: '1' }), 'format'],
  ['agent id missing', bundle({ agentId: undefined }), 'agentId'],
  ['agent id malformed', bundle({ agentId: 'agent one' }), 'agentId'],
  ['negative revision', bundle({ revision: -1 }), 'revision'],
  ['fractional revision', bundle({ revision: 1.5 }), 'revision'],
  ['revision as text', bundle({ revision: '7' }), 'revision'],
  ['issuedAt not a date', bundle({ issuedAt: 'yesterday' }), 'issuedAt'],
  ['bindings not a list', bundle({ bindings: {} }), 'bindings'],
  ['binding not an object', bundle({ bindings: ['billing'] }), 'bindings[0]'],
  ['binding id upper-case', bundle({ bindings: [binding({ id: 'Billing' })] }), 'bindings[0].id'],
  ['duplicate binding id', bundle({ bindings: [binding(), binding()] }), 'bindings[1].id'],
  ['spiffe id with a query', bundle({ bindings: [binding({ spiffeId: 'spiffe://example.org/a?b' })] }), 'bindings[0].spiffeId'],
  ['workload missing', bundle({ bindings: [binding({ workload: undefined })] }), 'bindings[0].workload'],
  ['selectors empty', bundle({ bindings: [binding({ selectors: [] })] }), 'bindings[0].selectors'],
  ['selector uid out of range', bundle({ bindings: [binding({ selectors: ['unix:uid:4294967295'] })] }), 'bindings[0].selectors[0]'],
  ['unknown selector', bundle({ bindings: [binding({ selectors: ['unix:uid:1', 'k8s:ns:default'] })] }), 'bindings[0].selectors[1]'],
  ['selectors that never both hold', bundle({ bindings: [binding({ selectors: ['unix:uid:1', 'unix:uid:2'] })] }), 'bindings[0].selectors'],
  ['script without interpreter hash', bundle({ bindings: [binding({ selectors: ['unix:uid:1', `script:sha256:${'a'.repeat(64)}`] })] }), 'bindings[0].selectors'],
  ['selector not a string', bundle({ bindings: [binding({ selectors: [1001] })] }), 'bindings[0].selectors[0]'],
  ['non-OCI destination', bundle({ bindings: [binding({ destinations: ['example.com'] })] }), 'bindings[0].destinations[0]'],
  ['no destinations', bundle({ bindings: [binding({ destinations: [] })] }), 'bindings[0].destinations'],
  ['lower-case method', bundle({ bindings: [binding({ methods: ['get'] })] }), 'bindings[0].methods[0]'],
  ['ttl zero', bundle({ bindings: [binding({ ttlSeconds: 0 })] }), 'bindings[0].ttlSeconds'],
  ['ttl text', bundle({ bindings: [binding({ ttlSeconds: '900' })] }), 'bindings[0].ttlSeconds'],
  ['source missing', bundle({ bindings: [binding({ source: '' })] }), 'bindings[0].source'],
  ['unknown unboundAccess', bundle({ bindings: [binding({ unboundAccess: 'maybe' })] }), 'bindings[0].unboundAccess'],
];

for (const [name, value, field] of CORPUS) {
  test(`refused, naming ${field}: ${name}`, (t) => {
    const decoded = decodeBundle(value);
    if (decoded.ok) return t.fail('accepted');
    t.is(decoded.field, field, decoded.reason);
    t.true(decoded.reason.length > 0);
  });
}

test('only a newer format is flagged as a format refusal', (t) => {
  const newer = decodeBundle(bundle({ format: BUNDLE_FORMAT + 1 }));
  const bad = decodeBundle(bundle({ revision: -1 }));
  t.true(!newer.ok && newer.format === true);
  t.true(!bad.ok && bad.format === undefined);
});
