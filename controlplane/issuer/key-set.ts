import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { ControlPlaneError } from '../errors.js';
import { sleep } from '../../common/abort.js';
import { ISSUER_CODES } from './errors.js';

/**
 * The issuer's signing keys, on the control plane's disk: `<dir>/signing-keys.json`, mode 0600 in a
 * 0700 dir, created with that mode (never chmod-ed after the fact). Replicas share the key set by
 * sharing the directory (a shared volume); a lock file serialises rotation between them.
 *
 * Lifecycle of a key: created → signs (while it is the newest) → published only (after a newer key
 * exists, until every token it signed has expired: successor's creation + max token TTL + skew) → removed.
 */
export interface SigningKey {
  kid: string;
  /** ms since epoch */
  createdAt: number;
  privateJwk: JWK;
}

export interface KeySetFile {
  /** Bumped on every change of the published set; the SPIFFE bundle's spiffe_sequence. */
  sequence: number;
  keys: SigningKey[];
}

export interface RotationPolicy {
  /** A key signs for this long before a new one replaces it. */
  rotationPeriodSeconds: number;
  /** The longest JWT-SVID lifetime the issuer mints: how long a replaced key stays published. */
  maxTokenTtlSeconds: number;
  /** Extra time a replaced key stays published, for verifiers' clock skew. */
  skewSeconds: number;
}

const FILE = 'signing-keys.json';
const LOCK = 'signing-keys.lock';
const STALE_LOCK_MS = 30_000;

/** Where replicas keep one key set between them (kv-key-store.ts: NATS KV), compare-and-set by sequence. */
export interface SharedKeySetStore {
  read(): Promise<{ file: KeySetFile | undefined; seq: number }>;
  /** False when someone else wrote it since `seq`. */
  write(file: KeySetFile, seq: number): Promise<boolean>;
}

/** How long a replica signs from its copy of a KV-held key set before reading it again. */
const SHARED_CACHE_MS = 2_000;

export class KeySet {
  private cache: { file: KeySetFile; version: string } | undefined;
  private sharedCache: { file: KeySetFile; at: number } | undefined;

  /**
   * `shared`: keep the set in NATS KV (replicas with separate state dirs). A set found in `dir` and
   * not yet in KV is imported at the first change (an installation that started with files).
   */
  constructor(readonly dir: string, readonly policy: RotationPolicy, private readonly now: () => number = Date.now, private readonly shared?: SharedKeySetStore) {}

  /** The key that signs now and the published set; reloads if another replica changed the file. */
  async current(): Promise<{ signing: SigningKey; published: SigningKey[]; sequence: number }> {
    const file = await this.load();
    const signing = newest(file.keys);
    if (!signing) throw new ControlPlaneError(ISSUER_CODES.ISSUER_NO_KEY, 'the issuer has no signing key yet', { status: 503 });
    return { signing, published: file.keys, sequence: file.sequence };
  }

  /** Creates the first key, rotates when due, retires keys whose tokens have all expired. */
  async maintain(): Promise<boolean> {
    return this.change((file) => {
      const now = this.now();
      const active = newest(file.keys);
      let changed = false;
      if (!active || now >= active.createdAt + this.policy.rotationPeriodSeconds * 1000) {
        file.keys.push(newKey(now));
        changed = true;
      }
      return retire(file, now, this.policy) || changed;
    });
  }

  /** Starts signing with a fresh key now; the old one stays published until its tokens expire. */
  async rotate(): Promise<void> {
    await this.change((file) => {
      file.keys.push(newKey(this.now()));
      return true;
    });
  }

  private async change(edit: (file: KeySetFile) => boolean): Promise<boolean> {
    if (this.shared) return this.changeShared(this.shared, edit);
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const release = await this.lock();
    try {
      this.cache = undefined;
      const file = await this.load();
      // thumbprints need async; compute kids for new keys (created with a placeholder) after the edit
      const changed = edit(file);
      if (!changed) return false;
      for (const key of file.keys) if (key.kid === '') key.kid = await calculateJwkThumbprint(publicJwk(key.privateJwk));
      file.sequence += 1;
      await this.save(file);
      return true;
    } finally {
      await release();
    }
  }

