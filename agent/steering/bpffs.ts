import path from 'node:path';
import { findBpffsMounts } from './mounts.js';
import { loadNative } from '../../native/index.js';
import { SteeringError, SteeringErrorCode } from './errors.js';

export const DEFAULT_BPFFS = '/sys/fs/bpf';

/**
 * Makes sure `pinDir` lies on a bpffs mount. If nothing is mounted at /sys/fs/bpf (some minimal
 * images skip it), mounts bpffs there, as systemd does at boot. Returns true if it mounted.
 */
export async function ensureBpffs(pinDir: string): Promise<boolean> {
  const resolved = path.resolve(pinDir);
  const onBpffs = (mounts: string[]) => mounts.some((m) => resolved === m || resolved.startsWith(`${m}/`));
  if (onBpffs(await findBpffsMounts())) return false;
  if (!resolved.startsWith(`${DEFAULT_BPFFS}/`)) {
    throw new SteeringError(SteeringErrorCode.NoBpffs, `pin dir ${pinDir} is not on a bpffs mount`);
  }
  try {
    loadNative().mountBpffs(DEFAULT_BPFFS);
  } catch (err) {
    // Another process may have mounted it meanwhile.
    if (onBpffs(await findBpffsMounts())) return false;
    throw new SteeringError(SteeringErrorCode.NoBpffs, `cannot mount bpffs at ${DEFAULT_BPFFS}: ${(err as Error).message}`, { cause: err });
  }
  return true;
}
