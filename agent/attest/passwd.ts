import { readFileSync, statSync } from 'node:fs';

/**
 * uid → user name from /etc/passwd, without NSS (no dependency, no blocking lookups). Users only known
 * to LDAP/sssd have no name here, so `unix:user` cannot hold for them; `unix:uid` still can.
 * The parsed file is kept until its mtime changes.
 */
export class PasswdNames {
  private names = new Map<number, string>();
  private loadedMtimeMs = -1;

  constructor(private readonly file = '/etc/passwd') {}

  nameOf(uid: number): string | undefined {
    this.refresh();
    return this.names.get(uid);
  }

  private refresh(): void {
    let mtimeMs: number;
    try {
      mtimeMs = statSync(this.file).mtimeMs;
    } catch {
      this.names.clear();
      return;
    }
    if (mtimeMs === this.loadedMtimeMs) return;
    this.names = parsePasswd(readFileSync(this.file, 'utf8'));
    this.loadedMtimeMs = mtimeMs;
  }
}

/** First entry wins for a uid shared by several names, as getpwuid(3) does with files. */
export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uid] = line.split(':');
    if (!name || uid === undefined || !/^\d+$/.test(uid) || name.startsWith('#') || name.startsWith('+')) continue;
    if (!names.has(Number(uid))) names.set(Number(uid), name);
  }
  return names;
}
