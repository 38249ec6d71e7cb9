/**
 * run-vm.ts's reading of the guest report, on transcripts as the serial console delivers them
 * (CRLF line ends, NULs, noise before a line) and on failing guests, so a passing guest exits 0 and
 * a failing or unfinished one does not.
 */
import test from 'ava';
import { debFailures, parseVmReport, vmFailures } from './vm-report.js';

const UNITS = { 'nats-server.service': { ActiveState: 'active' }, 'sigil-controlplane.service': { ActiveState: 'active' }, 'sigil-agent.service': { ActiveState: 'active' } };
const line = (section: string, data: unknown): string => `SIGIL-VM ${JSON.stringify({ section, data })}`;

function transcript(eol: string, sections: Array<[string, unknown]>, done = true): string {
  return [...sections.map(([s, d]) => line(s, d)), ...(done ? ['SIGIL-VM-DONE'] : [])].join(eol) + eol;
}

const PASSING: Array<[string, unknown]> = [['units', UNITS], ['doctor', { rc: 0, passed: 27, total: 27 }], ['demo', { rc: 0, ok: '5/5 and 5/5' }]];

test('a passing guest over a CRLF serial console has no failures (exit 0)', (t) => {
  const report = parseVmReport(transcript('\r\n', PASSING));
  t.true(report.done);
  t.deepEqual(report.sections.map((s) => s.section), ['units', 'doctor', 'demo']);
  t.deepEqual(vmFailures(report), []);
});

test('plain LF, a lone CR line end, NULs and noise before a line read the same', (t) => {
  t.deepEqual(vmFailures(parseVmReport(transcript('\n', PASSING))), []);
  t.deepEqual(vmFailures(parseVmReport(transcript('\r\r\n', PASSING))), []);
  const noisy = `\0\0${line('units', UNITS)}\r\n[  OK  ] ${line('doctor', { rc: 0 })}\r\n${line('demo', { skipped: 'no network' })}\r\n\0SIGIL-VM-DONE\r\n`;
  t.deepEqual(vmFailures(parseVmReport(noisy)), []);
});

test('an unfinished report, a failed unit, doctor or demo, or a garbled line is a failure', (t) => {
  t.deepEqual(vmFailures(parseVmReport(transcript('\r\n', PASSING, false))), ['the guest did not finish its report']);
  t.deepEqual(vmFailures(parseVmReport(transcript('\r\n', [['units', { ...UNITS, 'sigil-agent.service': { ActiveState: 'failed' } }], ['doctor', { rc: 0 }]]))), ['sigil-agent.service is failed']);
  t.deepEqual(vmFailures(parseVmReport(transcript('\r\n', [['units', UNITS], ['doctor', { rc: 1 }], ['demo', { rc: 2 }]]))), ['sigil-agent doctor failed', 'the demo failed']);
  t.deepEqual(vmFailures(parseVmReport(transcript('\r\n', [['doctor', { rc: 0 }]]))), ['no unit states in the report']);
  const garbled = `${line('units', UNITS)}\r\n${line('doctor', { rc: 0 })}\r\nSIGIL-VM {"section":"demo","da\r\nSIGIL-VM-DONE\r\n`;
  t.deepEqual(vmFailures(parseVmReport(garbled)), ['unreadable report line: SIGIL-VM {"section":"demo","da']);
});

test('the .deb scenario passes only when every check passed and the purge checks were reached', (t) => {
  const check = (name: string, ok: boolean, detail = ''): [string, unknown] => ['deb-check', { name, ok, detail }];
  t.deepEqual(debFailures(parseVmReport(transcript('\r\n', [check('install', true), check('pins-kept', true), check('units-gone', true)]))), []);
  t.deepEqual(debFailures(parseVmReport(transcript('\n', [check('install', true), check('pins-kept', false, 'a\nb\nc\nd')]))),
    ['the purge checks were not reached', 'pins-kept: b | c | d']);
  t.deepEqual(debFailures(parseVmReport(transcript('\n', [check('units-gone', true)], false))), ['the guest did not finish its report']);
});
