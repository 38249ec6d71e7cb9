import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The relative-import graph of the TypeScript sources under `root`: file → files it imports (repo-relative). */
export type ImportGraph = Map<string, string[]>;

const SPECIFIER = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"](\.{1,2}\/[^'"]+)['"]|import\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g;

/** Every TypeScript source (not a declaration file) below `dir`. */
export function tsFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) tsFiles(full, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Type-only imports count: a boundary is about what a folder knows, not what survives compilation. */
export function importGraph(root: string, folders: readonly string[]): ImportGraph {
  const graph: ImportGraph = new Map();
  for (const folder of folders) {
    for (const file of tsFiles(path.join(root, folder))) {
      const source = readFileSync(file, 'utf8');
      const targets: string[] = [];
      for (const m of source.matchAll(SPECIFIER)) {
        const spec = m[1] ?? m[2];
        if (!spec) continue;
        const resolved = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
        targets.push(path.relative(root, resolved));
      }
      graph.set(path.relative(root, file), targets);
    }
  }
  return graph;
}

/** The first folder of a repo-relative path: `agent`, `controlplane`, `protocol`, … */
export const topFolder = (file: string): string => file.split(path.sep)[0] ?? '';

/** Every import that leaves `from` for a folder outside `allowed`. */
export function crossings(graph: ImportGraph, allowed: (fromFolder: string, toFolder: string) => boolean): string[] {
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      if (!allowed(topFolder(file), topFolder(target))) bad.push(`${file} → ${target}`);
    }
  }
  return bad;
}

/** Import cycles (each as its chain of files), found by depth-first search over the graph. */
export function cycles(graph: ImportGraph): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string): void => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      const s = state.get(next);
      if (s === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  return found;
}

/**
 * Imports that reach past another folder's public face: `dir/file.ts` imported from outside `dir`
 * while `dir/index.ts` exists. `hasIndex` says whether a folder has one.
 */
export function barrelBypasses(graph: ImportGraph, hasIndex: (dir: string) => boolean): string[] {
  const bad: string[] = [];
  for (const [file, targets] of graph) {
    for (const target of targets) {
      const dir = path.dirname(target);
      if (path.basename(target) === 'index.ts' || !graph.has(target)) continue;
      if (path.dirname(file) === dir || file.startsWith(dir + path.sep)) continue;
      if (hasIndex(dir)) bad.push(`${file} → ${target} (use ${path.join(dir, 'index.ts')})`);
    }
  }
  return bad;
}
