/**
 * Shell completion scripts generated from a program's commander tree, so they list exactly the
 * commands and options its help shows: subcommands, options, `-o` values (an option's choices) and
 * file names for other options that take a value. zsh runs the same function through bashcompinit.
 */
import { Argument, Command, Option } from 'commander';
import { isListed, prepare, walkCommands } from './program.js';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(root: Command, shell: Shell): string {
  const base = `_${root.name().replace(/[^A-Za-z0-9]/g, '_')}`;
  if (shell === 'bash') return bashScript(root, base);
  // As `_<program>` on $fpath zsh runs this file as that function on the first completion: it defines the
  // bash function under another name, registers it, and completes at once; `source <(...)` only registers.
  return `#compdef ${root.name()}
autoload -U +X bashcompinit && bashcompinit
${bashScript(root, `_${base}_bash`)}[[ \${funcstack[1]} == ${base} ]] && _bash_complete -F _${base}_bash
`;
}

function optionsOf(command: Command): Option[] {
  const help = command.createHelp();
  return help.visibleOptions(command);
}

function flagsOf(option: Option): string[] {
  return [option.short, option.long].filter((f): f is string => f !== undefined);
}

function bashScript(root: Command, fn: string): string {
  const nodes: string[] = [];
  const values: string[] = [];
  for (const { path, command } of walkCommands(prepare(root))) {
    const key = path.slice(1).join('/');
    // Words that may come next: subcommands, or the choices of a first argument (`completion bash`).
    const subs = command.commands.length > 0
      ? [...command.commands.filter(isListed).map((c) => c.name()), 'help']
      : [...(command.registeredArguments[0]?.argChoices ?? [])];
    const opts = optionsOf(command).flatMap(flagsOf);
    nodes.push(`    ${quote(key)}) subs=${quote(subs.join(' '))}; opts=${quote(opts.join(' '))} ;;`);
    for (const option of optionsOf(command)) {
      if (!option.required && !option.optional) continue; // a boolean flag takes no value
      const choices = option.argChoices;
      const action = choices ? `COMPREPLY=($(compgen -W ${quote(choices.join(' '))} -- "$cur"))` : 'COMPREPLY=($(compgen -f -- "$cur"))';
      for (const flag of flagsOf(option)) values.push(`    ${quote(`${key}:${flag}`)}) ${action}; return ;;`);
    }
  }
  return `# ${root.name()} completion (bash); generated from its --help by \`${root.name()} completion bash\`
${fn}_node() {
  case "$1" in
${nodes.join('\n')}
    *) subs=''; opts='' ;;
  esac
}
${fn}() {
  # Not \`path\`: zsh (bashcompinit) ties that name to PATH.
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cpath='' subs opts w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    [[ $w == -* ]] && continue
    ${fn}_node "$cpath"
    if [[ " $subs " == *" $w "* ]]; then cpath="\${cpath:+$cpath/}$w"; fi
  done
  case "$cpath:$prev" in
${values.join('\n')}
  esac
  ${fn}_node "$cpath"
  if [[ $cur == -* || -z $subs ]]; then COMPREPLY=($(compgen -W "$opts" -- "$cur")); else COMPREPLY=($(compgen -W "$subs" -- "$cur")); fi
}
complete -F ${fn} ${root.name()}
`;
}

function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `<program> completion bash|zsh`: prints the script (source it, or put it in the shell's completion dir). */
export function completionCommand(program: string, root: () => Command): Command {
  return new Command('completion')
    .summary('print a shell completion script (bash or zsh)')
    .description(`Print a completion script. bash: source <(${program} completion bash), or save it as `
      + `/etc/bash_completion.d/${program}; zsh: save it as _${program} in a directory on $fpath.`)
    .addArgument(new Argument('<shell>', 'the shell').choices(SHELLS))
    .action((shell: Shell) => {
      process.stdout.write(completionScript(root(), shell));
    });
}
