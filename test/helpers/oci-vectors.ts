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
  /** e.g. "Object Storage PutObject: PUT /n/{ns}/b/{bucket}/o/{object}" */
  bodyExcludedOperations: string[];
  vectors: OciVector[];
}

/**
 * A predicate built from the vector file's list of operations whose body is not signed, so tests can
 * judge the signer's own isBodyExcluded() against the file instead of against itself. A `{name}`
 * matches one path segment, except a final one, which matches the rest (object names may hold '/').
 */
export function bodyExcludedByVectors(file: OciVectorFile): (method: string, target: string) => boolean {
  const ops = file.bodyExcludedOperations.map((line) => {
    const m = /:\s*([A-Z]+)\s+(\/\S*)$/.exec(line);
    if (!m) throw new Error(`unreadable body-excluded operation ${JSON.stringify(line)}`);
    const segments = m[2]!.split('/');
    const pattern = segments
      .map((seg, i) => (/^\{\w+\}$/.test(seg) ? (i === segments.length - 1 ? '.+' : '[^/]+') : seg.replace(/[.*+?^$()|[\]\\]/g, '\\$&')))
      .join('/');
    return { method: m[1]!, path: new RegExp(`^${pattern}$`) };
  });
  if (ops.length === 0) throw new Error('the vector file lists no body-excluded operations');
  return (method, target) => {
    const path = target.split('?', 1)[0] ?? '';
    return ops.some((op) => op.method === method.toUpperCase() && op.path.test(path));
  };
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
