/**
 * Known script interpreters (by the basename of their executable) and the script they run, from their
 * argv. Fail closed: the command line must be fully understood. Each interpreter has an ALLOW-LIST of
 * options that run no code, load nothing and change no path, each with its exact way of taking a value;
 * any other option, any `--opt=value` not listed with its `=` form, code on the command line (`-e`,
 * `-c`, `--eval`, `-p`), modules (`-m`, `-r`, `--require`, `--import`, `--loader`, `-M`, `-I`), the
 * debugger (`--inspect*`, `-d`), stdin (`-`) or an interactive prompt (`-i`) means there is no script, so
 * no `script:sha256` selector can hold. What the environment injects is checked apart (injection-env.ts).
 */
export type InterpreterFamily = 'python' | 'node' | 'shell' | 'perl' | 'ruby' | 'php' | 'lua' | 'tcl';

// Not recognised, so never a script: zsh reads $ZDOTDIR or $HOME/.zshenv even for scripts; busybox
// runs whichever applet argv[0] names (awk takes its program on the command line); ash/ksh/mksh have
// option sets we do not check. An identity for them can only pin the binary.
const FAMILIES: Array<[RegExp, InterpreterFamily]> = [
  [/^(python|pypy)[0-9.]*m?$/, 'python'],
  [/^(node|nodejs)$/, 'node'],
  [/^(sh|bash|dash)$/, 'shell'],
  [/^perl[0-9.]*$/, 'perl'],
  [/^ruby[0-9.]*$/, 'ruby'],
  [/^php[0-9.]*$/, 'php'],
  [/^(lua[0-9.]*|luajit)$/, 'lua'],
  [/^tclsh[0-9.]*$/, 'tcl'],
];

export function interpreterFamily(exeBasename: string): InterpreterFamily | undefined {
  return FAMILIES.find(([re]) => re.test(exeBasename))?.[1];
}

type Valid = (value: string) => boolean;

const oneOf = (...values: string[]): Valid => (v) => values.includes(v);
const digits: Valid = (v) => /^[1-9][0-9]{0,6}$/.test(v);

/** How one long option is written. `next`: `--opt value`; `equals`: `--opt=value`; neither: a flag. */
interface LongOption {
  value?: Valid;
  next?: boolean;
  equals?: boolean;
}

/** What a short option letter is, inside a cluster like `-eu` (sh) or `-uB` (python). */
type ShortOption =
  | 'flag'
  /** The rest of the cluster if any, else the next argument (python -X, getopt style). */
  | { restOrNext: Valid }
  /** Always the next argument, one per letter: `-euo pipefail` (sh -o). */
  | { next: Valid }
  /** An optional value attached right after the letter, then more letters (perl -l0, ruby -W1). */
  | { attached: RegExp };

interface Grammar {
  short: Readonly<Record<string, ShortOption>>;
  long: Readonly<Record<string, LongOption>>;
  /** Characters that start a short-option cluster (`+` turns shell options off). */
  clusterStart: string;
  /** argv[0] starting with `-` makes a login shell, which runs ~/.profile (and $HOME is the caller's). */
  loginByArgv0?: boolean;
  /** First operands that are subcommands, not scripts. */
  notScripts?: ReadonlySet<string>;
}

