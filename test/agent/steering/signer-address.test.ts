import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { unprivilegedPortProblem, unprivilegedPortStart } from '../../../agent/steering/index.js';

test('the default signer port is privileged under the kernel default; a lowered sysctl or a high port is a problem that says what to do', (t) => {
  t.is(unprivilegedPortProblem(944, 1024), undefined);
  t.regex(unprivilegedPortProblem(944, 80) ?? '', /ip_unprivileged_port_start is 80.*any local user/);
  t.regex(unprivilegedPortProblem(944, 0) ?? '', /sysctl -w net\.ipv4\.ip_unprivileged_port_start=1024/);
  t.regex(unprivilegedPortProblem(15443, 1024) ?? '', /not privileged/);
});

test('the sysctl is read from /proc, and an unreadable or odd value means the kernel default', (t) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sigil-sysctl-'));
  try {
    const file = path.join(dir, 'ip_unprivileged_port_start');
    writeFileSync(file, '500\n');
    t.is(unprivilegedPortStart(file), 500);
    writeFileSync(file, 'x\n');
    t.is(unprivilegedPortStart(file), 1024);
    t.is(unprivilegedPortStart(path.join(dir, 'absent')), 1024);
    t.true(Number.isInteger(unprivilegedPortStart()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
