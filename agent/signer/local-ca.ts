/**
 * The per-host CA the signer presents leaf certificates from. Made at first start; its private key
 * stays in `<stateDir>/ca/` (mode 0600 from the moment it exists, in a 0700 directory) and is never
 * sent anywhere. Its certificate is exported as `<stateDir>/ca.pem`, mode 0644 in the 0755 state dir,
 * so every workload's uid can read it (`sigil-agent trust` tells clients how to use it).
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { AgentError } from '../errors.js';
import { AGENT_STATE_DIR_MODE } from '../state-dir.js';
import { ensureDir, writeFileAtomic } from '../../common/files.js';
import { CONNECTION_ERRORS } from './errors.js';
import { unreadableByOthers } from './readable-by-all.js';

x509.cryptoProvider.set(crypto.webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = crypto.webcrypto.CryptoKey;
type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;

/** The agent's state dir (agent/state-dir.ts), where the CA lives unless told otherwise. */
export { DEFAULT_AGENT_STATE_DIR as DEFAULT_STATE_DIR } from '../state-dir.js';
const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_ALG = { name: 'ECDSA', hash: 'SHA-256' } as const;
const CA_LIFETIME_MS = 10 * 365 * 24 * 3600_000;
/** Leaves are backdated a little so a client whose clock runs slow still accepts them. */
const CLOCK_SLACK_MS = 5 * 60_000;
const MAX_CACHED_LEAVES = 1024;

/** Where the CA lives under a state dir; the exported certificate path is the one clients use. */
export function caPaths(stateDir: string): { dir: string; key: string; cert: string; exported: string } {
  const dir = path.join(stateDir, 'ca');
  return { dir, key: path.join(dir, 'ca-key.pem'), cert: path.join(dir, 'ca-cert.pem'), exported: path.join(stateDir, 'ca.pem') };
}

export interface LocalCaOptions {
  /** The agent's state dir; the CA key goes to `<stateDir>/ca/ca-key.pem`. */
  stateDir: string;
  /** World-readable copy of the CA certificate; default `<stateDir>/ca.pem`. */
  exportPath?: string;
  /** Leaf certificate lifetime; default 24 h. */
  leafTtlMs?: number;
}

interface CachedLeaf {
  context: Promise<tls.SecureContext>;
  renewAt: number;
}

