/**
 * docs/benchmarks.md quotes figures; every number in the value column of its tables must be one that
 * bench/results/latest.json holds (to the precision quoted), so a figure nobody measured cannot creep
 * back in. Goals are not checked here (they come from bench/goals.ts).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { repoRoot } from './repo-root.js';

const docs = {
  'docs/benchmarks.md': readFileSync(path.join(repoRoot, 'docs', 'benchmarks.md'), 'utf8'),
  'README.md': readFileSync(path.join(repoRoot, 'README.md'), 'utf8'),
};
const latest: unknown = JSON.parse(readFileSync(path.join(repoRoot, 'bench', 'results', 'latest.json'), 'utf8'));

function numbersIn(value: unknown, out: number[] = []): number[] {
  if (typeof value === 'number') out.push(value);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) numbersIn(v, out);
  return out;
}
const measured = numbersIn(latest);

/** Rows of the markdown table under `heading` (until the next heading), as cells. */
function tableUnder(file: keyof typeof docs, heading: string): string[][] {
  const doc = docs[file];
  const start = doc.indexOf(`\n## ${heading}\n`);
  if (start < 0) throw new Error(`no section "${heading}" in ${file}`);
  const end = doc.indexOf('\n## ', start + 1);
  return doc.slice(start, end < 0 ? undefined : end).split('\n')
    .filter((l) => l.startsWith('|') && !/^\|[-| ]+\|$/.test(l))
    .slice(1) // header row
    .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
}

/** The numbers quoted in a cell ("1,206 / 908 ms" → 1206, 908), each with its decimals. */
function quoted(cell: string): Array<{ text: string; value: number; decimals: number }> {
  return [...cell.matchAll(/\d[\d,]*(?:\.\d+)?/g)].map((m) => {
    const text = m[0].replace(/,/g, '');
    return { text: m[0], value: Number(text), decimals: text.includes('.') ? text.split('.')[1]!.length : 0 };
  });
}

/** Some measured figure rounds to it, also when the doc shows a millisecond figure in seconds or µs as ms. */
function isMeasured(n: { value: number; decimals: number }): boolean {
  const tolerance = 0.5 * 10 ** -n.decimals + 1e-9;
  return measured.some((v) => [v, v / 1000].some((x) => Math.abs(x - n.value) <= tolerance));
}

const TABLES = [['docs/benchmarks.md', 'Latest figures', 1], ['docs/benchmarks.md', 'README summary', 1], ['README.md', 'Benchmarks', 1]] as const;
for (const [file, heading, column] of TABLES) {
  test(`every figure in the "${heading}" table of ${file} comes from bench/results/latest.json`, (t) => {
    const rows = tableUnder(file, heading);
    t.true(rows.length >= 5, `the table has ${rows.length} rows`);
    const unmeasured = rows.flatMap((row) => quoted(row[column] ?? '').filter((n) => !isMeasured(n)).map((n) => `${n.text} in "${row[0]}"`));
    t.deepEqual(unmeasured, []);
  });
}

test('the check can fail: a figure latest.json does not hold is reported', (t) => {
  t.false(isMeasured({ value: 11.5, decimals: 1 }), 'the +11.5 MB of a t.log was never in latest.json');
  t.false(isMeasured({ value: 777, decimals: 0 }));
  t.true(isMeasured({ value: 704, decimals: 0 }), 'control: viaSigilRps 704.2');
});
