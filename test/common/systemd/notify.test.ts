/**
 * sd_notify through the real addon into a real AF_UNIX datagram socket (path and abstract namespace).
 * Node cannot receive unix datagrams either, so a small python3 process stands in for systemd's end
 * of the socket. PID 1 systemd itself receives these in the opt-in VM test (test/vm/).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import test, { type ExecutionContext } from 'ava';
import { gatedTest } from '../../helpers/ci.js';
import { createSystemdNotifier, watchdogIntervalMs } from '../../../common/systemd/notify.js';
import { loadNative } from '../../../native/index.js';

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;
// python3 stands in for systemd's socket: skipped without it locally, failing in CI (Makefile installs it).
const pythonTest = gatedTest(hasPython ? undefined : 'python3 not found (apt-get install python3)', 'notify receiver');

// Binds a SOCK_DGRAM socket, prints "ready", then one JSON line per datagram received.
const RECEIVER = `
import json, socket, sys
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("\\0" + addr[1:] if addr.startswith("@") else addr)
print("ready", flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;

interface Receiver { next(): Promise<string>; child: ChildProcess }

async function receiver(t: ExecutionContext, address: string): Promise<Receiver> {
  const child = spawn('python3', ['-c', RECEIVER, address], { stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.value !== 'ready') throw new Error(`receiver did not start: ${String(first.value)}`);
  return {
    child,
    next: async () => {
      const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no datagram within 5 s')), 5_000).unref());
      const line = await Promise.race([lines.next(), timeout]);
      return JSON.parse(line.value as string) as string;
    },
  };
}

/** Points this process's $NOTIFY_SOCKET (which the addon reads) at `address` until the test ends. */
function useNotifySocket(t: ExecutionContext, address: string): void {
  const saved = process.env['NOTIFY_SOCKET'];
  process.env['NOTIFY_SOCKET'] = address;
  t.teardown(() => { if (saved === undefined) delete process.env['NOTIFY_SOCKET']; else process.env['NOTIFY_SOCKET'] = saved; });
}

function tempSocketPath(t: ExecutionContext): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'sigil-test-notify-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'notify');
}

// Serial: these tests share this process's environment.
pythonTest.serial('ready, status, watchdog and stopping reach a filesystem NOTIFY_SOCKET as sd_notify(3) lines', async (t) => {
  const address = tempSocketPath(t);
  const rx = await receiver(t, address);
  useNotifySocket(t, address);
  const notifier = createSystemdNotifier();

  t.true(notifier.enabled);
  t.true(notifier.ready('attached 5 programs\npolicy revision 3'));
  t.is(await rx.next(), 'READY=1\nSTATUS=attached 5 programs policy revision 3');
  t.true(notifier.status('signing'));
  t.is(await rx.next(), 'STATUS=signing');
  t.true(notifier.watchdog());
  t.is(await rx.next(), 'WATCHDOG=1');
  t.true(notifier.stopping());
  t.is(await rx.next(), 'STOPPING=1');
});

pythonTest.serial('an abstract-namespace NOTIFY_SOCKET (@name) is reached', async (t) => {
  const address = `@sigil-test-notify-${randomBytes(6).toString('hex')}`;
  const rx = await receiver(t, address);
  useNotifySocket(t, address);
  t.true(createSystemdNotifier().ready());
  t.is(await rx.next(), 'READY=1');
});

pythonTest.serial('the watchdog timer pings at half of WATCHDOG_USEC while isLive() holds, then stops', async (t) => {
  const address = tempSocketPath(t);
  const rx = await receiver(t, address);
  useNotifySocket(t, address);
  let live = true;
  let sent = 0;
  let asked = 0;
  const send = (state: string): boolean => { sent++; return loadNative().sdNotify(state); };
  const notifier = createSystemdNotifier({ env: { ...process.env, WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid) }, send });
  const timer = notifier.startWatchdog(() => { asked++; return live; });
  t.teardown(() => timer?.stop());
  t.is(timer?.intervalMs, 50);
  t.is(await rx.next(), 'WATCHDOG=1');
  t.is(await rx.next(), 'WATCHDOG=1');
  live = false;
  const before = sent;
  // "Did not ping" is judged on ticks that happened: wait (deadline 5 s) until the timer has asked
  // isLive() three more times, each time a chance to ping that it must not take.
  const askedBefore = asked;
  const deadline = Date.now() + 5_000;
  while (asked < askedBefore + 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.true(asked >= askedBefore + 3, 'the watchdog timer kept ticking');
  t.is(sent, before, 'no pings while isLive() is false');
  live = true;
  timer?.stop();
  const askedAtStop = asked;
  // After stop() nothing may tick at all; 20 intervals (1 s) is a generous chance for a stray timer.
  await new Promise((r) => setTimeout(r, 20 * 50));
  t.is(asked, askedAtStop, 'the timer no longer ticks after stop()');
  t.is(sent, before, 'no pings after stop()');
});

test('no NOTIFY_SOCKET: every call is a no-op returning false, and no watchdog starts', (t) => {
  let calls = 0;
  const notifier = createSystemdNotifier({ env: { WATCHDOG_USEC: '1000000' }, send: () => { calls++; return true; } });
  t.false(notifier.enabled);
  t.false(notifier.ready());
  t.false(notifier.watchdog());
  t.is(notifier.startWatchdog(), undefined);
  t.is(calls, 0);
});

test('watchdogIntervalMs honours WATCHDOG_USEC and WATCHDOG_PID', (t) => {
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42), 15_000);
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15_000);
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42), undefined);
  t.is(watchdogIntervalMs({ WATCHDOG_USEC: 'x' }, 42), undefined);
  t.is(watchdogIntervalMs({}, 42), undefined);
});

test.serial('the addon returns false without NOTIFY_SOCKET and throws with errno when nobody listens', (t) => {
  const saved = process.env['NOTIFY_SOCKET'];
  t.teardown(() => { if (saved === undefined) delete process.env['NOTIFY_SOCKET']; else process.env['NOTIFY_SOCKET'] = saved; });
  delete process.env['NOTIFY_SOCKET'];
  t.false(loadNative().sdNotify('READY=1'));
  process.env['NOTIFY_SOCKET'] = path.join(tmpdir(), `sigil-test-nobody-${randomBytes(6).toString('hex')}`);
  const err = t.throws(() => loadNative().sdNotify('READY=1')) as NodeJS.ErrnoException;
  t.is(err.code, 'ENOENT');
  t.is(err.syscall, 'sendto');
  t.throws(() => (loadNative().sdNotify as (s?: unknown) => boolean)(42), { instanceOf: TypeError, message: /^usage:/ });
});
