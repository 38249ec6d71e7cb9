/**
 * The OCI config profile a session-token client reads (OCI CLI `--auth security_token`, the SDKs'
 * session-token providers): tenancy, region, fingerprint, key_file, security_token_file.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';

export interface ProfileFields {
  bindingId: string;
  tenancy?: string;
  region?: string;
  keyFile: string;
  tokenFile: string;
  privateKey: KeyObject;
}

/** MD5 of the DER public key in aa:bb:... form; the TypeScript SDK insists on the field being there. */
export function keyFingerprint(privateKey: KeyObject): string {
  const der = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  return createHash('md5').update(der).digest('hex').replace(/(..)(?!$)/g, '$1:');
}

export function renderProfile(fields: ProfileFields): string {
  const lines = [
    `# Written by sigil-agent for binding "${fields.bindingId}". Refreshed in place; edits are overwritten.`,
    '[DEFAULT]',
  ];
  if (fields.tenancy !== undefined) lines.push(`tenancy=${fields.tenancy}`);
  if (fields.region !== undefined) lines.push(`region=${fields.region}`);
  lines.push(`fingerprint=${keyFingerprint(fields.privateKey)}`);
  lines.push(`key_file=${fields.keyFile}`);
  lines.push(`security_token_file=${fields.tokenFile}`);
  return `${lines.join('\n')}\n`;
}
