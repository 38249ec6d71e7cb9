/**
 * Makes the fallback directory safe to write into as root: nobody but root can swap it or any
 * directory above it, it is a real directory (no symlink), owned by the workload and 0700.
 *
 * Why the parent must be root's alone: the agent writes by path, so whoever can rename entries in the
 * parent could point the directory elsewhere between our check and our write (e.g. at /etc). Higher
 * ancestors may be world-writable only with the sticky bit (like /tmp), which stops others from
 * renaming root's entries. Inside the directory, files are created with O_EXCL|O_NOFOLLOW and renamed
 * into place, so links the workload plants there are replaced, never followed.
 */
import { constants } from 'node:fs';
import { lstat, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CREDENTIAL_ERRORS, CredentialError } from '../errors.js';

const GROUP_OR_OTHER_WRITE = 0o022;
const STICKY = 0o1000;

function unsafe(dir: string, why: string): CredentialError {
  return new CredentialError(CREDENTIAL_ERRORS.FALLBACK_UNSAFE_DIR, `file fallback directory ${dir}: ${why}`);
}

function isRootOrSelf(uid: number): boolean {
  return uid === 0 || uid === process.geteuid?.();
}

/** Every directory from `dir`'s parent up to / is root's and cannot be renamed by anyone else. */
export async function checkAncestors(dir: string): Promise<void> {
  let current = dirname(dir);
  let immediate = true;
  for (;;) {
    let st;
    try {
      st = await lstat(current);
    } catch (err) {
      throw unsafe(dir, `${current} cannot be examined (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    if (st.isSymbolicLink()) throw unsafe(dir, `${current} is a symbolic link; give the real path`);
    if (!st.isDirectory()) throw unsafe(dir, `${current} is not a directory`);
    if (!isRootOrSelf(st.uid)) throw unsafe(dir, `${current} is owned by uid ${st.uid}, not root`);
    const writableByOthers = (st.mode & GROUP_OR_OTHER_WRITE) !== 0;
    if (writableByOthers && (immediate || (st.mode & STICKY) === 0)) {
      throw unsafe(dir, `${current} is writable by group or others (mode ${(st.mode & 0o7777).toString(8)})`);
    }
    if (current === '/') return;
    current = dirname(current);
    immediate = false;
  }
}

/** Creates or adopts `dir` as a 0700 directory owned by uid:gid. Returns true when it created it. */
export async function prepareDir(dir: string, uid: number, gid: number): Promise<boolean> {
  await checkAncestors(dir);
  let created = false;
  try {
    await mkdir(dir, { mode: 0o700 });
    created = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw unsafe(dir, `cannot be created (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // lstat names the problem; the O_NOFOLLOW open and the inode comparison close the race after it.
  const seen = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    throw unsafe(dir, `cannot be examined (${err.code ?? 'error'})`);
  });
  if (seen.isSymbolicLink()) throw unsafe(dir, 'is a symbolic link');
  if (!seen.isDirectory()) throw unsafe(dir, 'is not a directory');
  let handle;
  try {
    handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    throw unsafe(dir, `cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const st = await handle.stat();
    if (st.dev !== seen.dev || st.ino !== seen.ino) throw unsafe(dir, 'changed while it was being checked');
    if (!created && st.uid !== uid && !isRootOrSelf(st.uid)) throw unsafe(dir, `already exists and belongs to uid ${st.uid}`);
    await handle.chown(uid, gid);
    await handle.chmod(0o700);
  } finally {
    await handle.close();
  }
  return created;
}
