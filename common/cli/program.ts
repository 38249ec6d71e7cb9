/**
 * The shape all three programs share (`sigil`, `sigil-agent`, `sigil-controlplane`): a commander tree
 * whose every command and subcommand answers `-h/--help` (rc 0, stdout), whose root answers `--version`,
 * and whose usage errors (unknown option or command, bad `-o`, missing argument) exit 2 with one line
 * naming the problem and where the help is. Commands fail with exit 1 by throwing; CliExit sets another code.
 */
import { Command, CommanderError } from 'commander';
import { versionText } from './version.js';

/** A usage problem found after parsing (e.g. an argument that must be a number): exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Ends a command with `code` (e.g. `diff` found differences: 1), printing `message` to stderr if given. */
export class CliExit extends Error {
  override readonly name = 'CliExit';
  constructor(readonly code: number, message = '') {
    super(message);
  }
}

/** Makes a command's failure exit with `code` instead of 1 (e.g. `diff`: 1 means "differences found"). */
export function withExitCode(err: unknown, code: number): unknown {
  if (err instanceof CliExit || err instanceof UsageError) return err;
  return err instanceof Error ? Object.assign(err, { exitCode: code }) : new CliExit(code, String(err));
}

/** Describes an error beyond its message (e.g. the server's per-field details); the default is none. */
export type ErrorDetail = (err: unknown) => string[] | undefined;

/** A program's root command: `--version`, help on every command, exit codes mapped by runProgram. */
export function createProgram(name: string, description: string): Command {
  const program = new Command(name)
    .description(description)
    // Not commander's .version(): that wants the text up front, and finding the commit may run git.
    .option('-V, --version', 'print the version (and git commit when known) and exit');
  program.on('option:version', () => {
    const text = versionText();
    process.stdout.write(`${name} ${text}\n`);
    throw new CommanderError(0, 'commander.version', text);
  });
  return program;
}

/**
 * Gives every command in the tree the shared behaviour (commands built with `new Command()` inherit
 * nothing): the same help option and help command, errors thrown rather than exiting, and error lines
 * that start with the command's path and end with where its help is. Idempotent.
 */
export function prepare(root: Command): Command {
  for (const { path, command } of walkCommands(root)) {
    const where = path.join(' ');
    command
      .helpOption('-h, --help', 'show this help and exit')
      .exitOverride()
      .showHelpAfterError(`(run '${where} --help' for usage)`)
      .configureOutput({ outputError: (str, write) => write(str.replace(/^error: /, `${where}: `)) });
    if (command.commands.length > 0) command.helpCommand('help [command]', 'show help for a command');
  }
  return root;
}

/** Every command in the tree, root first, with its full path (`['sigil', 'fleet', 'status']`). */
export function walkCommands(root: Command): Array<{ path: string[]; command: Command }> {
  const out: Array<{ path: string[]; command: Command }> = [];
  const visit = (command: Command, path: string[]): void => {
    out.push({ path, command });
    for (const sub of command.commands) visit(sub, [...path, sub.name()]);
  };
  visit(root, [root.name()]);
  return out;
}

/** Whether `command` is listed (not hidden) in help, completion and man pages. */
export function isListed(command: Command): boolean {
  return !(command as unknown as { _hidden?: boolean })._hidden;
}

/**
 * Parses argv and runs the command; resolves to the exit code: 0 ok (help and version too), 1 failed,
 * 2 usage. Errors print one line `<program> <command>: <message>` (plus any details) to stderr.
 */
export async function runProgram(root: Command, argv: string[], detail: ErrorDetail = () => undefined): Promise<number> {
  prepare(root);
  let where = root.name();
  root.hook('preAction', (_this, action) => {
    where = commandPath(action).join(' ');
  });
  try {
    await root.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof CliExit) {
      if (err.message) process.stderr.write(`${where}: ${err.message}\n`);
      return err.code;
    }
    if (err instanceof UsageError) {
      process.stderr.write(`${where}: ${err.message}\n(run '${where} --help' for usage)\n`);
      return 2;
    }
    const code = (err as { code?: unknown }).code;
    const tag = typeof code === 'string' && code.startsWith('SIGIL_') ? ` [${code}]` : '';
    const lines = [`${where}: ${err instanceof Error ? err.message : String(err)}${tag}`, ...(detail(err) ?? []).map((d) => `  - ${d}`)];
    process.stderr.write(`${lines.join('\n')}\n`);
    const exitCode = (err as { exitCode?: unknown }).exitCode;
    return typeof exitCode === 'number' ? exitCode : 1;
  }
}

/** The program's entry point: runs argv and sets the exit code (never calls process.exit: output drains). */
export function main(root: Command, detail?: ErrorDetail): void {
  void runProgram(root, process.argv.slice(2), detail).then((code) => {
    process.exitCode = code;
  });
}

function commandPath(command: Command): string[] {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names;
}
