import test from 'ava';
import { pino } from 'pino';
import { runServices, serviceOf, type Service } from '../../common/service.js';

const log = pino({ level: 'silent' });

test('services run until the signal; each part started is stopped', async (t) => {
  const events: string[] = [];
  const part = (name: string): Service => serviceOf(name, async () => {
    events.push(`start ${name}`);
    return { stop: () => { events.push(`stop ${name}`); } };
  });
  const stop = new AbortController();
  const running = runServices([part('a'), part('b')], stop.signal, log);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(events.sort(), ['start a', 'start b']);
  stop.abort();
  await running;
  t.deepEqual(events.sort(), ['start a', 'start b', 'stop a', 'stop b']);
});

test('the first failure stops the others and is what runServices rejects with', async (t) => {
  const stopped: string[] = [];
  const steady = serviceOf('steady', () => ({ stop: () => { stopped.push('steady'); } }));
  const failing = serviceOf('failing', async () => { throw new Error('cannot listen'); });
  const err = await t.throwsAsync(runServices([steady, failing], new AbortController().signal, log));
  t.is(err?.message, 'cannot listen');
  t.deepEqual(stopped, ['steady']);
});

test('a stop that came before runServices was called still stops every service (SIGTERM during start-up)', async (t) => {
  const events: string[] = [];
  const part = (name: string): Service => serviceOf(name, () => {
    events.push(`start ${name}`);
    return { stop: () => { events.push(`stop ${name}`); } };
  });
  const stop = new AbortController();
  stop.abort();
  const outcome = await Promise.race([
    runServices([part('a'), part('b')], stop.signal, log).then(() => 'returned'),
    new Promise((r) => setTimeout(() => r('still running after 5 s'), 5_000)),
  ]);
  t.is(outcome, 'returned');
  t.deepEqual(events.sort(), ['start a', 'start b', 'stop a', 'stop b']);
});
