/**
 * A throwaway certificate authority for tests and the local demo.
 *
 *   const pki = await createTestPki();
 *   const { certPem, keyPem } = await pki.issueServerCert(['objectstorage.us-ashburn-1.oraclecloud.com', '127.77.1.2']);
 *   // clients trust pki.caCertPem (https.Agent({ ca })) or pki.caFile (NODE_EXTRA_CA_CERTS, upstream.caFile)
 *   await pki.close(); // removes caFile's directory
 *
 * ECDSA P-256 throughout. Names that parse as IP addresses become IP SANs, all others DNS SANs.
 * The CA key lives only in this process's memory.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { webcrypto, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// @peculiar/x509 is typed against the DOM's Crypto, which this Node-only tsconfig does not load.
x509.cryptoProvider.set(webcrypto as never);

const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGNING = { name: 'ECDSA', hash: 'SHA-256' } as const;
// Backdated so a test host whose clock is a little behind still accepts fresh certificates.
const BACKDATE_MS = 5 * 60_000;

export interface IssuedCert {
  certPem: string;
  keyPem: string;
}

export interface TestPki {
  /** PEM of the CA certificate. */
  readonly caCertPem: string;
  /** A file holding caCertPem, for NODE_EXTRA_CA_CERTS / upstream CA file options. */
  readonly caFile: string;
  /** A server certificate (serverAuth) for the given DNS names and IP addresses. */
  issueServerCert(names: string[], opts?: { validDays?: number }): Promise<IssuedCert>;
  /** Removes the temp directory holding caFile. Safe to call twice. */
  close(): Promise<void>;
}

export interface TestPkiOptions {
  commonName?: string;
  /** Directory to create the temp dir in (default os.tmpdir()). */
  dir?: string;
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0]! & 0x7f; // keep it positive
  return bytes.toString('hex');
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const body = der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${body}\n-----END PRIVATE KEY-----\n`;
}

async function newKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

export async function createTestPki(opts: TestPkiOptions = {}): Promise<TestPki> {
  const caName = `CN=${opts.commonName ?? 'Sigil test CA'}, O=sigil-test`;
  const caKeys = await newKeyPair();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: caName,
    notBefore: new Date(Date.now() - BACKDATE_MS),
    notAfter: new Date(Date.now() + 7 * 24 * 3600_000),
    keys: caKeys,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const caCertPem = caCert.toString('pem') + '\n';
  const dir = await mkdtemp(join(opts.dir ?? tmpdir(), 'sigil-test-pki-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, caCertPem, { mode: 0o644 });

  async function issueServerCert(names: string[], issueOpts: { validDays?: number } = {}): Promise<IssuedCert> {
    if (names.length === 0) throw new TypeError('issueServerCert needs at least one DNS name or IP');
    const keys = await newKeyPair();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${names[0]}`,
      issuer: caCert.subject,
      notBefore: new Date(Date.now() - BACKDATE_MS),
      notAfter: new Date(Date.now() + (issueOpts.validDays ?? 2) * 24 * 3600_000),
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      signingAlgorithm: SIGNING,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension(
          names.map((value) => ({ type: isIP(value) ? ('ip' as const) : ('dns' as const), value })),
        ),
        await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      ],
    });
    return { certPem: cert.toString('pem') + '\n', keyPem: await privateKeyPem(keys.privateKey) };
  }

  let closed = false;
  return {
    caCertPem,
    caFile,
    issueServerCert,
    async close() {
      if (closed) return;
      closed = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
