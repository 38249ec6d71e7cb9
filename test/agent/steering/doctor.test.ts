/**
 * `sigil-agent doctor` on this machine's real kernel: every check passes (it attaches in a throw-away
 * cgroup and pin dir of its own and removes them), including the identity-protection mode and the
 * live taint check, and the kernel view matches exactly the cgroup programs the build ships.
 */
import { existsSync } from 'node:fs';
import { runDoctor } from '../../../agent/steering/doctor.js';
import { kernelTest as test } from '../../helpers/kernel.js';

test('doctor passes every check on this kernel and cleans up after itself', async (t) => {
  t.timeout(120_000);
  const report = await runDoctor();
  const failed = report.checks.filter((c) => !c.ok);
  t.deepEqual(failed, [], JSON.stringify(failed));
  const names = report.checks.map((c) => c.name);
  for (const name of ['identity protection mode', 'a user namespace taints the process (kernel)', 'kernel view (BPF_PROG_QUERY)', 'cleanup']) {
    t.true(names.includes(name), `${name} was checked`);
  }
  const mode = report.checks.find((c) => c.name === 'identity protection mode')!.detail;
  t.regex(mode, /^(enforce|taint-only): /);
  t.false(existsSync('/sys/fs/bpf/sigil-doctor'), 'no doctor pins left');
});
