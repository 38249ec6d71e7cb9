/**
 * Completion scripts and man pages come from the same command trees as --help: every command and
 * option is in them, the bash script completes what a user would type, the pages are well-formed roff.
 */
import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { completionScript } from '../../../common/cli/completion.js';
import { manPage } from '../../../common/cli/manpage.js';
import { prepare, walkCommands } from '../../../common/cli/program.js';
import { PROGRAMS, ROOT, runProgram } from './run-program.js';

/** What bash's completion offers after `words` (the last one being typed), with the program's script sourced. */
function complete(script: string, fn: string, words: string[]): string[] {
  const program = `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; ${fn}; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const out = execFileSync('bash', ['-c', program], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l !== '');
}

test('`completion bash|zsh` on every program: rc 0, a script bash accepts; an unknown shell is rc 2', async (t) => {
  for (const program of PROGRAMS) {
    const bash = await runProgram(program.main, ['completion', 'bash']);
    t.is(bash.code, 0, bash.stderr);
    t.is(spawnSync('bash', ['-n'], { input: bash.stdout }).status, 0, `${program.name}: bash -n`);
    t.true(bash.stdout.includes(`complete -F _${program.name.replace(/-/g, '_')} ${program.name}`));
    const zsh = await runProgram(program.main, ['completion', 'zsh']);
    t.is(zsh.code, 0, zsh.stderr);
    t.true(zsh.stdout.startsWith(`#compdef ${program.name}\n`));
    const fn = `__${program.name.replace(/-/g, '_')}_bash`;
    t.true(zsh.stdout.includes(`complete -F ${fn} ${program.name}\n`), 'zsh registers the same function through bashcompinit');
    t.is(spawnSync('bash', ['-n'], { input: zsh.stdout }).status, 0, `${program.name}: the zsh script's body is bash-compatible`);
    t.is((await runProgram(program.main, ['completion', 'fish'])).code, 2);
  }
});

test('bash completion offers every subcommand and option of every command, and -o\'s formats', (t) => {
  for (const program of PROGRAMS) {
    const script = completionScript(program.tree(), 'bash');
    const fn = `_${program.name.replace(/-/g, '_')}`;
    for (const { path: names, command } of walkCommands(prepare(program.tree()))) {
      const subs = command.commands.map((c) => c.name());
      if (subs.length > 0) t.deepEqual(complete(script, fn, [...names, '']).filter((w) => w !== 'help'), subs, names.join(' '));
      const longs = command.options.filter((o) => !o.hidden).map((o) => o.long).filter((l): l is string => l !== undefined);
      const offered = complete(script, fn, [...names, '--']);
      for (const long of longs) t.true(offered.includes(long), `${names.join(' ')}: ${long} in ${offered.join(' ')}`);
    }
  }
  const sigil = completionScript(PROGRAMS[0]!.tree(), 'bash');
  t.deepEqual(complete(sigil, '_sigil', ['sigil', 'get', 'wi', '-o', '']), ['table', 'wide', 'json', 'yaml', 'name']);
  t.deepEqual(complete(sigil, '_sigil', ['sigil', 'fleet', 'st']), ['status']);
  t.deepEqual(complete(sigil, '_sigil', ['sigil', 'completion', '']), ['bash', 'zsh']);
});

test('man pages: one per program, every command\'s usage and options in it, well-formed roff', (t) => {
  for (const program of PROGRAMS) {
    const page = manPage(program.tree(), { version: '1.2.3', date: '2026-12-01' });
    t.is(page.file, `${program.name}.1`);
    t.true(page.text.startsWith(`.TH ${program.name.toUpperCase().replace(/-/g, '\\-')} 1 "2026-12-01" "${program.name.replace(/-/g, '\\-')} 1.2.3"`));
    const roff = (s: string): string => s.replace(/\\/g, '\\e').replace(/-/g, '\\-');
    for (const { path: names, command } of walkCommands(prepare(program.tree())).slice(1)) {
      t.true(page.text.includes(`.SS ${roff([...names.slice(1), command.usage()].join(' '))}`), `${names.join(' ')} has a section`);
      for (const option of command.options.filter((o) => !o.hidden)) t.true(page.text.includes(`.B ${roff(option.flags)}`), `${names.join(' ')} ${option.flags}`);
    }
    for (const line of page.text.split('\n')) {
      // A line is a known macro or text that roff will not take for one.
      t.true(/^(\.(TH|SH|SS|TP|PP|B|I|br)( |$)|[^.'])/.test(line) || line === '', `${program.name}: ${line}`);
    }
  }
});

test('scripts/cli-docs.mjs writes the pages and completions the deb ships', async (t) => {
  const out = await mkdtemp(path.join(tmpdir(), 'sigil-test-cli-docs-'));
  t.teardown(() => rm(out, { recursive: true, force: true }));
  const ran = spawnSync(process.execPath, [path.join(ROOT, 'scripts/cli-docs.mjs'), out], { encoding: 'utf8', env: { ...process.env, SOURCE_DATE_EPOCH: '1764547200' } });
  t.is(ran.status, 0, ran.stderr);
  t.deepEqual((await readdir(path.join(out, 'man/man1'))).sort(), ['sigil-agent.1', 'sigil-controlplane.1', 'sigil.1']);
  t.deepEqual((await readdir(path.join(out, 'completion/bash'))).sort(), ['sigil', 'sigil-agent', 'sigil-controlplane']);
  t.deepEqual((await readdir(path.join(out, 'completion/zsh'))).sort(), ['_sigil', '_sigil-agent', '_sigil-controlplane']);
  t.regex(await readFile(path.join(out, 'man/man1/sigil.1'), 'utf8'), /^\.TH SIGIL 1 "2025-12-01"/);
});
