/**
 * The shape both CLIs share (`sigil-agent <command>`, `sigil <command>`): each command is one module
 * exporting `summary` and `run(argv): Promise<number>` (exit code: 0 ok, 1 failure, 2 usage).
 */
export interface CommandModule {
  summary: string;
  run(argv: string[]): Promise<number>;
}

export interface CliSpec {
  program: string;
  commands: readonly string[];
  /** Imports one command module; relative to the caller, so the caller does the import. */
  load(name: string): Promise<unknown>;
  /** Extra lines at the end of the usage text. */
  footer?: string[];
}

async function loadCommand(spec: CliSpec, name: string): Promise<CommandModule | undefined> {
  try {
    return (await spec.load(name)) as CommandModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

async function usage(spec: CliSpec): Promise<string> {
  const lines = [`usage: ${spec.program} <command> [options]`, '', 'commands:'];
  for (const name of spec.commands) {
    const mod = await loadCommand(spec, name);
    if (mod) lines.push(`  ${name.padEnd(12)}${mod.summary}`);
  }
  if (spec.footer) lines.push('', ...spec.footer);
  return lines.join('\n');
}

async function dispatch(spec: CliSpec, argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await usage(spec)}\n`);
    return name === undefined ? 2 : 0;
  }
  const mod = spec.commands.includes(name) ? await loadCommand(spec, name) : undefined;
  if (!mod) {
    process.stderr.write(`${spec.program}: unknown command '${name}'\n${await usage(spec)}\n`);
    return 2;
  }
  return mod.run(rest);
}

/** Runs the command named by argv and sets the process exit code; errors print one line. */
export function runCli(spec: CliSpec, argv: string[] = process.argv.slice(2)): void {
  dispatch(spec, argv).then(
    (code) => { process.exitCode = code; },
    (err: unknown) => {
      process.stderr.write(`${spec.program}: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
