/**
 * Attribution across exec: a connection carries the exec sequence number of the program image that
 * opened it, and the attestor never answers it with the outcome of a later image.
 */
import test from 'ava';
import { Attestor } from '../../../agent/attest/attestor.js';
import type { ProcessStateEntry } from '../../../agent/attest/types.js';
import { binding, MemorySink, spawnProcess } from './support.js';

const SLEEP = '/bin/sleep';

/** The kernel map's behaviour: a sequence number only exec changes; writes for an older image refused. */
class SeqSink extends MemorySink {
  readonly kernelSeq = new Map<number, number>();
  refused = 0;

  override set(tgid: number, entry: ProcessStateEntry): boolean {
    if (entry.execSeq !== undefined && (this.kernelSeq.get(tgid) ?? 0) !== entry.execSeq) {
      this.refused++;
      return false;
    }
    super.set(tgid, entry);
    return true;
  }

  execSeq(tgid: number): number | undefined {
    return this.kernelSeq.get(tgid);
  }
}

function setup(t: import('ava').ExecutionContext) {
  const sink = new SeqSink();
  const attestor = new Attestor({ sink, bindings: [binding('b1', 'sleeper', ['unix:uid:0'])], pendingTimeoutMs: 2000 });
  t.teardown(() => attestor.close());
  const p = spawnProcess(t, SLEEP, ['30']);
  return { sink, attestor, p };
}

test('an outcome is tagged with its image; a connection from an earlier image is refused as EXECED', async (t) => {
  const { sink, attestor, p } = setup(t);
  sink.kernelSeq.set(p.pid, 1);
  attestor.handleEvent({ ...p.exec, execSeq: 1 });
  const first = await attestor.attestation(p.pid, p.startTime, 1);
  t.is(first.state, 'bound');
  t.is(first.execSeq, 1);
  t.is(sink.entries.get(p.pid)?.execSeq, 1, 'the sink is told which image the decision is about');

  // The process execs again (same binary here; what matters is that the image changed).
  sink.kernelSeq.set(p.pid, 2);
  attestor.handleEvent({ ...p.exec, execSeq: 2 });
  const err = await t.throwsAsync(attestor.attestation(p.pid, p.startTime, 1), { code: 'SIGIL_ERR_ATTEST_EXECED' });
  t.regex(err?.message ?? '', /exec'd after it connected/);
  t.is((await attestor.attestation(p.pid, p.startTime, 2)).execSeq, 2, 'the new image\'s own connection is answered');
  // Callers without a sequence number (no kernel record of it) keep the old behaviour.
  t.is((await attestor.attestation(p.pid, p.startTime)).state, 'bound');
});

test('a caller waiting on the old image is refused as soon as the newer exec is seen', async (t) => {
  const { sink, attestor, p } = setup(t);
  sink.kernelSeq.set(p.pid, 1);
  attestor.handleEvent({ ...p.exec, execSeq: 1 });
  const waiting = attestor.attestation(p.pid, p.startTime, 1); // the job has not run yet
  const unaware = attestor.attestation(p.pid, p.startTime);
  sink.kernelSeq.set(p.pid, 2);
  attestor.handleEvent({ ...p.exec, execSeq: 2 });
  await t.throwsAsync(waiting, { code: 'SIGIL_ERR_ATTEST_EXECED' });
  t.is((await unaware).execSeq, 2);
});

test('an exec the events have not reported yet is caught from the kernel: no outcome of the new image for the old connection', async (t) => {
  const { sink, attestor, p } = setup(t);
  sink.kernelSeq.set(p.pid, 1);
  attestor.handleEvent({ ...p.exec, execSeq: 1 });
  await attestor.idle();
  // Exec happened (kernel says 2), its event is still in the ring buffer.
  sink.kernelSeq.set(p.pid, 2);
  await t.throwsAsync(attestor.attestation(p.pid, p.startTime, 1), { code: 'SIGIL_ERR_ATTEST_EXECED' });
  // A connection from the new image makes the attestor attest that image without waiting for the event.
  const fresh = await attestor.attestation(p.pid, p.startTime, 2);
  t.is(fresh.execSeq, 2);
  t.is(sink.entries.get(p.pid)?.execSeq, 2);
});

test('exec while the facts are read: the job starts over for the newer image, the stale decision is never written', async (t) => {
  const { sink, attestor, p } = setup(t);
  sink.kernelSeq.set(p.pid, 1);
  attestor.handleEvent({ ...p.exec, execSeq: 1 });
  const waiting = attestor.attestation(p.pid, p.startTime, 1);
  // The job reads the kernel's number before and after the facts; move it in between.
  setImmediate(() => sink.kernelSeq.set(p.pid, 2));
  await t.throwsAsync(waiting, { code: 'SIGIL_ERR_ATTEST_EXECED' });
  await attestor.idle();
  t.is(sink.entries.get(p.pid)?.execSeq, 2, 'only the newer image\'s decision reached the kernel');
  t.is(sink.refused, 0);
});

test('a process first seen through a connection (forked child) is tagged with the kernel\'s current number', async (t) => {
  const { sink, attestor, p } = setup(t);
  sink.kernelSeq.set(p.pid, 5); // inherited from its parent by the fork
  const att = await attestor.attestation(p.pid, p.startTime, 5);
  t.is(att.execSeq, 5);
  await t.throwsAsync(attestor.attestation(p.pid, p.startTime, 4), { code: 'SIGIL_ERR_ATTEST_EXECED' });
});
