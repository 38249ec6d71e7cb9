/**
 * The OCI request-signature test vectors (`test/fixtures/vectors/oci-signing.json`, a copy kept in the repository), typed, for
 * the agent's signer tests and the Object Storage stand-in's verifier tests alike.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface OciVector {
  name: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  signedHeaders: string;
  body: string | null;
  signingString: string;
  signature: string;
}

export interface OciVectorFile {
  privateKeyPem: string;
  publicKeyPem: string;
  emptyBodySha256: string;
  vectors: OciVector[];
}

/** Reads the vectors from the repository (root found by its package.json), wherever the compiled test runs. */
export function loadOciVectors(): OciVectorFile {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return JSON.parse(readFileSync(join(dir, 'test', 'fixtures', 'vectors', 'oci-signing.json'), 'utf8')) as OciVectorFile;
}
