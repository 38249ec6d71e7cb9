/**
 * The certificates of a NATS cluster written by `init-nats --cluster`: one CA (made here, or the
 * operator's own given by its certificate and key files) and one certificate per node, valid for
 * both serving clients and routes (serverAuth + clientAuth: routes are mutual TLS). ECDSA P-256.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ControlPlaneError } from '../errors.js';
import { COMMON_CODES } from '../../common/errors.js';

// @peculiar/x509 is typed against the DOM's Crypto, which this Node-only tsconfig does not load.
x509.cryptoProvider.set(webcrypto as never);

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
const BACKDATE_MS = 5 * 60_000;

export interface ClusterCa {
  certPem: string;
  /** PKCS#8 PEM; only set when the CA was made here (it is then written next to the configs, 0600). */
  keyPem?: string;
  issue(names: string[], validDays: number): Promise<{ certPem: string; keyPem: string }>;
}

const serial = (): string => {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f;
  return bytes.toString('hex');
};

async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const body = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key)).toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

/** A new CA, or the operator's (`certPem` + `keyPem` of an ECDSA P-256 CA). */
export async function clusterCa(existing?: { certPem: string; keyPem: string }, validDays = 3650): Promise<ClusterCa> {
  let cert: x509.X509Certificate;
  let key: webcrypto.CryptoKey;
  let keyPem: string | undefined;
  if (existing) {
    try {
      cert = new x509.X509Certificate(existing.certPem);
      const der = createPrivateKey(existing.keyPem).export({ format: 'der', type: 'pkcs8' });
      key = await webcrypto.subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
    } catch (err) {
      throw new ControlPlaneError(COMMON_CODES.CONFIG, `--tls-ca-cert/--tls-ca-key: not an ECDSA P-256 CA certificate and its key: ${(err as Error).message}`, { cause: err });
    }
  } else {
    const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
    cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(), name: 'CN=Sigil NATS cluster CA, O=sigil',
      notBefore: new Date(Date.now() - BACKDATE_MS), notAfter: new Date(Date.now() + validDays * 86_400_000),
      keys, signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    key = keys.privateKey;
    keyPem = await pkcs8Pem(keys.privateKey);
  }
  const issuerPublic = await cert.publicKey.export();
  return {
    certPem: `${cert.toString('pem')}\n`,
    ...(keyPem ? { keyPem } : {}),
    async issue(names, days) {
      const keys = await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
      const leaf = await x509.X509CertificateGenerator.create({
        serialNumber: serial(), subject: `CN=${names[0]}`, issuer: cert.subject,
        notBefore: new Date(Date.now() - BACKDATE_MS), notAfter: new Date(Date.now() + days * 86_400_000),
        publicKey: keys.publicKey, signingKey: key, signingAlgorithm: SIGNING,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension(names.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value }))),
          await x509.AuthorityKeyIdentifierExtension.create(issuerPublic),
        ],
      });
      return { certPem: `${leaf.toString('pem')}\n`, keyPem: await pkcs8Pem(keys.privateKey) };
    },
  };
}

/** The operator's CA from its PEM files (--tls-ca-cert, --tls-ca-key). */
export async function readCa(certFile: string | undefined, keyFile: string | undefined): Promise<{ certPem: string; keyPem: string }> {
  if (!certFile || !keyFile) throw new ControlPlaneError(COMMON_CODES.CONFIG, '--tls-ca-cert and --tls-ca-key go together');
  const read = (file: string): Promise<string> => readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new ControlPlaneError(COMMON_CODES.CONFIG, `${file}: cannot read (${err.code ?? err.message})`, { cause: err });
  });
  return { certPem: await read(certFile), keyPem: await read(keyFile) };
}
