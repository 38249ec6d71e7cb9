/**
 * Why a demo (or test) workload run did not do what was expected, in words an operator can act on:
 * the runner's own exit codes (97: joining the cgroup, 98: the private /etc/hosts), a missing tool,
 * a kill, the program's own failure with the tail of its stderr, and each request that came out
 * differently than expected with its status and SIGIL code.
 */
import type { WorkloadRun } from './workload-runner.js';

/** The runner's exit codes (workload-runner.ts SCRIPT) and the shell's, with what to check. */
const RUNNER_EXITS: Record<number, string> = {
  97: 'the runner could not move the workload into the steered cgroup (writing its cgroup.procs failed): '
    + 'check that the cgroup still exists, that cgroup2 is mounted (`findmnt -t cgroup2`) and that the demo runs as root',
  98: 'the runner could not bind-mount the workload\'s private /etc/hosts (unshare --mount, then mount --bind): '
    + 'this needs root with CAP_SYS_ADMIN in a mount namespace it may change; in a container, run it privileged',
  126: 'a program of the chain (sh → unshare → setpriv → the workload) is not executable',
  127: 'a program of the chain (sh → unshare → setpriv → the workload) was not found: install util-linux (unshare, setpriv)',
};

const STDERR_TAIL_LINES = 15;

function stderrTail(run: Pick<WorkloadRun, 'stderr'>): string {
  const lines = run.stderr.trimEnd().split('\n').filter((l) => l !== '');
  if (lines.length === 0) return '  (its stderr was empty)';
  const shown = lines.slice(-STDERR_TAIL_LINES).map((l) => `  | ${l}`);
  return [lines.length > STDERR_TAIL_LINES ? `  (last ${STDERR_TAIL_LINES} of ${lines.length} stderr lines)` : '  stderr:', ...shown].join('\n');
}

/** How a run ended, when it did not end well; undefined for exit code 0. */
export function exitProblem(run: Pick<WorkloadRun, 'code' | 'signal' | 'stderr'>): string | undefined {
  if (run.code === 0) return undefined;
  if (run.code === null) {
    return `it was killed (${run.signal ?? 'signal'}): it ran past the runner's timeout, or something stopped it\n${stderrTail(run)}`;
  }
  const known = RUNNER_EXITS[run.code];
  return `${known ? `exit code ${run.code}: ${known}` : `the workload itself exited with code ${run.code}`}\n${stderrTail(run)}`;
}

/**
 * Every way `run` differs from what was expected: `served` (every request accepted) or `refused`
 * (every request refused by the service). Empty when it went as expected.
 */
export function explainRun(label: string, run: Pick<WorkloadRun, 'code' | 'signal' | 'stderr' | 'lines'>, expect: 'served' | 'refused'): string[] {
  const problems: string[] = [];
  const exit = exitProblem(run);
  // The workload reports refusals as result lines and exits 0 either way: any other exit is a problem.
  if (exit !== undefined) problems.push(`${label}: ${exit}`);
  if (run.lines.length === 0) {
    if (exit === undefined) problems.push(`${label}: the workload printed no results (expected one JSON line per request)\n${stderrTail(run)}`);
    return problems;
  }
  for (const line of run.lines) {
    const op = String(line['op'] ?? '?');
    const outcome = `${String(line['status'] ?? '')} ${String(line['code'] ?? '')}`.trim();
    if (expect === 'served' && line['ok'] !== true) {
      problems.push(`${label}: ${op} was refused (${outcome || 'no status'})${line['cause'] ? `: ${String(line['cause'])}` : ''}; `
        + 'a SIGIL_ERR_ code comes from the agent (see its log above and `sigil fleet status`), a plain 401 from the service (the request was not signed by the agent: is the workload bound and steered?)');
    }
    if (expect === 'refused' && line['ok'] === true) {
      problems.push(`${label}: ${op} was served although this program is not bound: the service accepted a request it should have refused`);
    }
  }
  return problems;
}
