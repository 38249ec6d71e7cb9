import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repo root (this file runs from dist/test/controlplane/). */
export const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const SERVER_MAIN = join(ROOT, 'dist/controlplane/cli/server-main.js');
export const CLI_MAIN = join(ROOT, 'dist/controlplane/cli/main.js');

export async function tempDir(t: import('ava').ExecutionContext, name: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `sigil-test-${name}-`));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
  stop: () => Promise<number | null>;
}

/** Runs `sigil-controlplane run ...args` and waits for its "listening" log line. Stopped by pid on teardown. */
export async function startServerProcess(t: import('ava').ExecutionContext, args: string[]): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SERVER_MAIN, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  t.teardown(stop);
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`control plane did not start:\n${out}`)), 15_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const match = /"address":"(http:\/\/[^"]+)"[^\n]*"msg":"listening"/.exec(out);
      if (match?.[1]) { clearTimeout(timer); resolveUrl(match[1]); }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    void exited.then((code) => { clearTimeout(timer); reject(new Error(`control plane exited (${code}):\n${out}`)); });
  });
  return { url, child, output: () => out, stop };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** No CLI call in a test runs this long; one that does is ended and fails its test with what it printed. */
const CLI_DEADLINE_MS = 60_000;

/** Runs the `sigil` CLI binary. */
export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliResult> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const deadline = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`sigil ${args.join(' ')} ran longer than ${CLI_DEADLINE_MS / 1000} s and was ended\nstdout: ${stdout}\nstderr: ${stderr}`));
    }, CLI_DEADLINE_MS);
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('error', (err) => { clearTimeout(deadline); reject(err); });
    child.once('exit', (code) => { clearTimeout(deadline); resolveRun({ code, stdout, stderr }); });
    child.stdin.end(stdin ?? '');
  });
}
