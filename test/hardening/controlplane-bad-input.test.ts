/**
 * Bad input on the control plane's `POST /v1/apply` (real NATS, real HTTP): broken YAML, alias
 * bombs, schema violations, oversized bodies and wrong content types each get a 4xx that names the
 * field, and the store is left exactly as it was (same revision, same resources).
 */
import test from 'ava';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../controlplane/config/config.js';
import { createLogger } from '../../controlplane/log.js';
import { startControlPlane, type RunningControlPlane } from '../../controlplane/server.js';
import { startNatsServer, type NatsServer } from '../helpers/nats-server.js';
import { credentialDoc, identityDoc, sourceDoc, yamlOf } from '../controlplane/fixtures.js';
import { ROWS, aliasBomb } from './bad-input-corpus.js';

interface Reply {
  status: number;
  json: { code?: string; message?: string; details?: Array<{ field?: string; message?: string }>; revision?: number; items?: unknown[] };
}

let nats: NatsServer;
let cp: RunningControlPlane;
let token: string;
let stop: AbortController;
let stateDir: string;

async function call(method: string, path: string, body?: string | Buffer, contentType?: string): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(contentType ? { 'content-type': contentType } : {}) };
  const res = await fetch(`${cp.url}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: res.status, json: (await res.json()) as Reply['json'] };
}

/** Everything the store holds, per kind, with the revision: must not move on a refused apply. */
async function storeState(): Promise<string> {
  const kinds = await Promise.all(['wi', 'cs', 'wc'].map((k) => call('GET', `/v1/resources/${k}`)));
  return JSON.stringify(kinds.map((k) => k.json));
}

test.before(async () => {
  nats = await startNatsServer();
  stateDir = await mkdtemp(join(tmpdir(), 'sigil-test-hardening-cp-'));
  const config = await loadConfig(undefined, { natsUrl: nats.url, listen: '127.0.0.1:0', stateDir, logLevel: 'warn' });
  stop = new AbortController();
  cp = await startControlPlane(config, createLogger({ level: 'warn' }, new Writable({ write(_c, _e, done) { done(); } })), stop.signal);
  token = (await readFile(config.adminTokenFile, 'utf8')).trim();
  const baseline = await call('POST', '/v1/apply', yamlOf(identityDoc(), sourceDoc(), credentialDoc()), 'application/yaml');
  if (baseline.status !== 200) throw new Error(`baseline apply failed: ${JSON.stringify(baseline.json)}`);
});

test.after.always(async () => {
  stop?.abort();
  await cp?.done;
  await nats?.cleanup();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

test('bad YAML, schema violations, oversized bodies and foreign content types get a 4xx naming the field; the store does not move', async (t) => {
  const before = await storeState();
  t.regex(before, /"revision":1/);
  for (const row of ROWS) {
    const reply = await call('POST', '/v1/apply', row.body, row.contentType ?? 'application/yaml');
    t.is(reply.status, row.status, `${row.name}: ${JSON.stringify(reply.json).slice(0, 200)}`);
    t.is(reply.json.code, row.code, row.name);
    if (row.field) t.true(reply.json.details?.some((d) => d.field === row.field), `${row.name} names ${row.field}: ${JSON.stringify(reply.json.details?.slice(0, 3))}`);
    if (row.says) t.regex(reply.json.message ?? '', row.says, row.name);
  }
  t.is(await storeState(), before, 'same revision and resources after every refused apply');
  t.is(({} as Record<string, unknown>)['polluted'], undefined, 'Object.prototype untouched');
});

test('an alias bomb is not expanded: refused at once, the store does not move, and apply still works', async (t) => {
  const before = await storeState();
  const started = performance.now();
  const bomb = await call('POST', '/v1/apply', aliasBomb(), 'application/yaml');
  t.true(performance.now() - started < 2000, 'answered without expanding');
  t.true(bomb.status >= 400, `refused: ${bomb.status}`);
  t.is(await storeState(), before);
  const ok = await call('POST', '/v1/apply', yamlOf(identityDoc(), sourceDoc(), credentialDoc()), 'application/yaml');
  t.is(ok.status, 200);
  t.is(ok.json.revision, 1, 're-applying the same resources changes nothing');
});

// Aliases are refused outright (maxAliasCount 0), the bomb included: a 400 naming (yaml), not a 500.
test('YAML aliases get 400 naming (yaml), not 500', async (t) => {
  for (const body of [aliasBomb(), 'x: &x 1\ny: *x\n']) {
    const reply = await call('POST', '/v1/apply', body, 'application/yaml');
    t.is(reply.status, 400);
    t.true(reply.json.details?.some((d) => d.field === '(yaml)'));
  }
});
