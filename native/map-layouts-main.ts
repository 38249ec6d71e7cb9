/**
 * `npm run native:layouts [-- --accept <map> ...]`: rewrites native/map-layouts.json from the built
 * BPF object. It refuses while a pinned map kept its sizes but changed its layout (rename it instead);
 * `--accept <map>` overrides that for a change whose old bytes still read right under the new layout
 * (e.g. a zero pad turned into a flag whose zero means "as before").
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { BPF_OBJECT, MANIFEST, compareLayouts, manifestOf, mapLayoutsOf, readBtf, type LayoutManifest } from './map-layouts.js';
import { loadNative } from './index.js';

function main(argv: string[]): number {
  const accepted = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--accept' && argv[i + 1]) accepted.add(argv[++i]!);
    else {
      process.stderr.write(`usage: npm run native:layouts [-- --accept <map> ...]\n`);
      return 2;
    }
  }
  const built = mapLayoutsOf(readBtf(BPF_OBJECT));
  const old: LayoutManifest = existsSync(MANIFEST) ? JSON.parse(readFileSync(MANIFEST, 'utf8')) as LayoutManifest : { maps: {} };
  const problems = compareLayouts(old, built, new Set(loadNative().pinnedMaps));
  const refused = problems.filter((p) => p.fix === 'rename-map' && !accepted.has(p.map));
  for (const p of problems) process.stdout.write(`${p.message}\n`);
  if (refused.length > 0) {
    process.stderr.write(`not written: rename ${refused.map((p) => p.map).join(', ')} (or --accept <map> if old entries still read right)\n`);
    return 1;
  }
  writeFileSync(MANIFEST, `${JSON.stringify(manifestOf(built), null, 2)}\n`);
  process.stdout.write(`wrote ${MANIFEST} (${Object.keys(built).length} maps)\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
