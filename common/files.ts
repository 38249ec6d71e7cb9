/**
 * Files both programs keep state in. One atomic writer: a fresh temp file next to the target
 * (O_EXCL|O_NOFOLLOW, so nothing planted in the directory is followed), owner and mode set on the open
 * fd before any byte is written (the umask cannot widen or narrow it), fsync, rename over. Readers see
 * the old content or the new, never half of either, and never with a wider mode.
 */
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { chmod, mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';

export interface AtomicWriteOptions {
  /** Default 0600. */
  mode?: number;
  /** Default: the writer's own. */
  owner?: { uid: number; gid: number };
  /** Create a missing parent directory with this mode (default: the parent must exist). */
  parentMode?: number;
}

export async function writeFileAtomic(path: string, content: string, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.mode ?? 0o600;
  if (options.parentMode !== undefined) await mkdir(dirname(path), { recursive: true, mode: options.parentMode });
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | fsConstants.O_NOFOLLOW, mode);
  try {
    try {
      if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
      await handle.chmod(mode);
      await handle.writeFile(content);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw err;
  }
}

/**
 * Creates a directory (and missing parents) with `mode` whatever the umask, as systemd's
 * StateDirectory= does; an existing directory's mode is left as the operator set it.
 */
export async function ensureDir(dir: string, mode: number): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode });
  if (first === undefined) return;
  let path = first;
  await chmod(path, mode);
  for (const part of relative(first, dir).split(sep).filter(Boolean)) {
    path = `${path}${sep}${part}`;
    await chmod(path, mode);
  }
}