function pemOf(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

function randomSerial(): string {
  const bytes = crypto.randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive INTEGER
  return bytes.toString('hex');
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Refuses a CA key that anyone but its owner could have read: it may be compromised. */
async function checkKeyFileMode(file: string): Promise<void> {
  const st = await fs.stat(file);
  const uid = process.getuid?.();
  if ((st.mode & 0o077) !== 0 || (uid !== undefined && st.uid !== uid)) {
    throw new AgentError(
      CONNECTION_ERRORS.CA_KEY_INSECURE,
      `CA key ${file} has mode ${(st.mode & 0o777).toString(8)} owner ${st.uid}; it must be 0600 and owned by the agent. ` +
        'Delete the ca/ directory to make a new CA (clients must then trust the new certificate).',
    );
  }
}

export class LocalCa {
  /** The CA certificate (PEM) clients trust. */
  readonly certPem: string;
  /** The world-readable path of that certificate. */
  readonly exportPath: string;
  /** Why other uids cannot read exportPath (a directory on its path, the file's mode), if they cannot. */
  readonly exportUnreadable: string | undefined;
  readonly #cert: x509.X509Certificate;
  readonly #caKey: CryptoKey;
  readonly #leafKeys: CryptoKeyPair;
  readonly #leafKeyPem: string;
  readonly #leafTtlMs: number;
  readonly #leaves = new Map<string, CachedLeaf>();

  private constructor(cert: x509.X509Certificate, caKey: CryptoKey, leafKeys: CryptoKeyPair, leafKeyPem: string, exportPath: string, exportUnreadable: string | undefined, leafTtlMs: number) {
    this.#cert = cert;
    this.#caKey = caKey;
    this.#leafKeys = leafKeys;
    this.#leafKeyPem = leafKeyPem;
    this.exportPath = exportPath;
    this.exportUnreadable = exportUnreadable;
    this.#leafTtlMs = leafTtlMs;
    this.certPem = cert.toString('pem') + '\n';
  }

  /** Loads the CA from the state dir, or makes one on first start; exports its certificate. */
  static async open(options: LocalCaOptions): Promise<LocalCa> {
    const paths = caPaths(options.stateDir);
    const exportPath = options.exportPath ?? paths.exported;
    await ensureDir(options.stateDir, AGENT_STATE_DIR_MODE);
    await fs.mkdir(paths.dir, { recursive: true, mode: 0o700 });
    await fs.chmod(paths.dir, 0o700);

    const subtle = crypto.webcrypto.subtle;
    let keyPem = await readIfExists(paths.key);
    let certPem = await readIfExists(paths.cert);
    let caKey: CryptoKey;
    let cert: x509.X509Certificate;
    if (keyPem === undefined) {
      const keys = (await subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: randomSerial(),
        name: `CN=Sigil agent local CA (${(await import('node:os')).hostname()})`,
        notBefore: new Date(Date.now() - CLOCK_SLACK_MS),
        notAfter: new Date(Date.now() + CA_LIFETIME_MS),
        signingAlgorithm: SIGN_ALG,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      keyPem = pemOf(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
      certPem = cert.toString('pem') + '\n';
      await writeFileAtomic(paths.key, keyPem, { mode: 0o600 });
      await writeFileAtomic(paths.cert, certPem, { mode: 0o644 });
      caKey = keys.privateKey;
    } else {
      await checkKeyFileMode(paths.key);
      if (certPem === undefined) {
        throw new AgentError(CONNECTION_ERRORS.CA_INVALID, `CA certificate ${paths.cert} is missing next to its key; delete ${paths.dir} to make a new CA`);
      }
      const der = crypto.createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
      caKey = await subtle.importKey('pkcs8', der, EC_ALG, false, ['sign']);
      cert = new x509.X509Certificate(certPem);
      await LocalCa.#checkPair(cert, caKey, paths.cert);
    }

    await fs.mkdir(path.dirname(exportPath), { recursive: true, mode: 0o755 });
    // Rewritten only when it differs: an agent restarting on a full disk must not fail over an identical copy.
    const exported = certPem ?? cert.toString('pem');
    if ((await readIfExists(exportPath)) !== exported) await writeFileAtomic(exportPath, exported, { mode: 0o644 });

    const leafKeys = (await subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const leafKeyPem = pemOf(await subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY');
    const unreadable = await unreadableByOthers(exportPath);
    return new LocalCa(cert, caKey, leafKeys, leafKeyPem, exportPath, unreadable, options.leafTtlMs ?? 24 * 3600_000);
  }

  /** A certificate whose key is not the stored key is unusable: say so rather than fail every handshake. */
  static async #checkPair(cert: x509.X509Certificate, caKey: CryptoKey, certPath: string): Promise<void> {
    const probe = crypto.randomBytes(32);
    const subtle = crypto.webcrypto.subtle;
    const sig = await subtle.sign(SIGN_ALG, caKey, probe);
    const ok = await subtle.verify(SIGN_ALG, await cert.publicKey.export(EC_ALG, ['verify']), sig, probe);
    if (!ok) throw new AgentError(CONNECTION_ERRORS.CA_INVALID, `CA certificate ${certPath} does not match the CA key`);
    if (cert.notAfter.getTime() < Date.now()) {
      throw new AgentError(CONNECTION_ERRORS.CA_INVALID, `CA certificate ${certPath} expired on ${cert.notAfter.toISOString()}`);
    }
  }

  /** A TLS context presenting a leaf for `hostname`, minted on first use and renewed before expiry. */
  secureContextFor(hostname: string): Promise<tls.SecureContext> {
    const now = Date.now();
    const cached = this.#leaves.get(hostname);
    if (cached && cached.renewAt > now) return cached.context;
    if (this.#leaves.size >= MAX_CACHED_LEAVES) this.#leaves.clear();
    const context = this.#mint(hostname, now);
    const entry = { context, renewAt: now + (this.#leafTtlMs * 3) / 4 };
    this.#leaves.set(hostname, entry);
    context.catch(() => this.#leaves.delete(hostname));
    return context;
  }

  async #mint(hostname: string, now: number): Promise<tls.SecureContext> {
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: `CN=${hostname}`,
      issuer: this.#cert.subject,
      notBefore: new Date(now - CLOCK_SLACK_MS),
      notAfter: new Date(now + this.#leafTtlMs),
      signingAlgorithm: SIGN_ALG,
      publicKey: this.#leafKeys.publicKey,
      signingKey: this.#caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: hostname }]),
        await x509.AuthorityKeyIdentifierExtension.create(this.#cert.publicKey),
      ],
    });
    return tls.createSecureContext({ key: this.#leafKeyPem, cert: leaf.toString('pem'), minVersion: 'TLSv1.2' });
  }
}
