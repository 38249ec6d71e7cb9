/**
 * The benchmark tables of README.md and docs/benchmarks.md are rendered from bench/results/latest.json
 * (bench/summary-tables.ts, rewritten by `npm run bench`): a figure nobody measured, or one left over
 * from an earlier run, cannot stand in them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { SUMMARY_TABLES, renderTable, withTable } from '../../bench/summary-tables.js';
import { repoRoot } from './repo-root.js';

const latest: unknown = JSON.parse(readFileSync(path.join(repoRoot, 'bench', 'results', 'latest.json'), 'utf8'));

for (const { file, heading, rows } of SUMMARY_TABLES) {
  test(`the "${heading}" table of ${file} is the one bench/results/latest.json renders`, (t) => {
    const doc = readFileSync(path.join(repoRoot, file), 'utf8');
    const expected = withTable(doc, heading, renderTable(latest, rows));
    t.is(doc, expected, `run \`node dist/bench/summary-tables.js\` after a bench run (or edit bench/summary-tables.ts), not the table by hand`);
  });
}

test('the check can fail: a changed figure renders a different table', (t) => {
  const { rows } = SUMMARY_TABLES[0];
  const changed = JSON.parse(JSON.stringify(latest)) as { signer: { cpuOverheadRatio: number } };
  changed.signer.cpuOverheadRatio += 1;
  t.not(renderTable(changed, rows), renderTable(latest, rows));
  t.regex(renderTable(latest, rows), /\| agent CPU per signed request ÷ one RSA-2048 signature/);
});

test('a phase the run left out reads "not run", not a number', (t) => {
  const row = { label: 'x', figures: [{ path: 'fleet.ha.applyToAckP99MsCluster', unit: 'ms' }], goal: '≤ 500 ms' };
  t.regex(renderTable({ fleet: { ha: null } }, [row]), /\| x \| not run \| ≤ 500 ms \| not run \|/);
});
