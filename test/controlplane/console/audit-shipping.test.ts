/**
 * Audit shipping through real NATS (decentralised JWT auth, per-agent permissions) into the control
 * plane's JetStream stream: an agent's AuditShipper publishes on its own subject and the console's
 * audit export shows the events; an agent cannot publish as another (NATS refuses it, the stream never
 * holds it); a batch that names another agent, or carries a field the contract does not know (where a
 * token could hide), is not shown. The viewer token reads and never writes.
 */
import test from 'ava';
import http from 'node:http';
import { createLogger } from '../../../controlplane/log.js';
import { AuditShipper } from '../../../agent/daemon/audit-shipper.js';
import type { AuditEvent } from '../../../agent/signer/index.js';
import { subjects } from '../../../protocol/subjects.js';
import { eventually, startFleetWorld } from '../fleet/fleet-world.js';

const SHA = 'a'.repeat(64);
const event = (over: Partial<AuditEvent> = {}): AuditEvent => ({
  spiffeId: 'spiffe://example.org/billing', binding: 'billing-os', tgid: 42, exePath: '/usr/bin/node', exeSha256: SHA,
  host: 'objectstorage.us-ashburn-1.oraclecloud.com', method: 'GET', path: '/n/ns/b/bucket/o', status: 200, latencyMs: 3.5, requestId: 'req-1', ...over,
});

function post(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

test('agents ship audit events on their own subject only; the console shows them to a viewer session', async (t) => {
  const world = await startFleetWorld(t);
  const a = await world.addAgent();
  const b = await world.addAgent();
  await eventually(() => a.client.connection !== undefined && b.client.connection !== undefined, 5_000, 'agents connected');
  const counters = { passedUnbound: 10, denied: 0 };
  const shipper = new AuditShipper({ agentId: a.client.agentId, connection: () => a.client.connection, counters: () => counters, log: createLogger({ level: 'silent' }), flushIntervalMs: 50 });
  shipper.flush(); // the kernel's baseline
  shipper.record(event());
  shipper.record(event({ status: 403, binding: undefined, errorCode: 'SIGIL_ERR_SIGNER_NOT_ALLOWED', method: 'DELETE' }));
  counters.passedUnbound = 13;
  shipper.flush();

  // B speaks as A: NATS refuses the publish (permissions), so the stream never holds it.
  const bConn = b.client.connection!;
  const violations: string[] = [];
  void (async () => {
    for await (const s of bConn.status()) if (s.type === 'error' || (s as { error?: unknown }).error) violations.push(String((s as { error?: unknown }).error ?? s.type));
  })();
  bConn.publish(subjects.audit(a.client.agentId), JSON.stringify({ agentId: a.client.agentId, dropped: 0, events: [{ ...event(), kind: 'request', at: new Date().toISOString(), spiffeId: 'spiffe://example.org/forged-by-b' }] }));
  // B on its own subject, but naming A; and a batch with a field outside the contract.
  bConn.publish(subjects.audit(b.client.agentId), JSON.stringify({ agentId: a.client.agentId, dropped: 0, events: [] }));
  const { requestId: _drop, ...rest } = event();
  bConn.publish(subjects.audit(b.client.agentId), JSON.stringify({ agentId: b.client.agentId, dropped: 0, events: [{ ...rest, kind: 'request', at: new Date().toISOString(), spiffeId: 'spiffe://example.org/smuggler', authorization: 'Signature keyId="ST$secret"' }] }));
  await bConn.flush();
  await eventually(() => violations.some((v) => /permissions violation/i.test(v)), 5_000, 'NATS reported the permissions violation');

  // A viewer logs in to the console (same-origin form) and exports the audit trail.
  const made = await world.api<{ token: string }>('POST', '/v1/access-tokens', { role: 'viewer' });
  t.is(made.status, 201);
  const login = await post(`${world.cp.url}/ui/login`, { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, `token=${encodeURIComponent(made.body.token)}`);
  t.is(login.status, 303);
  const setCookie = String(login.headers['set-cookie']);
  t.regex(setCookie, /HttpOnly/);
  t.regex(setCookie, /SameSite=Strict/);
  t.regex(setCookie, /Path=\/ui/);
  const cookie = setCookie.split(';')[0]!;
  type Row = { kind: string; agentId: string; spiffeId?: string; status?: number; refusal?: string; passed?: number };
  let rows: Row[] = [];
  await eventually(async () => {
    const res = await fetch(`${world.cp.url}/ui/audit.json`, { headers: { cookie } });
    rows = (await res.json()) as Row[];
    return rows.length >= 3;
  }, 10_000, 'the events in the audit export');
  t.deepEqual(rows.map((r) => r.agentId), rows.map(() => a.client.agentId), 'every row is A\'s');
  t.truthy(rows.find((r) => r.kind === 'request' && r.status === 200 && r.spiffeId === 'spiffe://example.org/billing'));
  t.truthy(rows.find((r) => r.kind === 'request' && r.status === 403 && r.refusal === 'SIGIL_ERR_SIGNER_NOT_ALLOWED'));
  t.is(rows.find((r) => r.kind === 'unbound')?.passed, 3, 'the kernel\'s unbound count since the baseline');
  const text = JSON.stringify(rows);
  for (const bad of ['forged-by-b', 'smuggler', 'secret', 'req-1']) t.false(text.includes(bad), bad);
  const page = await (await fetch(`${world.cp.url}/ui/audit`, { headers: { cookie } })).text();
  t.regex(page, /malformed batch/, 'the page says batches were ignored');
  // Live refresh answers only the main part; the console has no write of its own (405), even same-origin.
  const partial = await (await fetch(`${world.cp.url}/ui/audit`, { headers: { cookie, 'x-sigil-partial': '1' } })).text();
  t.false(partial.includes('<html'));
  t.regex(partial, /<table id="audit">/);
  t.is((await post(`${world.cp.url}/ui/fleet`, { cookie, 'sec-fetch-site': 'same-origin' }, '')).status, 405);
  t.is((await post(`${world.cp.url}/ui/logout`, { cookie, 'sec-fetch-site': 'cross-site' }, '')).status, 403, 'a foreign page cannot sign us out');
  const out = await post(`${world.cp.url}/ui/logout`, { cookie, 'sec-fetch-site': 'same-origin' }, '');
  t.is(out.status, 303);
  t.is((await fetch(`${world.cp.url}/ui/audit.json`, { headers: { cookie } })).status, 401, 'the session ended');
  shipper.stop();
});
