import test from 'ava';
import { copyFileSync, chmodSync, openSync, writeSync, closeSync, readFileSync, readlinkSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type { SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { Attestor } from '../../../agent/attest/attestor.js';
import { HashCache } from '../../../agent/attest/hash-cache.js';
import { binding, MemorySink, sha256sum, spawnProcess, tempDir, until } from './support.js';
import type { ImageRecord } from '../../../agent/attest/types.js';

const SLEEP = '/bin/sleep';

function newAttestor(t: import('ava').ExecutionContext, sink: MemorySink, bindings = [] as ReturnType<typeof binding>[]) {
  const attestor = new Attestor({ sink, bindings, pendingTimeoutMs: 2000 });
  t.teardown(() => attestor.close());
  return attestor;
}

/** A copy of sleep with one byte of a message string changed: still runs, different hash. */
function mutatedSleep(dir: string): string {
  const copy = join(dir, 'sleep-mutated');
  const bytes = readFileSync(SLEEP);
  const at = bytes.indexOf('invalid time interval');
  if (at < 0) throw new Error('marker string not found in sleep');
  const fd = openSync(copy, 'w', 0o755);
  writeSync(fd, bytes);
  writeSync(fd, Buffer.from('I'), 0, 1, at);
  closeSync(fd);
  return copy;
}

test('same program copied with one byte changed: different hash, different state', async (t) => {
  const dir = tempDir(t);
  const good = join(dir, 'sleep-good');
  copyFileSync(SLEEP, good);
  chmodSync(good, 0o755);
  const bad = mutatedSleep(dir);
  t.not(sha256sum(good), sha256sum(bad));
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'sleeper', [`unix:sha256:${sha256sum(good)}`])]);
  const a = spawnProcess(t, good, ['30']);
  const b = spawnProcess(t, bad, ['30']);
  attestor.handleEvent(a.exec);
  attestor.handleEvent(b.exec);
  await attestor.idle();
  t.deepEqual(sink.entries.get(a.pid), { state: 'bound', bindingIndex: 1, startTime: a.startTime });
  t.deepEqual(sink.entries.get(b.pid), { state: 'unbound', bindingIndex: 0, startTime: b.startTime });
  const att = await attestor.attestation(a.pid, a.startTime);
  t.is(att.spiffeId, 'spiffe://example.org/sleeper');
  t.deepEqual(attestor.bindingsFor(a.pid).map((x) => x.id), ['b1']);
  t.deepEqual(attestor.bindingsFor(b.pid), []);
});

test('same binary under two uids: only the bound uid is bound', async (t) => {
  const hash = sha256sum(SLEEP);
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'nobody-sleeper', [`unix:sha256:${hash}`, 'unix:uid:65534'])]);
  const asRoot = spawnProcess(t, SLEEP, ['30']);
  const asNobody = spawnProcess(t, SLEEP, ['30'], { uid: 65534, gid: 65534 });
  attestor.handleEvent(asRoot.exec);
  attestor.handleEvent(asNobody.exec);
  await attestor.idle();
  t.is(sink.stateOf(asNobody.pid), 'bound');
  t.is(sink.stateOf(asRoot.pid), 'unbound');
  t.is((await attestor.attestation(asRoot.pid, asRoot.startTime)).state, 'unbound');
});

test('a script run by an interpreter matches only with both hashes', async (t) => {
  const dir = tempDir(t);
  // `read` is a builtin: the shell waits on its stdin pipe with no child to orphan when it is killed.
  writeFileSync(join(dir, 'job.sh'), 'read _\n');
  writeFileSync(join(dir, 'other.sh'), 'read _ _\n');
  const opts: SpawnOptions = { cwd: dir, stdio: ['pipe', 'ignore', 'ignore'] };
  const sh = spawnProcess(t, '/bin/sh', ['job.sh'], opts);
  const shOther = spawnProcess(t, '/bin/sh', ['other.sh'], opts);
  const bash = spawnProcess(t, '/bin/bash', ['job.sh'], opts);
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink);
  attestor.handleEvent(sh.exec);
  await attestor.idle();
  const shSha = (await attestor.attestation(sh.pid, sh.startTime)).facts.sha256;
  t.not(shSha, sha256sum('/bin/bash'), 'this test needs /bin/sh to be another binary than bash');
  const scriptSha = sha256sum(join(dir, 'job.sh'));
  await t.throwsAsync(attestor.setBindings([binding('b1', 'job', [`script:sha256:${scriptSha}`])]), { code: 'SIGIL_ERR_ATTEST_SELECTOR' });
  await attestor.setBindings([binding('b1', 'job', [`unix:sha256:${shSha}`, `script:sha256:${scriptSha}`])]);
  for (const p of [shOther, bash]) attestor.handleEvent(p.exec);
  await attestor.idle();
  t.is(sink.stateOf(sh.pid), 'bound');
  t.is(sink.stateOf(shOther.pid), 'unbound', 'same interpreter, other script');
  t.is(sink.stateOf(bash.pid), 'unbound', 'same script, other interpreter');
});

