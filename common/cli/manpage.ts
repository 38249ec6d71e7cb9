/**
 * man(7) pages generated from a program's commander tree, with commander's own Help for every term
 * and description, so a page says what `--help` says. One page per program (`sigil.1`, `sigil-agent.1`,
 * `sigil-controlplane.1`; per-command pages would collide: `sigil agent` vs `sigil-agent`), each
 * command a subsection with its usage, arguments and options, like systemctl(1).
 */
import type { Command, Help } from 'commander';
import { isListed, prepare, walkCommands } from './program.js';

export interface ManPage {
  /** e.g. `sigil.1` */
  file: string;
  text: string;
}

export function manPage(root: Command, options: { version: string; date: string }): ManPage {
  prepare(root);
  const name = root.name();
  const help: Help = root.createHelp();
  const out: string[] = [
    `.TH ${esc(name.toUpperCase())} 1 "${options.date}" "${esc(`${name} ${options.version}`.trim())}" "Sigil Manual"`,
    '.SH NAME',
    `${esc(name)} \\- ${esc(firstSentence(root.description()))}`,
    '.SH SYNOPSIS',
    `.B ${esc(name)}`,
    '.I command',
    '[options] [arguments]',
    '.br',
    `.B ${esc(name)}`,
    '\\-\\-help | \\-\\-version',
    '.SH DESCRIPTION',
    esc(help.commandDescription(root)),
    '.PP',
    `Every command and subcommand takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR: \\fB${esc(name)} \\fIcommand\\fB \\-\\-help\\fR prints what its section below says.`,
    '.SH OPTIONS',
    ...options_(help, root, true),
    '.SH COMMANDS',
  ];
  for (const { path, command } of walkCommands(root).slice(1)) {
    if (!isListed(command)) continue;
    const h = command.createHelp();
    out.push(`.SS ${esc([...path.slice(1), command.usage()].join(' '))}`, esc(h.commandDescription(command) || command.summary()));
    const args = h.visibleArguments(command);
    if (args.length > 0) {
      out.push('.PP', 'Arguments:');
      for (const arg of args) out.push('.TP', `.B ${esc(h.argumentTerm(arg))}`, esc(h.argumentDescription(arg)));
    }
    const subs = command.commands.filter(isListed);
    if (subs.length > 0) out.push('.PP', `Subcommands: ${subs.map((s) => `\\fB${esc(s.name())}\\fR`).join(', ')}.`);
    const opts = options_(h, command, false);
    if (opts.length > 0) out.push('.PP', 'Options:', ...opts);
  }
  out.push('.SH EXIT STATUS', '.TP', '.B 0', 'success, and \\-\\-help and \\-\\-version',
    '.TP', '.B 1', 'the command failed (a refused apply, an unreachable server; for \\fBdiff\\fR: differences found)',
    '.TP', '.B 2', 'usage error: unknown command or option, a bad or missing value (for \\fBdiff\\fR: it failed)');
  const others = ['sigil', 'sigil-agent', 'sigil-controlplane'].filter((n) => n !== name);
  out.push('.SH SEE ALSO', others.map((n) => `\\fB${n}\\fR(1)`).join(', '));
  return { file: `${name}.1`, text: `${out.join('\n')}\n` };
}

/** The option list; a command's own -h/--help is said once, in DESCRIPTION, not in every section. */
function options_(help: Help, command: Command, withHelp = true): string[] {
  return help.visibleOptions(command).filter((o) => withHelp || o.long !== '--help').flatMap((o) => ['.TP', `.B ${esc(help.optionTerm(o))}`, esc(help.optionDescription(o))]);
}

function firstSentence(text: string): string {
  return (text.split(/(?<=[.:])\s/)[0] ?? text).replace(/[.:]$/, '');
}

/** roff-safe text: backslashes, hyphens as \- (so man shows and searches them), no line starting with a control character. */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}
