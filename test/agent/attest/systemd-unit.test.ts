import test from 'ava';
import { readFileSync, readdirSync } from 'node:fs';
import { systemdUnitFromCgroup } from '../../../agent/attest/systemd-unit.js';

// Compiled to dist/test/agent/attest/: the fixtures stay in the source tree.
const FIXTURES = new URL('../../../../test/fixtures/attest/cgroup/', import.meta.url);
const expected = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8')) as Record<string, string | null>;

test('every cgroup fixture has an expectation', (t) => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.txt')).sort();
  t.true(files.length >= 10);
  t.deepEqual(files, Object.keys(expected).sort());
});

for (const [file, unit] of Object.entries(expected)) {
  test(`systemd unit of ${file} is ${unit ?? 'none'}`, (t) => {
    const text = readFileSync(new URL(file, FIXTURES), 'utf8');
    t.is(systemdUnitFromCgroup(text), unit ?? undefined);
  });
}

test('hybrid hosts: the name=systemd hierarchy wins over the unified line', (t) => {
  const text = '1:name=systemd:/system.slice/real.service\n0::/system.slice/other.service\n';
  t.is(systemdUnitFromCgroup(text), 'real.service');
});

test('the unit of this very process is read from the live /proc/self/cgroup without error', (t) => {
  const text = readFileSync('/proc/self/cgroup', 'utf8');
  const unit = systemdUnitFromCgroup(text);
  t.true(unit === undefined || /\.(service|scope)$/.test(unit));
});
