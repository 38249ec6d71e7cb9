/**
 * The guest's report as run-vm.ts reads it from the second serial port: lines `SIGIL-VM {json}` and a
 * final `SIGIL-VM-DONE`. A serial tty turns "\n" into "\r\n" (and may add NULs or stray bytes at
 * the start of a line), so lines are matched after stripping those, never compared raw.
 */
export interface VmSection {
  section: string;
  data: unknown;
}

export interface VmReport {
  done: boolean;
  sections: VmSection[];
  /** Lines that looked like a section but did not parse (shown, and counted as a failure). */
  garbled: string[];
}

const MARK = 'SIGIL-VM ';
const DONE = 'SIGIL-VM-DONE';

export function parseVmReport(text: string): VmReport {
  const report: VmReport = { done: false, sections: [], garbled: [] };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[\r\0]/g, '').trim();
    if (line.endsWith(DONE)) {
      report.done = true;
      continue;
    }
    const at = line.indexOf(MARK);
    if (at < 0) continue;
    try {
      const parsed = JSON.parse(line.slice(at + MARK.length)) as VmSection;
      if (typeof parsed.section === 'string') report.sections.push(parsed);
      else report.garbled.push(line);
    } catch {
      report.garbled.push(line);
    }
  }
  return report;
}

/** Why the VM test fails, or [] when the guest passed: units active, doctor rc 0, demo rc 0 (or skipped). */
export function vmFailures(report: VmReport): string[] {
  if (!report.done) return ['the guest did not finish its report'];
  const data = (name: string): unknown => report.sections.find((s) => s.section === name)?.data;
  const units = data('units') as Record<string, { ActiveState: string }> | undefined;
  const doctor = data('doctor') as { rc: number } | undefined;
  const demo = data('demo') as { rc?: number; skipped?: string } | undefined;
  return [
    ...(units ? [] : ['no unit states in the report']),
    ...Object.entries(units ?? {}).filter(([, u]) => u.ActiveState !== 'active').map(([name, u]) => `${name} is ${u.ActiveState}`),
    ...(doctor?.rc === 0 ? [] : ['sigil-agent doctor failed']),
    ...(demo && demo.skipped === undefined && demo.rc !== 0 ? ['the demo failed'] : []),
    ...report.garbled.map((l) => `unreadable report line: ${l.slice(0, 120)}`),
  ];
}

/**
 * The Debian package scenario (SIGIL_VM_DEB=1, test/vm/deb-guest-check.sh): every `deb-check` passed,
 * and the last one (programs detached after purge) was reached.
 */
export function debFailures(report: VmReport): string[] {
  if (!report.done) return ['the guest did not finish its report'];
  const checks = report.sections.filter((s) => s.section === 'deb-check').map((s) => s.data as { name: string; ok: boolean; detail: string });
  return [
    ...(checks.some((c) => c.name === 'units-gone') ? [] : ['the purge checks were not reached']),
    ...checks.filter((c) => c.ok !== true).map((c) => `${c.name}: ${c.detail.split('\n').slice(-3).join(' | ')}`),
    ...report.garbled.map((l) => `unreadable report line: ${l.slice(0, 120)}`),
  ];
}
