import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, CompactSign, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';
import type { AgentBundle } from '../../protocol/bundle.js';
import type { BundleSigningJwk } from '../../protocol/fleet.js';
import { BUNDLE_JWS_TYPE } from '../../protocol/bundle.js';

/**
 * The ES256 key that signs agent bundles: distinct from the JWT-SVID issuer's keys (a bundle key that
 * leaked could not mint SVIDs, and SVID rotation does not break agents' pinned key). Kept on disk as a
 * private JWK, 0600, created once with O_EXCL so replicas starting together agree on one key.
 */
type SigningKey = Awaited<ReturnType<typeof importJWK>>;

export class BundleSigningKey {
  private constructor(private readonly privateKey: SigningKey, readonly publicJwk: BundleSigningJwk) {}

  static async loadOrCreate(path: string): Promise<BundleSigningKey> {
    try {
      return await BundleSigningKey.fromJwk(JSON.parse(await readFile(path, 'utf8')) as JWK);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const jwk = await exportJWK(privateKey);
    try {
      const handle = await open(path, 'wx', 0o600);
      try {
        await handle.writeFile(`${JSON.stringify(jwk)}\n`);
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return BundleSigningKey.fromJwk(JSON.parse(await readFile(path, 'utf8')) as JWK);
  }

  private static async fromJwk(jwk: JWK): Promise<BundleSigningKey> {
    const publicPart = { kty: 'EC', crv: 'P-256', x: jwk.x as string, y: jwk.y as string };
    const kid = await calculateJwkThumbprint(publicPart);
    const privateKey = await importJWK({ ...jwk, alg: 'ES256' }, 'ES256');
    return new BundleSigningKey(privateKey, { kty: 'EC', crv: 'P-256', x: publicPart.x, y: publicPart.y, kid, alg: 'ES256', use: 'sig' });
  }

  /** The bundle as a compact JWS (`typ` sigil-bundle+jws, `kid` = the key's thumbprint). */
  async sign(bundle: AgentBundle): Promise<string> {
    return new CompactSign(new TextEncoder().encode(JSON.stringify(bundle)))
      .setProtectedHeader({ alg: 'ES256', kid: this.publicJwk.kid, typ: BUNDLE_JWS_TYPE })
      .sign(this.privateKey);
  }
}
