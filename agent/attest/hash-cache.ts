import { closeSync, constants, fstatSync, openSync, type BigIntStats } from 'node:fs';
import { FileHasher } from './file-hasher.js';

/** The sha256 of a file and the identity of the inode it was read from. */
export interface FileDigest {
  sha256: string;
  dev: bigint;
  ino: bigint;
  size: bigint;
  /** Change marker: st_ctim in ns (what the kernel's exec record holds as ctime_ns). */
  ctimeNs: bigint;
  /** 0 when the file has been deleted (it lives on only through open fds and mappings). */
  nlink: bigint;
  /** True when the digest came from the cache (no byte was read). */
  cached: boolean;
}

export interface HashCacheOptions {
  /** Most digests kept (least recently used go first). One entry is ~200 bytes. */
  maxEntries?: number;
  /** Where the hashing runs (worker threads, off the event loop); default: one shared by every cache. */
  hasher?: FileHasher;
}

export interface HashCacheStats {
  hits: number;
  misses: number;
  /** Requests that joined a hashing already in flight for the same file version. */
  joined: number;
}

/**
 * sha256 of files, keyed by what identifies one version of one file: dev+inode+size+mtime+ctime,
 * taken from fstat of the very fd that is hashed (so a file swapped in between cannot poison the
 * cache). Bounded LRU; concurrent requests for the same version share one hashing.
 */
export class HashCache {
  private readonly maxEntries: number;
  private readonly hasher: FileHasher;
  private readonly entries = new Map<string, string>();
  private readonly inFlight = new Map<string, Promise<string>>();
  readonly stats: HashCacheStats = { hits: 0, misses: 0, joined: 0 };

  constructor(options: HashCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 4096;
    this.hasher = options.hasher ?? sharedHasher();
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Opens `path` (e.g. /proc/<pid>/exe, which opens what was executed even if deleted or replaced)
   * and returns the digest of what that fd refers to. open/fstat/close are bounded syscalls and stay
   * synchronous so a cache hit costs microseconds; the hashing itself runs on a worker thread.
   */
  async digest(path: string): Promise<FileDigest> {
    // O_NONBLOCK: opening a FIFO named by a hostile cmdline must not hang the agent; only files are hashed.
    const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    try {
      const before = fstatSync(fd, { bigint: true });
      if (!before.isFile()) throw Object.assign(new Error(`${path} is not a regular file`), { code: 'EINVAL' });
      const key = versionKey(before);
      const known = this.lookup(key);
      if (known !== undefined) return digestOf(known, before, true);
      const shared = this.inFlight.get(key);
      if (shared) {
        this.stats.joined++;
        return digestOf(await shared, before, false);
      }
      this.stats.misses++;
      const hashing = this.hasher.hashFd(fd, Number(before.size));
      this.inFlight.set(key, hashing);
      try {
        const sha256 = await hashing;
        // Cache only if the file did not change while it was read; otherwise the bytes may be mixed.
        if (versionKey(fstatSync(fd, { bigint: true })) === key) this.remember(key, sha256);
        return digestOf(sha256, before, false);
      } finally {
        this.inFlight.delete(key);
      }
    } finally {
      closeSync(fd);
    }
  }

  private lookup(key: string): string | undefined {
    const sha256 = this.entries.get(key);
    if (sha256 === undefined) return undefined;
    this.stats.hits++;
    this.entries.delete(key); // re-insert: Map order is the LRU order
    this.entries.set(key, sha256);
    return sha256;
  }

  private remember(key: string, sha256: string): void {
    this.entries.set(key, sha256);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

}

let shared: FileHasher | undefined;
function sharedHasher(): FileHasher {
  return (shared ??= new FileHasher());
}

function versionKey(st: BigIntStats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
}

function digestOf(sha256: string, st: BigIntStats, cached: boolean): FileDigest {
  return { sha256, dev: st.dev, ino: st.ino, size: st.size, ctimeNs: st.ctimeNs, nlink: st.nlink, cached };
}
