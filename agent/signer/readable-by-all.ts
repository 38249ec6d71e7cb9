/**
 * Whether a file can be read by any uid: every directory on its path lets others enter (o+x) and the
 * file lets them read (o+r). Workloads run as their own users, so the exported CA certificate must
 * pass this; a 0700 directory anywhere above it breaks every non-root client's TLS to the signer.
 */
import fs from 'node:fs/promises';
import path from 'node:path';

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** Why others cannot read `file` (naming the directory or file and its mode), or undefined if they can. */
export async function unreadableByOthers(file: string): Promise<string | undefined> {
  const abs = path.resolve(file);
  const st = await fs.stat(abs);
  if ((st.mode & 0o004) === 0) return `${abs} has mode ${octal(st.mode)} (others cannot read it)`;
  for (let dir = path.dirname(abs); ; dir = path.dirname(dir)) {
    const d = await fs.stat(dir);
    if ((d.mode & 0o001) === 0) return `${dir} has mode ${octal(d.mode)} (others cannot enter it)`;
    if (path.dirname(dir) === dir) return undefined;
  }
}
