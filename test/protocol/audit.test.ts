import test from 'ava';
import { decodeAuditBatch, MAX_AUDIT_BATCH_EVENTS } from '../../protocol/audit.js';

const request = { kind: 'request', at: '2026-12-01T10:00:00.000Z', spiffeId: 'spiffe://example.org/a', binding: 'b', tgid: 7, exePath: '/usr/bin/node',
  exeSha256: 'f'.repeat(64), host: 'objectstorage.us-ashburn-1.oraclecloud.com', method: 'PUT', path: '/n/x/b/y/o/z', status: 200, latencyMs: 12.5 };
const batch = (events: unknown[], extra: Record<string, unknown> = {}) => JSON.stringify({ agentId: 'agent-abc', dropped: 0, events, ...extra });

test('a well-formed batch decodes to exactly the contract\'s fields', (t) => {
  const r = decodeAuditBatch(batch([request, { ...request, status: 403, refusal: 'SIGIL_ERR_SIGNER_NOT_ALLOWED', binding: undefined }, { kind: 'unbound', at: request.at, passed: 2, denied: 1 }]));
  t.true(r.ok);
  if (!r.ok) return;
  t.is(r.value.events.length, 3);
  t.deepEqual(r.value.events[0], request);
  t.deepEqual(r.value.events[2], { kind: 'unbound', at: request.at, passed: 2, denied: 1 });
});

test('a field outside the contract (where a token or signature could ride) refuses the batch, naming it', (t) => {
  for (const [field, value] of [['authorization', 'Signature keyId="ST$x"'], ['token', 'eyJ...'], ['signature', 'abc'], ['keyId', 'ST$x'], ['headers', {}]] as const) {
    const r = decodeAuditBatch(batch([{ ...request, [field]: value }]));
    t.false(r.ok, field);
    if (!r.ok) t.is(r.reason, `events[0].${field}: unknown field`);
  }
  const top = decodeAuditBatch(batch([], { token: 'x' }));
  t.false(top.ok);
});

test('malformed fields are refused with their name', (t) => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ exeSha256: 'nothex' }, 'events[0].exeSha256: must be 64 hex digits'],
    [{ method: 'get it' }, 'events[0].method: must be an HTTP method'],
    [{ status: 1000 }, 'events[0].status: must be an HTTP status'],
    [{ at: 'yesterday' }, 'events[0].at: must be a date'],
    [{ refusal: 'because' }, 'events[0].refusal: must be a SIGIL_ERR_ code'],
    [{ kind: 'other' }, 'events[0].kind: must be request or unbound'],
  ];
  for (const [over, reason] of cases) t.deepEqual(decodeAuditBatch(batch([{ ...request, ...over }])), { ok: false, reason });
  t.deepEqual(decodeAuditBatch('{'), { ok: false, reason: 'not JSON' });
  t.deepEqual(decodeAuditBatch(JSON.stringify({ agentId: 'A B', dropped: 0, events: [] })), { ok: false, reason: 'agentId: missing or malformed' });
  t.false(decodeAuditBatch(batch(Array.from({ length: MAX_AUDIT_BATCH_EVENTS + 1 }, () => request))).ok);
});
