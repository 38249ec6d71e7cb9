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

test('a hostname that never resolves is an error; a removed spec is deleted', async (t) => {
  const table = new FakeTable();
  const r = new DestinationResolver({ table, lookup: fakeDns({}).lookup, resolve: { 'a.example': ['10.9.9.9'] } });
  const err = await t.throwsAsync(r.setDestinations([{ hostname: 'missing.example', port: 443 }, { hostname: 'a.example', port: 443 }]));
  t.is((err as { code?: string }).code, 'SIGIL_ERR_STEERING_RESOLVE');
  t.deepEqual(table.keys(), ['10.9.9.9|443'], 'the resolvable one is still applied');
  await r.setDestinations([]);
  t.deepEqual(table.keys(), []);
});
