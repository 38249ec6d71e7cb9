/** Spawns the compiled CLIs (`node dist/...main.js`): what a user runs, and fast (no build, no npm). */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { agentProgram } from '../../../agent/cli/program.js';
import { sigilProgram } from '../../../controlplane/cli/program.js';
import { serverProgram } from '../../../controlplane/cli/server-program.js';

/** The repo root (this file runs from dist/test/common/cli/). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

export interface Program {
  name: string;
  main: string;
  tree: () => Command;
}

export const PROGRAMS: readonly Program[] = [
  { name: 'sigil', main: path.join(ROOT, 'dist/controlplane/cli/main.js'), tree: sigilProgram },
  { name: 'sigil-agent', main: path.join(ROOT, 'dist/agent/cli/main.js'), tree: agentProgram },
  { name: 'sigil-controlplane', main: path.join(ROOT, 'dist/controlplane/cli/server-main.js'), tree: serverProgram },
];

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node <main> ...args`; killed (by pid) after `timeoutMs` (generous: CI machines are shared), which then fails the caller's assertions. */
export function runProgram(main: string, args: readonly string[], env: Record<string, string> = {}, stdin = '', timeoutMs = 90_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [main, ...args], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

/** Runs `jobs` at most `width` at a time (the machine is shared), in order of the results. */
export async function pool<T>(jobs: ReadonlyArray<() => Promise<T>>, width = 4): Promise<T[]> {
  const results = new Array<T>(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await (jobs[i] as () => Promise<T>)();
    }
  }));
  return results;
}
