import { runDoctor } from '../../steering/doctor.js';

export const summary = 'check this host can steer connections (kernel features + a live test); --json for machines';

export async function run(argv: string[]): Promise<number> {
  const json = argv.includes('--json');
  const unknown = argv.filter((a) => a !== '--json');
  if (unknown.length > 0) {
    process.stderr.write(`sigil-agent doctor: unknown option ${unknown[0]}\nusage: sigil-agent doctor [--json]\n`);
    return 2;
  }
  const report = await runDoctor();
  if (json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    for (const c of report.checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
    process.stdout.write(report.ok ? 'all checks passed\n' : 'some checks failed\n');
  }
  return report.ok ? 0 : 1;
}
