import test from 'ava';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileHasher } from '../../../agent/attest/file-hasher.js';
import { sha256sum, tempDir } from './support.js';

async function digestOf(hasher: FileHasher, file: string, size: number): Promise<string> {
  const fd = openSync(file, 'r');
  try {
    return await hasher.hashFd(fd, size);
  } finally {
    closeSync(fd);
  }
}

test('big files hashed on the workers and small ones inline both equal sha256sum', async (t) => {
  const dir = tempDir(t);
  const hasher = new FileHasher({ workers: 2, chunkBytes: 64 * 1024, inlineBytes: 4096 });
  t.teardown(() => hasher.close());
  const sizes = [0, 1, 4096, 4097, 64 * 1024, 64 * 1024 + 1, 3 * 1024 * 1024 + 17];
  const files = sizes.map((size, i) => {
    const file = join(dir, `f${i}`);
    writeFileSync(file, randomBytes(size));
    return file;
  });
  const got = await Promise.all(files.map((f, i) => digestOf(hasher, f, sizes[i]!)));
  t.deepEqual(got, files.map((f) => sha256sum(f)));
});

test('a size that understates the file still hashes all of it', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'grown');
  writeFileSync(file, randomBytes(10_000));
  const hasher = new FileHasher({ workers: 1, inlineBytes: 1 << 20 });
  t.teardown(() => hasher.close());
  t.is(await digestOf(hasher, file, 100), sha256sum(file));
});

test('a bad fd rejects with its errno code and the worker keeps serving', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'ok');
  writeFileSync(file, randomBytes(2 * 1024 * 1024));
  const hasher = new FileHasher({ workers: 1, inlineBytes: 0 });
  t.teardown(() => hasher.close());
  await t.throwsAsync(hasher.hashFd(1_000_000, 5 * 1024 * 1024), { code: 'EBADF' });
  t.is(await digestOf(hasher, file, 2 * 1024 * 1024), sha256sum(file));
});

test('a worker idle past idleMs ends; the next big file starts another and hashes right', async (t) => {
  const dir = tempDir(t);
  const file = join(dir, 'big');
  writeFileSync(file, randomBytes(2 * 1024 * 1024));
  const hasher = new FileHasher({ workers: 1, inlineBytes: 0, idleMs: 50 });
  t.teardown(() => hasher.close());
  t.is(hasher.workers, 0, 'no worker before the first big file');
  t.is(await digestOf(hasher, file, 2 * 1024 * 1024), sha256sum(file));
  t.is(hasher.workers, 1);
  const deadline = Date.now() + 10_000;
  while (hasher.workers > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  t.is(hasher.workers, 0, 'the idle worker ended');
  t.is(await digestOf(hasher, file, 2 * 1024 * 1024), sha256sum(file));
});
