/**
 * Runs INSIDE the VM (test/vm/run-vm.ts boots it), started by sigil-vm-check.service once systemd has
 * started the Sigil units. Reports, one JSON line per finding on the second serial port (/dev/ttyS1),
 * what an operator would look at: unit states, doctor, the admin and discovery endpoints, the demo.
 * Then powers the VM off.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, openSync, writeSync } from 'node:fs';

const OUT = process.argv[2] ?? '/dev/ttyS1';
const PREFIX = '/opt/sigil';
const UNITS = ['sigil-nats.service', 'sigil-controlplane.service', 'sigil-agent.service'];
const out = openSync(OUT, 'w');
const report = (section: string, data: unknown): void => { writeSync(out, `SIGIL-VM ${JSON.stringify({ section, data })}\n`); };

const unitState = (unit: string): Record<string, string> => {
  const text = execFileSync('systemctl', ['show', unit, '-p', 'ActiveState,SubState,Result,NRestarts,ExecMainStatus,StatusText'], { encoding: 'utf8' });
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function settle(unit: string, timeoutMs: number): Promise<Record<string, string>> {
  const until = Date.now() + timeoutMs;
  let state = unitState(unit);
  while (state['ActiveState'] !== 'active' && Date.now() < until) {
    await sleep(1_000);
    state = unitState(unit);
  }
  return state;
}

async function probe(url: string): Promise<{ status: number | string; body?: string }> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return { status: res.status, body: (await res.text()).slice(0, 400) };
  } catch (err) {
    return { status: (err as Error).message };
  }
}

function run(args: string[], timeoutMs: number): { rc: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: timeoutMs });
  return { rc: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '').slice(-2000) };
}

/** As the Vagrantfile does: a join token from the control plane, `sigil-agent enroll`, restart the agent. */
async function enrol(): Promise<unknown> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline && typeof (await probe('http://127.0.0.1:8787/.well-known/openid-configuration')).status !== 'number') await sleep(2_000);
  const env = { ...process.env, SIGIL_TOKEN_FILE: '/var/lib/sigil/controlplane/admin.token' };
  const token = spawnSync(process.execPath, [`${PREFIX}/dist/controlplane/cli/main.js`, 'token', 'create', '--ttl', '10m', '--labels', 'role=vm-test'], { encoding: 'utf8', env, timeout: 60_000 });
  if (token.status !== 0) return { ok: false, step: 'sigil token create', rc: token.status, stderr: token.stderr.slice(-1000) };
  const enrolled = spawnSync(process.execPath, [`${PREFIX}/dist/agent/cli/main.js`, 'enroll', '--token', token.stdout.trim(), '--control-plane', 'http://127.0.0.1:8787'], { encoding: 'utf8', timeout: 60_000 });
  if (enrolled.status !== 0) return { ok: false, step: 'sigil-agent enroll', rc: enrolled.status, stderr: enrolled.stderr.slice(-1000) };
  spawnSync('systemctl', ['restart', '--no-block', 'sigil-agent.service']);
  return { ok: true, stdout: enrolled.stdout.trim() };
}

async function main(): Promise<void> {
  report('started', { uptimeSeconds: Number(execFileSync('cat', ['/proc/uptime'], { encoding: 'utf8' }).split(' ')[0]) });
  report('kernel', { release: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), btf: existsSync('/sys/kernel/btf/vmlinux'), node: process.version, pid1: execFileSync('ps', ['-o', 'comm=', '-p', '1'], { encoding: 'utf8' }).trim() });
  report('enrol', await enrol());
  const units: Record<string, Record<string, string>> = {};
  // Software emulation is slow: give the units together up to 4 minutes to come up.
  const deadline = Date.now() + 240_000;
  for (const unit of UNITS) units[unit] = await settle(unit, Math.max(0, deadline - Date.now()));
  report('units', units);
  for (const unit of UNITS) {
    if (units[unit]!['ActiveState'] !== 'active') {
      const journal = spawnSync('journalctl', ['-u', unit, '-n', '25', '--no-pager', '-o', 'cat'], { encoding: 'utf8' }).stdout;
      report('journal', { unit, lines: journal.trim().split('\n') });
    }
  }

  const doctor = run([`${PREFIX}/dist/agent/cli/main.js`, 'doctor', '--json'], 60_000);
  let doctorReport: unknown = doctor.stdout;
  try { doctorReport = JSON.parse(doctor.stdout); } catch { /* reported raw */ }
  report('doctor', { rc: doctor.rc, report: doctorReport, stderr: doctor.stderr });

  report('controlplane-discovery', await probe('http://127.0.0.1:8787/.well-known/openid-configuration'));
  report('agent-readyz', await probe('http://127.0.0.1:9464/readyz'));
  report('agent-metrics', await probe('http://127.0.0.1:9464/metrics'));

  const demo = `${PREFIX}/dist/test/e2e/demo-main.js`; // `npm run demo`
  if (existsSync(demo)) {
    const r = run([demo, '--json'], 240_000);
    const last = r.stdout.trim().split('\n').pop() ?? '';
    let summary: unknown = last;
    try { summary = JSON.parse(last); } catch { /* reported raw */ }
    report('demo', { rc: r.rc, summary, stderr: r.rc === 0 ? '' : r.stderr });
  } else {
    report('demo', { skipped: `${demo} is not in this build` });
  }
}

main()
  .catch((err: unknown) => report('error', { message: (err as Error).stack ?? String(err) }))
  .finally(() => {
    writeSync(out, 'SIGIL-VM-DONE\n');
    spawnSync('systemctl', ['poweroff', '--no-block']);
  });
