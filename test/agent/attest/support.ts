/**
 * Test support for attestation: an in-memory ProcessStateSink (the kernel process map's stand-in),
 * real processes spawned and killed by pid, temp dirs, and independent sha256 (sha256sum(1)).
 */
import { spawn, execFileSync, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import type { BindingSpec } from '../../../protocol/bindings.js';
import type { ProcessStateEntry, ProcessStateSink, ProcessEvent } from '../../../agent/attest/types.js';
import { nsFromTicks, readProcStat } from '../../../agent/attest/proc-stat.js';

export class MemorySink implements ProcessStateSink {
  readonly entries = new Map<number, ProcessStateEntry>();
  scanCompleteCalls = 0;
  writes = 0;

  set(tgid: number, entry: ProcessStateEntry): void {
    this.writes++;
    this.entries.set(tgid, { ...entry });
  }
  delete(tgid: number): void {
    this.entries.delete(tgid);
  }
  scanComplete(): void {
    this.scanCompleteCalls++;
  }
  stateOf(tgid: number): string | undefined {
    return this.entries.get(tgid)?.state;
  }
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Real start time of the process, in ns since boot as the kernel would report it. */
  startTime: bigint;
  /** The exec event the kernel would emit for it. */
  exec: ProcessEvent;
  /** The exit event; kills the process first (by pid) and waits for it. */
  exit(): Promise<ProcessEvent>;
}

/** Spawns a real process (ended by its pid at teardown). spawn() returns after the exec happened. */
export function spawnProcess(t: ExecutionContext, command: string, args: string[], options: SpawnOptions = {}): Spawned {
  const child = spawn(command, args, { stdio: 'ignore', ...options });
  if (child.pid === undefined) throw new Error(`could not spawn ${command}`);
  const pid = child.pid;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGKILL');
      await exited;
    }
  });
  const startTime = nsFromTicks(readProcStat(pid).startTimeTicks);
  return {
    child,
    pid,
    startTime,
    exec: { type: 'exec', tgid: pid, startTime },
    async exit() {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(pid, 'SIGKILL');
        await exited;
      }
      return { type: 'exit', tgid: pid, startTime };
    },
  };
}

/** A temp dir named sigil-test-attest-*, world-readable (other uids must exec from it), removed at teardown. */
export function tempDir(t: ExecutionContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-test-attest-'));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** sha256 by sha256sum(1): independent of the code under test. */
export function sha256sum(path: string): string {
  return execFileSync('sha256sum', [path], { encoding: 'utf8' }).split(' ')[0]!;
}

export function binding(id: string, workload: string, selectors: string[], destinations = ['objectstorage.us-ashburn-1.oraclecloud.com']): BindingSpec {
  return {
    id,
    workload,
    spiffeId: `spiffe://example.org/${workload}`,
    selectors,
    destinations,
    ttlSeconds: 3600,
    source: 'oci-main',
  };
}

export async function until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
