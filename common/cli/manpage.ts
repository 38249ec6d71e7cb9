/**
 * man(7) pages generated from a program's commander tree, with commander's own Help for every term
 * and description, so a page says what `--help` says: one page for the program (`sigil.1`) and one per
 * command (`sigil-get.1`, `sigil-fleet-status.1`, as git does).
 */
import { Command, type Help } from 'commander';
import { isListed, prepare, walkCommands } from './program.js';

export interface ManPage {
  /** e.g. `sigil-fleet-status.1` */
  file: string;
  text: string;
}

export function manPages(root: Command, options: { version: string; date?: string } = { version: '' }): ManPage[] {
  const date = options.date ?? new Date().toISOString().slice(0, 10);
  return walkCommands(prepare(root))
    .filter(({ command }) => isListed(command) && command.name() !== 'help')
    .map(({ path, command }) => ({ file: `${path.join('-')}.1`, text: page(path, command, root, options.version, date) }));
}

function page(path: string[], command: Command, root: Command, version: string, date: string): string {
  const help: Help = command.createHelp();
  const title = path.join('-');
  const out: string[] = [
    `.TH ${esc(title.toUpperCase())} 1 "${date}" "${esc(`${root.name()} ${version}`.trim())}" "Sigil Manual"`,
    '.SH NAME',
    `${esc(title)} \\- ${esc(command.summary() || firstSentence(command.description()))}`,
    '.SH SYNOPSIS',
    `.B ${esc(path.join(' '))}`,
    esc(command.usage()),
  ];
  const description = help.commandDescription(command);
  if (description) out.push('.SH DESCRIPTION', esc(description));
  const args = help.visibleArguments(command);
  if (args.length > 0) {
    out.push('.SH ARGUMENTS');
    for (const arg of args) out.push('.TP', `.B ${esc(help.argumentTerm(arg))}`, esc(help.argumentDescription(arg)));
  }
  const subs = help.visibleCommands(command).filter((c) => c.name() !== 'help');
  if (subs.length > 0) {
    out.push('.SH COMMANDS');
    for (const sub of subs) {
      out.push('.TP', `.B ${esc(help.subcommandTerm(sub))}`, `${esc(help.subcommandDescription(sub))} See \\fB${esc([...path, sub.name()].join('-'))}\\fR(1).`);
    }
  }
  const options = help.visibleOptions(command);
  if (options.length > 0) {
    out.push('.SH OPTIONS');
    for (const option of options) out.push('.TP', `.B ${esc(help.optionTerm(option))}`, esc(help.optionDescription(option)));
  }
  out.push('.SH EXIT STATUS', '0 success (and \\-\\-help), 1 failure, 2 usage error (unknown option or command, bad value).');
  const related = [root.name(), ...(path.length > 1 ? [] : subs.map((s) => `${title}-${s.name()}`))].filter((n) => n !== title);
  if (related.length > 0) out.push('.SH SEE ALSO', related.map((n) => `\\fB${esc(n)}\\fR(1)`).join(', '));
  return `${out.join('\n')}\n`;
}

function firstSentence(text: string): string {
  return text.split(/(?<=\.)\s/)[0] ?? text;
}

/** roff-safe text: backslashes, leading dots/quotes, and hyphens as \- (so man shows and searches them). */
function esc(text: string): string {
  return text
    .replace(/\\/g, '\\e')
    .replace(/-/g, '\\-')
    .split('\n')
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line))
    .join('\n');
}
