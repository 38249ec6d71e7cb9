import { execFileSync } from 'node:child_process';
import net from 'node:net';
import { KernelFixture, kernelTest as test, until } from '../../helpers/kernel.js';

/**
 * connect4/6 record a steered client socket in a preallocated map keyed by its cookie (sigil_clients)
 * instead of allocating socket storage; sockops deletes the record when the socket reaches TCP_CLOSE.
 * These tests read that map through bpftool (not the addon) and check that it empties again however
 * the connection ends, so it cannot fill up with dead sockets.
 */

function clientRecords(pinDir: string): number {
  const out = execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', `${pinDir}/maps/sigil_clients`], { encoding: 'utf8' });
  return (JSON.parse(out) as unknown[]).length;
}

/** A local port nothing listens on: bound, then closed again. */
async function deadPort(host: string): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0, exclusive: true }, resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

test('records of steered connections go when the connections close', async (t) => {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const destHost = fx.loopback();
  const signer = await fx.listener(signerHost, fx.pinDir);
  const realDest = await fx.listener(destHost);
  const steering = await fx.attach({ signerIPv4: signerHost, signerPort: signer.port });
  steering.setDestination({ addr: destHost, port: realDest.port, destId: 7 });
  const client = await fx.peer('dial');
  steering.setProcess(client.pid, { state: 'bound', bindingId: 1 });
  const results = await client.dial(destHost, realDest.port, 50);
  t.true(results.every((r) => r.ok), JSON.stringify(results.find((r) => !r.ok)));
  for (const r of results) t.like((await signer.acceptedFrom(r.localPort!)).record, { origAddr: destHost, tgid: client.pid });
  t.is(steering.counters()['steered'], 50);
  await until(() => (clientRecords(fx.pinDir) === 0 ? true : undefined));
  t.pass('sigil_clients is empty again');
});

test('records of steered connects that fail (nothing listens on the signer port) go too', async (t) => {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const destHost = fx.loopback();
  const steering = await fx.attach({ signerIPv4: signerHost, signerPort: await deadPort(signerHost) });
  steering.setDestination({ addr: destHost, port: 443, destId: 7 });
  const client = await fx.peer('dial');
  steering.setProcess(client.pid, { state: 'bound', bindingId: 1 });
  const results = await client.dial(destHost, 443, 20);
  t.deepEqual([...new Set(results.map((r) => r.code))], ['ECONNREFUSED'], 'steered to a port nobody listens on');
  t.is(steering.counters()['steered'], 20);
  await until(() => (clientRecords(fx.pinDir) === 0 ? true : undefined));
  t.pass('sigil_clients is empty again');
});

test('an unsteered connect leaves no record', async (t) => {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const destHost = fx.loopback();
  const signer = await fx.listener(signerHost, fx.pinDir);
  const realDest = await fx.listener(destHost);
  const steering = await fx.attach({ signerIPv4: signerHost, signerPort: signer.port });
  const client = await fx.peer('dial');
  steering.setProcess(client.pid, { state: 'bound', bindingId: 1 });
  const [r] = await client.dial(destHost, realDest.port);
  t.true(r?.ok);
  t.is(clientRecords(fx.pinDir), 0);
});
