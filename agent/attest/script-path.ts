import { closeSync, constants, fstatSync, lstatSync, openSync, readlinkSync, statfsSync, type BigIntStats } from 'node:fs';

/** An open script file, found as the process would find it, and its path in the process's view. */
export interface OpenedScript {
  fd: number;
  path: string;
}

/** Symlinks followed at most, as the kernel's own limit (MAXSYMLINKS). */
const MAX_LINKS = 40;

/**
 * Filesystems a script is never taken from: procfs and sysfs (`/proc/self`, `/dev/fd -> /proc/self/fd`
 * would name the agent's own files when the agent resolves them), and FUSE, whose server may answer
 * each reader differently (the interpreter one file, the agent another).
 */
const REFUSED_FS = new Map<number, string>([
  [0x9fa0, 'procfs'],
  [0x62656572, 'sysfs'],
  [0x65735546, 'fuse'],
]);

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * Opens the script `arg` of process `pid` the way that process resolves it: relative to its cwd,
 * absolute ones and absolute symlink targets relative to its root. The kernel never resolves a
 * symlink for us: every component is opened with O_NOFOLLOW through the fd of its directory
 * (`/proc/self/fd/<dir>/<name>`) and every symlink is read and walked here. Otherwise a link like
 * `/proc/self/cwd/opt/app/bound.js` would mean the attacker's own file to the interpreter and the
 * agent's file to the agent. Returns undefined (no script) for anything that is not a regular file on
 * an ordinary filesystem, too many links, or a file that changed under the walk. The caller closes fd.
 *
 * The script must also be immutable to everyone but root, along the whole walk (see `guarded`):
 * otherwise whoever may rename or rewrite it can let the interpreter read one file and the agent
 * hash another, in either order, however fast the agent is.
 */
export function openScript(pid: number, arg: string): OpenedScript | undefined {
  const fds: number[] = [];
  // follow: only for /proc/<pid>/root and /cwd, magic links that jump to the process's own directories.
  const openDir = (path: string, follow = false): number => {
    const fd = openSync(path, follow ? DIR_FLAGS & ~constants.O_NOFOLLOW : DIR_FLAGS);
    fds.push(fd);
    return fd;
  };
  try {
    const rootFd = openDir(`/proc/${pid}/root`, true);
    const root = fstatSync(rootFd, { bigint: true });
    let dirFd: number;
    let where: string[];
    if (arg.startsWith('/')) {
      dirFd = rootFd;
      where = [];
    } else {
      dirFd = openDir(`/proc/${pid}/cwd`, true);
      where = readlinkSync(`/proc/${pid}/cwd`).split('/').filter((c) => c !== '');
    }
    if (refusedFs(dirFd)) return undefined;
    let dirStat = fstatSync(dirFd, { bigint: true });
    const queue = components(arg);
    let links = 0;
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (name === '..') {
        const here = fstatSync(dirFd, { bigint: true });
        // `..` of the process's root is its root (as for a chroot).
        if (here.dev === root.dev && here.ino === root.ino) continue;
        dirFd = openDir(`/proc/self/fd/${dirFd}/..`);
        dirStat = fstatSync(dirFd, { bigint: true });
        where.pop();
        continue;
      }
      const entry = `/proc/self/fd/${dirFd}/${name}`;
      const st = lstatSync(entry, { bigint: true });
      if (!guarded(dirStat, st)) return undefined;
      if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) return undefined;
        const target = readlinkSync(entry);
        if (target.startsWith('/')) {
          dirFd = rootFd;
          dirStat = fstatSync(dirFd, { bigint: true });
          where = [];
        }
        queue.unshift(...components(target));
        continue;
      }
      if (queue.length === 0) {
        if (!st.isFile()) return undefined;
        const fd = openSync(entry, FILE_FLAGS);
        const opened = fstatSync(fd, { bigint: true });
        if (!opened.isFile() || opened.dev !== st.dev || opened.ino !== st.ino || !rootOnly(opened) || refusedFs(fd)) {
          closeSync(fd);
          return undefined;
        }
        return { fd, path: `/${[...where, name].join('/')}` };
      }
      if (!st.isDirectory()) return undefined;
      dirFd = openDir(entry);
      dirStat = fstatSync(dirFd, { bigint: true });
      where.push(name);
      if (refusedFs(dirFd)) return undefined;
    }
    return undefined;
  } catch {
    // ENOENT, ELOOP (a component became a symlink under the walk), EACCES...: no script.
    return undefined;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}

/** Owned by root and writable by nobody else. */
function rootOnly(st: BigIntStats): boolean {
  return st.uid === 0n && (st.mode & 0o022n) === 0n;
}

/**
 * Only root can replace `entry` inside `dir`: dir is root's and writable by root alone, or it is a
 * sticky root directory (like /tmp) and the entry is root's, which nobody else may then rename or
 * unlink.
 */
function guarded(dir: BigIntStats, entry: BigIntStats): boolean {
  if (rootOnly(dir)) return true;
  return dir.uid === 0n && (dir.mode & 0o1000n) !== 0n && entry.uid === 0n;
}

function components(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

function refusedFs(fd: number): boolean {
  return REFUSED_FS.has(Number(statfsSync(`/proc/self/fd/${fd}`).type));
}
