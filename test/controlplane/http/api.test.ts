import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { loadConfig } from '../../../controlplane/config/config.js';
import { createLogger } from '../../../controlplane/log.js';
import { startControlPlane, type RunningControlPlane } from '../../../controlplane/server.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { tempDir } from '../support.js';
import { credentialDoc, identityDoc, sourceDoc, yamlOf } from '../fixtures.js';

const SECRET = 'client-secret-value-that-must-never-leak-7f3a';

async function start(t: import('ava').ExecutionContext, nats: NatsServer, stateDir: string): Promise<{ cp: RunningControlPlane; token: string; logs: () => string }> {
  let logs = '';
  const sink = new Writable({ write(chunk: Buffer, _enc, done) { logs += chunk.toString(); done(); } });
  const config = await loadConfig(undefined, { natsUrl: nats.url, listen: '127.0.0.1:0', stateDir, logLevel: 'debug' });
  const stop = new AbortController();
  const cp = await startControlPlane(config, createLogger({ level: 'debug' }, sink), stop.signal);
  t.teardown(async () => { stop.abort(); await cp.done; });
  return { cp, token: (await readFile(config.adminTokenFile, 'utf8')).trim(), logs: () => logs };
}

async function setup(t: import('ava').ExecutionContext) {
  const nats = await startNatsServer();
  t.teardown(() => nats.cleanup());
  const stateDir = await tempDir(t, 'cp');
  const secretFile = join(stateDir, 'client-secret');
  await writeFile(secretFile, SECRET, { mode: 0o600 });
  return { nats, stateDir, secretFile, ...(await start(t, nats, stateDir)) };
}

