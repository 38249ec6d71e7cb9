import { readFileSync } from 'node:fs';

/** The environment of a process as `NAME=value` strings, and whether all of it could be read. */
export interface ProcessEnviron {
  env: string[];
  /** False when /proc/<pid>/environ could not be read, or its last entry is cut off. */
  complete: boolean;
}

/**
 * Reads /proc/<pid>/environ: the environment area execve set up, which is what the dynamic loader and
 * the interpreter read at start-up. It is the process's own memory, so a process can rewrite it after
 * exec (an LD_PRELOAD library could wipe its own trace); the environment captured by the kernel at exec
 * is the source to trust once the exec record carries it. Never throws: what cannot be read is
 * incomplete, and an incomplete environment binds nothing (matcher.ts).
 */
export function readEnviron(pid: number): ProcessEnviron {
  let raw: Buffer;
  try {
    raw = readFileSync(`/proc/${pid}/environ`);
  } catch {
    // EACCES (not root, another uid), ESRCH/ENOENT (gone): nothing can be said about it.
    return { env: [], complete: false };
  }
  return parseEnviron(raw);
}

/** Splits the NUL-separated environ bytes; a last entry without its NUL was cut off or overwritten. */
export function parseEnviron(raw: Buffer): ProcessEnviron {
  if (raw.length === 0) return { env: [], complete: true };
  const text = raw.toString('latin1');
  const complete = text.endsWith('\0');
  const env = (complete ? text.slice(0, -1) : text).split('\0');
  return { env, complete };
}
