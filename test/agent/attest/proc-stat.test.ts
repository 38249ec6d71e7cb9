import test from 'ava';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseProcStat, readProcStat, sameStart, ticksFromNs, nsFromTicks } from '../../../agent/attest/proc-stat.js';
import { spawnProcess, tempDir } from './support.js';

test('fields are counted from the last ")" even when comm holds spaces and parentheses', (t) => {
  const line = '4242 (evil) (x) 1 2) S 77 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000000 100\n';
  const stat = parseProcStat(line);
  t.is(stat.state, 'S');
  t.is(stat.ppid, 77);
  t.is(stat.startTimeTicks, 987654n);
});

test('a truncated stat line is a FACTS error, not a wrong number', (t) => {
  t.throws(() => parseProcStat('1 (init) S 0 1'), { code: 'SIGIL_ERR_ATTEST_FACTS' });
});

test('a real process whose comm has spaces and parentheses: ppid and start time are right', async (t) => {
  const dir = tempDir(t);
  const link = join(dir, 'x) (y z) 1 2 3');
  symlinkSync('/bin/sleep', link);
  const before = readProcStat(spawnProcess(t, '/bin/sleep', ['30']).pid).startTimeTicks;
  const odd = spawnProcess(t, link, ['30']);
  const after = readProcStat(spawnProcess(t, '/bin/sleep', ['30']).pid).startTimeTicks;
  const stat = readProcStat(odd.pid);
  t.is(stat.ppid, process.pid);
  t.regex(stat.state, /^[RSD]$/);
  t.true(stat.startTimeTicks >= before && stat.startTimeTicks <= after, `${before} <= ${stat.startTimeTicks} <= ${after}`);
  t.true(before > 0n);
});

test('ns ↔ ticks: the kernel start time in ns names the same /proc tick', (t) => {
  t.is(ticksFromNs(123_456_789_012n), 12_345n);
  t.true(sameStart(nsFromTicks(12_345n), 123_456_789_012n));
  t.false(sameStart(nsFromTicks(12_346n), 123_456_789_012n));
});

test('reading a pid that does not exist is GONE', (t) => {
  t.throws(() => readProcStat(2 ** 22 + 12345), { code: 'SIGIL_ERR_ATTEST_GONE' });
});
