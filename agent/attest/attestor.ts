import { readdirSync } from 'node:fs';
import type { BindingSpec } from '../../protocol/bindings.js';
import { AgentError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { debuggerSignals } from './debugger-signals.js';
import { ATTEST_ERR } from './errors.js';
import { readProcessFacts, type ProcessFacts } from './facts.js';
import { HashCache, type HashCacheStats } from './hash-cache.js';
import { Matcher, type UnboundReason, type WorkloadEntry } from './matcher.js';
import { PasswdNames } from './passwd.js';
import { isKernelThread, nsFromTicks, readProcStat, sameStart, ticksFromNs } from './proc-stat.js';
import type { ExecRecord, ImageRecord, ProcessEvent, ProcessStateSink } from './types.js';
import { KeyedWorkQueue } from './work-queue.js';

/** The answer for one process: its facts and the workload (with its bindings) it is bound to, if any. */
export interface Attestation {
  tgid: number;
  /** Start time (ns since boot) this attestation is for. */
  startTime: bigint;
  /** Kernel exec sequence number of the program image this is for (undefined when not known). */
  execSeq: number | undefined;
  facts: ProcessFacts;
  state: 'bound' | 'unbound';
  /** Index of the workload in `Attestor.workloads` (1-based), 0 when unbound. Written to the kernel. */
  bindingIndex: number;
  workload: string | undefined;
  spiffeId: string | undefined;
  /** The bindings this process may use, ordered by id; empty when unbound. */
  bindings: readonly BindingSpec[];
  /** Why a process is unbound: no identity matched, several did, its environment, or the kernel tainted it. */
  reason: UnboundReason | 'tainted' | undefined;
  /** When tainted: what the kernel saw (taintReasons of the SIGIL_TAINT_* bits). */
  taint?: number;
}

/** Most image verdicts remembered for children forked after their origin exited. */
const IMAGE_FACTS_LIMIT = 16_384;

export interface AttestorOptions {
  /** Where decisions go: the kernel's process map in production. */
  sink: ProcessStateSink;
  /** Initial policy; replace with setBindings(). */
  bindings?: readonly BindingSpec[];
  log?: Logger;
  hashes?: HashCache;
  passwd?: PasswdNames;
  /** Processes attested at once (hashing a new binary is the expensive part). Default 4. */
  concurrency?: number;
  /** How long attestation() waits for a pending process. Default 3000 ms. */
  pendingTimeoutMs?: number;
}

type Outcome = Attestation | AgentError;

/** A caller of attestation() waiting for an outcome; `execSeq` is the image its connection came from. */
interface Waiter {
  execSeq: number | undefined;
  done(outcome: Outcome): void;
}

/** What the attestor knows about one live tgid. */
interface Tracked {
  tgid: number;
  startTime: bigint;
  /**
   * Kernel exec sequence number of the image being attested: from the exec event, else read from the
   * kernel (sink.execSeq) when the job starts; undefined when neither knows it.
   */
  execSeq: number | undefined;
  /** Bumped at every (re-)start of attestation: a job whose generation is stale drops its result. */
  generation: number;
  facts: ProcessFacts | undefined;
  outcome: Outcome | undefined;
  /** Called once with the outcome of the current attestation (or GONE when the process exits). */
  waiters: Set<Waiter>;
  /** Last state written to the sink, to skip identical rewrites on policy changes. */
  written: string | undefined;
  /** What the kernel recorded at this image's exec (exec events); undefined for other kinds. */
  exec: ExecRecord | undefined;
  /**
   * How the process came to be known: 'exec' (its exec event), 'scan' (the start-up /proc scan, or a
   * process with no kernel image at all: it predates the agent), 'lazy' (first seen later with a
   * kernel image — a child forked without exec, or an exec whose event is still on its way).
   */
  kind: 'exec' | 'scan' | 'lazy';
}

/**
 * Attestation of every process on the host (docs/architecture.md "The path of one request", steps 1 and 4).
 *
 * - Exec events start a fresh attestation (the kernel already marked the process pending); exit
 *   events forget the process and delete it from the sink. Jobs whose process exited or exec'd again
 *   meanwhile drop their result, so no stale entry is ever written.
 * - start() scans /proc for processes that were running before, then calls sink.scanComplete().
 * - setBindings() swaps the policy atomically (a bad bundle throws and changes nothing), re-decides
 *   every known process from its facts and attests processes it has not seen (forked children, which
 *   the kernel gave their parent's state under the old policy).
 * - attestation() is the signer's question; it refuses a PID whose start time is not the recorded one,
 *   and (given the connection's exec sequence number) a process that exec'd after it connected.
 *
 * Exec sequence numbers (kernel: 1 after the first exec seen, +1 per exec, copied on fork, 0 for a
 * process no exec of which was seen). An outcome is tagged with the number of the image it is about:
 * the exec event's, or, for a process first seen by the /proc scan, reconcile or a connection (forked
 * children), the kernel's current number read when its job starts. Because /proc shows the newest
 * image, the job reads the kernel's number again after reading the facts and starts over if it moved.
 */
export class Attestor {
  private readonly sink: ProcessStateSink;
  private readonly log: Logger;
  private readonly hashes: HashCache;
  private readonly passwd: PasswdNames;
  private readonly pendingTimeoutMs: number;
  private readonly tracked = new Map<number, Tracked>();
  private readonly queue: KeyedWorkQueue<number>;
  /** Facts per program image (originTgid:originStart:execSeq), for children whose origin is gone. */
  private readonly imageFacts = new Map<string, ProcessFacts>();
  private matcher: Matcher;
  private started = false;
  private closed = false;

  constructor(options: AttestorOptions) {
    this.sink = options.sink;
    this.log = options.log ?? createLogger({ level: 'silent' });
    this.hashes = options.hashes ?? new HashCache();
    this.passwd = options.passwd ?? new PasswdNames();
    this.pendingTimeoutMs = options.pendingTimeoutMs ?? 3000;
    this.matcher = Matcher.compile(options.bindings ?? []);
    this.queue = new KeyedWorkQueue(options.concurrency ?? 4, (tgid) => this.attestJob(tgid));
  }

  /** The executable-digest cache's counters (hits, misses, joined), for the agent's metrics. */
  get hashStats(): HashCacheStats {
    return { ...this.hashes.stats };
  }

  /** The workload table whose 1-based indexes are written to the kernel. */
  get workloads(): readonly WorkloadEntry[] {
    return this.matcher.workloads;
  }

  /** Processes currently known (live ones, plus those whose exit has not been seen yet). */
  get trackedCount(): number {
    return this.tracked.size;
  }

  /** Attestation jobs queued or running. */
  get queuedCount(): number {
    return this.queue.size;
  }

  /** Resolves when no attestation job is queued or running. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Scans /proc for processes that were already running, then tells the sink the scan is complete. */
  async start(): Promise<void> {
    if (this.started) throw new Error('Attestor.start() called twice');
    this.started = true;
    const found = await this.scanUntracked();
    if (this.closed) return;
    this.log.info({ processes: found }, 'initial /proc scan complete');
    this.sink.scanComplete();
  }

  handleEvent(event: ProcessEvent): void {
    if (this.closed) return;
    if (event.type === 'exec') {
      this.track(event.tgid, event.startTime, event.execSeq, 'exec', event.exec);
      return;
    }
    this.forget(event.tgid, new AgentError(ATTEST_ERR.GONE, `process ${event.tgid} exited`));
    this.sink.delete(event.tgid);
  }

  /** Replaces the policy (throws SIGIL_ERR_ATTEST_SELECTOR and keeps the old one if any selector is bad). */
  async setBindings(specs: readonly BindingSpec[]): Promise<void> {
    await this.commitBindings(this.prepareBindings(specs));
  }

  /** Phase one of a policy change: compiles the matchers (throws on a bad selector), changes nothing. */
  prepareBindings(specs: readonly BindingSpec[]): Matcher {
    return Matcher.compile(specs);
  }

  /** Phase two: makes a prepared policy current and re-decides every known process under it. */
  async commitBindings(matcher: Matcher): Promise<void> {
    this.matcher = matcher;
    for (const entry of this.tracked.values()) {
      if (entry.facts !== undefined && entry.outcome !== undefined) this.decide(entry, entry.facts);
    }
    await this.reconcile();
  }

  /**
   * Brings the table in line with /proc: forgets processes whose exit event was lost (ring-buffer
   * overflow) and attests live ones never seen (forked children). Cheap; run it now and then.
   */
  async reconcile(): Promise<void> {
    for (const entry of [...this.tracked.values()]) {
      let live: bigint | undefined;
      try {
        live = readProcStat(entry.tgid).startTimeTicks;
      } catch {
        live = undefined;
      }
      if (live === ticksFromNs(entry.startTime)) continue;
      this.forget(entry.tgid, new AgentError(ATTEST_ERR.GONE, `process ${entry.tgid} exited`));
      if (live === undefined) this.sink.delete(entry.tgid);
    }
    await this.scanUntracked('reconcile');
  }

  /** The kernel's taint bits of tgid now (0: none, or no kernel to ask). */
  taintOf(tgid: number): number {
    return this.sink.image?.(tgid)?.taint ?? 0;
  }

  /** Live bound processes per SPIFFE ID (the heartbeat's inventory). */
  boundProcesses(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const entry of this.tracked.values()) {
      const outcome = entry.outcome;
      if (outcome === undefined || outcome instanceof AgentError || outcome.state !== 'bound' || outcome.spiffeId === undefined) continue;
      counts.set(outcome.spiffeId, (counts.get(outcome.spiffeId) ?? 0) + 1);
    }
    return counts;
  }

  /** The bindings a bound process may use (the signer picks the one whose destinations hold the SNI). */
  bindingsFor(tgid: number): readonly BindingSpec[] {
    const outcome = this.tracked.get(tgid)?.outcome;
    return outcome instanceof AgentError || outcome === undefined ? [] : outcome.bindings;
  }

  /**
   * The attestation of the process the kernel saw as (tgid, startTime ns, execSeq). Waits for a
   * pending one up to pendingTimeoutMs. Rejects with PID_REUSED when /proc/<tgid> is another process,
   * EXECED when the process exec'd after the connection was made (execSeq given and older than the
   * process's current image), GONE when it no longer exists, TIMEOUT, or FACTS. A process the
   * attestor has not seen (a child forked without exec) is attested on the spot: same program, same
   * answer as its parent.
   */
  async attestation(tgid: number, startTime: bigint, execSeq?: number): Promise<Attestation> {
    if (this.closed) throw new AgentError(ATTEST_ERR.CLOSED, 'attestor is closed');
    const live = readProcStat(tgid).startTimeTicks;
    if (live !== ticksFromNs(startTime)) throw pidReused(tgid, startTime, live);
    let entry = this.tracked.get(tgid);
    if (entry === undefined || !sameStart(entry.startTime, startTime)) entry = this.track(tgid, startTime, undefined, 'lazy');
    if (execSeq !== undefined && entry.execSeq !== undefined && entry.execSeq !== execSeq) {
      if (entry.execSeq > execSeq) throw execed(tgid, execSeq, entry.execSeq);
      // The connection comes from a newer image whose exec event is still on its way: wait for that one.
      entry = this.track(tgid, startTime, execSeq, 'lazy');
    }
    const outcome = entry.outcome ?? (await this.waitFor(entry, execSeq));
    if (outcome instanceof AgentError) throw outcome;
    if (!sameStart(outcome.startTime, startTime)) throw pidReused(tgid, startTime, ticksFromNs(outcome.startTime));
    if (execSeq !== undefined) this.checkStillImage(tgid, execSeq, outcome);
    // A taint since the decision (ptrace, PR_SET_MM, setuid ...) unbinds at once: the kernel already
    // stopped steering the process's new connections; this catches the ones it opened before.
    if (outcome.state === 'bound' && this.taintOf(tgid) !== 0) {
      this.decide(entry, outcome.facts);
      if (entry.outcome !== undefined && !(entry.outcome instanceof AgentError)) return entry.outcome;
    }
    return outcome;
  }

  /** Stops: waiters are rejected with CLOSED, nothing more is written to the sink. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.clear();
    for (const tgid of [...this.tracked.keys()]) {
      this.forget(tgid, new AgentError(ATTEST_ERR.CLOSED, 'attestor is closed'));
    }
  }

  /**
   * The outcome answers a connection from image `execSeq` only if it is about that image and the
   * kernel still runs it: /proc (hence the facts) shows the newest image, and an exec event can lag.
   */
  private checkStillImage(tgid: number, execSeq: number, outcome: Attestation): void {
    if (outcome.execSeq !== undefined && outcome.execSeq !== execSeq) throw execed(tgid, execSeq, outcome.execSeq);
    if (this.sink.execSeq === undefined) return;
    const now = this.sink.execSeq(tgid);
    if (now === undefined) throw new AgentError(ATTEST_ERR.GONE, `process ${tgid} exited`);
    if (now !== execSeq) throw execed(tgid, execSeq, now);
  }

  /** Starts (or restarts, after an exec) the attestation of a process. */
  private track(tgid: number, startTime: bigint, execSeq: number | undefined, kind: Tracked['kind'], exec?: ExecRecord): Tracked {
    let entry = this.tracked.get(tgid);
    if (entry === undefined) {
      entry = { tgid, startTime, execSeq, generation: 0, facts: undefined, outcome: undefined, waiters: new Set(), written: undefined, exec, kind };
      this.tracked.set(tgid, entry);
    } else {
      entry.exec = exec;
      entry.kind = kind;
      // Same object, so callers already waiting get the new outcome (and check its start time)...
      entry.generation++;
      entry.startTime = startTime;
      entry.execSeq = execSeq;
      entry.facts = undefined;
      entry.outcome = undefined;
      entry.written = undefined;
      // ...except those whose connection came from another program image: that image is gone.
      if (execSeq !== undefined) {
        for (const waiter of [...entry.waiters]) {
          if (waiter.execSeq === undefined || waiter.execSeq === execSeq) continue;
          entry.waiters.delete(waiter);
          waiter.done(execed(tgid, waiter.execSeq, execSeq));
        }
      }
    }
    this.queue.add(tgid);
    return entry;
  }

  private forget(tgid: number, reason: AgentError): void {
    const entry = this.tracked.get(tgid);
    if (entry === undefined) return;
    this.tracked.delete(tgid);
    this.queue.remove(tgid);
    this.notify(entry, reason);
  }

  private async attestJob(tgid: number): Promise<void> {
    const entry = this.tracked.get(tgid);
    if (entry === undefined || entry.outcome !== undefined) return;
    const generation = entry.generation;
    const current = (): boolean => !this.closed && this.tracked.get(tgid) === entry && entry.generation === generation;
    try {
      if (entry.execSeq === undefined) entry.execSeq = this.sink.execSeq?.(tgid);
      const image = this.sink.image?.(tgid) ?? null;
      const origin = this.originOf(entry, image);
      if (origin === 'await-exec') return; // its exec event brings the record and re-queues the job
      if (origin !== 'proc' && origin !== 'predating') {
        await this.inherit(entry, origin, current);
        return;
      }
      const facts = await readProcessFacts(
        tgid,
        { hashes: this.hashes, passwd: this.passwd },
        entry.exec !== undefined ? { exec: entry.exec } : origin === 'predating' ? { predating: true } : image === null ? {} : { executed: image },
      );
      if (!current()) return;
      if (facts.startTimeTicks !== ticksFromNs(entry.startTime)) {
        // /proc/<tgid> is already a newer process; its own exec event will attest it.
        this.forget(tgid, new AgentError(ATTEST_ERR.GONE, `process ${tgid} exited before it was attested`));
        return;
      }
      const seqNow = this.sink.execSeq?.(tgid);
      if (entry.execSeq !== undefined && seqNow !== undefined && seqNow !== entry.execSeq) {
        // It exec'd before or while we read: the facts may be the newer image's. Attest that one.
        this.track(tgid, entry.startTime, seqNow, 'lazy');
        return;
      }
      this.decide(entry, facts);
    } catch (err) {
      if (!current()) return;
      const error = err instanceof AgentError ? err : new AgentError(ATTEST_ERR.FACTS, String(err), { cause: err });
      if (error.code === ATTEST_ERR.GONE) {
        this.forget(tgid, error);
        return;
      }
      const seqNow = this.sink.execSeq?.(tgid);
      if (error.code === ATTEST_ERR.EXE_MISMATCH && entry.execSeq !== undefined && seqNow !== undefined && seqNow !== entry.execSeq) {
        // It exec'd again while we read: /proc shows the newer image, whose own exec event attests it.
        this.track(tgid, entry.startTime, seqNow, 'lazy');
        return;
      }
      // Fail closed: a process whose facts cannot be read gets nothing.
      this.log.warn({ tgid, code: error.code, err: error.message }, 'attestation failed; process left unbound');
      entry.outcome = error;
      this.write(entry, 'unbound', 0);
      this.notify(entry, error);
    }
  }

  /**
   * Where a job gets its facts: 'proc' — the exec record it has, or /proc checked against the kernel's
   * image (a process exec'd before this agent started); 'predating' — /proc with the stand-in checks
   * (no kernel image at all); 'await-exec' — its own exec event is still coming; otherwise the image
   * of another process to inherit from (a child forked without exec: never re-read from /proc).
   */
  private originOf(entry: Tracked, image: ImageRecord | null): 'proc' | 'predating' | 'await-exec' | ImageRecord {
    if (entry.exec !== undefined) return 'proc';
    if (image === null || image.execSeq === 0) return this.sink.image === undefined ? 'proc' : 'predating';
    const self = image.originTgid === entry.tgid && sameStart(image.originStart, entry.startTime);
    // Its own exec: an exec event without a record (or the scan) reads /proc against the kernel's file; a lazy one waits for its event.
    if (self) return entry.kind === 'lazy' ? 'await-exec' : 'proc';
    return image;
  }

  /** A child forked without exec runs its origin's image: it gets the origin's facts, never its own /proc. */
  private async inherit(entry: Tracked, image: ImageRecord, current: () => boolean): Promise<void> {
    const key = imageKey(image.originTgid, image.originStart, image.execSeq);
    let facts = this.imageFacts.get(key);
    if (facts === undefined) {
      const origin = this.tracked.get(image.originTgid);
      if (origin !== undefined && sameStart(origin.startTime, image.originStart) && origin.execSeq === image.execSeq) {
        const outcome = origin.outcome ?? (await new Promise<Outcome>((resolve) => origin.waiters.add({ execSeq: image.execSeq, done: resolve })));
        if (!(outcome instanceof AgentError)) facts = outcome.facts;
      }
    }
    if (!current()) return;
    if (facts === undefined) {
      if (entry.kind === 'scan') {
        // Start-up after a restart: the origin's verdict went with the old agent. Its exe is still checked against the kernel's record.
        entry.kind = 'lazy';
        const recovered = await readProcessFacts(entry.tgid, { hashes: this.hashes, passwd: this.passwd }, { executed: image });
        if (current()) this.decide(entry, recovered);
        return;
      }
      this.unbindUnknownImage(entry);
      return;
    }
    this.decide(entry, facts);
  }

  /** A child whose image's verdict is gone (origin exited, cache full): it gets nothing, never a /proc read. */
  private unbindUnknownImage(entry: Tracked): void {
    const error = new AgentError(ATTEST_ERR.FACTS, `process ${entry.tgid}: the verdict of the program image it runs is no longer known; left unbound`, { status: 403 });
    entry.outcome = error;
    this.write(entry, 'unbound', 0);
    this.notify(entry, error);
  }

  /** Matches facts against the current policy, writes the decision, answers waiters. */
  private decide(entry: Tracked, facts: ProcessFacts): void {
    const taint = this.taintOf(entry.tgid);
    const match = taint !== 0 ? ({ state: 'unbound', reason: 'tainted' } as const) : this.matcher.match(facts);
    const bound = match.state === 'bound' ? match : undefined;
    if (entry.kind === 'exec' || (entry.kind === 'scan' && entry.execSeq !== undefined && entry.execSeq > 0)) this.rememberImage(entry, facts);
    const attestation: Attestation = {
      tgid: entry.tgid,
      startTime: entry.startTime,
      execSeq: entry.execSeq,
      facts,
      state: match.state,
      bindingIndex: bound?.workload.index ?? 0,
      workload: bound?.workload.workload,
      spiffeId: bound?.workload.spiffeId,
      bindings: bound?.bindings ?? [],
      reason: match.state === 'unbound' ? match.reason : undefined,
      ...(taint !== 0 ? { taint } : {}),
    };
    if (match.state === 'unbound' && match.reason === 'ambiguous') {
      this.log.warn(
        { tgid: entry.tgid, exePath: facts.exePath, sha256: facts.sha256, workloads: match.workloads },
        'process matches several workloads; refused as ambiguous (unbound)',
      );
    }
    if (match.state === 'unbound' && match.reason === 'injection-env') {
      this.log.warn(
        { tgid: entry.tgid, exePath: facts.exePath, sha256: facts.sha256, workload: match.workload, variables: match.variables, envComplete: match.envComplete },
        match.envComplete ? 'process environment holds code-injection variables its identity does not allow (env:allow); unbound'
          : 'process environment could not be read whole; unbound',
      );
    }
    entry.facts = facts;
    entry.outcome = attestation;
    this.write(entry, attestation.state, attestation.bindingIndex);
    this.notify(entry, attestation);
  }

  private write(entry: Tracked, state: 'bound' | 'unbound', bindingIndex: number): void {
    const guardedSignals = state === 'bound' && entry.facts !== undefined ? debuggerSignals(entry.facts) : 0;
    const written = `${state}:${bindingIndex}:${guardedSignals}`;
    if (entry.written === written) return;
    const applied = this.sink.set(entry.tgid, {
      state,
      bindingIndex,
      ...(guardedSignals !== 0 ? { guardedSignals } : {}),
      startTime: entry.startTime,
      ...(entry.execSeq === undefined ? {} : { execSeq: entry.execSeq }),
    });
    // Refused: the process exec'd since; its exec event restarts attestation for the new image.
    entry.written = applied === false ? undefined : written;
  }

  private notify(entry: Tracked, outcome: Outcome): void {
    const waiters = [...entry.waiters];
    entry.waiters.clear();
    for (const waiter of waiters) waiter.done(outcome);
  }

  private waitFor(entry: Tracked, execSeq: number | undefined): Promise<Outcome> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        entry.waiters.delete(waiter);
        resolve(new AgentError(ATTEST_ERR.TIMEOUT, `attestation of process ${entry.tgid} did not finish in ${this.pendingTimeoutMs} ms`, { status: 503 }));
      }, this.pendingTimeoutMs);
      const waiter: Waiter = {
        execSeq,
        done: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      entry.waiters.add(waiter);
    });
  }

  private rememberImage(entry: Tracked, facts: ProcessFacts): void {
    if (entry.execSeq === undefined) return;
    const key = imageKey(entry.tgid, entry.startTime, entry.execSeq);
    this.imageFacts.delete(key);
    this.imageFacts.set(key, facts);
    while (this.imageFacts.size > IMAGE_FACTS_LIMIT) this.imageFacts.delete(this.imageFacts.keys().next().value as string);
  }

  /**
   * Attests every live user process not yet known; resolves when all of them have an outcome. At
   * start-up ('start') every process is a scan; later ('reconcile') only processes without a kernel
   * image are (they predate the agent, or are children of such), and the others inherit or await
   * their exec event.
   */
  private async scanUntracked(when: 'start' | 'reconcile' = 'start'): Promise<number> {
    const started: Tracked[] = [];
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const tgid = Number(name);
      if (this.tracked.has(tgid)) continue;
      let stat;
      try {
        stat = readProcStat(tgid);
      } catch {
        continue; // exited meanwhile
      }
      if (isKernelThread(stat)) continue;
      const hasImage = when === 'reconcile' && (this.sink.image?.(tgid)?.execSeq ?? 0) > 0;
      const entry = this.track(tgid, nsFromTicks(stat.startTimeTicks), undefined, hasImage ? 'lazy' : 'scan');
      if (!hasImage) started.push(entry);
    }
    await Promise.all(started.map((entry) => (entry.outcome !== undefined ? undefined : this.settledOrGone(entry))));
    return started.length;
  }

  private settledOrGone(entry: Tracked): Promise<void> {
    return new Promise((resolve) => entry.waiters.add({ execSeq: undefined, done: () => resolve() }));
  }
}

function imageKey(originTgid: number, originStart: bigint, execSeq: number): string {
  return `${originTgid}:${ticksFromNs(originStart)}:${execSeq}`;
}

function execed(tgid: number, connectedSeq: number, nowSeq: number): AgentError {
  return new AgentError(
    ATTEST_ERR.EXECED,
    `process ${tgid} exec'd after it connected (exec ${connectedSeq}, now ${nowSeq}); the connection belongs to the program that opened it`,
    { status: 403 },
  );
}

function pidReused(tgid: number, startTime: bigint, liveTicks: bigint): AgentError {
  return new AgentError(
    ATTEST_ERR.PID_REUSED,
    `process ${tgid} is not the one the kernel saw (start ${ticksFromNs(startTime)} ticks, now ${liveTicks}): pid reused`,
    { status: 403 },
  );
}
