import { execFileSync } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import { KernelFixture, kernelTest as test, SIGIL_CGROUP_PROGRAMS, cgroupView, expectedLinkCount, programExists } from '../../helpers/kernel.js';
import { queryCgroup, type KernelSteering } from '../../../agent/steering/index.js';

/** Program ids behind every link this handle holds: 7 cgroup programs + exec, fork, exit. */
function linkedIds(s: KernelSteering): number[] {
  return s.programStats().map((p) => p.id).sort((x, y) => x - y);
}

/** Programs are freed after an RCU grace period once the last reference goes. */
async function waitGone(ids: number[]): Promise<number[]> {
  let alive = ids;
  for (let i = 0; i < 100 && alive.length > 0; i++) {
    await new Promise((r) => setTimeout(r, 50));
    alive = alive.filter(programExists);
  }
  return alive;
}

test('another signer port upgrades the pinned set in place: one set of programs, new ids, state kept, dials reach the new port', async (t) => {
  const fx = await KernelFixture.create(t);
  const { signerHost, destHost, signerA, signerB, realDest } = await fx.twoSignerPorts();

  const a = await fx.attach({ signerIPv4: signerHost, signerPort: signerA.port });
  t.is(a.outcome, 'attached');
  a.setDestination({ addr: destHost, port: realDest.port, destId: 7 });
  const client = await fx.peer('dial');
  const pending = a.getProcess(client.pid);
  a.setProcess(client.pid, { state: 'bound', bindingId: 3, startTime: pending!.startTime });
  const [first] = await client.dial(destHost, realDest.port);
  t.true(first?.ok, JSON.stringify(first));
  t.is((await signerA.acceptedFrom(first!.localPort!)).record?.origPort, realDest.port);
  const oldIds = linkedIds(a);
  t.is(oldIds.length, expectedLinkCount(a.protectionChoice.mode));

  const b = await fx.attach({ signerIPv4: signerHost, signerPort: signerB.port });
  t.is(b.outcome, 'upgraded');
  t.true(b.adopted, 'an upgrade takes the pinned links over, it does not attach a second set');
  const cgroup = queryCgroup(fx.cgroupPath);
  t.deepEqual(cgroupView(cgroup), SIGIL_CGROUP_PROGRAMS, 'exactly one set: no program twice');
  const newIds = linkedIds(b);
  t.is(newIds.length, expectedLinkCount(b.protectionChoice.mode));
  t.deepEqual(newIds.filter((id) => oldIds.includes(id)), [], 'every program was replaced');
  t.true(cgroup.every((p) => newIds.includes(p.id)), 'the kernel runs the new cgroup programs');
  t.deepEqual(b.listDestinations(), [{ addr: destHost, port: realDest.port, destId: 7, deny: false }], 'maps were kept, not emptied');
  t.is(b.getProcess(client.pid)?.state, 'bound');

  const [second] = await client.dial(destHost, realDest.port);
  t.true(second?.ok, JSON.stringify(second));
  const got = await signerB.acceptedFrom(second!.localPort!);
  t.like(got.record, { origAddr: destHost, origPort: realDest.port, tgid: client.pid });
  t.is(signerA.accepted().length, 1, 'the old signer port saw only the first dial');
  t.deepEqual(realDest.accepted(), []);

  // With the old handle closed nothing references the old programs: none is still attached anywhere.
  a.close();
  t.deepEqual(await waitGone(oldIds), [], 'old programs (tracing ones too) are gone');

  const c = await fx.attach({ signerIPv4: signerHost, signerPort: signerB.port });
  t.is(c.outcome, 'adopted', 'the upgraded set carries the new identity');
  t.deepEqual(linkedIds(c), newIds, 'adopting changes no program');
});

test('the same object and config adopt; a pinned settings map of another layout forces an upgrade', async (t) => {
  const fx = await KernelFixture.create(t);
  const config = { signerIPv4: fx.loopback(), signerPort: 9 };
  const first = await fx.attach(config);
  t.is(first.outcome, 'attached');
  const ids = linkedIds(first);
  const again = await fx.attach(config);
  t.is(again.outcome, 'adopted');
  t.deepEqual(linkedIds(again), ids);
  t.true(queryCgroup(fx.cgroupPath).every((p) => ids.includes(p.id)));

  // An older agent's settings value (8 bytes, no identity): unreadable identity means upgrade.
  const pin = `${fx.pinDir}/maps/sigil_settings`;
  unlinkSync(pin);
  execFileSync('bpftool', ['map', 'create', pin, 'type', 'array', 'key', '4', 'value', '8', 'entries', '1', 'name', 'sigil_settings']);
  const upgraded = await fx.attach(config);
  t.is(upgraded.outcome, 'upgraded');
  t.deepEqual(cgroupView(queryCgroup(fx.cgroupPath)), SIGIL_CGROUP_PROGRAMS);
  const valueSize = JSON.parse(execFileSync('bpftool', ['-j', 'map', 'show', 'pinned', pin], { encoding: 'utf8' })) as { bytes_value: number };
  t.is(valueSize.bytes_value, 40, 'the settings map of the wrong layout was replaced, not reused');
  t.is((await fx.attach(config)).outcome, 'adopted');
});
