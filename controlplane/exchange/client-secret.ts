/**
 * Reads a credential source's client secret from its file, only when needed, and caches it until
 * the file changes (device, inode, size or mtime), so an operator can rotate the secret by replacing
 * the file without restarting the control plane.
 */
import { open } from 'node:fs/promises';
import { ExchangeError } from './errors.js';
import { EXCHANGE_CODES } from '../../protocol/exchange.js';

const MAX_SECRET_BYTES = 4096;

interface Cached {
  stamp: string;
  secret: string;
}

export class ClientSecretFiles {
  readonly #cache = new Map<string, Cached>();

  /** The secret in `path` (surrounding whitespace removed). `sourceName` is for error messages. */
  async read(path: string, sourceName: string): Promise<string> {
    const fail = (why: string, cause?: unknown): ExchangeError =>
      new ExchangeError(
        EXCHANGE_CODES.SOURCE_MISCONFIGURED,
        `credential source "${sourceName}": client secret file ${path} ${why}`,
        cause === undefined ? {} : { cause },
      );
    let handle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      throw fail(`cannot be opened (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
    }
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) throw fail('is not a regular file');
      if (stat.size > MAX_SECRET_BYTES) throw fail(`is larger than ${MAX_SECRET_BYTES} bytes`);
      const stamp = `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}`;
      const cached = this.#cache.get(path);
      if (cached?.stamp === stamp) return cached.secret;
      const secret = (await handle.readFile('utf8')).trim();
      if (secret === '') throw fail('is empty');
      this.#cache.set(path, { stamp, secret });
      return secret;
    } finally {
      await handle.close();
    }
  }
}
