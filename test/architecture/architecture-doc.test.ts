import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** docs/architecture.md is where a newcomer looks first: every file or folder it names must exist. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TOP = ['agent', 'controlplane', 'protocol', 'common', 'native', 'bpf', 'test', 'bench', 'deploy', 'docs'];

test('every path docs/architecture.md names exists', (t) => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const named = [...doc.matchAll(/`([a-z][\w./-]*)`/g)].map((m) => m[1] as string)
    .filter((p) => p.includes('/') && TOP.includes(p.split('/')[0] as string))
    .map((p) => p.replace(/\/\*.*$/, '').replace(/\/$/, ''));
  t.true(named.length > 40, `found only ${named.length} paths`);
  // A bare file name after a path names a file in that path's folder ("`facts.ts`" after "agent/attest/…").
  t.deepEqual(named.filter((p) => !existsSync(path.join(ROOT, p))), []);
});
