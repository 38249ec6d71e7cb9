import type { ExecutionContext } from 'ava';
import { KernelFixture, kernelTest as test, type PeerProcess } from '../../helpers/kernel.js';
import type { KernelSteering } from '../../../agent/steering/index.js';

interface World { fx: KernelFixture; steering: KernelSteering; signer: PeerProcess; signerHost: string; realDest: PeerProcess; destHost: string; client: PeerProcess }

/**
 * A cgroup with: a signer-side listener (records via the pinned maps), a plain listener standing in
 * for the real destination (so an unsteered dial visibly lands there), Sigil attached, the
 * destination listed, and a dialler. All processes run inside the test cgroup.
 */
async function world(t: ExecutionContext, { v6 = false, deny = false } = {}): Promise<World> {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const destHost = v6 ? '::1' : fx.loopback();
  const signer = await fx.listener(signerHost, fx.pinDir, v6 ? ['::1'] : []);
  const realDest = await fx.listener(destHost);
  const steering = await fx.attach({ signerIPv4: signerHost, signerPort: signer.port, signerIPv6: '::1' });
  steering.setDestination({ addr: destHost, port: realDest.port, destId: 7, deny });
  const client = await fx.peer('dial');
  return { fx, steering, signer, signerHost, realDest, destHost, client };
}

test('a bound process dialling a listed IPv4 destination lands on the signer with a full record', async (t) => {
  const w = await world(t);
  const before = w.steering.getProcess(w.client.pid);
  t.is(before?.state, 'pending', 'exec marked the fresh process pending');
  w.steering.setProcess(w.client.pid, { state: 'bound', bindingId: 9, startTime: before!.startTime });
  const [r] = await w.client.dial(w.destHost, w.realDest.port);
  t.true(r?.ok, JSON.stringify(r));
  const got = await w.signer.acceptedFrom(r!.localPort!);
  t.like(got.record, { origAddr: w.destHost, origPort: w.realDest.port, family: 'ipv4', tgid: w.client.pid, uid: 0, startTime: before!.startTime.toString() });
  t.not(got.record?.cookie, '0');
  t.is(r?.remoteAddress, w.destHost, 'getpeername shows the dialled address');
  t.is(r?.remotePort, w.realDest.port);
  t.deepEqual(w.realDest.accepted(), [], 'the real destination saw nothing');
  const c = w.steering.counters();
  t.is(c['steered'], 1);
  t.is(c['handoffClaimed'], 1);
  t.true(c['peernameRewritten']! >= 1);
});

test('a v4-mapped dial from an IPv6 socket is steered and keeps its family', async (t) => {
  const w = await world(t);
  const [r] = await w.client.dial(`::ffff:${w.destHost}`, w.realDest.port);
  t.true(r?.ok, JSON.stringify(r));
  const got = await w.signer.acceptedFrom(r!.localPort!);
  t.like(got.record, { origAddr: w.destHost, origPort: w.realDest.port, family: 'ipv4', tgid: w.client.pid });
  t.is(r?.remoteAddress, `::ffff:${w.destHost}`);
  t.deepEqual(w.realDest.accepted(), []);
});

test('a native IPv6 dial to [::1] is steered to the signer\'s IPv6 address', async (t) => {
  const w = await world(t, { v6: true });
  const [r] = await w.client.dial('::1', w.realDest.port);
  t.true(r?.ok, JSON.stringify(r));
  const got = await w.signer.acceptedFrom(r!.localPort!);
  t.like(got.record, { origAddr: '::1', origPort: w.realDest.port, family: 'ipv6', tgid: w.client.pid });
  t.is(got.localPort, w.signer.port);
  t.is(r?.remoteAddress, '::1');
  t.deepEqual(w.realDest.accepted(), []);
});

