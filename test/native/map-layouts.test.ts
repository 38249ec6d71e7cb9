/**
 * The map compatibility rule (native/map-layouts.ts): a pinned map that keeps its kind and sizes
 * but changes its key/value layout must be renamed; any other change updates the manifest.
 * The first tests check the built object against the committed manifest; the others feed the
 * comparison doctored layouts, so the check is shown to fail when it should.
 */
import test from 'ava';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gatedTest } from '../helpers/ci.js';
import { loadNative } from '../../native/index.js';
import {
  BPF_OBJECT, MANIFEST, compareLayouts, manifestOf, mapLayoutsOf, readBtf, regenerateManifest, type BtfType, type LayoutManifest,
} from '../../native/map-layouts.js';

const builtMissing = (() => {
  if (!existsSync(BPF_OBJECT)) return `no ${BPF_OBJECT} (run npm run build)`;
  try {
    loadNative();
    readBtf(BPF_OBJECT);
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
})();
const builtTest = gatedTest(builtMissing, 'BPF object layout (bpftool + built object)');

const manifest = (): LayoutManifest => JSON.parse(readFileSync(MANIFEST, 'utf8')) as LayoutManifest;
const pinned = (): Set<string> => new Set(loadNative().pinnedMaps);

builtTest('the built object\'s maps match native/map-layouts.json', (t) => {
  const problems = compareLayouts(manifest(), mapLayoutsOf(readBtf(BPF_OBJECT)), pinned());
  t.deepEqual(problems.map((p) => p.message), []);
});

builtTest('the manifest covers every map the agent pins', (t) => {
  const maps = manifest().maps;
  const names = loadNative().pinnedMaps;
  t.true(names.length >= 8);
  t.deepEqual(names.filter((n) => !(n in maps)), []);
});

builtTest('the real object, doctored: a pinned value with a renamed or moved field asks for a map rename; a resized one for a manifest update', (t) => {
  const types = readBtf(BPF_OBJECT);
  const baseline = manifestOf(mapLayoutsOf(types));
  const doctor = (structName: string, change: (s: BtfType) => void): BtfType[] => {
    t.true(types.some((ty) => ty.kind === 'STRUCT' && ty.name === structName), `struct ${structName} in the object`);
    return types.map((ty) => {
      if (ty.kind !== 'STRUCT' || ty.name !== structName) return ty;
      const copy = structuredClone(ty);
      change(copy);
      return copy;
    });
  };
  const fixes = (doctored: BtfType[]) => compareLayouts(baseline, mapLayoutsOf(doctored), pinned());

  const renamed = fixes(doctor('sigil_proc', (s) => { s.members![1]!.name += '_renamed'; }));
  t.deepEqual(renamed.map((p) => [p.map, p.fix]), [['sigil_procs', 'rename-map']]);
  t.regex(renamed[0]!.message, /rename the map/);

  const swapped = fixes(doctor('sigil_image', (s) => {
    const [a, b] = [s.members![0]!, s.members![1]!];
    [a.bits_offset, b.bits_offset] = [b.bits_offset, a.bits_offset];
  }));
  t.deepEqual(swapped.map((p) => [p.map, p.fix]), [['sigil_images', 'rename-map']]);

  const size = baseline.maps['sigil_settings']!.valueSize;
  const grown = fixes(doctor('sigil_settings', (s) => { s.size = size + 8; }));
  t.deepEqual(grown.map((p) => [p.map, p.fix]), [['sigil_settings', 'update-manifest']]);
  t.true(grown[0]!.message.includes(`valueSize ${size} -> ${size + 8}`), grown[0]!.message);
  t.regex(grown[0]!.message, /update the manifest/);
});

// ---- the comparison alone, on a hand-made BTF: runs everywhere ----

/** BTF of two maps like `__uint(type, HASH); __uint(max_entries, 16); __type(key, __u32); __type(value, struct v)`. */
function btf(value: { name: string; offset: number }[], valueSize = 8, names = ['m_pinned', 'm_private']): BtfType[] {
  const types: BtfType[] = [
    { id: 1, kind: 'INT', name: 'int', size: 4, bits_offset: 0, nr_bits: 32, encoding: 'SIGNED' },
    { id: 2, kind: 'INT', name: 'unsigned int', size: 4, bits_offset: 0, nr_bits: 32, encoding: '(none)' },
    { id: 3, kind: 'TYPEDEF', name: '__u32', type_id: 2 },
    { id: 4, kind: 'ARRAY', type_id: 1, nr_elems: 1 }, // BPF_MAP_TYPE_HASH
    { id: 5, kind: 'PTR', type_id: 4 },
    { id: 6, kind: 'ARRAY', type_id: 1, nr_elems: 16 },
    { id: 7, kind: 'PTR', type_id: 6 },
    { id: 8, kind: 'PTR', type_id: 3 },
    { id: 9, kind: 'STRUCT', name: 'v', size: valueSize, members: value.map((m) => ({ name: m.name, type_id: 3, bits_offset: m.offset })) },
    { id: 10, kind: 'PTR', type_id: 9 },
    {
      id: 11, kind: 'STRUCT', name: '(anon)', size: 32, members: [
        { name: 'type', type_id: 5, bits_offset: 0 }, { name: 'max_entries', type_id: 7, bits_offset: 64 },
        { name: 'key', type_id: 8, bits_offset: 128 }, { name: 'value', type_id: 10, bits_offset: 192 },
      ],
    },
  ];
  names.forEach((name, i) => types.push({ id: 20 + i, kind: 'VAR', name, type_id: 11 }));
  types.push({ id: 30, kind: 'DATASEC', name: '.maps', vars: names.map((_, i) => ({ type_id: 20 + i, offset: 32 * i, size: 32 })) });
  return types;
}

const AB = [{ name: 'a', offset: 0 }, { name: 'b', offset: 32 }];
const SHARED = new Set(['m_pinned']);
const committed = manifestOf(mapLayoutsOf(btf(AB)));
const problemsWith = (types: BtfType[]) => compareLayouts(committed, mapLayoutsOf(types), SHARED).map((p) => [p.map, p.fix]);

test('the BTF map definition reads as its kind, sizes and layout', (t) => {
  const m = committed.maps['m_pinned']!;
  t.like(m, { type: 'hash', keySize: 4, valueSize: 8, maxEntries: 16, flags: 0, key: 'u32', value: 'struct(8){a@0:u32;b@32:u32}' });
  t.regex(m.layoutHash, /^[0-9a-f]{16}$/);
});

test('an unchanged object has no problem', (t) => {
  t.deepEqual(problemsWith(btf(AB)), []);
});

test('same sizes, fields swapped: the pinned map must be renamed, the private one only updates the manifest', (t) => {
  const problems = compareLayouts(committed, mapLayoutsOf(btf([{ name: 'a', offset: 32 }, { name: 'b', offset: 0 }])), SHARED);
  t.deepEqual(problems.map((p) => [p.map, p.fix]), [['m_pinned', 'rename-map'], ['m_private', 'update-manifest']]);
  t.regex(problems[0]!.message, /^m_pinned: same kind and sizes but another key\/value layout: rename the map/);
  t.regex(problems[1]!.message, /no rename needed.*update the manifest/);
});

test('same sizes, a field renamed: rename the map', (t) => {
  t.deepEqual(problemsWith(btf([{ name: 'a', offset: 0 }, { name: 'c', offset: 32 }])), [['m_pinned', 'rename-map'], ['m_private', 'update-manifest']]);
});

test('a size change updates the manifest and never asks for a rename', (t) => {
  const problems = compareLayouts(committed, mapLayoutsOf(btf([...AB, { name: 'c', offset: 64 }], 12)), SHARED);
  t.deepEqual(problems.map((p) => [p.map, p.fix]), [['m_pinned', 'update-manifest'], ['m_private', 'update-manifest']]);
  t.regex(problems[0]!.message, /valueSize 8 -> 12 \(an upgrade re-creates it/);
});

test('a renamed map shows as one gone and one new, both manifest updates', (t) => {
  t.deepEqual(problemsWith(btf(AB, 8, ['m_pinned_v2', 'm_private'])), [['m_pinned', 'update-manifest'], ['m_pinned_v2', 'update-manifest']]);
});

test('a typedef or qualifier changes no layout', (t) => {
  const types = btf(AB).map((ty) => (ty.kind === 'STRUCT' && ty.name === 'v'
    ? { ...ty, members: ty.members!.map((m) => ({ ...m, type_id: 2 })) } // unsigned int instead of __u32
    : ty));
  t.deepEqual(problemsWith(types), []);
});

test('a manifest edited by hand (layout text without its hash) is refused', (t) => {
  const edited = structuredClone(committed);
  edited.maps['m_private']!.value = 'struct(8){b@0:u32;a@32:u32}';
  t.deepEqual(compareLayouts(edited, mapLayoutsOf(btf(AB)), SHARED).map((p) => [p.map, p.fix]), [['m_private', 'update-manifest']]);
});

test('regenerating refuses a same-size layout change of a pinned map unless accepted, and writes anything else', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'sigil-layouts-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'map-layouts.json');
  const before = `${JSON.stringify(committed, null, 2)}\n`;
  writeFileSync(file, before);
  const swapped = mapLayoutsOf(btf([{ name: 'a', offset: 32 }, { name: 'b', offset: 0 }]));

  const refused = regenerateManifest(file, swapped, SHARED);
  t.deepEqual([refused.written, refused.refused], [false, ['m_pinned']]);
  t.is(readFileSync(file, 'utf8'), before, 'the manifest is left as it was');

  const accepted = regenerateManifest(file, swapped, SHARED, new Set(['m_pinned']));
  t.true(accepted.written);
  t.deepEqual(compareLayouts(JSON.parse(readFileSync(file, 'utf8')) as LayoutManifest, swapped, SHARED), []);

  const grown = mapLayoutsOf(btf([...AB, { name: 'c', offset: 64 }], 12));
  t.true(regenerateManifest(file, grown, SHARED).written, 'a size change needs no acceptance');
});
