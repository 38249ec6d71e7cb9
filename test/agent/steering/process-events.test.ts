import { spawn } from 'node:child_process';
import { readFileSync, realpathSync, statSync } from 'node:fs';
import readline from 'node:readline';
import { KernelFixture, kernelTest as test, until } from '../../helpers/kernel.js';
import { startTimeToTicks, type ProcessEvent } from '../../../agent/steering/index.js';

function statStartTicks(pid: number): bigint {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return BigInt(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!); // field 22
}


test('exec and exit events arrive for a spawned process with its tgid, start time and executable', async (t) => {
  const fx = await KernelFixture.create(t);
  const steering = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  const events: ProcessEvent[] = [];
  const unsubscribe = steering.onProcessEvent((e) => events.push(e));
  const child = spawn('/bin/sh', ['-c', 'read line'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const pid = child.pid!;
  const exec = await until(() => events.find((e) => e.type === 'exec' && e.tgid === pid));
  const sh = statSync(realpathSync('/bin/sh'));
  t.is(exec.dev, sh.dev);
  t.is(exec.ino, sh.ino);
  t.is(startTimeToTicks(exec.startTime), statStartTicks(pid));
  t.like(steering.getProcess(pid), { state: 'pending', startTime: exec.startTime });
  child.stdin!.end('\n');
  const exit = await until(() => events.find((e) => e.type === 'exit' && e.tgid === pid));
  t.is(exit.startTime, exec.startTime);
  t.is(steering.getProcess(pid), null, 'exit removed the entry');
  unsubscribe();
});

test('fork without exec copies the parent\'s state to the child', async (t) => {
  const fx = await KernelFixture.create(t);
  const steering = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  // The subshell is a fork of sh that never execs; its own `sleep` children do, and are not asked about.
  const shell = fx.spawn('sh', ['-c', 'echo ready; read go; ( while :; do sleep 1; done ) & echo $!; read end']);
  const shellPid = shell.pid!;
  const lines = readline.createInterface({ input: shell.stdout! })[Symbol.asyncIterator]();
  t.is((await lines.next()).value, 'ready', 'past its last exec: the state written now sticks');
  const parent = steering.getProcess(shellPid);
  t.is(parent?.state, 'pending');
  steering.setProcess(shellPid, { state: 'bound', bindingId: 42, startTime: parent!.startTime });
  shell.stdin!.write('\n');
  const forked = Number((await lines.next()).value);
  t.true(forked > 0);
  const child = steering.getProcess(forked);
  t.like(child, { state: 'bound', bindingId: 42 });
  t.is(startTimeToTicks(child!.startTime), statStartTicks(forked), 'the child keeps its own start time');
  t.true(steering.counters()['forkCopied']! >= 1);
});
