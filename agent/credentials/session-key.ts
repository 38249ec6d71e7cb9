/**
 * A binding's session key: RSA-2048, generated off the event loop, held in memory only. Only the
 * public half ever leaves the agent (as base64 DER SubjectPublicKeyInfo, the form OCI IAM expects).
 */
import { generateKeyPair, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';

const generate = promisify(generateKeyPair);

export interface SessionKey {
  privateKey: KeyObject;
  /** Base64 of the DER SubjectPublicKeyInfo. */
  publicKeyDerB64: string;
}

export async function createSessionKey(): Promise<SessionKey> {
  const { privateKey, publicKey } = await generate('rsa', { modulusLength: 2048 });
  return { privateKey, publicKeyDerB64: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') };
}
