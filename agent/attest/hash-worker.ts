/**
 * Worker thread body for FileHasher (file-hasher.ts): sha256 of an open fd, read with large
 * positional reads into one reused buffer and hashed with node:crypto (OpenSSL, SHA-NI where the CPU
 * has it), so hashing a big executable never runs on the agent's event loop.
 */
import { createHash } from 'node:crypto';
import { readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

interface Job { id: number; fd: number }

const port = parentPort!;
const buffer = Buffer.allocUnsafe((workerData as { chunkBytes: number }).chunkBytes);

port.on('message', ({ id, fd }: Job) => {
  try {
    const hash = createHash('sha256');
    for (let position = 0; ;) {
      const n = readSync(fd, buffer, 0, buffer.length, position);
      if (n === 0) break;
      hash.update(n === buffer.length ? buffer : buffer.subarray(0, n));
      position += n;
    }
    port.postMessage({ id, sha256: hash.digest('hex') });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ id, error: { message: e.message, code: e.code } });
  }
});
