import { readFileSync } from 'node:fs';
import { AgentError } from '../errors.js';
import { ATTEST_ERR } from './errors.js';
import { procError } from './proc-error.js';

/** The few fields of /proc/<pid>/stat that attestation uses. */
export interface ProcStat {
  /** Process state letter (R, S, D, Z, ...). */
  state: string;
  ppid: number;
  /** Kernel task flags; PF_KTHREAD marks kernel threads, which never run a user program. */
  flags: number;
  /** Field 22: start time in clock ticks (USER_HZ) since boot. */
  startTimeTicks: bigint;
}

const PF_KTHREAD = 0x00200000;
/** The kernel reports starttime as nsec_to_clock_t(start_boottime): ns / (1e9 / USER_HZ), USER_HZ = 100. */
const NS_PER_TICK = 10_000_000n;

/**
 * Parses /proc/<pid>/stat. The comm field (2) is in parentheses and may itself contain spaces and
 * parentheses, so the numbered fields are counted from the LAST ')'.
 */
export function parseProcStat(text: string): ProcStat {
  const close = text.lastIndexOf(')');
  const rest = close < 0 ? [] : text.slice(close + 2).trim().split(' ');
  // rest[0] is field 3; field N is rest[N - 3].
  const [state, ppid, flags, start] = [rest[0], rest[1], rest[6], rest[19]];
  if (state === undefined || ppid === undefined || flags === undefined || start === undefined || !/^\d+$/.test(start)) {
    throw new AgentError(ATTEST_ERR.FACTS, `unexpected /proc stat line: ${JSON.stringify(text.slice(0, 200))}`);
  }
  return { state, ppid: Number(ppid), flags: Number(flags), startTimeTicks: BigInt(start) };
}

export function readProcStat(pid: number): ProcStat {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch (err) {
    throw procError(err, pid, 'stat');
  }
}

export function isKernelThread(stat: ProcStat): boolean {
  return (stat.flags & PF_KTHREAD) !== 0;
}

/** Kernel start time (ns since boot) → /proc clock ticks. */
export function ticksFromNs(ns: bigint): bigint {
  return ns / NS_PER_TICK;
}

/** /proc clock ticks → ns since boot (the start of that tick; compare in ticks, never in ns). */
export function nsFromTicks(ticks: bigint): bigint {
  return ticks * NS_PER_TICK;
}

/** True when two start times (ns) denote the same process start at /proc's resolution. */
export function sameStart(aNs: bigint, bNs: bigint): boolean {
  return ticksFromNs(aNs) === ticksFromNs(bNs);
}
