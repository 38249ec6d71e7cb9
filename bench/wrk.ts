/**
 * wrk, Debian's native HTTP load generator, as the signer's client: its requests are plain (through
 * Sigil the agent signs them, since wrk's binary is bound by its sha256), or carry headers signed
 * once ahead (straight to the stand-in, or through the nginx anchor). A Lua `done` hook prints one
 * JSON line; latencies are wrk's own, in µs.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface WrkResult {
  requests: number;
  errors: number;
  durationUs: number;
  rps: number;
  latencyUs: { p50: number; p99: number; max: number };
}

const REPORT = `
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('{"requests":%d,"errors":%d,"durationUs":%d,"p50":%d,"p99":%d,"max":%d}\\n',
    summary.requests, e.connect + e.read + e.write + e.status + e.timeout, summary.duration,
    latency:percentile(50), latency:percentile(99), latency.max))
end
`;

/** Writes the report script (world-readable: wrk runs as the workload user) and returns its path. */
export async function wrkScript(dir: string): Promise<string> {
  const file = path.join(dir, 'wrk-report.lua');
  await writeFile(file, REPORT, { mode: 0o644 });
  return file;
}

export interface WrkRun {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
  script: string;
}

/** wrk's argument list for one run: one thread (a native client that never saturates first at this load). */
export function wrkArgs(run: WrkRun): string[] {
  const args = ['-t1', `-c${run.connections}`, `-d${run.seconds}s`, '--timeout', '10s', '-s', run.script];
  for (const [name, value] of Object.entries(run.headers ?? {})) args.push('-H', `${name}: ${value}`);
  args.push(run.url);
  return args;
}

/** The JSON line of the report script, as a WrkResult. */
export function parseWrk(line: Record<string, unknown> | undefined, output: string): WrkResult {
  if (!line || typeof line['requests'] !== 'number') throw new Error(`wrk printed no report: ${output}`);
  const n = (k: string): number => Number(line[k]);
  const durationUs = n('durationUs');
  return {
    requests: n('requests'),
    errors: n('errors'),
    durationUs,
    rps: Math.round((n('requests') / durationUs) * 1e6 * 10) / 10,
    latencyUs: { p50: n('p50'), p99: n('p99'), max: n('max') },
  };
}
