/** A small flag parser: `--name value`, `--name=value`, `-x value`, boolean flags; the rest are positionals. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface FlagSpec {
  [name: string]: { alias?: string; boolean?: boolean };
}

export interface ParsedArgs {
  flags: Record<string, string | true>;
  positionals: string[];
}

export function parseArgs(argv: string[], spec: FlagSpec): ParsedArgs {
  const flags: Record<string, string | true> = {};
  const positionals: string[] = [];
  const byAlias = new Map(Object.entries(spec).flatMap(([name, s]) => (s.alias ? [[s.alias, name] as const] : [])));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '-' || !arg.startsWith('-')) {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const [rawName, inline] = arg.startsWith('--') ? splitOnce(arg.slice(2)) : [byAlias.get(arg.slice(1)) ?? `-${arg.slice(1)}`, undefined];
    const name = rawName as string;
    const flag = spec[name];
    if (!flag) throw new UsageError(`unknown option ${arg}`);
    if (flag.boolean) {
      flags[name] = true;
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw new UsageError(`option --${name} needs a value`);
    flags[name] = value;
  }
  return { flags, positionals };
}

function splitOnce(s: string): [string, string | undefined] {
  const eq = s.indexOf('=');
  return eq === -1 ? [s, undefined] : [s.slice(0, eq), s.slice(eq + 1)];
}

export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.flags[name];
  return typeof value === 'string' ? value : undefined;
}
