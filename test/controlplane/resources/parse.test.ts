import test from 'ava';
import { parseResources } from '../../../controlplane/resources/parse.js';
import { ValidationError } from '../../../controlplane/resources/issues.js';
import { spiffeIdProblem } from '../../../protocol/spiffe-id.js';
import { HASH, credentialDoc, identityDoc, sourceDoc, yamlOf } from '../fixtures.js';

test('a valid identity, source and credential parse; server-set metadata is accepted and dropped', (t) => {
  const withMeta = { ...identityDoc(), metadata: { name: 'billing-exporter', policyRevision: 4, updatedAt: 'x' } };
  const resources = parseResources(yamlOf(withMeta, sourceDoc(), credentialDoc('billing-os', { methods: ['GET', 'PUT'], ttl: 900 })));
  t.deepEqual(resources.map((r) => `${r.kind}/${r.metadata.name}`), ['WorkloadIdentity/billing-exporter', 'CredentialSource/oci-ashburn', 'WorkloadCredential/billing-os']);
  t.deepEqual(resources[0]?.metadata, { name: 'billing-exporter' });
});

// Each row breaks one field; the error must name the document, the resource and that field.
const CASES: Array<{ title: string; doc: Record<string, unknown>; field: string; says?: RegExp }> = [
  { title: 'wrong apiVersion', doc: { ...identityDoc(), apiVersion: 'v1' }, field: 'apiVersion' },
  { title: 'unknown kind', doc: { ...identityDoc(), kind: 'Secret' }, field: 'kind' },
  { title: 'unknown top-level field', doc: { ...identityDoc(), status: {} }, field: 'status', says: /unknown field/ },
  { title: 'missing metadata.name', doc: { ...identityDoc(), metadata: {} }, field: 'metadata.name', says: /required/ },
  { title: 'upper-case name', doc: identityDoc('Billing'), field: 'metadata.name' },
  { title: 'missing spec', doc: { apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'x' } }, field: 'spec', says: /required/ },
  { title: 'unknown spec field', doc: identityDoc('x', { extra: 1 }), field: 'spec.extra', says: /unknown field/ },
  { title: 'spiffeId not spiffe scheme', doc: identityDoc('x', { spiffeId: 'https://example.org/a' }), field: 'spec.spiffeId', says: /spiffe:\/\// },
  { title: 'spiffeId upper-case trust domain', doc: identityDoc('x', { spiffeId: 'spiffe://Example.org/a' }), field: 'spec.spiffeId', says: /trust domain/ },
  { title: 'spiffeId with port', doc: identityDoc('x', { spiffeId: 'spiffe://example.org:8443/a' }), field: 'spec.spiffeId', says: /port/ },
  { title: 'spiffeId with userinfo', doc: identityDoc('x', { spiffeId: 'spiffe://me@example.org/a' }), field: 'spec.spiffeId', says: /userinfo/ },
  { title: 'spiffeId with query', doc: identityDoc('x', { spiffeId: 'spiffe://example.org/a?b=c' }), field: 'spec.spiffeId', says: /query/ },
  { title: 'spiffeId with fragment', doc: identityDoc('x', { spiffeId: 'spiffe://example.org/a#b' }), field: 'spec.spiffeId', says: /fragment/ },
  { title: 'spiffeId with dot segment', doc: identityDoc('x', { spiffeId: 'spiffe://example.org/a/../b' }), field: 'spec.spiffeId', says: /"\.\."/ },
  { title: 'spiffeId with empty segment', doc: identityDoc('x', { spiffeId: 'spiffe://example.org/a//b' }), field: 'spec.spiffeId', says: /empty segment/ },
  { title: 'spiffeId with trailing slash', doc: identityDoc('x', { spiffeId: 'spiffe://example.org/a/' }), field: 'spec.spiffeId', says: /empty segment/ },
  { title: 'spiffeId with bad path char', doc: identityDoc('x', { spiffeId: 'spiffe://example.org/a b' }), field: 'spec.spiffeId', says: /path segment/ },
  { title: 'spiffeId too long', doc: identityDoc('x', { spiffeId: `spiffe://example.org/${'a'.repeat(2040)}` }), field: 'spec.spiffeId', says: /2048/ },
  { title: 'no selectors', doc: identityDoc('x', { selectors: [] }), field: 'spec.selectors', says: /empty/ },
  { title: 'unknown selector', doc: identityDoc('x', { selectors: ['k8s:ns:default'] }), field: 'spec.selectors[0]', says: /unknown selector/ },
  { title: 'short sha256', doc: identityDoc('x', { selectors: ['unix:sha256:abc'] }), field: 'spec.selectors[0]', says: /64/ },
  { title: 'relative path selector', doc: identityDoc('x', { selectors: ['unix:path:bin/x'] }), field: 'spec.selectors[0]', says: /absolute/ },
  { title: 'non-numeric uid', doc: identityDoc('x', { selectors: ['unix:uid:root'] }), field: 'spec.selectors[0]' },
  { title: 'non-numeric gid', doc: identityDoc('x', { selectors: ['unix:gid:-1'] }), field: 'spec.selectors[0]' },
  { title: 'unit without suffix', doc: identityDoc('x', { selectors: ['systemd:unit:billing'] }), field: 'spec.selectors[0]', says: /\.service/ },
  { title: 'duplicate selector', doc: identityDoc('x', { selectors: ['unix:uid:1', 'unix:uid:1'] }), field: 'spec.selectors[1]', says: /duplicate/ },
  { title: 'script hash alone', doc: identityDoc('x', { selectors: [`script:sha256:${HASH}`, 'unix:uid:1'] }), field: 'spec.selectors', says: /unix:sha256/ },
  { title: 'no agents', doc: identityDoc('x', { agents: {} }), field: 'spec.agents', says: /ids/ },
  { title: 'agents with unknown field', doc: identityDoc('x', { agents: { hosts: ['a'] } }), field: 'spec.agents.hosts' },
  { title: 'agent label not a string', doc: identityDoc('x', { agents: { labels: { tier: 1 } } }), field: 'spec.agents.labels.tier' },
  { title: 'missing owner', doc: identityDoc('x', { owner: undefined }), field: 'spec.owner', says: /required/ },
  { title: 'source kind not oci', doc: sourceDoc('x', { kind: 'aws' }), field: 'spec.kind' },
  { title: 'domainUrl not https', doc: sourceDoc('x', { domainUrl: 'http://idcs.example.com' }), field: 'spec.domainUrl', says: /https/ },
  { title: 'domainUrl not a URL', doc: sourceDoc('x', { domainUrl: 'idcs' }), field: 'spec.domainUrl' },
  { title: 'missing clientId', doc: sourceDoc('x', { clientId: undefined }), field: 'spec.clientId' },
  { title: 'relative clientSecretFile', doc: sourceDoc('x', { clientSecretFile: 'secret.txt' }), field: 'spec.clientSecretFile', says: /absolute/ },
  { title: 'inline clientSecret is not a field', doc: sourceDoc('x', { clientSecret: 'hunter2' }), field: 'spec.clientSecret', says: /unknown field/ },
  { title: 'bad region', doc: sourceDoc('x', { region: 'Ashburn' }), field: 'spec.region' },
  { title: 'relative caFile', doc: sourceDoc('x', { caFile: 'ca.pem' }), field: 'spec.caFile' },
  { title: 'token lifetime too short', doc: sourceDoc('x', { tokenLifetimeSeconds: 60 }), field: 'spec.tokenLifetimeSeconds' },
  { title: 'missing workload', doc: credentialDoc('x', { workload: undefined }), field: 'spec.workload' },
  { title: 'missing source', doc: credentialDoc('x', { source: undefined }), field: 'spec.source' },
  { title: 'no destinations', doc: credentialDoc('x', { destinations: [] }), field: 'spec.destinations' },
  { title: 'upper-case destination', doc: credentialDoc('x', { destinations: ['ObjectStorage.us-ashburn-1.oraclecloud.com'] }), field: 'spec.destinations[0]', says: /lower-case/ },
  { title: 'non-OCI destination', doc: credentialDoc('x', { destinations: ['s3.amazonaws.com'] }), field: 'spec.destinations[0]', says: /OCI/ },
  { title: 'invalid DNS destination', doc: credentialDoc('x', { destinations: ['-bad.oraclecloud.com'] }), field: 'spec.destinations[0]', says: /DNS/ },
  { title: 'lower-case method', doc: credentialDoc('x', { methods: ['get'] }), field: 'spec.methods[0]' },
  { title: 'ttl too short', doc: credentialDoc('x', { ttl: '1m' }), field: 'spec.ttl', says: /300/ },
  { title: 'ttl too long', doc: credentialDoc('x', { ttl: '2h' }), field: 'spec.ttl', says: /3600/ },
  { title: 'ttl unreadable', doc: credentialDoc('x', { ttl: 'soon' }), field: 'spec.ttl', says: /duration/ },
  { title: 'unknown unboundAccess', doc: credentialDoc('x', { unboundAccess: 'block' }), field: 'spec.unboundAccess', says: /allow, deny/ },
  { title: 'unboundAccess not a string', doc: credentialDoc('x', { unboundAccess: true }), field: 'spec.unboundAccess' },
];

