/**
 * The per-host CA the signer presents leaf certificates from. Made at first start; its private key
 * stays in `<stateDir>/ca/` (mode 0600 from the moment it exists, in a 0700 directory) and is never
 * sent anywhere. Its certificate is exported as `<stateDir>/ca.pem`, mode 0644 in the 0755 state dir,
 * so every workload's uid can read it (`sigil-agent trust` tells clients how to use it).
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import tls from 'node:tls';
import { AgentError } from '../errors.js';
import { AGENT_STATE_DIR_MODE } from '../state-dir.js';
import { ensureDir, writeFileAtomic } from '../../common/files.js';
import { CONNECTION_ERRORS } from './errors.js';
import { issuerInfo, mintCa, mintLeaf, type IssuerInfo } from './leaf-cert.js';
import { unreadableByOthers } from './readable-by-all.js';

type CryptoKey = crypto.webcrypto.CryptoKey;
type CryptoKeyPair = crypto.webcrypto.CryptoKeyPair;

/** The agent's state dir (agent/state-dir.ts), where the CA lives unless told otherwise. */
export { DEFAULT_AGENT_STATE_DIR as DEFAULT_STATE_DIR } from '../state-dir.js';
const EC_ALG = { name: 'ECDSA', namedCurve: 'P-256' } as const;
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
  readonly #issuer: IssuerInfo;
  readonly #caKey: crypto.KeyObject;
  readonly #leafSpki: Buffer;
  readonly #leafKeyPem: string;
  readonly #leafTtlMs: number;
  readonly #leaves = new Map<string, CachedLeaf>();

  private constructor(cert: crypto.X509Certificate, certPem: string, caKey: CryptoKey, leafSpki: Buffer, leafKeyPem: string, exportPath: string, exportUnreadable: string | undefined, leafTtlMs: number) {
    this.#issuer = issuerInfo(cert);
    this.#caKey = crypto.KeyObject.from(caKey);
    this.#leafSpki = leafSpki;
    this.#leafKeyPem = leafKeyPem;
    this.exportPath = exportPath;
    this.exportUnreadable = exportUnreadable;
    this.#leafTtlMs = leafTtlMs;
    this.certPem = certPem;
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
    let cert: crypto.X509Certificate;
    if (keyPem === undefined) {
      const keys = (await subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
      certPem = mintCa({
        commonName: `Sigil agent local CA (${(await import('node:os')).hostname()})`,
        notBefore: new Date(Date.now() - CLOCK_SLACK_MS),
        notAfter: new Date(Date.now() + CA_LIFETIME_MS),
        spki: Buffer.from(await subtle.exportKey('spki', keys.publicKey)),
        key: crypto.KeyObject.from(keys.privateKey),
      });
      keyPem = pemOf(await subtle.exportKey('pkcs8', keys.privateKey), 'PRIVATE KEY');
      cert = new crypto.X509Certificate(certPem);
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
      try {
        cert = new crypto.X509Certificate(certPem);
      } catch (err) {
        throw new AgentError(CONNECTION_ERRORS.CA_INVALID, `CA certificate ${paths.cert} cannot be read (${(err as Error).message}); delete ${paths.dir} to make a new CA`, { cause: err });
      }
      await LocalCa.#checkPair(cert, caKey, paths.cert);
    }

    await fs.mkdir(path.dirname(exportPath), { recursive: true, mode: 0o755 });
    // Rewritten only when it differs: an agent restarting on a full disk must not fail over an identical copy.
    const exported = certPem;
    if ((await readIfExists(exportPath)) !== exported) await writeFileAtomic(exportPath, exported, { mode: 0o644 });

    const leafKeys = (await subtle.generateKey(EC_ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
    const leafKeyPem = pemOf(await subtle.exportKey('pkcs8', leafKeys.privateKey), 'PRIVATE KEY');
    const leafSpki = Buffer.from(await subtle.exportKey('spki', leafKeys.publicKey));
    const unreadable = await unreadableByOthers(exportPath);
    return new LocalCa(cert, certPem, caKey, leafSpki, leafKeyPem, exportPath, unreadable, options.leafTtlMs ?? 24 * 3600_000);
  }

  /** A certificate whose key is not the stored key is unusable: say so rather than fail every handshake. */
  static async #checkPair(cert: crypto.X509Certificate, caKey: CryptoKey, certPath: string): Promise<void> {
    const probe = crypto.randomBytes(32);
    const sig = crypto.sign('sha256', probe, { key: crypto.KeyObject.from(caKey), dsaEncoding: 'der' });
    let ok = false;
    try {
      ok = crypto.verify('sha256', probe, { key: cert.publicKey, dsaEncoding: 'der' }, sig);
    } catch {
      ok = false; // a certificate for another key type
    }
    if (!ok) throw new AgentError(CONNECTION_ERRORS.CA_INVALID, `CA certificate ${certPath} does not match the CA key`);
    const notAfter = new Date(cert.validTo);
    if (notAfter.getTime() < Date.now()) {
      throw new AgentError(CONNECTION_ERRORS.CA_INVALID, `CA certificate ${certPath} expired on ${notAfter.toISOString()}`);
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
    const cert = mintLeaf({
      hostname,
      notBefore: new Date(now - CLOCK_SLACK_MS),
      notAfter: new Date(now + this.#leafTtlMs),
      spki: this.#leafSpki,
      issuer: this.#issuer,
      caKey: this.#caKey,
    });
    return tls.createSecureContext({ key: this.#leafKeyPem, cert, minVersion: 'TLSv1.2' });
  }
}
