/**
 * The conventions every command of the three programs keeps, enumerated from their command trees
 * (not a hand list, so a new command is covered the day it is added): -h/--help rc 0 on stdout,
 * --version, unknown options rc 2, and -o refusing a format it does not know (rc 2).
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { prepare, walkCommands } from '../../../common/cli/program.js';
import { PROGRAMS, ROOT, pool, runProgram } from './run-program.js';

const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/** Every command path below each program, e.g. ['fleet', 'status'] for `sigil fleet status`. */
const COMMANDS = PROGRAMS.flatMap((program) =>
  walkCommands(prepare(program.tree())).map(({ path: names, command }) => ({ program, args: names.slice(1), command })));

test('the trees are what the programs are: every program has its commands, subcommands are found', (t) => {
  const paths = COMMANDS.map((c) => [c.program.name, ...c.args].join(' '));
  for (const expected of ['sigil apply', 'sigil validate', 'sigil diff', 'sigil fleet status', 'sigil token create', 'sigil completion',
    'sigil-agent run', 'sigil-agent trust', 'sigil-agent completion', 'sigil-controlplane run', 'sigil-controlplane init-nats']) {
    t.true(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
  }
  t.true(COMMANDS.length >= 28, `${COMMANDS.length} commands`);
});

// One test per program: each finishes well inside ava's timeout on a loaded machine.
for (const program of PROGRAMS) {
  test.serial(`${program.name}: -h and --help on the program and every command and subcommand: rc 0, the usage on stdout, nothing on stderr`, async (t) => {
    const mine = COMMANDS.filter((c) => c.program === program);
    const jobs = mine.flatMap(({ args }) => ['--help', '-h'].map((flag) => async () => ({ args, flag, ran: await runProgram(program.main, [...args, flag]) })));
    for (const { args, flag, ran } of await pool(jobs)) {
      const what = [program.name, ...args, flag].join(' ');
      t.is(ran.code, 0, `${what}: ${ran.stderr}`);
      t.true(ran.stdout.startsWith(`Usage: ${[program.name, ...args].join(' ')}`), `${what} prints its usage: ${ran.stdout.slice(0, 120)}`);
      t.is(ran.stderr, '', what);
    }
  });
}

test('`help <command>` prints the same help as `<command> --help`', async (t) => {
  const [viaHelp, viaFlag] = await Promise.all([runProgram(PROGRAMS[0]!.main, ['help', 'fleet']), runProgram(PROGRAMS[0]!.main, ['fleet', '--help'])]);
  t.is(viaHelp.code, 0);
  t.is(viaHelp.stdout, viaFlag.stdout);
});

test('--version on every program: the package version, and the commit in a checkout', async (t) => {
  const commit = existsSync(path.join(ROOT, '.git'))
    ? execFileSync('git', ['-C', ROOT, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8' }).trim() : undefined;
  for (const program of PROGRAMS) {
    for (const flag of ['--version', '-V']) {
      const ran = await runProgram(program.main, [flag]);
      t.is(ran.code, 0, ran.stderr);
      t.is(ran.stdout, `${program.name} ${VERSION}${commit ? ` (commit ${commit})` : ''}\n`);
    }
  }
});

for (const program of PROGRAMS) {
  test.serial(`${program.name}: an unknown option on every command: rc 2, named on stderr with where the help is`, async (t) => {
    // Required options given (commander reports a missing one before an unknown one).
    const required = (command: Command): string[] => command.options.filter((o) => o.mandatory).flatMap((o) => [o.long as string, 'x']);
    const mine = COMMANDS.filter((c) => c.program === program);
    const jobs = mine.map(({ args, command }) => async () => ({ args, ran: await runProgram(program.main, [...args, ...required(command), '--no-such-option']) }));
    for (const { args, ran } of await pool(jobs)) {
      const where = [program.name, ...args].join(' ');
      t.is(ran.code, 2, `${where}: ${ran.stderr}`);
      t.regex(ran.stderr, /unknown option '--no-such-option'/, where);
      t.true(ran.stderr.includes(`(run '${where} --help' for usage)`), `${where}: ${ran.stderr}`);
      t.is(ran.stdout, '', where);
    }
  });
}

test('an unknown command: rc 2; no command at all: rc 2 with the usage', async (t) => {
  for (const program of PROGRAMS) {
    const unknown = await runProgram(program.main, ['frobnicate']);
    t.is(unknown.code, 2, program.name);
    t.regex(unknown.stderr, new RegExp(`^${program.name}: unknown command 'frobnicate'`));
    const bare = await runProgram(program.main, []);
    t.is(bare.code, 2, program.name);
    t.regex(bare.stderr, new RegExp(`Usage: ${program.name}`));
  }
});

test.serial('every command with -o refuses a format it does not know: rc 2, before it reads a file or calls a server', async (t) => {
  const withOutput = COMMANDS.filter(({ command }) => command.options.some((o) => o.long === '--output'));
  t.true(withOutput.length >= 6, `commands with -o: ${withOutput.map((c) => c.args.join(' ')).join(', ')}`);
  for (const list of ['get', 'inventory', 'fleet status', 'agent list']) {
    const c = withOutput.find((w) => w.args.join(' ') === list);
    t.deepEqual(c?.command.options.find((o) => o.long === '--output')?.argChoices, ['table', 'wide', 'json', 'yaml', 'name'], list);
  }
  const jobs = withOutput.map(({ program, args }) => async () => ({ args, ran: await runProgram(program.main, [...args, '-o', 'xml'], { SIGIL_SERVER: 'http://127.0.0.1:9' }) }));
  for (const { args, ran } of await pool(jobs)) {
    t.is(ran.code, 2, `${args.join(' ')}: ${ran.stderr}`);
    t.regex(ran.stderr, /argument 'xml' is invalid\. Allowed choices are /, args.join(' '));
  }
});