test('a binary overwritten and deleted after exec is still bound by what ran', async (t) => {
  const dir = tempDir(t);
  const bin = join(dir, 'sleepy');
  copyFileSync(SLEEP, bin);
  chmodSync(bin, 0o755);
  const hash = sha256sum(bin);
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'sleepy', [`unix:sha256:${hash}`, `unix:path:${bin}`])]);
  const p = spawnProcess(t, bin, ['30']);
  writeFileSync(join(dir, 'evil'), '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  renameSync(join(dir, 'evil'), bin);
  unlinkSync(bin);
  attestor.handleEvent(p.exec);
  const att = await attestor.attestation(p.pid, p.startTime);
  t.is(att.state, 'bound');
  t.is(att.facts.sha256, hash);
  t.true(att.facts.exeDeleted);
  t.is(sink.stateOf(p.pid), 'bound');
});

test('a process running before the attestor started is found by the scan, then scanComplete', async (t) => {
  const dir = tempDir(t);
  const bin = join(dir, 'early-bird');
  copyFileSync(SLEEP, bin);
  chmodSync(bin, 0o755);
  const p = spawnProcess(t, bin, ['30']);
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'early', [`unix:path:${bin}`])]);
  t.is(sink.scanCompleteCalls, 0);
  await attestor.start();
  t.is(sink.scanCompleteCalls, 1);
  t.deepEqual(sink.entries.get(p.pid), { state: 'bound', bindingIndex: 1, startTime: p.startTime });
  t.is(sink.stateOf(process.pid), 'unbound');
  t.false([...sink.entries.keys()].includes(2), 'kthreadd (a kernel thread) is not attested');
});

test('PID reuse: a start time that is not the live one is refused', async (t) => {
  const earlier = spawnProcess(t, SLEEP, ['30']);
  await new Promise((r) => setTimeout(r, 30)); // at least one clock tick apart
  const now = spawnProcess(t, SLEEP, ['30']);
  t.not(earlier.startTime, now.startTime);
  const attestor = newAttestor(t, new MemorySink());
  // The kernel recorded `earlier`'s start time for a connection; the pid now names another process.
  await t.throwsAsync(attestor.attestation(now.pid, earlier.startTime), { code: 'SIGIL_ERR_ATTEST_PID_REUSED' });
  t.is((await attestor.attestation(now.pid, now.startTime)).tgid, now.pid);
  const gone = spawnProcess(t, SLEEP, ['30']);
  await gone.exit();
  await t.throwsAsync(attestor.attestation(gone.pid, gone.startTime), { code: 'SIGIL_ERR_ATTEST_GONE' });
});

