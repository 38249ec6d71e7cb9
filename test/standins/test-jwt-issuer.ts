/**
 * A minimal JWT-SVID issuer for the stand-ins' own tests: an ES256 key, its JWKS served over HTTPS
 * (test CA) at <url>/keys, and mint() with per-test overrides. The real one is controlplane/.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import type { TestPki } from '../helpers/test-pki.js';

export interface TestJwtIssuer {
  issuer: string;
  jwksUrl: string;
  audience: string;
  /** Fetches of the JWKS so far. */
  readonly fetches: number;
  mint(opts?: { sub?: string; aud?: string; iss?: string; expiresInSeconds?: number; key?: 'trusted' | 'untrusted'; extra?: JWTPayload }): Promise<string>;
  close(): Promise<void>;
}

export async function startTestJwtIssuer(pki: TestPki, address = '127.77.1.3'): Promise<TestJwtIssuer> {
  const trusted = await generateKeyPair('ES256');
  const untrusted = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(trusted.publicKey)), kid: 'svid-1', alg: 'ES256', use: 'sig' };
  const body = JSON.stringify({ keys: [jwk] });
  const cert = await pki.issueServerCert([address]);
  let fetches = 0;
  const server = createServer({ cert: cert.certPem, key: cert.keyPem }, (req, res) => {
    if (req.url !== '/keys') {
      res.writeHead(404).end();
      return;
    }
    fetches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  const url = `https://${address}:${(server.address() as AddressInfo).port}`;
  const issuer = `${url}/`;
  const audience = 'oci-test-audience';

  return {
    issuer,
    jwksUrl: `${url}/keys`,
    audience,
    get fetches() {
      return fetches;
    },
    async mint(opts = {}) {
      const key: CryptoKey = opts.key === 'untrusted' ? untrusted.privateKey : trusted.privateKey;
      return new SignJWT({ ...opts.extra })
        .setProtectedHeader({ alg: 'ES256', kid: 'svid-1', typ: 'JWT' })
        .setSubject(opts.sub ?? 'spiffe://sigil.test/workload/app')
        .setAudience(opts.aud ?? audience)
        .setIssuer(opts.iss ?? issuer)
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + (opts.expiresInSeconds ?? 300))
        .sign(key);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
