import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { KernelFixture, kernelTest as test, until } from '../../helpers/kernel.js';

/**
 * connect4/6 record a steered client socket in a preallocated slot table indexed by its cookie
 * (sigil_client_slots; sigil_clients, an LRU hash, when another socket holds the slot) instead of
 * allocating socket storage; sockops frees the record when the socket reaches TCP_CLOSE. These tests
 * read both maps through bpftool (not the addon) and check that they empty again however the
 * connection ends, so they cannot fill up with dead sockets.
 */

const SLOTS = 4096; // SIGIL_CLIENT_SLOTS

function dump(pin: string): Array<{ key: string[]; value: string[] }> {
  return JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', pin], { encoding: 'utf8', maxBuffer: 64 << 20 })) as
    Array<{ key: string[]; value: string[] }>;
}

/** Owner cookies of the slots in use (owner, the first 8 bytes, not 0). */
function slotOwners(pinDir: string): bigint[] {
  return dump(`${pinDir}/maps/sigil_client_slots`)
    .map(({ value }) => Buffer.from(value.slice(0, 8).map((x) => parseInt(x, 16))).readBigUInt64LE(0))
    .filter((owner) => owner !== 0n);
}

/** Records in sigil_clients plus slots in use. */
function clientRecords(pinDir: string): number {
  return dump(`${pinDir}/maps/sigil_clients`).length + slotOwners(pinDir).length;
}

const hex = (buf: Buffer): string => [...buf].map((b) => b.toString(16).padStart(2, '0')).join(' ');

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
  const { destHost, signer, realDest, steering } = await fx.steeringToListener();
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
  const { destHost, realDest, steering } = await fx.steeringToListener();
  const client = await fx.peer('dial');
  steering.setProcess(client.pid, { state: 'bound', bindingId: 1 });
  const [r] = await client.dial(destHost, realDest.port);
  t.true(r?.ok);
  t.is(clientRecords(fx.pinDir), 0);
});

test('when other sockets hold every slot, steered connects keep their records in sigil_clients, and leave the slots alone', async (t) => {
  const fx = await KernelFixture.create(t);
  const { destHost, signer, realDest, steering } = await fx.steeringToListener();
  steering.setDestination({ addr: destHost, port: realDest.port, destId: 7 });
  // Owners no socket has (cookies count up from 1): every slot taken, as by connects that failed before SYN.
  const fake = (i: number): bigint => 0xfeed000000000000n + BigInt(i);
  const dir = mkdtempSync(path.join(tmpdir(), 'sigil-test-bpfh-'));
  try {
    const lines: string[] = [];
    for (let i = 0; i < SLOTS; i++) {
      const key = Buffer.alloc(4);
      key.writeUInt32LE(i);
      const value = Buffer.alloc(64);
      value.writeBigUInt64LE(fake(i));
      lines.push(`map update pinned ${fx.pinDir}/maps/sigil_client_slots key hex ${hex(key)} value hex ${hex(value)}`);
    }
    writeFileSync(path.join(dir, 'batch'), `${lines.join('\n')}\n`);
    execFileSync('bpftool', ['batch', 'file', path.join(dir, 'batch')], { stdio: 'ignore' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  t.is(slotOwners(fx.pinDir).length, SLOTS);

  const client = await fx.peer('dial');
  steering.setProcess(client.pid, { state: 'bound', bindingId: 1 });
  const results = await client.dial(destHost, realDest.port, 20);
  t.true(results.every((r) => r.ok), JSON.stringify(results.find((r) => !r.ok)));
  for (const r of results) {
    t.like((await signer.acceptedFrom(r.localPort!)).record, { origAddr: destHost, origPort: realDest.port, tgid: client.pid });
    t.is(r.remotePort, realDest.port, 'getpeername found the record too');
  }
  t.deepEqual(realDest.accepted(), []);
  t.is(steering.counters()['steered'], 20);
  await until(() => (dump(`${fx.pinDir}/maps/sigil_clients`).length === 0 ? true : undefined));
  const owners = slotOwners(fx.pinDir);
  t.is(owners.length, SLOTS);
  t.true(owners.every((owner, i) => owner === fake(i)), 'no slot was taken from its owner or freed for it');
});
