/**
 * AttachWatcher without a kernel: what it logs, counts, reports and how long it stays degraded,
 * given what repair() finds. The kernel side is in attach-health.test.ts.
 */
import test from 'ava';
import { Writable } from 'node:stream';
import { AttachWatcher, type LinkRepair } from '../../../agent/steering/index.js';
import { createLogger } from '../../../agent/log.js';

function fakeSteering(initial: LinkRepair[] = []) {
  const queue: LinkRepair[][] = [];
  return {
    queue,
    repairedAtAttach: initial,
    repair: () => queue.shift() ?? [],
    expectedPrograms: () => [
      { attachType: 'cgroup_inet4_connect', name: 'sigil_connect4', tag: 'aa' },
      { attachType: 'trace_raw_tp', name: 'sigil_exec', tag: 'bb' },
    ],
  };
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = createLogger({ level: 'info' }, new Writable({ write(chunk: Buffer, _e, cb) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); cb(); } }));
  return { log, lines };
}

const detached: LinkRepair = { name: 'sigil_connect4', attachType: 'cgroup_inet4_connect', problem: 'detached', action: 're-attached' };
const failed: LinkRepair = { name: 'sigil_guard4', attachType: 'cgroup_inet4_connect', problem: 'detached', action: 'failed', error: 'bpf_link_create: Operation not permitted' };

test('a repaired program is logged, counted and handed to the next heartbeat once; it does not leave the agent degraded', (t) => {
  const steering = fakeSteering();
  const { log, lines } = capture();
  const watcher = new AttachWatcher({ steering, log, now: () => new Date('2026-12-01T09:00:00Z') });
  steering.queue.push([detached]);
  t.deepEqual(watcher.check(), [detached]);
  t.deepEqual(watcher.problems, []);
  t.deepEqual(watcher.totals(), [{ program: 'sigil_connect4', problem: 'detached', action: 're-attached', count: 1 }]);
  t.deepEqual(watcher.drain(), [{ ...detached, at: '2026-12-01T09:00:00.000Z' }]);
  t.deepEqual(watcher.drain(), [], 'each repair is reported once');
  t.true(lines.some((l) => l['level'] === 'warn' && l['program'] === 'sigil_connect4' && l['problem'] === 'detached'), JSON.stringify(lines));
});

test('a repair that fails keeps the agent degraded with the reason until a later check finds nothing wrong', (t) => {
  const steering = fakeSteering();
  const { log } = capture();
  const watcher = new AttachWatcher({ steering, log });
  steering.queue.push([failed], []);
  watcher.check();
  t.deepEqual(watcher.problems, ['program sigil_guard4 (cgroup_inet4_connect) detached, repair failed: bpf_link_create: Operation not permitted']);
  watcher.check();
  t.deepEqual(watcher.problems, []);
});

test('repairs made at attach (dead pins) are counted and reported like the others', (t) => {
  const dead: LinkRepair = { name: 'sigil_connect4', attachType: 'cgroup_inet4_connect', problem: 'dead-pin', action: 'pin-dropped' };
  const watcher = new AttachWatcher({ steering: fakeSteering([dead]), log: capture().log });
  t.is(watcher.drain()[0]?.problem, 'dead-pin');
  t.is(watcher.totals()[0]?.count, 1);
});

test('the shipped set handed to the fleet is the cgroup programs of the loaded object', (t) => {
  const watcher = new AttachWatcher({ steering: fakeSteering(), log: capture().log });
  t.deepEqual(watcher.shippedCgroupPrograms(), [{ attachType: 'cgroup_inet4_connect', name: 'sigil_connect4', tag: 'aa' }]);
});

test('a check that throws is a problem, not a crash', (t) => {
  const steering = { ...fakeSteering(), repair: (): LinkRepair[] => { throw new Error('stat /sys/fs/cgroup/x: ENOENT'); } };
  const watcher = new AttachWatcher({ steering, log: capture().log });
  t.deepEqual(watcher.check(), []);
  t.deepEqual(watcher.problems, ['attachment check failed: stat /sys/fs/cgroup/x: ENOENT']);
});