test('a child forked without exec is attested on demand like its parent', async (t) => {
  const perlSha = sha256sum('/usr/bin/perl');
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'perl-worker', [`unix:sha256:${perlSha}`])]);
  const parent = spawnProcess(t, '/usr/bin/perl', ['-e', '$| = 1; my $p = fork(); if ($p == 0) { sleep 30; exit 0 } print "$p\\n"; waitpid($p, 0);'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const childPid = await new Promise<number>((resolve) => parent.child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
  t.teardown(() => { try { process.kill(childPid, 'SIGKILL'); } catch { /* already gone */ } });
  attestor.handleEvent(parent.exec);
  await attestor.idle();
  const { readProcStat, nsFromTicks } = await import('../../../agent/attest/proc-stat.js');
  const childStart = nsFromTicks(readProcStat(childPid).startTimeTicks);
  t.is(attestor.trackedCount, 1, 'only the exec event was seen');
  const att = await attestor.attestation(childPid, childStart);
  t.is(att.state, 'bound');
  t.is(att.workload, 'perl-worker');
  t.deepEqual(attestor.bindingsFor(childPid).map((b) => b.id), ['b1']);
  attestor.handleEvent({ type: 'exit', tgid: childPid, startTime: childStart });
  t.false(sink.entries.has(childPid));
});

test('a policy change re-evaluates every live process', async (t) => {
  const sink = new MemorySink();
  const hash = sha256sum(SLEEP);
  const attestor = newAttestor(t, sink, [binding('b1', 'w1', [`unix:sha256:${hash}`])]);
  const p = spawnProcess(t, SLEEP, ['30']);
  attestor.handleEvent(p.exec);
  await attestor.idle();
  t.deepEqual(sink.entries.get(p.pid)?.state, 'bound');
  await attestor.setBindings([binding('b2', 'w2', ['unix:uid:12345'])]);
  t.is(sink.stateOf(p.pid), 'unbound');
  t.deepEqual(attestor.bindingsFor(p.pid), []);
  await attestor.setBindings([binding('b3', 'a-first', ['unix:uid:1']), binding('b4', 'w4', [`unix:sha256:${hash}`])]);
  t.deepEqual(sink.entries.get(p.pid), { state: 'bound', bindingIndex: 2, startTime: p.startTime });
  // A bad bundle changes nothing.
  await t.throwsAsync(attestor.setBindings([binding('b5', 'w5', ['unix:nope:1'])]), { code: 'SIGIL_ERR_ATTEST_SELECTOR' });
  t.deepEqual(attestor.bindingsFor(p.pid).map((b) => b.id), ['b4']);
});

test('two workloads matching one process: unbound (ambiguous)', async (t) => {
  const hash = sha256sum(SLEEP);
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'w1', [`unix:sha256:${hash}`]), binding('b2', 'w2', ['unix:uid:0'])]);
  const p = spawnProcess(t, SLEEP, ['30']);
  attestor.handleEvent(p.exec);
  const att = await attestor.attestation(p.pid, p.startTime);
  t.is(att.state, 'unbound');
  t.is(att.reason, 'ambiguous');
  t.is(sink.stateOf(p.pid), 'unbound');
});

test('exit while attestation is in flight leaves no entry; waiters get GONE', async (t) => {
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'w1', ['unix:uid:0'])]);
  const p = spawnProcess(t, SLEEP, ['30']);
  attestor.handleEvent(p.exec);
  const waiting = attestor.attestation(p.pid, p.startTime);
  attestor.handleEvent(await p.exit()); // same turn as the exec: the job has not finished
  await t.throwsAsync(waiting, { code: 'SIGIL_ERR_ATTEST_GONE' });
  await attestor.idle();
  await until(() => attestor.queuedCount === 0);
  t.false(sink.entries.has(p.pid));
  t.is(attestor.trackedCount, 0);
});

test('a process that execs another program is attested afresh', async (t) => {
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'sleeper', [`unix:sha256:${sha256sum(SLEEP)}`])]);
  const p = spawnProcess(t, '/bin/sh', ['-c', `read _; exec ${SLEEP} 30`], { stdio: ['pipe', 'ignore', 'ignore'] });
  attestor.handleEvent(p.exec);
  await attestor.idle();
  t.is(sink.stateOf(p.pid), 'unbound');
  p.child.stdin!.write('go\n');
  await until(() => readlinkSync(`/proc/${p.pid}/exe`) === realpathSync(SLEEP));
  attestor.handleEvent(p.exec); // the kernel's exec event: same tgid, same start time
  t.is((await attestor.attestation(p.pid, p.startTime)).state, 'bound');
  t.is(sink.stateOf(p.pid), 'bound');
});

