import { AGENT_STATE_DIR_MODE } from '../state-dir.js';
import { ensureDir, writeFileAtomic as writeAtomic } from '../../common/files.js';

/** Creates the agent's state dir (and missing parents) with AGENT_STATE_DIR_MODE whatever the umask. */
export async function ensureStateDir(dir: string): Promise<void> {
  await ensureDir(dir, AGENT_STATE_DIR_MODE);
}

/** Writes a state file atomically, mode 0600 from the start (its directory made 0700 if missing). */
export async function writeFileAtomic(path: string, data: string): Promise<void> {
  await writeAtomic(path, data, { mode: 0o600, parentMode: 0o700 });
}
