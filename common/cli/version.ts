/**
 * What `--version` prints and `*_build_info` reports: the package version, and the git commit when it
 * is known — from `build-info.json` beside package.json (written by a package build) or, in a checkout,
 * from git itself. Read once, only when asked.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: this file is <root>/dist/common/cli/version.js. */
export const PACKAGE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

export interface BuildInfo {
  version: string;
  /** Short git commit, or undefined when neither build-info.json nor a checkout says. */
  commit: string | undefined;
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  cached ??= { version: readJson('package.json')?.['version'] as string | undefined ?? '0.0.0-unknown', commit: commitOf() };
  return cached;
}

export function versionText(): string {
  const { version, commit } = buildInfo();
  return `${version}${commit ? ` (commit ${commit})` : ''}`;
}

function commitOf(): string | undefined {
  const recorded = readJson('build-info.json')?.['commit'];
  if (typeof recorded === 'string' && recorded !== '') return recorded;
  if (!existsSync(path.join(PACKAGE_ROOT, '.git'))) return undefined;
  try {
    return execFileSync('git', ['-C', PACKAGE_ROOT, 'rev-parse', '--short=12', 'HEAD'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(readFileSync(path.join(PACKAGE_ROOT, file), 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
