/**
 * The destination filter (bpf/dest_filter.h): a connect whose filter bit is clear passes without a
 * sigil_dests lookup, so a listed destination whose bit is clear would escape steering (and a deny
 * destination its refusal). These tests run dials through the kernel and read the pinned filter map:
 * a deleted destination must not take a neighbour's bit with it, and an upgrade from a set that had no
 * filter must cover the shared destinations before the new programs see a connect.
 */
import { execFileSync } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { KernelFixture, kernelTest as test } from '../../helpers/kernel.js';

/** sigil_dest_filter_bit for an IPv4 destination, as the kernel computes it on a little-endian host. */
function filterBit(ip4: string, port: number): number {
  const b = ip4.split('.').map(Number);
  const addr3 = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
  const portWord = ((port >> 8) & 0xff) | ((port & 0xff) << 8); // network order, read as a host u16
  const h = (addr3 ^ 0xffff0000 ^ portWord) >>> 0; // addr[0] = addr[1] = 0, addr[2] = 00 00 ff ff
  return Math.imul(h, 0x9e3779b1) >>> 16;
}

/** The pinned filter's words that have any bit set, word -> bits (as bigint). */
function filterWords(pinDir: string): Map<number, bigint> {
  const dump = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'dump', 'pinned', `${pinDir}/maps/sigil_dest_filter`], { encoding: 'utf8' })) as
    Array<{ key: string[]; value: string[] }>;
  const words = new Map<number, bigint>();
  for (const { key, value } of dump) {
    const k = Buffer.from(key.map((x) => parseInt(x, 16))).readUInt32LE(0);
    const v = Buffer.from(value.map((x) => parseInt(x, 16))).readBigUInt64LE(0);
    if (v !== 0n) words.set(k, v);
  }
  return words;
}

const bitOf = (bit: number): [number, bigint] => [Math.floor(bit / 64), 1n << BigInt(bit % 64)];

test('the filter holds one bit per destination; deleting one keeps the bit of another in the same word', async (t) => {
  const fx = await KernelFixture.create(t);
  const { destHost, signer, realDest, steering } = await fx.steeringToListener();
  t.deepEqual(filterWords(fx.pinDir), new Map(), 'a fresh set lists nothing');

  const kept = filterBit(destHost, realDest.port);
  const sameWord = (port: number): boolean => port !== realDest.port && filterBit(destHost, port) !== kept &&
    Math.floor(filterBit(destHost, port) / 64) === Math.floor(kept / 64);
  let neighbourPort = 1;
  while (neighbourPort < 65536 && !sameWord(neighbourPort)) neighbourPort++;
  t.true(neighbourPort < 65536, 'some port shares the word (1 in ~1024 do)');
  const [word, keptMask] = bitOf(kept);
  const [, neighbourMask] = bitOf(filterBit(destHost, neighbourPort));

  steering.setDestination({ addr: destHost, port: realDest.port, destId: 1 });
  t.deepEqual(filterWords(fx.pinDir), new Map([[word, keptMask]]), 'the kernel map has exactly the bit computed here');
  steering.setDestination({ addr: destHost, port: neighbourPort, destId: 2 });
  t.deepEqual(filterWords(fx.pinDir), new Map([[word, keptMask | neighbourMask]]));

  const client = await fx.peer('dial');
  steering.setProcess(client.pid, { state: 'bound', bindingId: 1 });
  const [toNeighbour] = await client.dial(destHost, neighbourPort);
  t.true(toNeighbour?.ok, 'listed: steered to the signer although nothing listens on the real port');
  t.like((await signer.acceptedFrom(toNeighbour!.localPort!)).record, { origPort: neighbourPort });

  t.true(steering.deleteDestination({ addr: destHost, port: neighbourPort }));
  t.deepEqual(filterWords(fx.pinDir), new Map([[word, keptMask]]), 'only the deleted destination\'s bit went');
  const [gone] = await client.dial(destHost, neighbourPort);
  t.deepEqual(gone, { ok: false, code: 'ECONNREFUSED' }, 'no longer listed: passes to the real (closed) port');
  const [stillListed] = await client.dial(destHost, realDest.port);
  t.true(stillListed?.ok);
  t.like((await signer.acceptedFrom(stillListed!.localPort!)).record, { origPort: realDest.port });
  t.deepEqual(realDest.accepted(), [], 'the kept destination is still steered');
  t.false(steering.deleteDestination({ addr: destHost, port: neighbourPort }), 'a second delete finds nothing');
  t.deepEqual(filterWords(fx.pinDir), new Map([[word, keptMask]]));
});

test('an upgrade from a set without a filter covers the shared destinations before its programs run', async (t) => {
  const fx = await KernelFixture.create(t);
  const { signerHost, destHost, signerA, signerB, realDest } = await fx.twoSignerPorts();
  const a = await fx.attach({ signerIPv4: signerHost, signerPort: signerA.port });
  a.setDestination({ addr: destHost, port: realDest.port, destId: 7, deny: true });
  a.close();
  // What an agent from before the filter left behind: the same maps, no sigil_dest_filter pin.
  unlinkSync(`${fx.pinDir}/maps/sigil_dest_filter`);

  const b = await fx.attach({ signerIPv4: signerHost, signerPort: signerB.port });
  t.is(b.outcome, 'upgraded');
  t.deepEqual(b.listDestinations(), [{ addr: destHost, port: realDest.port, destId: 7, deny: true }], 'sigil_dests was shared');
  const [word, mask] = bitOf(filterBit(destHost, realDest.port));
  t.deepEqual(filterWords(fx.pinDir), new Map([[word, mask]]), 'the new, pinned filter covers it');

  const client = await fx.peer('dial');
  b.setProcess(client.pid, { state: 'unbound' });
  const [refused] = await client.dial(destHost, realDest.port);
  t.deepEqual(refused, { ok: false, code: 'EPERM' }, 'a deny destination still refuses an unbound process');
  b.setProcess(client.pid, { state: 'bound', bindingId: 1 });
  const [steered] = await client.dial(destHost, realDest.port);
  t.true(steered?.ok, JSON.stringify(steered));
  t.like((await signerB.acceptedFrom(steered!.localPort!)).record, { origPort: realDest.port });
  t.deepEqual(realDest.accepted(), []);
});
