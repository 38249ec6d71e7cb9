/**
 * Attach health against the real kernel: programs detached from outside (`bpftool link detach`) are
 * found and re-attached by repair(); a dead pinned link is never adopted; while one of the two
 * programs on a connect hook is gone the other still steers. What the kernel shows is asked of
 * bpftool, not of the addon.
 */
import { execFileSync } from 'node:child_process';
import { unlinkSync } from 'node:fs';
import type { ExecutionContext } from 'ava';
import { KernelFixture, kernelTest as test, kernelSerialTest as serialTest, SIGIL_CGROUP_PROGRAMS, cgroupView, type PeerProcess } from '../../helpers/kernel.js';
import type { KernelSteering } from '../../../agent/steering/index.js';

interface BpftoolLink { id: number; prog_id: number; cgroup_id?: number; attach_type?: string }

function pinnedLink(pinDir: string, name: string): BpftoolLink {
  return JSON.parse(execFileSync('bpftool', ['-j', 'link', 'show', 'pinned', `${pinDir}/links/${name}`], { encoding: 'utf8' })) as BpftoolLink;
}

/** `bpftool cgroup show <cgroup>` as sorted `<attach type>/<name>`. */
function bpftoolView(cgroup: string): string[] {
  const shown = JSON.parse(execFileSync('bpftool', ['-j', 'cgroup', 'show', cgroup], { encoding: 'utf8' }) || '[]') as Array<{ attach_type: string; name: string }>;
  return cgroupView(shown);
}

function detachLink(id: number): void {
  execFileSync('bpftool', ['link', 'detach', 'id', String(id)], { stdio: 'pipe' });
}

const CGROUP_PROGRAM_NAMES = SIGIL_CGROUP_PROGRAMS.map((p) => p.split('/')[1] as string);

test('the shipped set is every program of the loaded object, with the tags the kernel shows', async (t) => {
  const fx = await KernelFixture.create(t);
  const s = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  const shipped = s.expectedPrograms();
  t.deepEqual(cgroupView(shipped.filter((p) => p.attachType.startsWith('cgroup_'))), SIGIL_CGROUP_PROGRAMS);
  t.true(shipped.some((p) => p.attachType === 'trace_raw_tp' && p.name === 'sigil_exec'), JSON.stringify(shipped));
  t.false(shipped.some((p) => p.attachType.startsWith('cgroup_') && !p.name.startsWith('sigil_')), 'only cgroup programs are named cgroup_*');
  const kernel = new Map(s.query().map((p) => [`${p.attachType}/${p.name}`, p.tag]));
  for (const p of shipped.filter((x) => x.attachType.startsWith('cgroup_'))) t.is(kernel.get(`${p.attachType}/${p.name}`), p.tag, p.name);
  t.deepEqual(s.repair(), [], 'nothing to repair on a fresh attach');
});

test('each cgroup program detached with bpftool is found and re-attached by the next repair', async (t) => {
  const fx = await KernelFixture.create(t);
  const s = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  for (const name of CGROUP_PROGRAM_NAMES) {
    const before = pinnedLink(fx.pinDir, name);
    detachLink(before.id);
    t.false(bpftoolView(fx.cgroupPath).some((p) => p.endsWith(`/${name}`)), `${name} is gone from the cgroup`);
    const repairs = s.repair();
    t.like(repairs, [{ name, problem: 'detached', action: 're-attached' }], JSON.stringify(repairs));
    t.is(repairs.length, 1);
    t.deepEqual(bpftoolView(fx.cgroupPath), SIGIL_CGROUP_PROGRAMS, `${name} is back (bpftool)`);
    const after = pinnedLink(fx.pinDir, name);
    t.not(after.id, before.id, 'a new link, pinned under the same name');
    t.truthy(after.cgroup_id);
    t.deepEqual(s.repair(), [], 'and then nothing is wrong');
  }
});

test('a link whose pin was removed is re-pinned, so the next agent adopts it', async (t) => {
  const fx = await KernelFixture.create(t);
  const s = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  const before = pinnedLink(fx.pinDir, 'sigil_sockops');
  unlinkSync(`${fx.pinDir}/links/sigil_sockops`);
  t.like(s.repair(), [{ name: 'sigil_sockops', problem: 'unpinned', action: 're-pinned' }]);
  t.is(pinnedLink(fx.pinDir, 'sigil_sockops').id, before.id);
});

