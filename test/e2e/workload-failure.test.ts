/**
 * A demo workload that fails says why: the runner's real exit codes (97: the cgroup, 127: a missing
 * program) caused for real, and explainRun's words for each way a run can differ from expected.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, rmdir } from 'node:fs/promises';
import path from 'node:path';
import { findCgroup2Mount } from '../../agent/steering/index.js';
import { gatedTest } from '../helpers/ci.js';
import { explainRun } from './workload-failure.js';
import { runWorkload, type WorkloadRun } from './workload-runner.js';

const rootTest = gatedTest(process.getuid?.() === 0 ? undefined : 'not root (the runner joins a cgroup and bind-mounts /etc/hosts)', 'workload runner');

const run = (over: Partial<WorkloadRun>): WorkloadRun => ({ code: 0, lines: [], stdout: '', stderr: '', pid: 1, ...over });

rootTest('a cgroup that does not exist: exit 97, explained with what to check and the stderr', async (t) => {
  const cgroup = path.join(await findCgroup2Mount(), `sigil-no-such-${randomBytes(4).toString('hex')}`);
  const result = await runWorkload({ cgroup, hosts: {}, command: '/bin/true', args: [] });
  t.is(result.code, 97);
  const [problem, ...rest] = explainRun('workload', result, 'served');
  t.is(rest.length, 0);
  t.regex(problem ?? '', /^workload: exit code 97: the runner could not move the workload into the steered cgroup/);
  t.regex(problem ?? '', /cgroup\.procs/);
  t.regex(problem ?? '', /\| .*cgroup\.procs/, 'the shell\'s own message is quoted');
});

rootTest('a program that does not exist: the exit code and the exec error are shown', async (t) => {
  const cgroup = path.join(await findCgroup2Mount(), `sigil-runner-${randomBytes(4).toString('hex')}`);
  await mkdir(cgroup);
  t.teardown(() => rmdir(cgroup).catch(() => undefined));
  const result = await runWorkload({ cgroup, hosts: {}, command: '/nonexistent/workload', args: [] });
  t.not(result.code, 0);
  const problems = explainRun('workload', result, 'served');
  t.is(problems.length, 1);
  t.regex(problems[0] ?? '', /exit code 12[67]|exited with code/);
  t.regex(problems[0] ?? '', /\/nonexistent\/workload/, 'the exec error names the program');
});

test('98, a kill, a refused request, a served unbound one and silence are each explained', (t) => {
  t.regex(explainRun('w', run({ code: 98, stderr: 'mount: permission denied' }), 'served')[0] ?? '', /exit code 98: .*private \/etc\/hosts[\s\S]*\| mount: permission denied/);
  t.regex(explainRun('w', run({ code: null, signal: 'SIGKILL' }), 'served')[0] ?? '', /killed \(SIGKILL\)[\s\S]*stderr was empty/);
  const refused = explainRun('w', run({ lines: [{ op: 'getNamespace', ok: true }, { op: 'putObject', ok: false, status: 401, code: 'NotAuthenticated' }] }), 'served');
  t.deepEqual(refused.length, 1);
  t.regex(refused[0] ?? '', /putObject was refused \(401 NotAuthenticated\)/);
  t.regex(explainRun('w', run({ lines: [{ op: 'getNamespace', ok: true }] }), 'refused')[0] ?? '', /getNamespace was served although this program is not bound/);
  t.regex(explainRun('w', run({ stderr: 'Error: boom' }), 'served')[0] ?? '', /printed no results[\s\S]*\| Error: boom/);
  t.deepEqual(explainRun('w', run({ lines: [{ op: 'a', ok: false, status: 401 }] }), 'refused'), []);
  t.deepEqual(explainRun('w', run({ lines: [{ op: 'a', ok: true }] }), 'served'), []);
});