/** Options each interpreter may be given, and why each is safe. Unlisted means "no script". */
const GRAMMARS: Readonly<Record<InterpreterFamily, Grammar | undefined>> = {
  node: {
    short: {},
    long: {
      // Diagnostics and warnings only.
      '--enable-source-maps': {},
      '--no-warnings': {},
      '--no-deprecation': {},
      '--trace-warnings': {},
      '--trace-deprecation': {},
      '--throw-deprecation': {},
      '--pending-deprecation': {},
      '--trace-uncaught': {},
      '--abort-on-uncaught-exception': {},
      // Take abilities away.
      '--disallow-code-generation-from-strings': {},
      '--no-addons': {},
      '--no-global-search-paths': {},
      // Which CA store TLS trusts: no code.
      '--use-openssl-ca': {},
      '--use-bundled-ca': {},
      // Values from a closed set, or a name: no path, no code. Node takes a value as `=v` or as the next
      // argument (and refuses a next argument starting with `-`). --disable-warning takes a warning
      // code or type (DEP0040, ExperimentalWarning), never a file name: `--disable-warning bound.js` is
      // no script.
      '--unhandled-rejections': { value: oneOf('strict', 'warn', 'throw', 'none', 'warn-with-error-code'), next: true, equals: true },
      '--dns-result-order': { value: oneOf('ipv4first', 'ipv6first', 'verbatim'), next: true, equals: true },
      '--disable-warning': { value: (v) => /^[A-Za-z][A-Za-z0-9]*$/.test(v), next: true, equals: true },
      '--title': { value: (v) => v.length > 0 && !v.startsWith('-'), next: true, equals: true },
      // V8 heap limits, passed to V8 whole: only the `=` form is understood the same by both.
      '--max-old-space-size': { value: digits, equals: true },
      '--max-semi-space-size': { value: digits, equals: true },
    },
    clusterStart: '-',
    // `node inspect app.js` runs the debugger client on app.js.
    notScripts: new Set(['inspect', 'debug']),
  },
  python: {
    // Cluster like `-uB`. u: unbuffered; B: no .pyc written; E, I, s, S, P: ignore PYTHON* variables,
    // isolate, no user site, no site, no script directory on sys.path (all take abilities away);
    // O: strip asserts (OO: and docstrings); b: bytes warnings; q: no banner.
    short: {
      u: 'flag', B: 'flag', E: 'flag', I: 'flag', s: 'flag', S: 'flag', P: 'flag', O: 'flag', b: 'flag', q: 'flag',
      // -X: only diagnostics. Not pycache_prefix=, which names a directory of bytecode to load.
      X: { restOrNext: oneOf('dev', 'utf8', 'utf8=0', 'utf8=1', 'faulthandler', 'tracemalloc', 'importtime') },
    },
    long: {},
    clusterStart: '-',
  },
  shell: {
    // bash, sh and dash alike. e/u/x/v/f/n/C/a: errexit, nounset, xtrace (PS4 is an injection
    // variable), verbose, noglob, noexec, noclobber, allexport. -o takes a set option name (one next
    // argument per `o`, as in `-euo pipefail`). No long options: dash does not parse bash's.
    short: {
      e: 'flag', u: 'flag', x: 'flag', v: 'flag', f: 'flag', n: 'flag', C: 'flag', a: 'flag',
      o: { next: oneOf('errexit', 'nounset', 'pipefail', 'xtrace', 'verbose', 'noglob', 'noclobber', 'allexport', 'noexec', 'errtrace') },
    },
    long: {},
    clusterStart: '-+',
    loginByArgv0: true,
  },
  perl: {
    // w/W/X: warnings on, all on, all off; T/t: taint checks (fatal, warnings). -l: line endings, with
    // an optional octal value attached. Not -M/-m/-I (modules), -d (debugger), -x/-S (another file).
    short: { w: 'flag', W: 'flag', X: 'flag', T: 'flag', t: 'flag', l: { attached: /^[0-7]*/ } },
    long: {},
    clusterStart: '-',
  },
  ruby: {
    // -w: warnings; -W with an optional level 0-2 attached. --disable-*: take features away (gems,
    // RUBYOPT). Not -r/-I (libraries), -C (another directory), -S/-x (another file).
    short: { w: 'flag', W: { attached: /^[012]?/ } },
    long: {
      '--disable-gems': {},
      '--disable-rubyopt': {},
      '--disable-did_you_mean': {},
      '--disable': {
        value: (v) => v.split(',').every((f) => ['gems', 'rubyopt', 'did_you_mean', 'error_highlight', 'syntax_suggest', 'all'].includes(f)),
        equals: true,
      },
    },
    clusterStart: '-',
  },
  // php reads php.ini files that may prepend code, lua/tclsh are rarely a service's entry point: no
  // option set is checked for them, so they never have a script.
  php: undefined,
  lua: undefined,
  tcl: undefined,
};

/**
 * The script argument of an interpreter's argv (argv[0] is the interpreter itself), or undefined when
 * the command line holds anything the interpreter's grammar above does not allow.
 */
export function scriptArgument(argv: readonly string[], family: InterpreterFamily): string | undefined {
  const grammar = GRAMMARS[family];
  if (grammar === undefined) return undefined;
  if (grammar.loginByArgv0 && argv[0]?.startsWith('-')) return undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') return operand(argv[i + 1], grammar);
    let used: number | undefined;
    if (arg.startsWith('--')) used = longOption(arg, argv[i + 1], grammar);
    else if (arg.length > 1 && grammar.clusterStart.includes(arg[0]!)) used = shortCluster(arg, argv, i, grammar);
    else return operand(arg, grammar);
    if (used === undefined) return undefined;
    i += used;
  }
  return undefined;
}

/** The first operand is the script, unless it is stdin (`-`), empty, or a subcommand. */
function operand(arg: string | undefined, grammar: Grammar): string | undefined {
  if (arg === undefined || arg === '' || arg === '-' || arg === '+') return undefined;
  return grammar.notScripts?.has(arg) ? undefined : arg;
}

/** A value taken from the next argument: present, not an option, and valid. */
function nextValue(value: string | undefined, valid: Valid): boolean {
  return value !== undefined && !value.startsWith('-') && valid(value);
}

/** How many following arguments a long option used (0 or 1), or undefined when it is not allowed. */
function longOption(arg: string, next: string | undefined, grammar: Grammar): number | undefined {
  const eq = arg.indexOf('=');
  const name = eq === -1 ? arg : arg.slice(0, eq);
  // hasOwn: `--constructor` must not find Object.prototype's.
  const option = Object.hasOwn(grammar.long, name) ? grammar.long[name] : undefined;
  if (option === undefined) return undefined;
  if (eq !== -1) return option.equals && option.value?.(arg.slice(eq + 1)) ? 0 : undefined;
  if (option.value === undefined) return 0;
  return option.next && nextValue(next, option.value) ? 1 : undefined;
}

/** How many following arguments a cluster like `-euo pipefail` used, or undefined when not allowed. */
function shortCluster(arg: string, argv: readonly string[], i: number, grammar: Grammar): number | undefined {
  let used = 0;
  for (let j = 1; j < arg.length; j++) {
    const letter = arg[j]!;
    if (!Object.hasOwn(grammar.short, letter)) return undefined;
    const option = grammar.short[letter]!;
    if (option === 'flag') continue;
    if ('next' in option) {
      used++;
      if (!nextValue(argv[i + used], option.next)) return undefined;
    } else if ('restOrNext' in option) {
      const rest = arg.slice(j + 1);
      if (rest !== '') return option.restOrNext(rest) ? used : undefined;
      used++;
      return nextValue(argv[i + used], option.restOrNext) ? used : undefined;
    } else {
      j += option.attached.exec(arg.slice(j + 1))?.[0].length ?? 0;
    }
  }
  return used;
}
