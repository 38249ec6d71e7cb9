import test from 'ava';
import { DestinationResolver, type DestinationTable, type ResolvedAddress } from '../../../agent/steering/index.js';

class FakeTable implements DestinationTable {
  readonly rows = new Map<string, { destId: number; deny: boolean }>();
  setDestination(d: { addr: string; port: number; destId: number; deny?: boolean }): void {
    this.rows.set(`${d.addr}|${d.port}`, { destId: d.destId, deny: d.deny === true });
  }
  deleteDestination(d: { addr: string; port: number }): boolean {
    return this.rows.delete(`${d.addr}|${d.port}`);
  }
  keys(): string[] { return [...this.rows.keys()].sort(); }
}

function fakeDns(answers: Record<string, ResolvedAddress[]>) {
  let calls = 0;
  return { lookup: async (host: string) => { calls++; const a = answers[host]; if (!a) throw new Error('ENOTFOUND'); return a; }, calls: () => calls, answers };
}

test('overrides, IP literals and DNS answers all land in the table with stable ids', async (t) => {
  const table = new FakeTable();
  const dns = fakeDns({ 'objectstorage.example.com': [{ address: '10.0.0.1', ttl: 60 }, { address: 'fd00::1', ttl: 60 }] });
  const r = new DestinationResolver({ table, lookup: dns.lookup, resolve: { 'iam.example.com': ['127.77.9.9', '::ffff:127.77.9.10'] } });
  await r.setDestinations([
    { hostname: 'ObjectStorage.example.com', port: 443 },
    { hostname: 'iam.example.com', port: 443, deny: true },
    { hostname: '192.0.2.7', port: 8443 },
  ]);
  t.deepEqual(table.keys(), ['10.0.0.1|443', '127.77.9.10|443', '127.77.9.9|443', '192.0.2.7|8443', 'fd00::1|443']);
  const id = r.destIdFor('objectstorage.example.com')!;
  t.is(r.hostnameFor(id), 'objectstorage.example.com');
  t.deepEqual(table.rows.get('127.77.9.9|443'), { destId: r.destIdFor('iam.example.com')!, deny: true });
  t.deepEqual(r.addressesFor('IAM.example.com'), new Set(['127.77.9.9', '127.77.9.10']));
});

test('re-resolves after the TTL and keeps vanished addresses for the grace period', async (t) => {
  let now = 1_000_000;
  const table = new FakeTable();
  const dns = fakeDns({ 'api.example.com': [{ address: '10.0.0.1', ttl: 30 }] });
  const r = new DestinationResolver({ table, lookup: dns.lookup, now: () => now, graceMs: 60_000 });
  await r.setDestinations([{ hostname: 'api.example.com', port: 443 }]);
  dns.answers['api.example.com'] = [{ address: '10.0.0.2', ttl: 30 }];
  now += 10_000;
  await r.refresh();
  t.is(dns.calls(), 1, 'TTL not yet expired: no lookup');
  now += 25_000;
  await r.refresh();
  t.is(dns.calls(), 2);
  t.deepEqual(table.keys(), ['10.0.0.1|443', '10.0.0.2|443'], 'old address still steered during grace');
  now += 61_000;
  await r.refresh();
  t.deepEqual(table.keys(), ['10.0.0.2|443']);
  t.deepEqual(r.addressesFor('api.example.com'), new Set(['10.0.0.2']));
});

test('a hostname that never resolves degrades itself only, reported once per change; a removed spec is deleted', async (t) => {
  const table = new FakeTable();
  const reports: string[][] = [];
  const r = new DestinationResolver({
    table, lookup: fakeDns({}).lookup, resolve: { 'a.example': ['10.9.9.9'] },
    onUnresolved: (u) => reports.push(u.map((d) => `${d.hostname}: ${d.reason}`)),
  });
  t.deepEqual(await r.setDestinations([{ hostname: 'missing.example', port: 443 }, { hostname: 'a.example', port: 443 }]), ['missing.example']);
  t.deepEqual(table.keys(), ['10.9.9.9|443'], 'the resolvable one is applied');
  t.deepEqual(r.unresolved(), ['missing.example']);
  await r.refresh({ force: true });
  await r.refresh({ force: true });
  t.deepEqual(reports, [['missing.example: ENOTFOUND']], 'told once, not at every refresh');
  await r.setDestinations([]);
  t.deepEqual(table.keys(), []);
  t.deepEqual(reports.at(-1), [], 'told when nothing is unresolved any more');
});

test('prepare resolves without changing the map or the current set; a bad port is refused there', async (t) => {
  const table = new FakeTable();
  const r = new DestinationResolver({ table, lookup: fakeDns({ 'b.example': [{ address: '10.0.0.2', ttl: 60 }] }).lookup, resolve: { 'a.example': ['10.9.9.9'] } });
  await r.setDestinations([{ hostname: 'a.example', port: 443 }]);
  const prepared = await r.prepare([{ hostname: 'b.example', port: 443 }]);
  t.deepEqual(table.keys(), ['10.9.9.9|443'], 'nothing written before commit');
  t.deepEqual(r.addressesFor('b.example'), new Set());
  const err = await t.throwsAsync(r.prepare([{ hostname: 'b.example', port: 0 }]));
  t.is((err as { code?: string }).code, 'SIGIL_ERR_STEERING_BAD_DESTINATION');
  t.deepEqual(r.commit(prepared), []);
  t.deepEqual(table.keys(), ['10.0.0.2|443']);
});