function call(cp: RunningControlPlane, token: string | undefined, method: string, path: string, body?: string) {
  return fetch(`${cp.url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {}, ...(body ? { body } : {}) })
    .then(async (res) => ({ status: res.status, json: await res.json() as Record<string, any> }));
}

test('the admin API needs the bearer token; health and issuer endpoints are public', async (t) => {
  const { cp, token } = await setup(t);
  for (const auth of [undefined, 'wrong-token']) {
    const res = await call(cp, auth, 'GET', '/v1/resources/wi');
    t.is(res.status, 401);
    t.deepEqual(res.json, { code: 'SIGIL_ERR_API_UNAUTHORIZED', message: 'missing or wrong bearer token (admin or viewer)', details: [] });
  }
  t.is((await call(cp, undefined, 'POST', '/v1/apply', yamlOf(sourceDoc()))).status, 401);
  t.is((await call(cp, token, 'GET', '/v1/resources/wi')).status, 200);
  t.deepEqual((await call(cp, undefined, 'GET', '/healthz')).json, { status: 'live' });
  t.deepEqual((await call(cp, undefined, 'GET', '/readyz')).json, { status: 'ready' });
  t.is((await call(cp, undefined, 'GET', '/.well-known/jwks.json')).status, 200);
});

test('apply, get and delete round trip over HTTP; errors are {code, message, details}', async (t) => {
  const { cp, token, secretFile } = await setup(t);
  const applied = await call(cp, token, 'POST', '/v1/apply', yamlOf(identityDoc(), sourceDoc('oci-ashburn', { clientSecretFile: secretFile }), credentialDoc()));
  t.is(applied.status, 200);
  t.deepEqual(applied.json, { revision: 1, changes: [
    { kind: 'WorkloadIdentity', name: 'billing-exporter', action: 'created' },
    { kind: 'CredentialSource', name: 'oci-ashburn', action: 'created' },
    { kind: 'WorkloadCredential', name: 'billing-os', action: 'created' },
  ] });
  const list = await call(cp, token, 'GET', '/v1/resources/workloadcredentials');
  t.deepEqual(list.json['items'].map((r: { metadata: { name: string } }) => r.metadata.name), ['billing-os']);
  const one = await call(cp, token, 'GET', '/v1/resources/cs/oci-ashburn');
  t.is(one.json['spec'].clientSecretFile, secretFile);

  const missing = await call(cp, token, 'GET', '/v1/resources/wi/nope');
  t.is(missing.status, 404);
  t.is(missing.json['code'], 'SIGIL_ERR_RESOURCE_NOT_FOUND');
  t.is((await call(cp, token, 'GET', '/v1/resources/secrets')).json['code'], 'SIGIL_ERR_API_UNKNOWN_KIND');

  const inUse = await call(cp, token, 'DELETE', '/v1/resources/wi/billing-exporter');
  t.is(inUse.status, 409);
  t.is(inUse.json['details'][0].field, 'metadata.name');
  t.is((await call(cp, token, 'DELETE', '/v1/resources/wc/billing-os')).json['revision'], 2);
  t.deepEqual((await call(cp, token, 'GET', '/v1/resources/wc')).json['items'], []);
});

test('an apply with one invalid document changes nothing and names the field', async (t) => {
  const { cp, token } = await setup(t);
  const res = await call(cp, token, 'POST', '/v1/apply', yamlOf(identityDoc(), sourceDoc(), credentialDoc('billing-os', { ttl: '10h' })));
  t.is(res.status, 400);
  t.is(res.json['code'], 'SIGIL_ERR_RESOURCE_INVALID');
  t.deepEqual(res.json['details'].map((d: { document: number; field: string }) => [d.document, d.field]), [[2, 'spec.ttl']]);
  for (const kind of ['wi', 'cs', 'wc']) t.deepEqual((await call(cp, token, 'GET', `/v1/resources/${kind}`)).json['items'], []);
});

test('JWT-SVIDs verify against the served JWKS found through discovery', async (t) => {
  const { cp } = await setup(t);
  const discovery = (await call(cp, undefined, 'GET', '/.well-known/openid-configuration')).json;
  t.is(discovery['issuer'], cp.url);
  t.deepEqual(discovery['id_token_signing_alg_values_supported'], ['ES256']);
  const jwks = createRemoteJWKSet(new URL(discovery['jwks_uri']));
  const { token } = await cp.issuer.mint('spiffe://example.org/billing/exporter', 'oci-iam');
  const { payload } = await jwtVerify(token, jwks, { issuer: discovery['issuer'], audience: 'oci-iam' });
  t.is(payload.sub, 'spiffe://example.org/billing/exporter');
  await t.throwsAsync(jwtVerify(token, jwks, { issuer: discovery['issuer'], audience: 'other' }));
  const bundle = (await call(cp, undefined, 'GET', '/.well-known/spiffe-bundle')).json;
  t.true(bundle['spiffe_sequence'] >= 1);
  t.deepEqual(bundle['keys'].map((k: { use: string }) => k.use), ['jwt-svid']);
});

test('two control planes on one NATS see one state and serve the same keys', async (t) => {
  const { nats, cp, token, stateDir } = await setup(t);
  const second = await start(t, nats, stateDir); // replicas share the state dir (keys, admin token)
  await call(cp, token, 'POST', '/v1/apply', yamlOf(sourceDoc('from-a')));
  await call(second.cp, token, 'POST', '/v1/apply', yamlOf(sourceDoc('from-b')));
  for (const node of [cp, second.cp]) {
    t.deepEqual((await call(node, token, 'GET', '/v1/resources/cs')).json['items'].map((r: { metadata: { name: string } }) => r.metadata.name), ['from-a', 'from-b']);
  }
  t.deepEqual((await call(cp, undefined, 'GET', '/.well-known/jwks.json')).json, (await call(second.cp, undefined, 'GET', '/.well-known/jwks.json')).json);
});

test('the client secret and the admin token appear in no API output and no log', async (t) => {
  const { cp, token, secretFile, logs } = await setup(t);
  await call(cp, token, 'POST', '/v1/apply', yamlOf(sourceDoc('oci-ashburn', { clientSecretFile: secretFile })));
  await call(cp, token, 'POST', '/v1/apply', yamlOf(sourceDoc('bad', { clientSecret: SECRET })));
  const outputs = JSON.stringify([
    await call(cp, token, 'GET', '/v1/resources/cs'),
    await call(cp, token, 'GET', '/v1/resources/cs/oci-ashburn'),
    await call(cp, token, 'POST', '/v1/apply', yamlOf(sourceDoc('bad', { clientSecret: SECRET }))),
  ]);
  t.true(outputs.includes(secretFile), 'the path is shown');
  t.false(outputs.includes(SECRET));
  t.true(logs().includes('"msg":"applied"'), 'the logs were captured');
  t.false(logs().includes(SECRET));
  t.false(logs().includes(token));
});
