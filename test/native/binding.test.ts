import { existsSync } from 'node:fs';
import { gatedTest } from '../helpers/ci.js';
import { KernelFixture, kernelTest as test, bpfUnavailableReason, SIGIL_CGROUP_PROGRAMS, cgroupView, expectedLinkCount, programExists } from '../helpers/kernel.js';
import { KernelSteering, loadNative, queryCgroup } from '../../agent/steering/index.js';

// Argument checks need the addon but no kernel privileges: skipped without it locally, failing in CI.
const addonTest = gatedTest(bpfUnavailableReason?.startsWith('native addon') ? bpfUnavailableReason : undefined, 'native addon');

addonTest('bad arguments throw a TypeError with a usage string', (t) => {
  const native = loadNative();
  const s = new native.Steering();
  const bad: [string, () => unknown][] = [
    ['load', () => s.load({} as never)],
    ['load port 0', () => s.load({ signerIPv4: '127.0.0.1', signerPort: 0 })],
    ['load v6 as v4', () => s.load({ signerIPv4: '::1', signerPort: 1 })],
    ['setDestination addr', () => s.setDestination({ addr: 'not-an-ip', port: 1, destId: 1 })],
    ['setDestination port', () => s.setDestination({ addr: '127.0.0.1', port: 70000, destId: 1 })],
    ['setProcess state', () => s.setProcess(1, { state: 'happy' as never })],
    ['setProcess tgid', () => s.setProcess(-1, { state: 'bound' })],
    ['setProcess startTime', () => s.setProcess(1, { state: 'bound', startTime: 5 as never })],
    ['connectionFor', () => s.connectionFor('3' as never)],
    ['attach', () => s.attach('/sys/fs/cgroup', 'relative/pins')],
    ['query', () => (native.query as (x: unknown) => unknown)(42)],
    ['listTcpSockets family', () => native.listTcpSockets({ family: 'ipx' as never, states: 2 })],
    ['listTcpSockets states', () => native.listTcpSockets({ family: 'ipv4', states: 'all' as never })],
    ['destroyTcpSocket addr', () => native.destroyTcpSocket({ family: 'ipv4', src: '::1', sport: 1, dst: '127.0.0.1', dport: 2, cookie: 1n })],
    ['destroyTcpSocket cookie', () => native.destroyTcpSocket({ family: 'ipv4', src: '127.0.0.1', sport: 1, dst: '127.0.0.1', dport: 2, cookie: 1 as never })],
    ['destroyTcpSocket port', () => native.destroyTcpSocket({ family: 'ipv6', src: '::1', sport: 70000, dst: '::1', dport: 2, cookie: 1n })],
  ];
  for (const [what, fn] of bad) {
    const err = t.throws(fn, { instanceOf: TypeError }, what);
    t.regex(err?.message ?? '', /^usage: /, what);
  }
  s.close();
});

addonTest('failed syscalls carry errno, code and syscall', (t) => {
  const err = t.throws(() => queryCgroup('/nonexistent-sigil-cgroup')) as NodeJS.ErrnoException;
  t.like(err, { code: 'ENOENT', errno: -2, syscall: 'open' });
  const openErr = t.throws(() => KernelSteering.openPinned('/sys/fs/bpf/sigil-test-does-not-exist')) as NodeJS.ErrnoException;
  t.like(openErr, { code: 'ENOENT', syscall: 'bpf_obj_get' });
});

test('attaching twice adopts the pinned set: the kernel reports one program per hook', async (t) => {
  const fx = await KernelFixture.create(t);
  const config = { signerIPv4: fx.loopback(), signerPort: 9 };
  const first = await fx.attach(config);
  const ids = first.query().map((p) => p.id);
  t.deepEqual(cgroupView(first.query()), SIGIL_CGROUP_PROGRAMS);
  t.false(first.adopted);
  const second = await fx.attach(config);
  t.is(second.outcome, 'adopted');
  t.deepEqual(queryCgroup(fx.cgroupPath).map((p) => p.id), ids, 'same programs, no second set');
  second.setDestination({ addr: '10.1.2.3', port: 443, destId: 5 });
  t.deepEqual(first.listDestinations(), [{ addr: '10.1.2.3', port: 443, destId: 5, deny: false }], 'the adopter writes the live maps');
  for (const p of first.query()) t.regex(p.tag, /^[0-9a-f]{16}$/);
});

test('detach leaves no link, pin or program behind', async (t) => {
  const fx = await KernelFixture.create(t);
  const s = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  s.enableStats();
  const ids = s.programStats().map((p) => p.id);
  t.is(ids.length, expectedLinkCount(s.protectionChoice.mode), 'cgroup, process-tracking and identity-protection programs');
  t.true(existsSync(`${fx.pinDir}/links`));
  s.detach();
  s.close();
  t.deepEqual(queryCgroup(fx.cgroupPath), []);
  t.false(existsSync(fx.pinDir));
  // Programs are freed after an RCU grace period.
  let alive = ids;
  for (let i = 0; i < 100 && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(programExists);
  }
  t.deepEqual(alive, []);
});

test('program stats count runs once enabled', async (t) => {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const signer = await fx.listener(signerHost, fx.pinDir);
  const s = await fx.attach({ signerIPv4: signerHost, signerPort: signer.port });
  s.enableStats();
  const client = await fx.peer('dial');
  await client.dial(signerHost, signer.port);
  const connect4 = s.programStats().find((p) => p.name === 'sigil_connect4');
  t.true((connect4?.runCount ?? 0) >= 1);
  t.true((connect4?.runTimeNs ?? 0) > 0);
});
