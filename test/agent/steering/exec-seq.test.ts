/**
 * The kernel's exec sequence number: what lets the signer tell a connection's program image from the
 * one a process runs now (an exec changes neither tgid nor start time).
 */
import readline from 'node:readline';
import { KernelFixture, kernelTest as test, until } from '../../helpers/kernel.js';
import type { ProcessEvent } from '../../../agent/steering/index.js';


test('each exec increments the sequence number, the exec event carries it, a fork copies it', async (t) => {
  const fx = await KernelFixture.create(t);
  const steering = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  const events: ProcessEvent[] = [];
  const unsubscribe = steering.onProcessEvent((e) => events.push(e));
  t.teardown(unsubscribe);
  const inner = 'echo again; read go; ( while :; do sleep 1; done ) & echo $!; read end';
  const shell = fx.spawn('sh', ['-c', 'echo ready; read go; exec sh -c "$0"', inner]);
  const pid = shell.pid!;
  const lines = readline.createInterface({ input: shell.stdout! })[Symbol.asyncIterator]();
  t.is((await lines.next()).value, 'ready');
  const first = steering.getProcess(pid)!.execSeq;
  // spawnInCgroup: sh (1st exec seen), then exec sh (2nd).
  t.is(first, 2);
  const execs = () => events.filter((e) => e.type === 'exec' && e.tgid === pid);
  await until(() => (execs().length >= 2 ? true : undefined));
  t.deepEqual(execs().map((e) => e.execSeq), [1, 2]);

  shell.stdin!.write('\n');
  t.is((await lines.next()).value, 'again');
  t.is(steering.getProcess(pid)!.execSeq, 3, 'exec sh -c: one more');
  t.is((await until(() => execs()[2]))!.execSeq, 3);

  shell.stdin!.write('\n');
  const forked = Number((await lines.next()).value);
  t.true(forked > 0);
  t.is(steering.getProcess(forked)?.execSeq, 3, 'the forked subshell runs the same image: same number');
  shell.stdin!.end('\n');
  const exit = await until(() => events.find((e) => e.type === 'exit' && e.tgid === pid));
  t.is(exit.execSeq, 0, 'exit events carry no sequence number');
});

test('a steered connection\'s record carries the exec sequence number the process had at connect', async (t) => {
  const fx = await KernelFixture.create(t);
  const signerHost = fx.loopback();
  const signer = await fx.listener(signerHost, fx.pinDir);
  const realDest = await fx.listener(fx.loopback());
  const steering = await fx.attach({ signerIPv4: signerHost, signerPort: signer.port });
  const destHost = fx.loopback();
  steering.setDestination({ addr: destHost, port: realDest.port, destId: 3 });
  const client = await fx.peer('dial');
  const seq = steering.getProcess(client.pid)!.execSeq;
  t.true(seq >= 1);
  const [r] = await client.dial(destHost, realDest.port);
  t.true(r?.ok, JSON.stringify(r));
  const got = await signer.acceptedFrom(r!.localPort!);
  t.like(got.record, { tgid: client.pid, execSeq: seq });
});

test('setProcess keeps the kernel\'s sequence number and, given expectExecSeq, writes nothing over a newer exec', async (t) => {
  const fx = await KernelFixture.create(t);
  const steering = await fx.attach({ signerIPv4: fx.loopback(), signerPort: 9 });
  const shell = fx.spawn('sh', ['-c', 'echo ready; read go; exec sh -c "echo again; read end"']);
  const pid = shell.pid!;
  const lines = readline.createInterface({ input: shell.stdout! })[Symbol.asyncIterator]();
  t.is((await lines.next()).value, 'ready');
  const before = steering.getProcess(pid)!;
  t.is(before.state, 'pending');

  t.true(steering.setProcess(pid, { state: 'bound', bindingId: 4, startTime: before.startTime, expectExecSeq: before.execSeq }));
  t.like(steering.getProcess(pid), { state: 'bound', bindingId: 4, execSeq: before.execSeq });
  t.false(steering.setProcess(pid, { state: 'unbound', startTime: before.startTime, expectExecSeq: before.execSeq - 1 }));
  t.like(steering.getProcess(pid), { state: 'bound', bindingId: 4 }, 'a mismatched expectation writes nothing');

  shell.stdin!.write('\n');
  t.is((await lines.next()).value, 'again');
  t.like(steering.getProcess(pid), { state: 'pending', execSeq: before.execSeq + 1 });
  // A decision about the old image arrives late: the new image stays pending.
  t.false(steering.setProcess(pid, { state: 'bound', bindingId: 4, startTime: before.startTime, expectExecSeq: before.execSeq }));
  t.like(steering.getProcess(pid), { state: 'pending', bindingId: 0 });
  // Without an expectation the state is written, and the sequence number is still the kernel's.
  t.true(steering.setProcess(pid, { state: 'unbound', startTime: before.startTime }));
  t.like(steering.getProcess(pid), { state: 'unbound', execSeq: before.execSeq + 1 });
  shell.stdin!.end('\n');
});
