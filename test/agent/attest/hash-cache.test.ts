import test from 'ava';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { HashCache } from '../../../agent/attest/hash-cache.js';
import { sha256sum, tempDir } from './support.js';

test('digest equals sha256sum; the second look is a cache hit', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'blob');
  writeFileSync(file, randomBytes(3 * 1024 * 1024 + 17));
  const cache = new HashCache();
  const first = await cache.digest(file);
  t.is(first.sha256, sha256sum(file));
  t.false(first.cached);
  const second = await cache.digest(file);
  t.true(second.cached);
  t.is(second.sha256, first.sha256);
  t.deepEqual(cache.stats, { hits: 1, misses: 1, joined: 0 });
});

test('a file rewritten in place (same inode) is hashed again, not served stale', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'blob');
  writeFileSync(file, Buffer.alloc(4096, 1));
  const cache = new HashCache();
  const before = await cache.digest(file);
  writeFileSync(file, Buffer.alloc(4096, 2)); // same size, same inode
  utimesSync(file, 1, 1); // even with an old mtime, ctime moved
  const after = await cache.digest(file);
  t.false(after.cached);
  t.not(after.sha256, before.sha256);
  t.is(after.sha256, sha256sum(file));
  t.is(after.ino, before.ino);
});

test('bounded LRU: the least recently used digest is dropped', async (t) => {
  const dir = tempDir(t);
  const files = ['a', 'b', 'c'].map((n) => join(dir, n));
  files.forEach((f, i) => writeFileSync(f, `content ${i}`));
  const cache = new HashCache({ maxEntries: 2 });
  await cache.digest(files[0]!);
  await cache.digest(files[1]!);
  await cache.digest(files[0]!); // a is now most recent
  await cache.digest(files[2]!); // evicts b
  t.is(cache.size, 2);
  t.true((await cache.digest(files[0]!)).cached);
  t.false((await cache.digest(files[1]!)).cached);
});

test('concurrent requests for the same file share one hashing', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'big');
  writeFileSync(file, randomBytes(16 * 1024 * 1024));
  const cache = new HashCache();
  const results = await Promise.all([cache.digest(file), cache.digest(file), cache.digest(file)]);
  t.is(new Set(results.map((r) => r.sha256)).size, 1);
  t.is(results[0]!.sha256, sha256sum(file));
  t.deepEqual(cache.stats, { hits: 0, misses: 1, joined: 2 });
});

test('a FIFO is refused at once instead of hanging the agent', async (t) => {
  const dir = tempDir(t);
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const cache = new HashCache();
  await t.throwsAsync(cache.digest(fifo), { message: /not a regular file/ });
});