serialTest('a restart over a dead pinned link replaces it instead of adopting it, with a program that works on the live maps', async (t) => {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const destHost = fx.loopback();
  const signer = await fx.listener(signerHost, fx.pinDir);
  const realDest = await fx.listener(destHost);
  const config = { signerIPv4: signerHost, signerPort: signer.port };
  const first = await fx.attach(config);
  first.setDestination({ addr: destHost, port: realDest.port, destId: 7 });
  const client = await fx.peer('dial');
  first.setProcess(client.pid, { state: 'bound', bindingId: 3, startTime: first.getProcess(client.pid)!.startTime });
  // Only the re-attached program on the hook: its guard goes too, so the dial below proves what it does.
  detachLink(pinnedLink(fx.pinDir, 'sigil_guard4').id);
  const dead = pinnedLink(fx.pinDir, 'sigil_connect4');
  detachLink(dead.id);
  first.close(); // the agent died; the pin stays, detached (cgroup_id 0)
  t.is(pinnedLink(fx.pinDir, 'sigil_connect4').cgroup_id ?? 0, 0);

  const second = await fx.attach(config);
  t.is(second.outcome, 'adopted');
  t.like(second.repairedAtAttach, [
    { name: 'sigil_connect4', problem: 'dead-pin', action: 'pin-dropped' },
    { name: 'sigil_guard4', problem: 'dead-pin', action: 'pin-dropped' },
    { name: 'sigil_connect4', problem: 'missing', action: 're-attached' },
    { name: 'sigil_guard4', problem: 'missing', action: 're-attached' },
  ], JSON.stringify(second.repairedAtAttach));
  t.deepEqual(bpftoolView(fx.cgroupPath), SIGIL_CGROUP_PROGRAMS, 'sigil_connect4 is attached again (bpftool)');
  const fresh = pinnedLink(fx.pinDir, 'sigil_connect4');
  t.not(fresh.id, dead.id);
  t.truthy(fresh.cgroup_id);
  t.deepEqual(second.repair(), []);
  const [r] = await client.dial(destHost, realDest.port);
  t.like((await signer.acceptedFrom(r!.localPort!)).record, { origAddr: destHost, origPort: realDest.port, tgid: client.pid }, 'the new programs see the kept destinations and bindings');
  t.deepEqual(realDest.accepted(), []);
});

interface GuardWorld { fx: KernelFixture; steering: KernelSteering; signer: PeerProcess; realDest: PeerProcess; destHost: string; client: PeerProcess }

async function guardWorld(t: ExecutionContext): Promise<GuardWorld> {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const destHost = fx.loopback();
  const signer = await fx.listener(signerHost, fx.pinDir, ['::1']);
  const realDest = await fx.listener(destHost, undefined, ['::1']);
  const steering = await fx.attach({ signerIPv4: signerHost, signerPort: signer.port, signerIPv6: '::1' });
  steering.setDestination({ addr: destHost, port: realDest.port, destId: 7 });
  steering.setDestination({ addr: '::1', port: realDest.port, destId: 8 });
  const client = await fx.peer('dial');
  const pending = steering.getProcess(client.pid);
  steering.setProcess(client.pid, { state: 'bound', bindingId: 3, startTime: pending!.startTime });
  return { fx, steering, signer, realDest, destHost, client };
}

for (const [gone, remaining] of [['sigil_connect4', 'sigil_guard4'], ['sigil_guard4', 'sigil_connect4'], ['sigil_connect6', 'sigil_guard6'], ['sigil_guard6', 'sigil_connect6']] as const) {
  // Serial: each world is three node processes; a dozen starting at once on a loaded 2-core box time out.
  serialTest(`with ${gone} detached, ${remaining} alone still steers a bound process to the signer`, async (t) => {
    const w = await guardWorld(t);
    detachLink(pinnedLink(w.fx.pinDir, gone).id);
    t.false(bpftoolView(w.fx.cgroupPath).some((p) => p.endsWith(`/${gone}`)));
    const v6 = gone.endsWith('6');
    for (const host of v6 ? ['::1', `::ffff:${w.destHost}`] : [w.destHost]) {
      const [r] = await w.client.dial(host, w.realDest.port);
      t.true(r?.ok, JSON.stringify(r));
      const got = await w.signer.acceptedFrom(r!.localPort!);
      t.like(got.record, { origPort: w.realDest.port, tgid: w.client.pid }, host);
    }
    t.deepEqual(w.realDest.accepted(), [], 'nothing reached the real destination unsteered');
    t.is(w.steering.counters()['steered'], v6 ? 2 : 1, 'each connection steered once, not twice');
  });
}

