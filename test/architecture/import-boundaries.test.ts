import test from 'ava';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import { barrelBypasses, crossings, cycles, importGraph, type ImportGraph } from './import-graph.js';

/**
 * The rooms of docs/architecture.md: agent/ and controlplane/ meet only in protocol/ (the wire contract)
 * and common/ (utilities); native/ is the addon's room; production code never reaches into test/ or bench/.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const PRODUCTION = ['agent', 'controlplane', 'protocol', 'common', 'native'] as const;

const MAY_IMPORT: Record<string, readonly string[]> = {
  agent: ['agent', 'protocol', 'common', 'native'],
  controlplane: ['controlplane', 'protocol', 'common', 'native'],
  protocol: ['protocol'],
  common: ['common', 'native'],
  native: ['native', 'common'],
};

const allowed = (from: string, to: string): boolean => (MAY_IMPORT[from] ?? []).includes(to);

test('agent/ and controlplane/ meet only in protocol/ and common/; production never imports test/ or bench/', (t) => {
  const graph = importGraph(ROOT, PRODUCTION);
  t.true(graph.size > 100, `read ${graph.size} files; the scan is looking in the wrong place`);
  t.deepEqual(crossings(graph, allowed), []);
});

test('production code has no import cycle', (t) => {
  t.deepEqual(cycles(importGraph(ROOT, PRODUCTION)).map((c) => c.join(' → ')), []);
});

test('the checks see a forbidden import and a cycle when there is one', (t) => {
  const graph: ImportGraph = new Map([
    [path.join('agent', 'a.ts'), [path.join('controlplane', 'b.ts')]],
    [path.join('controlplane', 'b.ts'), [path.join('agent', 'a.ts')]],
    [path.join('protocol', 'p.ts'), [path.join('common', 'c.ts')]],
    [path.join('common', 'c.ts'), [path.join('test', 'helpers', 'x.ts')]],
  ]);
  t.is(crossings(graph, allowed).length, 4);
  t.is(cycles(graph).length, 1);
});

test('the graph reads imports and re-exports', (t) => {
  const graph = importGraph(ROOT, ['agent']);
  const cli = graph.get(path.join('agent', 'cli', 'main.ts')) ?? [];
  t.true(cli.some((f) => f.startsWith('common')), `agent/cli/main.ts imports: ${cli.join(', ')}`);
  const steering = graph.get(path.join('agent', 'steering', 'index.ts')) ?? [];
  t.true(steering.some((f) => f.startsWith(path.join('agent', 'steering'))), `agent/steering/index.ts re-exports: ${steering.join(', ')}`);
});

test("a folder's index.ts is its public face: production code outside the folder imports only that", (t) => {
  const graph = importGraph(ROOT, PRODUCTION);
  t.deepEqual(barrelBypasses(graph, (dir) => existsSync(path.join(ROOT, dir, 'index.ts'))), []);
});

test('the barrel check sees an import past an index', (t) => {
  const graph: ImportGraph = new Map([
    [path.join('agent', 'daemon', 'a.ts'), [path.join('agent', 'signer', 'ports.ts'), path.join('agent', 'signer', 'index.ts')]],
    [path.join('agent', 'signer', 'ports.ts'), []],
    [path.join('agent', 'signer', 'index.ts'), [path.join('agent', 'signer', 'ports.ts')]],
  ]);
  t.is(barrelBypasses(graph, (dir) => dir === path.join('agent', 'signer')).length, 1);
});