test('unbound and exempt processes go straight to the destination', async (t) => {
  const w = await world(t);
  w.steering.setProcess(w.client.pid, { state: 'unbound' });
  const [a] = await w.client.dial(w.destHost, w.realDest.port);
  t.true(a?.ok);
  t.is((await w.realDest.acceptedFrom(a!.localPort!)).record, null);
  w.steering.setProcess(w.client.pid, { state: 'exempt' });
  const [b] = await w.client.dial(w.destHost, w.realDest.port);
  t.true(b?.ok);
  await w.realDest.acceptedFrom(b!.localPort!);
  t.deepEqual(w.signer.accepted(), []);
  t.like(w.steering.counters(), { passedUnbound: 1, passedExempt: 1, steered: 0 });
});

test('deny refuses unbound processes with EPERM but still steers bound ones', async (t) => {
  const w = await world(t, { deny: true });
  w.steering.setProcess(w.client.pid, { state: 'unbound' });
  const [refused] = await w.client.dial(w.destHost, w.realDest.port);
  t.deepEqual(refused, { ok: false, code: 'EPERM' });
  w.steering.setProcess(w.client.pid, { state: 'bound', bindingId: 1 });
  const [steered] = await w.client.dial(w.destHost, w.realDest.port);
  t.true(steered?.ok);
  t.truthy((await w.signer.acceptedFrom(steered!.localPort!)).record);
  t.deepEqual(w.realDest.accepted(), []);
  t.is(w.steering.counters()['denied'], 1);
});

test('a process without an entry is pending until the scan completes, then unbound', async (t) => {
  const w = await world(t);
  t.true(w.steering.deleteProcess(w.client.pid));
  const [before] = await w.client.dial(w.destHost, w.realDest.port);
  const got = await w.signer.acceptedFrom(before!.localPort!);
  t.like(got.record, { tgid: w.client.pid, startTime: '0' });
  w.steering.setScanComplete(true);
  const [after] = await w.client.dial(w.destHost, w.realDest.port);
  await w.realDest.acceptedFrom(after!.localPort!);
  t.is(w.signer.accepted().length, 1);
});

test('a destination not in the map, and a direct dial of the signer, carry no record', async (t) => {
  const w = await world(t);
  const [otherPort] = await w.client.dial(w.destHost, 1);
  t.deepEqual(otherPort, { ok: false, code: 'ECONNREFUSED' }, 'another port on a listed address is not listed: not steered');
  const otherHost = w.fx.loopback();
  const other = await w.fx.listener(otherHost);
  const [b] = await w.client.dial(otherHost, other.port);
  t.true(b?.ok);
  await other.acceptedFrom(b!.localPort!);
  const [c] = await w.client.dial(w.signerHost, w.signer.port);
  t.true(c?.ok);
  t.is((await w.signer.acceptedFrom(c!.localPort!)).record, null);
  // Both accepts (the other listener's and the signer's direct one) found no parked record.
  t.like(w.steering.counters(), { steered: 0, handoffMiss: 2, passedNotListed: 3 });
});

test('200 concurrent connections from four processes each carry their own tgid and destination', async (t) => {
  const w = await world(t);
  const secondHost = w.fx.loopback();
  const second = await w.fx.listener(secondHost);
  w.steering.setDestination({ addr: secondHost, port: second.port, destId: 8 });
  const clients = [w.client, ...(await Promise.all([1, 2, 3].map(() => w.fx.peer('dial'))))];
  const runs = await Promise.all(clients.map(async (client, i) => {
    const [host, port] = i % 2 === 0 ? [w.destHost, w.realDest.port] : [secondHost, second.port];
    return { client, host, port, results: await client.dial(host, port, 50) };
  }));
  await w.signer.waitFor((m) => Boolean(m['accepted']), 200, 30_000);
  const byPeerPort = new Map(w.signer.accepted().map((a) => [a.peerPort, a.record]));
  let checked = 0;
  for (const run of runs) {
    for (const r of run.results) {
      t.true(r.ok, JSON.stringify(r));
      const rec = byPeerPort.get(r.localPort!);
      t.is(rec?.tgid, run.client.pid);
      t.is(rec?.origAddr, run.host);
      t.is(rec?.origPort, run.port);
      checked++;
    }
  }
  t.is(checked, 200);
  t.deepEqual([...w.realDest.accepted(), ...second.accepted()], []);
  t.is(w.steering.counters()['steered'], 200);
});
