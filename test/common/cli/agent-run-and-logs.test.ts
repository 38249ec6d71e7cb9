/**
 * `sigil-agent run` refuses to steer the whole host unless told to; a bad log level, from a flag, the
 * environment or a config file, names where it came from and the allowed values (rc 2) in both
 * daemons; log lines carry level names and ISO times, JSON off a terminal and readable on one.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { allHostProblem } from '../../../agent/cli/commands/run.js';
import { createProgramLogger } from '../../../common/log.js';
import { prettyLine } from '../../../common/log-pretty.js';
import { PROGRAMS, ROOT, runProgram } from './run-program.js';

const [, AGENT, SERVER] = PROGRAMS.map((p) => p.main) as [string, string, string];

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sigil-test-run-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('the all-host rule: unset is refused, --all-host or steering.cgroup: / says so, a cgroup needs nothing', (t) => {
  t.regex(allHostProblem('', false) ?? '', /--all-host/);
  t.is(allHostProblem('', true), undefined);
  t.is(allHostProblem('/', false), undefined);
  t.is(allHostProblem('/sys/fs/cgroup/app', false), undefined);
  t.regex(allHostProblem('/sys/fs/cgroup/app', true) ?? '', /contradicts/);
});

test('sigil-agent run with no steering cgroup refuses (rc 2) and asks for --all-host, before touching the kernel', async (t) => {
  const dir = await tempDir(t);
  const config = path.join(dir, 'agent.yaml');
  await writeFile(config, `stateDir: ${dir}/state\nsteering:\n  pinDir: ${dir}/pins\n`);
  const ran = await runProgram(AGENT, ['run', '--config', config]);
  t.is(ran.code, 2, ran.stderr);
  t.regex(ran.stderr, /^sigil-agent run: no steering cgroup is set: the agent would steer every process on this host\. .*--all-host, or steering\.cgroup: \/ in the config/);
  const both = await runProgram(AGENT, ['run', '--config', config, '--all-host', '--cgroup', `${dir}/cg`]);
  t.is(both.code, 2);
  t.regex(both.stderr, /--all-host contradicts steering\.cgroup/);
});

test('the shipped agent config and the unit say steering.cgroup: / (the whole host, on purpose)', async (t) => {
  const { readFile } = await import('node:fs/promises');
  t.regex(await readFile(path.join(ROOT, 'deploy/etc/agent.yaml'), 'utf8'), /^ {2}cgroup: \/ /m);
  t.regex(await readFile(path.join(ROOT, 'deploy/systemd/sigil-agent.service'), 'utf8'), /^ExecStart=.* run --config \/etc\/sigil\/agent\.yaml$/m);
});

test('a bad log level names the flag, the variable or the file field, and the allowed values: rc 2, both daemons', async (t) => {
  const dir = await tempDir(t);
  const allowed = /use one of fatal, error, warn, info, debug, trace, silent/;
  const agentFile = path.join(dir, 'agent.yaml');
  await writeFile(agentFile, `stateDir: ${dir}/state\nlog:\n  level: loud\nsteering:\n  cgroup: ${dir}/cg\n`);
  const serverFile = path.join(dir, 'cp.yaml');
  await writeFile(serverFile, `stateDir: ${dir}/cp\nlog:\n  level: loud\n`);
  const cases: Array<{ main: string; args: string[]; env?: Record<string, string>; says: RegExp }> = [
    { main: AGENT, args: ['run', '--config', agentFile, '--log-level', 'chatty'], says: /--log-level: "chatty" is not a log level/ },
    { main: AGENT, args: ['run', '--config', agentFile], env: { SIGIL_LOG_LEVEL: 'chatty' }, says: /SIGIL_LOG_LEVEL: "chatty" is not a log level/ },
    { main: AGENT, args: ['run', '--config', agentFile], says: new RegExp(`${agentFile.replace(/[.]/g, '\\.')}: log\\.level: "loud" is not a log level`) },
    { main: SERVER, args: ['run', '--config', serverFile, '--log-level', 'chatty'], says: /--log-level: "chatty" is not a log level/ },
    { main: SERVER, args: ['run', '--config', serverFile], env: { SIGIL_LOG_LEVEL: 'chatty' }, says: /SIGIL_LOG_LEVEL: "chatty" is not a log level/ },
    { main: SERVER, args: ['run', '--config', serverFile], says: new RegExp(`${serverFile.replace(/[.]/g, '\\.')}: log\\.level: "loud" is not a log level`) },
  ];
  for (const c of cases) {
    const ran = await runProgram(c.main, c.args, { SIGIL_LOG_LEVEL: '', ...c.env });
    t.is(ran.code, 2, `${c.args.join(' ')}: ${ran.stderr}`);
    t.regex(ran.stderr, c.says);
    t.regex(ran.stderr, allowed);
  }
});

test('log lines: level names and ISO times in JSON; a person at a terminal gets one readable line', (t) => {
  const lines: string[] = [];
  const log = createProgramLogger('sigil-test', [], { level: 'info' }, new Writable({ write(c: Buffer, _e, done) { lines.push(c.toString()); done(); } }));
  log.child({ part: 'signer' }).warn({ host: 'objectstorage.example', token: 'must-not-show' }, 'upstream slow');
  const entry = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  t.is(entry['level'], 'warn');
  t.regex(String(entry['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.is(entry['token'], undefined, 'redaction still applies');
  t.regex(prettyLine(lines[0] ?? '', false), /^\d\d:\d\d:\d\d\.\d{3} WARN  \[signer\] upstream slow host=objectstorage\.example$/);
});

test('on a terminal the programs log readable lines, not JSON (script(1) gives it a pty)', (t) => {
  const logJs = path.join(ROOT, 'dist/common/log.js');
  const code = `const { createProgramLogger } = await import(${JSON.stringify(logJs)}); createProgramLogger('sigil-test', [], { level: 'info' }).info({ n: 1 }, 'hello from a tty');`;
  const ran = spawnSync('script', ['-qec', `${process.execPath} --input-type=module -e "${code.replace(/"/g, '\\"')}"`, '/dev/null'], { encoding: 'utf8', timeout: 60_000 });
  t.is(ran.status, 0, `${ran.error?.message ?? ''} ${ran.stderr}`);
  t.regex(ran.stdout, /\d\d:\d\d:\d\d\.\d{3} (\u001b\[\d+m)?INFO ?(\u001b\[0m)? +hello from a tty n=1/);
  t.notRegex(ran.stdout, /"msg"/);
});
