import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsFiles } from './import-graph.js';

/**
 * Error codes (SIGIL_ERR_…) are written once, in a catalogue: a folder's `errors.ts`, or protocol/ for
 * the codes that cross the wire. Everywhere else names them through the catalogue, so a code cannot
 * drift between the place that raises it and the places (tests, docs, the other program) that match it.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const LITERAL = /['"`](SIGIL_ERR_[A-Z0-9_]+)['"`]/g;

export function strayCodes(files: Array<{ file: string; text: string }>): string[] {
  const isCatalogue = (file: string): boolean => path.basename(file) === 'errors.ts' || file.split(path.sep)[0] === 'protocol';
  return files.filter((f) => !isCatalogue(f.file)).flatMap((f) => [...f.text.matchAll(LITERAL)].map((m) => `${f.file}: ${m[1]}`));
}

test('every SIGIL_ERR_ code in production code is written in a catalogue only', (t) => {
  const files = ['agent', 'controlplane', 'common', 'native', 'protocol'].flatMap((d) => tsFiles(path.join(ROOT, d)))
    .map((full) => ({ file: path.relative(ROOT, full), text: readFileSync(full, 'utf8') }));
  t.true(files.length > 100);
  t.deepEqual(strayCodes(files), []);
});

test('the check finds a code written outside a catalogue', (t) => {
  t.deepEqual(strayCodes([
    { file: path.join('agent', 'x', 'thing.ts'), text: "throw new AgentError('SIGIL_ERR_X_Y', 'no')" },
    { file: path.join('agent', 'x', 'errors.ts'), text: "export const X = { Y: 'SIGIL_ERR_X_Y' }" },
    { file: path.join('protocol', 'wire.ts'), text: "const C = 'SIGIL_ERR_WIRE'" },
  ]), [`${path.join('agent', 'x', 'thing.ts')}: SIGIL_ERR_X_Y`]);
});
