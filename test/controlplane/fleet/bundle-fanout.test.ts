import test from 'ava';
import { compactVerify, decodeProtectedHeader, importJWK } from 'jose';
import { BindingsMemo } from '../../../controlplane/fleet/bindings-memo.js';
import { BundleSigningKey } from '../../../controlplane/fleet/bundle-signing-key.js';
import { computeBindingsFor, type AgentInfo } from '../../../controlplane/bindings/compute.js';
import { parseResources } from '../../../controlplane/resources/parse.js';
import { BUNDLE_FORMAT, type AgentBundle } from '../../../protocol/bundle.js';
import { credentialDoc, identityDoc, sourceDoc, yamlOf } from '../fixtures.js';
import { tempDir } from '../support.js';

const bundle: AgentBundle = { format: BUNDLE_FORMAT, agentId: 'agent-1', revision: 7, issuedAt: '2026-12-01T00:00:00.000Z', bindings: [] };

test('signSync makes a JWS that verifies with the public key and carries the same header as sign()', async (t) => {
  const key = await BundleSigningKey.loadOrCreate(`${await tempDir(t, 'key')}/key.jwk`);
  const jws = key.signSync(bundle);
  const { payload, protectedHeader } = await compactVerify(jws, await importJWK({ ...key.publicJwk }, 'ES256'), { algorithms: ['ES256'] });
  t.deepEqual(JSON.parse(new TextDecoder().decode(payload)), bundle);
  t.deepEqual(protectedHeader, decodeProtectedHeader(await key.sign(bundle)));
  const other = await BundleSigningKey.loadOrCreate(`${await tempDir(t, 'other')}/key.jwk`);
  await t.throwsAsync(compactVerify(jws, await importJWK({ ...other.publicJwk }, 'ES256')), undefined, 'another key does not verify it');
});

test('the memo gives each agent what computeBindingsFor gives it, by labels and by id', (t) => {
  const resources = parseResources(yamlOf(
    sourceDoc(),
    identityDoc(),
    credentialDoc(),
    identityDoc('named', { agents: { ids: ['agent-named'] } }),
    credentialDoc('named-os', { workload: 'named' }),
  ));
  const memo = new BindingsMemo(resources);
  const agents: AgentInfo[] = [
    { id: 'agent-a', labels: { role: 'billing', zone: 'x' } },
    { id: 'agent-b', labels: { zone: 'x', role: 'billing' } },
    { id: 'agent-named', labels: { role: 'billing', zone: 'x' } },
    { id: 'agent-web', labels: { role: 'web' } },
  ];
  for (const agent of agents) t.deepEqual(memo.for(agent).bindings, computeBindingsFor(agent, resources), agent.id);
  t.deepEqual(memo.for(agents[2]!).bindings.map((b) => b.id), ['billing-os', 'named-os'], 'named by id: its own bindings, not its label set\'s');
  t.is(memo.for(agents[0]!).digest, memo.for(agents[1]!).digest, 'same labels in another order: one computation');
  t.not(memo.for(agents[0]!).digest, memo.for(agents[2]!).digest);
});
