import { closeSync, readFileSync, readlinkSync } from 'node:fs';
import { basename } from 'node:path';
import { AgentError } from '../errors.js';
import { ATTEST_ERR } from './errors.js';
import type { HashCache } from './hash-cache.js';
import { injectionVariables } from './injection-env.js';
import { interpreterFamily, scriptArgument, type InterpreterFamily } from './interpreter.js';
import type { PasswdNames } from './passwd.js';
import { readEnviron } from './proc-environ.js';
import { procError } from './proc-error.js';
import { readProcStat } from './proc-stat.js';
import { openScript } from './script-path.js';
import { parseProcIds } from './proc-status.js';
import { systemdUnitFromCgroup } from './systemd-unit.js';

/** What attestation knows about one process, all read from /proc. */
export interface ProcessFacts {
  pid: number;
  /** Field 22 of /proc/<pid>/stat (clock ticks since boot); with pid, names one process for all time. */
  startTimeTicks: bigint;
  /** Where the executable was when it was executed (without the kernel's " (deleted)" suffix). */
  exePath: string;
  /** The executable has been deleted (or replaced by rename) since exec; its hash is still of what ran. */
  exeDeleted: boolean;
  /** sha256 of what was executed, hashed through an fd of /proc/<pid>/exe. */
  sha256: string;
  /**
   * Effective ids: what the kernel checks for permissions, so they are what `unix:uid`/`unix:gid`
   * match. The real ids are kept for display (a setuid program differs in the two).
   */
  uid: number;
  gid: number;
  realUid: number;
  realGid: number;
  /** Name of the effective uid in /etc/passwd, if it has one. */
  user: string | undefined;
  /** Innermost systemd .service or .scope unit from /proc/<pid>/cgroup, if any. */
  systemdUnit: string | undefined;
  /** For a known interpreter started on a script file: that file (resolved against the process's cwd). */
  script: { interpreter: InterpreterFamily; path: string; sha256: string } | undefined;
  /** Code-injection variables (injection-env.ts) present in the environment at exec, sorted. */
  injectionEnv: readonly string[];
  /** The whole environment was read; when false, injectionEnv may miss some and nothing binds. */
  envComplete: boolean;
}

export interface FactsDeps {
  hashes: HashCache;
  passwd: PasswdNames;
}

const DELETED_SUFFIX = ' (deleted)';

/**
 * Reads the facts of a live process. Throws AgentError GONE when the process vanished (or was
 * replaced by another with the same pid) while being read, FACTS when /proc could not be read.
 */
export async function readProcessFacts(pid: number, deps: FactsDeps): Promise<ProcessFacts> {
  const stat = readProcStat(pid);
  const rawExe = read(pid, 'exe', () => readlinkSync(`/proc/${pid}/exe`));
  const exe = await readAsync(pid, 'exe', () => deps.hashes.digest(`/proc/${pid}/exe`));
  const exeDeleted = exe.nlink === 0n;
  const exePath = exeDeleted && rawExe.endsWith(DELETED_SUFFIX) ? rawExe.slice(0, -DELETED_SUFFIX.length) : rawExe;
  const ids = parseProcIds(read(pid, 'status', () => readFileSync(`/proc/${pid}/status`, 'latin1')));
  const systemdUnit = systemdUnitFromCgroup(read(pid, 'cgroup', () => readFileSync(`/proc/${pid}/cgroup`, 'utf8')));
  const script = await readScript(pid, basename(exePath), deps.hashes);
  const environ = readEnviron(pid);

  // Everything above must describe one process: if the pid was reused meanwhile, give up.
  if (readProcStat(pid).startTimeTicks !== stat.startTimeTicks) {
    throw new AgentError(ATTEST_ERR.GONE, `process ${pid} exited and its pid was reused while it was attested`);
  }
  return {
    pid,
    startTimeTicks: stat.startTimeTicks,
    exePath,
    exeDeleted,
    sha256: exe.sha256,
    uid: ids.effectiveUid,
    gid: ids.effectiveGid,
    realUid: ids.realUid,
    realGid: ids.realGid,
    user: deps.passwd.nameOf(ids.effectiveUid),
    systemdUnit,
    script,
    injectionEnv: injectionVariables(environ.env),
    envComplete: environ.complete,
  };
}

/**
 * The script of an interpreter, opened as the process resolves it (script-path.ts: its cwd and root,
 * no symlink followed by the kernel on the agent's behalf). A script that cannot be opened that way
 * yields no script facts rather than an error.
 */
async function readScript(pid: number, exeBasename: string, hashes: HashCache): Promise<ProcessFacts['script']> {
  const family = interpreterFamily(exeBasename);
  if (family === undefined) return undefined;
  const argv = read(pid, 'cmdline', () => readFileSync(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  if (argv[argv.length - 1] === '') argv.pop();
  const arg = scriptArgument(argv, family);
  if (arg === undefined || arg.length === 0) return undefined;
  const opened = openScript(pid, arg);
  if (opened === undefined) return undefined;
  try {
    const digest = await hashes.digest(`/proc/self/fd/${opened.fd}`);
    return { interpreter: family, path: opened.path, sha256: digest.sha256 };
  } catch {
    return undefined;
  } finally {
    closeSync(opened.fd);
  }
}

function read<T>(pid: number, what: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw procError(err, pid, what);
  }
}

async function readAsync<T>(pid: number, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw procError(err, pid, what);
  }
}
