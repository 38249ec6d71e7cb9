/**
 * `npm run native:layouts [-- --accept <map> ...]`: rewrites native/map-layouts.json from the built
 * BPF object (see regenerateManifest in map-layouts.ts: it refuses while a pinned map kept its sizes
 * but changed its layout, unless that map is --accept'ed).
 */
import { BPF_OBJECT, MANIFEST, mapLayoutsOf, readBtf, regenerateManifest } from './map-layouts.js';
import { loadNative } from './index.js';

function main(argv: string[]): number {
  const accepted = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--accept' && argv[i + 1]) accepted.add(argv[++i]!);
    else {
      process.stderr.write('usage: npm run native:layouts [-- --accept <map> ...]\n');
      return 2;
    }
  }
  const built = mapLayoutsOf(readBtf(BPF_OBJECT));
  const result = regenerateManifest(MANIFEST, built, new Set(loadNative().pinnedMaps), accepted);
  for (const p of result.problems) process.stdout.write(`${p.message}\n`);
  if (!result.written) {
    process.stderr.write(`not written: rename ${result.refused.join(', ')} (or --accept <map> if its old entries still read right)\n`);
    return 1;
  }
  process.stdout.write(`wrote ${MANIFEST} (${Object.keys(built).length} maps)\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
