import { readFile } from 'node:fs/promises';
import { SteeringError, SteeringErrorCode } from './errors.js';

interface MountEntry { source: string; target: string; fstype: string }

/** /proc/mounts escapes spaces etc. as octal (\040). */
function unescapeMountPath(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseMounts(text: string): MountEntry[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const [source = '', target = '', fstype = ''] = line.split(' ');
    return { source, target: unescapeMountPath(target), fstype };
  });
}

/** The cgroup v2 mount point (e.g. /sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts). */
export async function findCgroup2Mount(mountsText?: string): Promise<string> {
  const text = mountsText ?? (await readFile('/proc/mounts', 'utf8'));
  const found = parseMounts(text).find((m) => m.fstype === 'cgroup2');
  if (!found) throw new SteeringError(SteeringErrorCode.NoCgroup2, 'no cgroup2 mount in /proc/mounts; Sigil needs the unified cgroup hierarchy');
  return found.target;
}

/** Every bpffs mount point, in /proc/mounts order. */
export async function findBpffsMounts(mountsText?: string): Promise<string[]> {
  const text = mountsText ?? (await readFile('/proc/mounts', 'utf8'));
  return parseMounts(text).filter((m) => m.fstype === 'bpf').map((m) => m.target);
}
