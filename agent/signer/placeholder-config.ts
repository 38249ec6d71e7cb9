/**
 * A placeholder OCI config profile so unmodified SDKs and the CLI start on a host where the signer
 * signs for them. Every value is a placeholder and the key is a throwaway: the SDK signs with it,
 * the signer discards that signature. RSA-1024 is the cheapest key all SDKs accept (Go refuses
 * smaller RSA keys, the CLI and Python sign rsa-sha256 only), so the wasted signing CPU stays small.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export const PLACEHOLDER_USER = 'ocid1.user.oc1..aaaaaaaasigilplaceholderuser0000000000000000000000000000000';
export const PLACEHOLDER_TENANCY = 'ocid1.tenancy.oc1..aaaaaaaasigilplaceholdertenancy000000000000000000000000000';
export const PLACEHOLDER_KEY_BITS = 1024;
const REGION_RE = /^[a-z]{2,}-[a-z]+-\d+$/;
const PROFILE_RE = /^[A-Za-z0-9_.-]+$/;

export interface PlaceholderConfigOptions {
  /** Directory for `config` and the key, e.g. ~/.oci. */
  dir: string;
  region: string;
  profile?: string;
  /** Replace an existing config file. */
  force?: boolean;
}

export interface PlaceholderConfig {
  configPath: string;
  keyPath: string;
  fingerprint: string;
  profile: string;
}

/** `aa:bb:…`: MD5 of the DER public key, the format the SDKs require of `fingerprint`. */
export function keyFingerprint(publicKey: crypto.KeyObject): string {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return (crypto.createHash('md5').update(der).digest('hex').match(/../g) as string[]).join(':');
}

export class PlaceholderConfigError extends Error {
  override readonly name = 'PlaceholderConfigError';
}

/** Writes `<dir>/config` and `<dir>/sigil_placeholder_key.pem` (both 0600, as the CLI expects). */
export async function writePlaceholderConfig(options: PlaceholderConfigOptions): Promise<PlaceholderConfig> {
  const profile = options.profile ?? 'DEFAULT';
  if (!REGION_RE.test(options.region)) throw new PlaceholderConfigError(`--region '${options.region}' is not a region id like us-ashburn-1`);
  if (!PROFILE_RE.test(profile)) throw new PlaceholderConfigError(`--profile '${profile}' may hold only letters, digits, '_', '.', '-'`);
  const dir = path.resolve(options.dir);
  const configPath = path.join(dir, 'config');
  const keyPath = path.join(dir, 'sigil_placeholder_key.pem');
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const exists = await fs.stat(configPath).then(() => true, () => false);
  if (exists && !options.force) {
    throw new PlaceholderConfigError(`${configPath} exists; pass --force to replace it, or --dir to write elsewhere`);
  }
  const { publicKey, privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: PLACEHOLDER_KEY_BITS });
  const fingerprint = keyFingerprint(publicKey);
  const text = [
    '# Written by `sigil-agent oci-config`. Placeholder values: the Sigil signer on this host replaces',
    '# every request signature with the workload\'s own short-lived credential. The key means nothing anywhere.',
    `[${profile}]`,
    `user=${PLACEHOLDER_USER}`,
    `tenancy=${PLACEHOLDER_TENANCY}`,
    `fingerprint=${fingerprint}`,
    `key_file=${keyPath}`,
    `region=${options.region}`,
    '',
  ].join('\n');
  await writeReplacing(keyPath, privateKey.export({ type: 'pkcs1', format: 'pem' }) as string);
  await writeReplacing(configPath, text);
  return { configPath, keyPath, fingerprint, profile };
}

async function writeReplacing(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, data, { mode: 0o600, flag: 'wx' });
  await fs.rename(tmp, file);
}