/** Drives the resolver the way its 1 s timer does, on a clock the test owns; records every removal. */
async function runFor(r: DestinationResolver, clock: { now: number }, ms: number, stepMs = 1_000): Promise<void> {
  for (const end = clock.now + ms; clock.now < end;) {
    clock.now += stepMs;
    await r.refresh().catch(() => undefined); // the agent's timer logs refresh errors and goes on
  }
}

class RecordingTable extends FakeTable {
  readonly deleted: string[] = [];
  override deleteDestination(d: { addr: string; port: number }): boolean {
    this.deleted.push(`${d.addr}|${d.port}`);
    return super.deleteDestination(d);
  }
}

test('a destination in the policy stays in the map for hours: override (TTL ∞), long DNS TTL, DNS down after one answer', async (t) => {
  const clock = { now: 5_000_000 };
  const table = new RecordingTable();
  let dnsUp = true;
  const answers: Record<string, ResolvedAddress[]> = {
    'long.example.com': [{ address: '10.1.0.1', ttl: 86_400 }],
    'flaky.example.com': [{ address: '10.2.0.1', ttl: 30 }],
  };
  let lookups = 0;
  const lookup = async (host: string): Promise<ResolvedAddress[]> => {
    lookups++;
    if (!dnsUp && host === 'flaky.example.com') throw new Error('ETIMEOUT');
    return answers[host] ?? [];
  };
  const r = new DestinationResolver({ table, lookup, now: () => clock.now, graceMs: 300_000, resolve: { 'pinned.example.com': ['127.77.3.3'] } });
  await r.setDestinations([
    { hostname: 'pinned.example.com', port: 443 }, { hostname: 'long.example.com', port: 443 }, { hostname: 'flaky.example.com', port: 443 },
  ]);
  const all = ['10.1.0.1|443', '10.2.0.1|443', '127.77.3.3|443'];
  t.deepEqual(table.keys(), all);
  await runFor(r, clock, 30 * 60_000); // half an hour with DNS up
  dnsUp = false;
  const before = lookups;
  await runFor(r, clock, 6 * 3600_000, 5_000); // six hours with the flaky host's DNS failing
  t.deepEqual(table.keys(), all);
  t.deepEqual(table.deleted, [], 'nothing left the map while in the policy');
  t.true(lookups > before, 'kept retrying');
  t.deepEqual(r.addressesFor('flaky.example.com'), new Set(['10.2.0.1']));
});

test('a day-long TTL is re-resolved within half the grace, so a changed answer is seen', async (t) => {
  const clock = { now: 1_000 };
  const table = new RecordingTable();
  const answers: Record<string, ResolvedAddress[]> = { 'long.example.com': [{ address: '10.1.0.1', ttl: 86_400 }] };
  let calls = 0;
  const r = new DestinationResolver({ table, lookup: async (h) => { calls++; return answers[h] ?? []; }, now: () => clock.now, graceMs: 120_000 });
  await r.setDestinations([{ hostname: 'long.example.com', port: 443 }]);
  await runFor(r, clock, 59_000);
  t.is(calls, 1, 'not before half the grace');
  await runFor(r, clock, 2_000);
  t.is(calls, 2, 're-resolved at half the grace despite the 24 h TTL');
  // A newer answer moves the host: the old address stays for the grace, then goes.
  answers['long.example.com'] = [{ address: '10.1.0.2', ttl: 86_400 }];
  await runFor(r, clock, 61_000);
  t.deepEqual(table.keys(), ['10.1.0.1|443', '10.1.0.2|443']);
  await runFor(r, clock, 125_000);
  t.deepEqual(table.keys(), ['10.1.0.2|443']);
  t.deepEqual(table.deleted, ['10.1.0.1|443']);
});

test('a policy change removes a dropped hostname at once, even when its DNS is down', async (t) => {
  const clock = { now: 1_000 };
  const table = new RecordingTable();
  let up = true;
  const r = new DestinationResolver({
    table, now: () => clock.now,
    lookup: async (h) => { if (!up) throw new Error('ESERVFAIL'); return [{ address: h.startsWith('a.') ? '10.0.0.1' : '10.0.0.2', ttl: 60 }]; },
  });
  await r.setDestinations([{ hostname: 'a.example', port: 443 }, { hostname: 'b.example', port: 443 }]);
  up = false;
  await r.setDestinations([{ hostname: 'b.example', port: 443 }]).catch(() => undefined);
  t.deepEqual(table.keys(), ['10.0.0.2|443'], 'b keeps its last good address; a is gone');
});
