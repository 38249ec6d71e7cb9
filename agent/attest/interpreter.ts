/**
 * Known script interpreters (by the basename of their executable) and how to find the script they
 * were started on from their argv. Best effort by design: when the script cannot be told (`-c`, `-e`,
 * `-m`, stdin, an option we do not know) there is no script, so no `script:sha256` selector can hold —
 * the safe direction.
 */
export type InterpreterFamily = 'python' | 'node' | 'shell' | 'perl' | 'ruby' | 'php' | 'lua' | 'tcl';

const FAMILIES: Array<[RegExp, InterpreterFamily]> = [
  [/^(python|pypy)[0-9.]*m?$/, 'python'],
  [/^(node|nodejs)$/, 'node'],
  [/^(sh|bash|dash|ash|zsh|ksh|ksh93|mksh|busybox)$/, 'shell'],
  [/^perl[0-9.]*$/, 'perl'],
  [/^ruby[0-9.]*$/, 'ruby'],
  [/^php[0-9.]*$/, 'php'],
  [/^(lua[0-9.]*|luajit)$/, 'lua'],
  [/^tclsh[0-9.]*$/, 'tcl'],
];

export function interpreterFamily(exeBasename: string): InterpreterFamily | undefined {
  return FAMILIES.find(([re]) => re.test(exeBasename))?.[1];
}

interface OptionRules {
  /** Options that consume the next argument (when not attached, e.g. `-X dev` vs `-Xdev`). */
  withValue: Set<string>;
  /** Options after which there is no script file (code on the command line, a module, stdin). */
  noScript: Set<string>;
}

const RULES: Record<InterpreterFamily, OptionRules> = {
  python: { withValue: new Set(['-X', '-W', '-Q', '--check-hash-based-pycs']), noScript: new Set(['-c', '-m', '-']) },
  node: {
    withValue: new Set(['-r', '--require', '--import', '--loader', '--experimental-loader', '-C', '--conditions', '--input-type', '--title', '--env-file']),
    noScript: new Set(['-e', '--eval', '-p', '--print', '-i', '--interactive', '-']),
  },
  shell: { withValue: new Set(['-o', '+o', '-O', '+O']), noScript: new Set(['-c', '-s', '-i', '-']) },
  perl: { withValue: new Set(['-I', '-M', '-m', '-x', '-0', '-l', '-C', '-d', '-D', '-i']), noScript: new Set(['-e', '-E', '-']) },
  ruby: { withValue: new Set(['-I', '-r', '-C', '-E', '-x', '-0', '-F', '-K', '-T', '-W']), noScript: new Set(['-e', '-']) },
  php: { withValue: new Set(['-c', '-d', '-z', '-t', '-S']), noScript: new Set(['-r', '-a', '-B', '-R', '-F', '-E', '-']) },
  lua: { withValue: new Set(['-l']), noScript: new Set(['-e', '-i', '-']) },
  tcl: { withValue: new Set(['-encoding']), noScript: new Set(['-']) },
};

/**
 * The script argument of an interpreter's argv (argv[0] is the interpreter itself), or undefined.
 * A cluster of short options like `sh -ec` or `perl -le` counts as containing `-c` / `-e`; an
 * attached value may look like such a cluster (`-Xcheck`), which errs toward "no script".
 */
export function scriptArgument(argv: readonly string[], family: InterpreterFamily): string | undefined {
  const rules = RULES[family];
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return argv[i + 1];
    if (rules.noScript.has(arg)) return undefined;
    if (!arg.startsWith('-') && !(family === 'shell' && arg.startsWith('+'))) return arg;
    if (rules.withValue.has(arg)) {
      i++;
      continue;
    }
    if (!arg.startsWith('--') && clusterHasNoScriptOption(arg, rules)) return undefined;
    // Anything else is a flag or an option with its value attached (-Xdev, --foo=bar).
  }
  return undefined;
}

function clusterHasNoScriptOption(arg: string, rules: OptionRules): boolean {
  const letters = arg.slice(1);
  return [...letters].some((letter) => rules.noScript.has(`-${letter}`));
}
