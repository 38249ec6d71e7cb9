import { createPrivateKey, sign, type JsonWebKeyInput, type KeyObject } from 'node:crypto';
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
  /** The protected header, encoded once: it is the same for every bundle. */
  readonly #header: string;

  private constructor(private readonly privateKey: SigningKey, private readonly keyObject: KeyObject, readonly publicJwk: BundleSigningJwk) {
    this.#header = Buffer.from(JSON.stringify({ alg: 'ES256', kid: publicJwk.kid, typ: BUNDLE_JWS_TYPE })).toString('base64url');
  }

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
    const keyObject = createPrivateKey({ key: { ...jwk, kty: 'EC', crv: 'P-256' } as JsonWebKeyInput['key'], format: 'jwk' });
    return new BundleSigningKey(privateKey, keyObject, { kty: 'EC', crv: 'P-256', x: publicPart.x, y: publicPart.y, kid, alg: 'ES256', use: 'sig' });
  }

  /** The bundle as a compact JWS (`typ` sigil-bundle+jws, `kid` = the key's thumbprint). */
  async sign(bundle: AgentBundle): Promise<string> {
    return new CompactSign(new TextEncoder().encode(JSON.stringify(bundle)))
      .setProtectedHeader({ alg: 'ES256', kid: this.publicJwk.kid, typ: BUNDLE_JWS_TYPE })
      .sign(this.privateKey);
  }

  /**
   * The same JWS as sign(), made on this thread with node:crypto (~30 µs): the fleet distributor
   * signs thousands per refresh, and WebCrypto's per-call overhead cost it more than the signature.
   */
  signSync(bundle: AgentBundle): string {
    const input = `${this.#header}.${Buffer.from(JSON.stringify(bundle)).toString('base64url')}`;
    const signature = sign('sha256', Buffer.from(input), { key: this.keyObject, dsaEncoding: 'ieee-p1363' });
    return `${input}.${signature.toString('base64url')}`;
  }
}
