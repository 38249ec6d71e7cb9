import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
import { AGENT_STATE_DIR_MODE } from '../config.js';

/**
 * Creates the agent's state dir (and missing parents) with AGENT_STATE_DIR_MODE whatever the umask,
 * as systemd's StateDirectory= does; an existing directory's mode is left as the operator set it.
 */
export async function ensureStateDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: AGENT_STATE_DIR_MODE });
  if (first === undefined) return;
  let path = first;
  await chmod(path, AGENT_STATE_DIR_MODE);
  for (const part of relative(first, dir).split(sep).filter(Boolean)) {
    path = `${path}${sep}${part}`;
    await chmod(path, AGENT_STATE_DIR_MODE);
  }
}

/** Writes `path` atomically (temp file in the same dir, fsync, rename), mode 0600 from the start. */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const temp = `${path}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await open(temp, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temp, path);
}