test('a pending attestation that takes too long is a TIMEOUT for the caller, then completes', async (t) => {
  class SlowHashes extends HashCache {
    override async digest(path: string) {
      await new Promise((r) => setTimeout(r, 300));
      return super.digest(path);
    }
  }
  const sink = new MemorySink();
  const attestor = new Attestor({ sink, hashes: new SlowHashes(), pendingTimeoutMs: 50, bindings: [binding('b1', 'w', ['unix:uid:0'])] });
  t.teardown(() => attestor.close());
  const p = spawnProcess(t, SLEEP, ['30']);
  attestor.handleEvent(p.exec);
  await t.throwsAsync(attestor.attestation(p.pid, p.startTime), { code: 'SIGIL_ERR_ATTEST_TIMEOUT' });
  await attestor.idle();
  t.is((await attestor.attestation(p.pid, p.startTime)).state, 'bound');
});

test('reconcile forgets a process whose exit event was lost', async (t) => {
  const sink = new MemorySink();
  const attestor = newAttestor(t, sink, [binding('b1', 'w', ['unix:uid:0'])]);
  const p = spawnProcess(t, SLEEP, ['30']);
  const q = spawnProcess(t, SLEEP, ['30']);
  attestor.handleEvent(p.exec);
  attestor.handleEvent(q.exec);
  await attestor.idle();
  t.is(sink.stateOf(p.pid), 'bound');
  await p.exit(); // no exit event delivered
  await attestor.reconcile();
  t.false(sink.entries.has(p.pid));
  t.is(sink.stateOf(q.pid), 'bound');
  t.deepEqual(attestor.bindingsFor(p.pid), []);
});

/** A sink that also answers for the kernel's image records (what KernelProcessSink does in production). */
class ImageSink extends MemorySink {
  readonly images = new Map<number, ImageRecord>();
  image(tgid: number): ImageRecord | null {
    return this.images.get(tgid) ?? null;
  }
  execSeq(tgid: number): number | undefined {
    return this.images.get(tgid)?.execSeq;
  }
}

test('a child of a known image gets that image\'s verdict and is never re-read from /proc', async (t) => {
  const hash = sha256sum(SLEEP);
  const sink = new ImageSink();
  const attestor = newAttestor(t, sink, [binding('b1', 'sleeper', [`unix:sha256:${hash}`])]);
  const parent = spawnProcess(t, SLEEP, ['30']);
  // The "child": a live process whose own /proc shows another program (perl), which the kernel says
  // runs the parent's image. Read from /proc it would be unbound; inherited, it is bound like its origin.
  const other = spawnProcess(t, '/usr/bin/perl', ['-e', 'sleep 30']);
  // The executed file as the kernel would record it (the parent's own exe).
  const { statSync } = await import('node:fs');
  const exe = statSync(`/proc/${parent.pid}/exe`, { bigint: true });
  const image = (): ImageRecord => ({ execSeq: 1, taint: 0, originTgid: parent.pid, originStart: parent.startTime, dev: Number(exe.dev), ino: exe.ino, ctimeNs: exe.ctimeNs });
  sink.images.set(parent.pid, image());
  sink.images.set(other.pid, image());
  attestor.handleEvent({ ...parent.exec, execSeq: 1 });
  await attestor.idle();
  const att = await attestor.attestation(other.pid, other.startTime, 1);
  t.is(att.state, 'bound');
  t.is(att.facts.sha256, hash, "the origin's facts, not the child's /proc");
  t.is(sink.stateOf(other.pid), 'bound');
  // A taint on the child now (the kernel's word) unbinds it at once, whatever was inherited.
  sink.images.set(other.pid, { ...image(), taint: 0x8 });
  const tainted = await attestor.attestation(other.pid, other.startTime, 1);
  t.is(tainted.state, 'unbound');
  t.is(tainted.reason, 'tainted');
  t.is(sink.stateOf(other.pid), 'unbound');
});

test('a child whose image verdict is unknown gets nothing rather than a /proc read', async (t) => {
  const hash = sha256sum(SLEEP);
  const sink = new ImageSink();
  const attestor = newAttestor(t, sink, [binding('b1', 'sleeper', [`unix:sha256:${hash}`])]);
  const child = spawnProcess(t, SLEEP, ['30']); // its own /proc would bind it
  sink.images.set(child.pid, { execSeq: 3, taint: 0, originTgid: 1, originStart: 1n, dev: 0, ino: 0n, ctimeNs: 0n });
  await t.throwsAsync(attestor.attestation(child.pid, child.startTime, 3), { message: /no longer known/ });
  t.is(sink.stateOf(child.pid), 'unbound');
});
