import test from 'ava';
import type { BindingSpec } from '../../../protocol/bindings.js';
import { pino } from 'pino';
import type { AgentBundle } from '../../../protocol/bundle.js';
import { PolicyApplier, destinationSpecs } from '../../../agent/daemon/policy-applier.js';
import { DestinationResolver } from '../../../agent/steering/index.js';
import { Matcher } from '../../../agent/attest/matcher.js';

const binding = (id: string, destinations: string[], unboundAccess?: 'allow' | 'deny'): BindingSpec => ({
  id, spiffeId: `spiffe://example.org/${id}`, workload: id, selectors: ['unix:uid:1001'], destinations, ttlSeconds: 900, source: 'oci',
  ...(unboundAccess ? { unboundAccess } : {}),
});

test('a hostname is locked (deny) when any binding reaching it says unboundAccess: deny', (t) => {
  const specs = destinationSpecs([
    binding('a', ['objectstorage.us-ashburn-1.oraclecloud.com'], 'deny'),
    binding('b', ['objectstorage.us-ashburn-1.oraclecloud.com', 'iaas.us-ashburn-1.oraclecloud.com'], 'allow'),
    binding('c', ['Telemetry.us-ashburn-1.oraclecloud.com']),
  ]);
  t.deepEqual(specs, [
    { hostname: 'iaas.us-ashburn-1.oraclecloud.com', port: 443 },
    { hostname: 'objectstorage.us-ashburn-1.oraclecloud.com', port: 443, deny: true },
    { hostname: 'telemetry.us-ashburn-1.oraclecloud.com', port: 443 },
  ]);
});

test('without unboundAccess nothing is locked (behaviour as before)', (t) => {
  t.true(destinationSpecs([binding('a', ['objectstorage.us-ashburn-1.oraclecloud.com'])]).every((s) => s.deny === undefined));
});

/** A destination map in memory, and the parts the applier drives, recording what each was told. */
class MemoryTable {
  readonly rows = new Map<string, number>();
  setDestination(d: { addr: string; port: number; destId: number }): void { this.rows.set(`${d.addr}|${d.port}`, d.destId); }
  deleteDestination(d: { addr: string; port: number }): boolean { return this.rows.delete(`${d.addr}|${d.port}`); }
}

function world() {
  const table = new MemoryTable();
  const destinations = new DestinationResolver({
    table,
    resolve: { 'objectstorage.us-ashburn-1.oraclecloud.com': ['10.1.0.1'], 'iaas.us-ashburn-1.oraclecloud.com': ['10.1.0.2'] },
  });
  let matcher: Matcher | undefined;
  const attestor = { prepareBindings: (specs: readonly BindingSpec[]) => Matcher.compile(specs), commitBindings: async (m: Matcher) => { matcher = m; } };
  const credentialCalls: string[][] = [];
  const credentials = { setBindings: (b: readonly BindingSpec[]) => { credentialCalls.push(b.map((x) => x.id)); } };
  const applier = new PolicyApplier({ attestor, destinations, credentials, log: pino({ level: 'silent' }) });
  return { table, destinations, applier, credentialCalls, matcher: () => matcher };
}

const bundleOf = (revision: number, bindings: BindingSpec[]): AgentBundle => ({ agentId: 'agt-1', revision, issuedAt: new Date(0).toISOString(), bindings });

test('a bundle with one bad selector changes nothing: destinations, attestation, credentials and revision stay', async (t) => {
  const w = world();
  await w.applier.apply(bundleOf(1, [binding('a', ['objectstorage.us-ashburn-1.oraclecloud.com'])]));
  const before = { rows: [...w.table.rows], matcher: w.matcher(), calls: w.credentialCalls.length };
  // A selector the grammar refuses, as if it had slipped past the decoder: the applier is the last line.
  const bad = { ...binding('b', ['iaas.us-ashburn-1.oraclecloud.com']), selectors: ['unix:uid:4294967295'] };
  const err = await t.throwsAsync(w.applier.apply(bundleOf(2, [binding('a', ['objectstorage.us-ashburn-1.oraclecloud.com']), bad])));
  t.is((err as { code?: string }).code, 'SIGIL_ERR_ATTEST_SELECTOR');
  t.deepEqual([...w.table.rows], before.rows, 'no new destination was steered');
  t.deepEqual(w.destinations.addressesFor('iaas.us-ashburn-1.oraclecloud.com'), new Set());
  t.is(w.matcher(), before.matcher, 'the old matchers still decide');
  t.is(w.credentialCalls.length, before.calls, 'credentials were not told');
  t.is(w.applier.revision, 1);
});

test('a good bundle commits all parts; an unresolvable destination degrades only itself', async (t) => {
  const w = world();
  await w.applier.apply(bundleOf(3, [
    binding('a', ['objectstorage.us-ashburn-1.oraclecloud.com']),
    binding('b', ['nowhere.us-ashburn-1.oraclecloud.com']),
  ]));
  t.deepEqual([...w.table.rows.keys()], ['10.1.0.1|443']);
  t.deepEqual(w.destinations.unresolved(), ['nowhere.us-ashburn-1.oraclecloud.com']);
  t.deepEqual(w.credentialCalls, [['a', 'b']]);
  t.truthy(w.matcher());
  t.is(w.applier.revision, 3);
});
