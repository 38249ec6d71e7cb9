import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { NativeBinding } from './binding.js';
import { NativeMissingError } from './errors.js';

/** Repository (or install) root: this file runs as dist/native/index.js. */
const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.basename(path.resolve(HERE, '..')) === 'dist' ? path.resolve(HERE, '..', '..') : path.resolve(HERE, '..');

/** Where `npm run build:native` (cmake-js) may leave the addon, most likely first. */
export function nativeCandidates(): string[] {
  const fromEnv = process.env['SIGIL_NATIVE_PATH'];
  return [
    ...(fromEnv ? [path.resolve(fromEnv)] : []),
    path.join(ROOT, 'build', 'native', 'Release', 'sigil_native.node'),
    path.join(ROOT, 'build', 'native', 'Debug', 'sigil_native.node'),
    path.join(ROOT, 'build', 'native', 'sigil_native.node'),
    path.join(ROOT, 'build', 'Release', 'sigil_native.node'),
  ];
}

let cached: NativeBinding | undefined;

/** Loads the addon once; the error lists every path tried and why each failed. */
export function loadNative(): NativeBinding {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const tried: string[] = [];
  for (const candidate of nativeCandidates()) {
    try {
      cached = require(candidate) as NativeBinding;
      return cached;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      tried.push(`  ${candidate}: ${code === 'MODULE_NOT_FOUND' ? 'not found' : (err as Error).message}`);
    }
  }
  throw new NativeMissingError(
    `sigil native addon not found; run \`npm run build:native\`. Tried:\n${tried.join('\n')}`,
  );
}
