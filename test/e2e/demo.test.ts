/** The Quick start demo, as a user runs it: `npm run demo -- --json` ends with a summary line. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { kernelTest, requireBpf } from '../helpers/kernel.js';
import { ROOT } from './stack.js';

kernelTest('the demo serves the bound workload (an unprivileged uid, no capabilities), refuses the unbound copy and reports a healthy agent', async (t) => {
  if (!requireBpf(t)) return;
  t.timeout(5 * 60_000); // a whole stack from nothing, on a loaded CI machine
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'dist/test/e2e/demo-main.js'), '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.on('exit', (c) => resolve({ code: c, stdout: out, stderr: err }));
  });
  t.is(code, 0, stderr);
  const lines = stdout.trim().split('\n');
  t.is(lines.length, 1, 'with --json only the summary line is printed');
  const summary = JSON.parse(lines[0] ?? '{}') as {
    ok: boolean; workload: { uids: number[]; capEff: string; capAmb: string };
    bound: { accepted: number; made: number }; unbound: { accepted: number; refused: number }; fleet: Array<{ state: string }>;
  };
  t.true(summary.ok);
  // The bound workload ran as an unprivileged user with no capability at all (real, effective, saved, fs uid).
  t.is(summary.workload.uids.length, 4, JSON.stringify(summary.workload));
  t.true(summary.workload.uids.every((u) => u !== 0), JSON.stringify(summary.workload));
  t.is(summary.workload.capEff, '0000000000000000');
  t.is(summary.workload.capAmb, '0000000000000000');
  t.is(summary.bound.accepted, 5);
  t.is(summary.unbound.accepted, 0);
  t.is(summary.unbound.refused, 5);
  t.deepEqual(summary.fleet.map((a) => a.state), ['healthy']);
});