serialTest('with both programs on connect4 present, each connection is steered exactly once', async (t) => {
  const w = await guardWorld(t);
  const results = await w.client.dial(w.destHost, w.realDest.port, 3);
  t.true(results.every((r) => r.ok), JSON.stringify(results));
  for (const r of results) t.like((await w.signer.acceptedFrom(r.localPort!)).record, { origAddr: w.destHost, origPort: w.realDest.port });
  t.is(w.steering.counters()['steered'], 3);
  t.deepEqual(w.realDest.accepted(), []);
});

serialTest('control: with both programs of connect4 detached the dial goes out unsteered (what the guard prevents)', async (t) => {
  const w = await guardWorld(t);
  detachLink(pinnedLink(w.fx.pinDir, 'sigil_connect4').id);
  detachLink(pinnedLink(w.fx.pinDir, 'sigil_guard4').id);
  const [r] = await w.client.dial(w.destHost, w.realDest.port);
  t.true(r?.ok, JSON.stringify(r));
  t.is(w.realDest.accepted().length, 1, 'the real destination got the connection');
  t.like(w.steering.repair(), [{ name: 'sigil_connect4', action: 're-attached' }, { name: 'sigil_guard4', action: 're-attached' }]);
  const [again] = await w.client.dial(w.destHost, w.realDest.port);
  t.like((await w.signer.acceptedFrom(again!.localPort!)).record, { origPort: w.realDest.port }, 'steered again after the repair');
  t.is(w.realDest.accepted().length, 1);
});

test('an upgrade over a dead pinned link attaches anew instead of updating the dead link', async (t) => {
  const fx = await KernelFixture.create(t);
  const host = fx.loopback();
  const first = await fx.attach({ signerIPv4: host, signerPort: 9 });
  detachLink(pinnedLink(fx.pinDir, 'sigil_sockops').id);
  first.close();
  const second = await fx.attach({ signerIPv4: host, signerPort: 10 });
  t.is(second.outcome, 'upgraded');
  t.like(second.repairedAtAttach, [{ name: 'sigil_sockops', problem: 'dead-pin', action: 'pin-dropped' }]);
  t.deepEqual(bpftoolView(fx.cgroupPath), SIGIL_CGROUP_PROGRAMS);
  t.truthy(pinnedLink(fx.pinDir, 'sigil_sockops').cgroup_id);
  t.deepEqual(second.repair(), []);
});

serialTest('after sigil_connect4 is re-attached its guard is moved behind it again: steering first, so nothing is counted twice', async (t) => {
  const w = await guardWorld(t);
  const order = (): string[] => (JSON.parse(execFileSync('bpftool', ['-j', 'cgroup', 'show', w.fx.cgroupPath], { encoding: 'utf8' })) as Array<{ name: string }>)
    .map((p) => p.name).filter((n) => n === 'sigil_connect4' || n === 'sigil_guard4');
  t.deepEqual(order(), ['sigil_connect4', 'sigil_guard4']);
  const guardBefore = pinnedLink(w.fx.pinDir, 'sigil_guard4').id;
  detachLink(pinnedLink(w.fx.pinDir, 'sigil_connect4').id);
  t.like(w.steering.repair(), [{ name: 'sigil_connect4', action: 're-attached' }]);
  t.deepEqual(order(), ['sigil_connect4', 'sigil_guard4'], 'bpftool shows the original order');
  t.not(pinnedLink(w.fx.pinDir, 'sigil_guard4').id, guardBefore, 'the guard got a new link, pinned');
  const before = w.steering.counters();
  const [r] = await w.client.dial(w.destHost, w.realDest.port);
  t.like((await w.signer.acceptedFrom(r!.localPort!)).record, { origPort: w.realDest.port });
  const after = w.steering.counters();
  t.is(after['steered']! - before['steered']!, 1);
  t.is(after['passedNotListed']! - before['passedNotListed']!, 0, 'the steering program saw the listed address, not the signer\'s');
});
