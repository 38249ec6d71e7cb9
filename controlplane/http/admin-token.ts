import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ControlPlaneError } from '../errors.js';
import { HTTP_CODES } from './errors.js';

/**
 * The admin API's bearer token lives in a file (0600). At first start it is generated and written with
 * that mode from the start (O_EXCL, so two replicas starting together cannot both write one).
 */
export async function ensureAdminToken(path: string): Promise<string> {
  try {
    return await readToken(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  try {
    const handle = await open(path, 'wx', 0o600);
    try {
      await handle.writeFile(`${randomBytes(32).toString('base64url')}\n`);
    } finally {
      await handle.close();
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readToken(path);
}

export async function readToken(path: string): Promise<string> {
  const token = (await readFile(path, 'utf8')).trim();
  if (token === '') throw new ControlPlaneError(HTTP_CODES.AUTH_TOKEN_FILE, `the token file ${path} is empty`);
  return token;
}

/** Constant-time comparison of a presented `Authorization: Bearer` header with the token. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!match?.[1]) return false;
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(match[1]), digest(token));
}
