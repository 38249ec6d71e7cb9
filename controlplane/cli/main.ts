#!/usr/bin/env node
/**
 * `sigil <command>`: each command is one module under ./commands exporting
 * `run(argv: string[]): Promise<number>` (exit code: 0 ok, 1 failure, 2 usage) and `summary`.
 * Later commands (token, agent, fleet, inventory) drop in the same way: add the name here.
 */
const COMMANDS = ['apply', 'get', 'delete', 'token', 'agent', 'fleet', 'inventory'] as const;

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
  const lines = ['usage: sigil <command> [options]', '', 'commands:'];
  for (const name of COMMANDS) {
    const mod = await load(name);
    if (mod) lines.push(`  ${name.padEnd(12)}${mod.summary}`);
  }
  lines.push('', 'common options: --server <url> (env SIGIL_SERVER), --token-file <file> (env SIGIL_TOKEN_FILE)');
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
    process.stderr.write(`sigil: unknown command '${name}'\n${await usage()}\n`);
    return 2;
  }
  return mod.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    process.stderr.write(`sigil: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