test('unboundAccess: deny and allow are accepted; absent stays absent', (t) => {
  const [deny, allow, none] = parseResources(yamlOf(
    credentialDoc('a', { unboundAccess: 'deny' }), credentialDoc('b', { unboundAccess: 'allow' }), credentialDoc('c'),
  )) as Array<{ spec: { unboundAccess?: string } }>;
  t.is(deny?.spec.unboundAccess, 'deny');
  t.is(allow?.spec.unboundAccess, 'allow');
  t.false('unboundAccess' in (none?.spec ?? {}));
});

for (const c of CASES) {
  test(`invalid: ${c.title} → names ${c.field}`, (t) => {
    // The bad document sits second, after a valid one, so the index in the error is checked too.
    const err = t.throws(() => parseResources(yamlOf(sourceDoc('fine'), c.doc)), { instanceOf: ValidationError });
    const issue = err?.details.find((d) => d.field === c.field);
    t.truthy(issue, `no issue for ${c.field}: ${JSON.stringify(err?.details)}`);
    t.is(issue?.document, 1);
    t.is(err?.code, 'SIGIL_ERR_RESOURCE_INVALID');
    if (c.says) t.regex(issue?.message ?? '', c.says);
    t.true(err!.message.includes(c.field));
  });
}

test('every issue in a file is reported at once, each with its document', (t) => {
  const err = t.throws(() => parseResources(yamlOf(identityDoc('a', { owner: undefined }), credentialDoc('b', { ttl: 'soon' }))), { instanceOf: ValidationError });
  t.deepEqual(err?.details.map((d) => [d.document, d.kind, d.name, d.field]), [
    [0, 'WorkloadIdentity', 'a', 'spec.owner'], [1, 'WorkloadCredential', 'b', 'spec.ttl'],
  ]);
});

test('YAML syntax errors and duplicate keys are reported, not guessed around', (t) => {
  t.throws(() => parseResources('kind: [unclosed'), { instanceOf: ValidationError, message: /\(yaml\)/ });
  t.throws(() => parseResources('kind: a\nkind: b\n'), { instanceOf: ValidationError });
  t.throws(() => parseResources('---\n---\n'), { instanceOf: ValidationError, message: /no documents/ });
});

test('SPIFFE IDs that the spec allows are accepted', (t) => {
  for (const id of ['spiffe://example.org', 'spiffe://example.org/a/b-c_d.e', 'spiffe://my_domain-1.example/X.Y']) {
    t.is(spiffeIdProblem(id), undefined, id);
  }
});
