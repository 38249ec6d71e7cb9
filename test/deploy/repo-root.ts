import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The checkout: this file runs as dist/test/deploy/repo-root.js. */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