  /** Compare-and-set loop on the KV copy; the edit runs again on a fresh read after a lost race. */
  private async changeShared(shared: SharedKeySetStore, edit: (file: KeySetFile) => boolean): Promise<boolean> {
    for (;;) {
      const { file: stored, seq } = await shared.read();
      const file = stored ?? await this.loadFile();
      const changed = edit(file);
      if (!changed && stored) {
        this.sharedCache = { file, at: Date.now() };
        return false;
      }
      for (const key of file.keys) if (key.kid === '') key.kid = await calculateJwkThumbprint(publicJwk(key.privateJwk));
      if (changed) file.sequence += 1;
      if (await shared.write(file, seq)) {
        this.sharedCache = { file, at: Date.now() };
        return changed;
      }
    }
  }

  private async load(): Promise<KeySetFile> {
    if (!this.shared) return this.loadFile();
    const cached = this.sharedCache;
    if (cached) {
      // Stale while revalidating: signing never waits on NATS once a copy is held (store failover).
      if (Date.now() - cached.at >= SHARED_CACHE_MS) this.refreshShared(this.shared);
      return structuredClone(cached.file);
    }
    const { file } = await this.shared.read();
    if (file) this.sharedCache = { file, at: Date.now() };
    return structuredClone(file ?? { sequence: 0, keys: [] });
  }

  private refreshing = false;

  private refreshShared(shared: SharedKeySetStore): void {
    if (this.refreshing) return;
    this.refreshing = true;
    shared.read().then(({ file }) => {
      if (file) this.sharedCache = { file, at: Date.now() };
    }, () => undefined).finally(() => { this.refreshing = false; });
  }

  private async loadFile(): Promise<KeySetFile> {
    const path = join(this.dir, FILE);
    let version: string; // a rename by another replica changes the inode even within one mtime tick
    try {
      const info = await stat(path);
      version = `${info.ino}:${info.mtimeMs}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { sequence: 0, keys: [] };
      throw err;
    }
    if (this.cache && this.cache.version === version) return structuredClone(this.cache.file);
    const file = JSON.parse(await readFile(path, 'utf8')) as KeySetFile;
    this.cache = { file, version };
    return structuredClone(file);
  }

  /** Write-then-rename, the temp file created 0600 so the key is never readable by others, even briefly. */
  private async save(file: KeySetFile): Promise<void> {
    const tmp = join(this.dir, `.${FILE}.${randomUUID()}`);
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await handle.writeFile(JSON.stringify(file));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, join(this.dir, FILE));
    this.cache = undefined;
  }

  private async lock(): Promise<() => Promise<void>> {
    const path = join(this.dir, LOCK);
    const deadline = Date.now() + STALE_LOCK_MS * 2;
    for (;;) {
      try {
        const handle = await open(path, 'wx', 0o600);
        await handle.close();
        return () => rm(path, { force: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const age = Date.now() - (await stat(path).then((s) => s.mtimeMs, () => Date.now()));
        if (age > STALE_LOCK_MS) await rm(path, { force: true }); // a replica died holding it
        else if (Date.now() > deadline) throw new ControlPlaneError(ISSUER_CODES.ISSUER_LOCKED, `could not lock ${path}`);
        else await sleep(20 + Math.random() * 30);
      }
    }
  }
}

export function publicJwk(privateJwk: JWK): JWK {
  const { kty, crv, x, y } = privateJwk;
  return { kty, crv, x, y } as JWK;
}

function newKey(now: number): SigningKey {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid: '', createdAt: now, privateJwk: privateKey.export({ format: 'jwk' }) as JWK };
}

function newest(keys: SigningKey[]): SigningKey | undefined {
  return keys.reduce<SigningKey | undefined>((best, key) =>
    !best || key.createdAt > best.createdAt || (key.createdAt === best.createdAt && key.kid > best.kid) ? key : best, undefined);
}

/** Drops keys replaced long enough ago that nothing they signed can still be valid. */
function retire(file: KeySetFile, now: number, policy: RotationPolicy): boolean {
  const sorted = [...file.keys].sort((a, b) => a.createdAt - b.createdAt);
  const keep = sorted.filter((key, index) => {
    const successor = sorted[index + 1];
    if (!successor) return true;
    return now < successor.createdAt + (policy.maxTokenTtlSeconds + policy.skewSeconds) * 1000;
  });
  if (keep.length === file.keys.length) return false;
  file.keys = keep;
  return true;
}
