/**
 * Which bindings also get a file fallback, from the agent's config (opt-in, per binding):
 *
 *   fileFallback:
 *     - bindingId: billing-exporter
 *       uid: 1001            # the workload's user: owner of the directory and files
 *       gid: 1001            # optional, default: the uid's primary group in /etc/passwd
 *       dir: /var/lib/sigil/fallback/billing-exporter
 *       region: us-ashburn-1 # optional, default: the credential source's region
 */
import { isAbsolute, normalize } from 'node:path';
import { CREDENTIAL_ERRORS, CredentialError } from '../errors.js';

export interface FileFallbackConfig {
  bindingId: string;
  uid: number;
  gid?: number;
  /** Absolute path of the directory the profile is written to; its parent must be root's alone. */
  dir: string;
  region?: string;
}

const ALLOWED = ['bindingId', 'uid', 'gid', 'dir', 'region'];

function isId(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n < 2 ** 32 - 1;
}

/** Validates a `fileFallback` list; errors name the field (`fileFallback[1].dir: ...`). */
export function parseFileFallbackConfigs(value: unknown, path = 'fileFallback'): FileFallbackConfig[] {
  if (value === undefined || value === null) return [];
  const fail = (field: string, why: string): CredentialError => new CredentialError(CREDENTIAL_ERRORS.FALLBACK_BAD_CONFIG, `${field}: ${why}`);
  if (!Array.isArray(value)) throw fail(path, 'must be a list');
  const seen = new Set<string>();
  return value.map((item: unknown, i) => {
    const at = `${path}[${i}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw fail(at, 'must be a mapping');
    const entry = item as Record<string, unknown>;
    for (const key of Object.keys(entry)) if (!ALLOWED.includes(key)) throw fail(`${at}.${key}`, `unknown field (allowed: ${ALLOWED.join(', ')})`);
    const { bindingId, uid, gid, dir, region } = entry;
    if (typeof bindingId !== 'string' || bindingId === '') throw fail(`${at}.bindingId`, 'is required');
    if (seen.has(bindingId)) throw fail(`${at}.bindingId`, `binding "${bindingId}" is listed twice`);
    seen.add(bindingId);
    if (!isId(uid)) throw fail(`${at}.uid`, 'must be a numeric uid');
    if (uid === 0) throw fail(`${at}.uid`, 'must not be 0: the fallback is for an unprivileged workload');
    if (gid !== undefined && !isId(gid)) throw fail(`${at}.gid`, 'must be a numeric gid');
    if (typeof dir !== 'string' || !isAbsolute(dir) || normalize(dir) !== dir || dir === '/' || dir.endsWith('/')) {
      throw fail(`${at}.dir`, 'must be a normalized absolute path (no "..", no trailing "/")');
    }
    if (region !== undefined && (typeof region !== 'string' || !/^[a-z0-9-]{1,64}$/.test(region))) throw fail(`${at}.region`, 'must be a region id');
    const config: FileFallbackConfig = { bindingId, uid, dir };
    if (gid !== undefined) config.gid = gid as number;
    if (region !== undefined) config.region = region as string;
    return config;
  });
}
