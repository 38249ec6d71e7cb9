#!/usr/bin/env node
/**
 * `sigil-agent <command>`: each command is one module under ./commands exporting
 * `run(argv: string[]): Promise<number>` (the exit code) and `summary` (one line for --help).
 */
const COMMANDS = ['run', 'doctor', 'attest', 'trust', 'oci-config', 'enroll'] as const;

interface CommandModule {
  summary: string;
  run(argv: string[]): Promise<number>;
}

async function load(name: string): Promise<CommandModule | undefined> {
  try {
    return (await import(`./commands/${name}.js`)) as CommandModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

async function usage(): Promise<string> {
  const lines = ['usage: sigil-agent <command> [options]', '', 'commands:'];
  for (const name of COMMANDS) {
    const mod = await load(name);
    if (mod) lines.push(`  ${name.padEnd(12)}${mod.summary}`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${await usage()}\n`);
    return name === undefined ? 2 : 0;
  }
  const mod = (COMMANDS as readonly string[]).includes(name) ? await load(name) : undefined;
  if (!mod) {
    process.stderr.write(`sigil-agent: unknown command '${name}'\n${await usage()}\n`);
    return 2;
  }
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`sigil-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
