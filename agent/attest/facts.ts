import { closeSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import type { FileDigest } from './hash-cache.js';
import type { ExecRecord, ExecutedFile } from './types.js';
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

/**
 * What attestation knows about one process. `source` says where argv came from: 'exec' — copied by
 * the kernel at exec, before the program ran; 'proc' — read from /proc now (processes that predate
 * the agent, or whose exec record was lost with a restart).
 */
export interface ProcessFacts {
  source: 'exec' | 'proc';
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

/** What the kernel knows about the process, which /proc must agree with. */
export interface FactsOrigin {
  /** The file the kernel saw executed: /proc/<pid>/exe must open exactly this one (else EXE_MISMATCH). */
  executed?: ExecutedFile;
  /** argv and environ the kernel copied at exec; without it they are read from /proc. */
  exec?: ExecRecord;
  /** No exec record at all (the process predates the agent): run the checks that stand in for one. */
  predating?: boolean;
}

const DELETED_SUFFIX = ' (deleted)';

/**
 * Reads the facts of a live process. Throws AgentError GONE when the process vanished (or was
 * replaced by another with the same pid) while being read, FACTS when /proc could not be read.
 */
export async function readProcessFacts(pid: number, deps: FactsDeps, origin: FactsOrigin = {}): Promise<ProcessFacts> {
  const stat = readProcStat(pid);
  const rawExe = read(pid, 'exe', () => readlinkSync(`/proc/${pid}/exe`));
  const exe = await readAsync(pid, 'exe', () => deps.hashes.digest(`/proc/${pid}/exe`));
  const executed = origin.executed ?? origin.exec;
  if (executed !== undefined) checkExecuted(pid, exe, executed);
  if (origin.predating) checkPredating(pid, exe);
  const exeDeleted = exe.nlink === 0n;
  const exePath = exeDeleted && rawExe.endsWith(DELETED_SUFFIX) ? rawExe.slice(0, -DELETED_SUFFIX.length) : rawExe;
  const ids = parseProcIds(read(pid, 'status', () => readFileSync(`/proc/${pid}/status`, 'latin1')));
  const systemdUnit = systemdUnitFromCgroup(read(pid, 'cgroup', () => readFileSync(`/proc/${pid}/cgroup`, 'utf8')));
  const argv = origin.exec !== undefined ? (origin.exec.argvComplete ? [...origin.exec.argv] : undefined) : readCmdline(pid);
  const script = argv === undefined ? undefined : await readScript(pid, basename(exePath), argv, deps.hashes, origin.exec?.cwd);
  // The kernel's copy from exec when there is one: /proc/<pid>/environ is the process's own memory.
  const environ = origin.exec !== undefined ? { env: [...origin.exec.env], complete: origin.exec.envComplete } : readEnviron(pid);

  // Everything above must describe one process: if the pid was reused meanwhile, give up.
  if (readProcStat(pid).startTimeTicks !== stat.startTimeTicks) {
    throw new AgentError(ATTEST_ERR.GONE, `process ${pid} exited and its pid was reused while it was attested`);
  }
  return {
    source: origin.exec !== undefined ? 'exec' : 'proc',
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
async function readScript(
  pid: number,
  exeBasename: string,
  argv: readonly string[],
  hashes: HashCache,
  cwdAtExec?: { dev: number; ino: bigint },
): Promise<ProcessFacts['script']> {
  const family = interpreterFamily(exeBasename);
  if (family === undefined) return undefined;
  const arg = scriptArgument(argv, family);
  if (arg === undefined || arg.length === 0) return undefined;
  if (!arg.startsWith('/') && cwdAtExec !== undefined) {
    // A process that changed directory since exec could make a relative name point at another file.
    const now = read(pid, 'cwd', () => statSync(`/proc/${pid}/cwd`, { bigint: true }));
    if (now.dev !== BigInt(cwdAtExec.dev) || now.ino !== cwdAtExec.ino) return undefined;
  }
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

function readCmdline(pid: number): string[] {
  const argv = read(pid, 'cmdline', () => readFileSync(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  if (argv[argv.length - 1] === '') argv.pop();
  return argv;
}

/** /proc/<pid>/exe must open the very file the kernel executed: same device, inode and ctime. */
function checkExecuted(pid: number, exe: FileDigest, executed: ExecutedFile): void {
  if (exe.dev === BigInt(executed.dev) && exe.ino === executed.ino && exe.ctimeNs === executed.ctimeNs) return;
  throw new AgentError(
    ATTEST_ERR.EXE_MISMATCH,
    `process ${pid}: /proc/${pid}/exe (dev ${exe.dev}, inode ${exe.ino}, ctime ${exe.ctimeNs}) is not the file it executed (dev ${executed.dev}, inode ${executed.ino}, ctime ${executed.ctimeNs}): its exe was swapped or the file changed since exec`,
  );
}

/**
 * Stand-ins for the exec record a process that predates the agent lacks: the exe /proc names must be
 * mapped executable in its own memory (an exe swapped by PR_SET_MM_EXE_FILE is not), and it must run
 * in the host's user namespace (the agent's own).
 */
function checkPredating(pid: number, exe: FileDigest): void {
  const untrusted = (why: string): never => {
    throw new AgentError(ATTEST_ERR.UNTRUSTED, `process ${pid} predates the agent and ${why}; left unbound`);
  };
  const ns = read(pid, 'ns/user', () => readlinkSync(`/proc/${pid}/ns/user`));
  if (ns !== readlinkSync('/proc/self/ns/user')) untrusted(`runs in another user namespace (${ns})`);
  const maps = read(pid, 'maps', () => readFileSync(`/proc/${pid}/maps`, 'latin1'));
  if (!mapsExecutable(maps, exe.dev, exe.ino)) untrusted(`its exe (inode ${exe.ino}) is not mapped executable in its memory`);
}

/** Whether /proc/<pid>/maps has an executable mapping of (dev, ino); dev in st_dev encoding. */
export function mapsExecutable(maps: string, dev: bigint, ino: bigint): boolean {
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
  const minor = (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
  for (const line of maps.split('\n')) {
    const fields = line.split(/\s+/);
    const [perms, devField, inode] = [fields[1], fields[3], fields[4]];
    if (perms === undefined || devField === undefined || inode === undefined || perms[2] !== 'x') continue;
    const [ma, mi] = devField.split(':').map((h) => BigInt(`0x${h}`));
    if (ma === major && mi === minor && BigInt(inode) === ino) return true;
  }
  return false;
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
