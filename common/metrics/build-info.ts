/**
 * `<service>_build_info{version,commit,node,kernel} 1`: which build runs where, for joins in queries.
 * The version is package.json's; the commit is the `COMMIT` file a package build writes beside it
 * (`make deb`), else the checkout's HEAD read from .git, else "unknown". Read once per process.
 */
import { readFileSync } from 'node:fs';
import { release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricFamily } from './exposition.js';

/** The package root: dist/common/metrics → three levels up. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const readText = (path: string): string | undefined => {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
};

function gitHead(root: string): string | undefined {
  let gitDir = join(root, '.git');
  const pointer = readText(gitDir);
  if (pointer?.startsWith('gitdir: ')) gitDir = resolve(root, pointer.slice('gitdir: '.length)); // a worktree
  const head = readText(join(gitDir, 'HEAD'));
  if (head === undefined) return undefined;
  if (!head.startsWith('ref: ')) return head;
  const ref = head.slice('ref: '.length);
  const common = readText(join(gitDir, 'commondir'));
  const dirs = common === undefined ? [gitDir] : [gitDir, resolve(gitDir, common)];
  for (const dir of dirs) {
    const direct = readText(join(dir, ref));
    if (direct) return direct;
    const packed = readText(join(dir, 'packed-refs'))?.split('\n').find((l) => l.endsWith(` ${ref}`));
    if (packed) return packed.split(' ')[0];
  }
  return undefined;
}

export interface BuildInfo {
  version: string;
  commit: string;
  node: string;
  kernel: string;
}

let cached: BuildInfo | undefined;

export function buildInfo(): BuildInfo {
  if (cached) return cached;
  let version = 'unknown';
  try {
    version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version?: string }).version ?? version;
  } catch {
    // running from somewhere without package.json: keep "unknown"
  }
  const commit = readText(join(ROOT, 'COMMIT')) || gitHead(ROOT) || 'unknown';
  cached = { version, commit: commit.slice(0, 40), node: process.version, kernel: release() };
  return cached;
}

export function buildInfoFamily(service: 'agent' | 'controlplane'): MetricFamily {
  const info = buildInfo();
  return {
    name: `sigil_${service}_build_info`, type: 'gauge', help: `The running sigil-${service} build (always 1): version, commit, Node.js and kernel release.`,
    samples: [{ labels: { version: info.version, commit: info.commit, node: info.node, kernel: info.kernel }, value: 1 }],
  };
}
