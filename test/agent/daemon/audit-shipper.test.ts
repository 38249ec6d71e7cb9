import test from 'ava';
import pino from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { AuditShipper } from '../../../agent/daemon/audit-shipper.js';
import type { AuditEvent } from '../../../agent/signer/index.js';
import { decodeAuditBatch, type AuditBatch } from '../../../protocol/audit.js';

const event = (i: number): AuditEvent => ({ spiffeId: 'spiffe://x/y', binding: 'b', tgid: i, exePath: '/bin/x', exeSha256: '0'.repeat(64), host: 'h.example', method: 'GET', path: '/p', status: 200, latencyMs: 1, requestId: `r${i}` });

function fakeNats(): { nc: NatsConnection; published: Array<{ subject: string; batch: AuditBatch }>; fail: { on: boolean } } {
  const published: Array<{ subject: string; batch: AuditBatch }> = [];
  const fail = { on: false };
  const nc = {
    isClosed: () => false,
    publish: (subject: string, data: string) => {
      if (fail.on) throw new Error('connection draining');
      const decoded = decodeAuditBatch(data);
      if (!decoded.ok) throw new Error(`the shipper sent a batch the contract refuses: ${decoded.reason}`);
      published.push({ subject, batch: decoded.value });
    },
  } as unknown as NatsConnection;
  return { nc, published, fail };
}

test('events wait without NATS, go out in contract-valid batches on the agent\'s own subject, and a full buffer drops the oldest and says so', (t) => {
  const { nc, published } = fakeNats();
  let connected: NatsConnection | undefined;
  const shipper = new AuditShipper({ agentId: 'agent-abc', connection: () => connected, log: pino({ level: 'silent' }), maxBuffered: 300 });
  for (let i = 0; i < 310; i++) shipper.record(event(i));
  shipper.flush();
  t.is(published.length, 0, 'nothing without a connection');
  connected = nc;
  shipper.flush();
  t.deepEqual(published.map((p) => p.subject), ['sigil.cp.agent-abc.audit', 'sigil.cp.agent-abc.audit']);
  t.deepEqual(published.map((p) => p.batch.events.length), [256, 44]);
  t.is(published[0]!.batch.dropped, 10);
  t.is(published[1]!.batch.dropped, 0);
  const first = published[0]!.batch.events[0]!;
  t.is(first.kind === 'request' ? first.tgid : -1, 10, 'the oldest ten were dropped');
  t.false(JSON.stringify(published).includes('"r1'), 'no field outside the contract (requestId) is shipped');
});

test('a failed publish keeps the events for the next flush; the kernel\'s unbound counts go as deltas after a baseline', (t) => {
  const { nc, published, fail } = fakeNats();
  const counters = { passedUnbound: 5, denied: 1 };
  const shipper = new AuditShipper({ agentId: 'agent-abc', connection: () => nc, counters: () => counters, log: pino({ level: 'silent' }) });
  shipper.flush();
  t.is(published.length, 0, 'the first reading is only a baseline');
  shipper.record(event(1));
  fail.on = true;
  t.notThrows(() => shipper.flush());
  fail.on = false;
  counters.passedUnbound = 8;
  shipper.flush();
  const events = published.flatMap((p) => p.batch.events);
  t.is(events.filter((e) => e.kind === 'request').length, 1);
  t.deepEqual(events.filter((e) => e.kind === 'unbound').map((e) => (e.kind === 'unbound' ? [e.passed, e.denied] : [])), [[3, 0]]);
});
