/**
 * The BPF map compatibility rule as a check. An upgrade (native/src/pinned_set.cc) hands a pinned map
 * to the new object whenever its kind, key and value sizes, max entries and flags still fit
 * (map_compat.cc); the kernel cannot see a layout change that keeps every size, so such a change must
 * rename the map. native/map-layouts.json records, per map of the built object, those sizes and a hash
 * of its key/value layout read from the object's BTF; test/native/map-layouts.test.ts compares the
 * build against it. Regenerate with `npm run native:layouts` after a deliberate change.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LayoutReadError } from './errors.js';
import { ROOT } from './index.js';

/** The object cmake builds (and embeds in the addon), and the committed manifest. */
export const BPF_OBJECT = path.join(ROOT, 'build', 'native', 'gen', 'sigil.bpf.o');
export const MANIFEST = path.join(ROOT, 'native', 'map-layouts.json');
export const REGENERATE = 'npm run build && npm run native:layouts';

/** One map as the object declares it: what map_compat.cc compares, and the layout it cannot see. */
export interface MapLayout {
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags: number;
  /** Canonical key/value layouts: member names, bit offsets and types, typedefs resolved. */
  key: string;
  value: string;
  /** sha256 (first 16 hex digits) of key + "\n" + value. */
  layoutHash: string;
}

export interface LayoutManifest {
  comment?: string;
  maps: Record<string, MapLayout>;
}

/** One difference between the build and the manifest, and what to do about it. */
export interface LayoutProblem {
  map: string;
  fix: 'rename-map' | 'update-manifest';
  message: string;
}

/** A BTF type as `bpftool -j btf dump file` prints it (the fields this module reads). */
export interface BtfType {
  id: number;
  kind: string;
  name?: string;
  size?: number;
  type_id?: number;
  nr_elems?: number;
  nr_bits?: number;
  bits_offset?: number;
  encoding?: string;
  members?: { name: string; type_id: number; bits_offset: number; bitfield_size?: number }[];
  values?: { name: string; val: number | string }[];
  vars?: { type_id: number; offset: number; size: number }[];
}

/** enum bpf_map_type (include/uapi/linux/bpf.h), lower-case without the prefix. */
const MAP_TYPES = [
  'unspec', 'hash', 'array', 'prog_array', 'perf_event_array', 'percpu_hash', 'percpu_array', 'stack_trace',
  'cgroup_array', 'lru_hash', 'lru_percpu_hash', 'lpm_trie', 'array_of_maps', 'hash_of_maps', 'devmap', 'sockmap',
  'cpumap', 'xskmap', 'sockhash', 'cgroup_storage', 'reuseport_sockarray', 'percpu_cgroup_storage', 'queue', 'stack',
  'sk_storage', 'devmap_hash', 'struct_ops', 'ringbuf', 'inode_storage', 'task_storage', 'bloom_filter', 'user_ringbuf',
  'cgrp_storage',
];

function malformed(what: string): LayoutReadError {
  return new LayoutReadError(`BTF of the BPF object: ${what}`);
}

/** The .maps section's maps, read from the object's BTF types. */
export function mapLayoutsOf(types: readonly BtfType[]): Record<string, MapLayout> {
  const byId = new Map(types.map((t) => [t.id, t]));
  const typeOf = (id: number | undefined): BtfType => {
    const t = id === undefined ? undefined : byId.get(id);
    if (!t) throw malformed(`no type ${id}`);
    return t;
  };
  /** Layout-transparent wrappers: a typedef or qualifier changes no byte. */
  const strip = (t: BtfType): BtfType =>
    ['TYPEDEF', 'CONST', 'VOLATILE', 'RESTRICT', 'TYPE_TAG'].includes(t.kind) ? strip(typeOf(t.type_id)) : t;
  const sizeOf = (id: number): number => {
    const t = strip(typeOf(id));
    if (t.kind === 'ARRAY') return (t.nr_elems ?? 0) * sizeOf(t.type_id ?? 0);
    if (t.kind === 'PTR') return 8;
    return t.size ?? 0;
  };
  const describe = (id: number): string => {
    if (id === 0) return 'void';
    const t = strip(typeOf(id));
    switch (t.kind) {
      case 'INT': {
        const base = t.encoding === 'BOOL' ? 'bool' : t.encoding === 'SIGNED' ? 'i' : t.encoding === 'CHAR' ? 'char' : 'u';
        const bits = t.nr_bits ?? (t.size ?? 0) * 8;
        const whole = bits === (t.size ?? 0) * 8 && !t.bits_offset;
        return `${base}${bits}${whole ? '' : `(size ${t.size}, at ${t.bits_offset ?? 0})`}`;
      }
      case 'FLOAT': return `f${(t.size ?? 0) * 8}`;
      case 'PTR': return 'ptr';
      case 'ARRAY': return `${describe(t.type_id ?? 0)}[${t.nr_elems ?? 0}]`;
      case 'ENUM':
      case 'ENUM64':
        return `enum${(t.size ?? 0) * 8}{${(t.values ?? []).map((v) => `${v.name}=${v.val}`).join(',')}}`;
      case 'STRUCT':
      case 'UNION': {
        const members = (t.members ?? []).map((m) =>
          `${m.name}@${m.bits_offset}${m.bitfield_size ? `:${m.bitfield_size}` : ''}:${describe(m.type_id)}`);
        return `${t.kind.toLowerCase()}(${t.size ?? 0}){${members.join(';')}}`;
      }
      case 'FWD': return `fwd ${t.name ?? ''}`;
      default: return t.kind.toLowerCase();
    }
  };

  const section = types.find((t) => t.kind === 'DATASEC' && t.name === '.maps');
  if (!section) throw malformed('no .maps section');
  const maps: Record<string, MapLayout> = {};
  for (const v of section.vars ?? []) {
    const variable = typeOf(v.type_id);
    const def = strip(typeOf(variable.type_id));
    if (variable.kind !== 'VAR' || !variable.name || def.kind !== 'STRUCT') throw malformed(`map ${variable.name ?? v.type_id} is not a BTF map definition`);
    const member = (name: string) => def.members?.find((m) => m.name === name);
    // __uint(name, n) is `int (*name)[n]`; __type(name, T) is `T *name`.
    const uint = (name: string): number => {
      const m = member(name);
      if (!m) return 0;
      const arr = strip(typeOf(strip(typeOf(m.type_id)).type_id));
      return arr.nr_elems ?? 0;
    };
    const pointee = (name: string): number | undefined => {
      const m = member(name);
      return m ? strip(typeOf(m.type_id)).type_id : undefined;
    };
    const keyId = pointee('key');
    const valueId = pointee('value');
    const key = keyId === undefined ? 'none' : describe(keyId);
    const value = valueId === undefined ? 'none' : describe(valueId);
    const typeNo = uint('type');
    maps[variable.name] = {
      type: MAP_TYPES[typeNo] ?? `type-${typeNo}`,
      keySize: keyId === undefined ? uint('key_size') : sizeOf(keyId),
      valueSize: valueId === undefined ? uint('value_size') : sizeOf(valueId),
      maxEntries: uint('max_entries'),
      flags: uint('map_flags'),
      key,
      value,
      layoutHash: layoutHash(key, value),
    };
  }
  return maps;
}

export function layoutHash(key: string, value: string): string {
  return createHash('sha256').update(`${key}\n${value}`).digest('hex').slice(0, 16);
}

/** Candidates for bpftool: $BPFTOOL, then PATH, then where distributions put it (as CMakeLists.txt looks). */
function bpftoolCandidates(): string[] {
  const fromEnv = process.env['BPFTOOL'];
  return [...(fromEnv ? [fromEnv] : []), 'bpftool', '/usr/sbin/bpftool', '/sbin/bpftool'];
}

/** The BTF types of a BPF object file, via `bpftool -j btf dump file`. */
export function readBtf(objectPath: string = BPF_OBJECT): BtfType[] {
  const failures: string[] = [];
  for (const bpftool of bpftoolCandidates()) {
    let out: string;
    try {
      out = execFileSync(bpftool, ['-j', 'btf', 'dump', 'file', objectPath], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: string };
      failures.push(`  ${bpftool}: ${e.code === 'ENOENT' ? 'not found' : (e.stderr ?? e.message).trim()}`);
      if (e.code === 'ENOENT') continue;
      break;
    }
    const parsed = JSON.parse(out) as { types?: BtfType[] };
    if (!Array.isArray(parsed.types)) throw malformed(`bpftool printed no "types" for ${objectPath}`);
    return parsed.types;
  }
  throw new LayoutReadError(`cannot read the BTF of ${objectPath}:\n${failures.join('\n')}`);
}

const SIZE_FIELDS = ['type', 'keySize', 'valueSize', 'maxEntries', 'flags'] as const;

/**
 * What differs between the committed manifest and the built object. `shared` names the maps an
 * upgrade hands to the new object (the addon's pinnedMaps): for those, same sizes with another layout
 * means the map must be renamed; every other difference means the manifest is out of date.
 */
export function compareLayouts(manifest: LayoutManifest, built: Record<string, MapLayout>, shared: ReadonlySet<string>): LayoutProblem[] {
  const problems: LayoutProblem[] = [];
  const update = (map: string, why: string) =>
    problems.push({ map, fix: 'update-manifest', message: `${map}: ${why}; update the manifest: ${REGENERATE}` });
  for (const [map, was] of Object.entries(manifest.maps)) {
    if (layoutHash(was.key, was.value) !== was.layoutHash) update(map, 'the manifest\'s layoutHash does not match its key/value');
    if (!(map in built)) update(map, 'is in the manifest but not in the object (removed or renamed)');
  }
  for (const [map, now] of Object.entries(built)) {
    const was = manifest.maps[map];
    if (!was) {
      update(map, 'is a new map');
      continue;
    }
    const changed = SIZE_FIELDS.filter((f) => was[f] !== now[f]).map((f) => `${f} ${was[f]} -> ${now[f]}`);
    if (changed.length > 0) {
      const upgrade = shared.has(map) ? ' (an upgrade re-creates it: its state starts empty)' : '';
      update(map, `kind or sizes changed: ${changed.join(', ')}${upgrade}`);
    } else if (was.layoutHash !== now.layoutHash) {
      if (shared.has(map)) {
        problems.push({
          map,
          fix: 'rename-map',
          message: `${map}: same kind and sizes but another key/value layout: rename the map (e.g. ${map}_v2), or an upgrade ` +
            `hands the pinned map's bytes to the new programs as the new layout; then ${REGENERATE}\n` +
            `    was key ${was.key} value ${was.value}\n    now key ${now.key} value ${now.value}`,
        });
      } else {
        update(map, 'key/value layout changed (not pinned: each load makes its own, no rename needed)');
      }
    }
  }
  return problems;
}

/** The manifest for a built object, as `npm run native:layouts` writes it. */
export function manifestOf(built: Record<string, MapLayout>): LayoutManifest {
  const maps: Record<string, MapLayout> = {};
  for (const name of Object.keys(built).sort()) maps[name] = built[name]!;
  return {
    comment: `Generated by \`${REGENERATE}\` from build/native/gen/sigil.bpf.o; checked by test/native/map-layouts.test.ts. ` +
      'A pinned map whose layout changes while every size stays must be renamed (see native/map-layouts.ts).',
    maps,
  };
}

export interface RegenerateResult {
  /** What differs from the manifest that was there (empty when there was none to compare). */
  problems: LayoutProblem[];
  /** Pinned maps that kept their sizes but changed their layout, not in `accepted`: nothing is written. */
  refused: string[];
  written: boolean;
}

/**
 * Rewrites the manifest at `manifestPath` for `built`, unless a pinned map kept its sizes but changed
 * its layout: regenerating must not be a way around renaming it. `accepted` names maps whose old
 * entries still read right under the new layout (e.g. a zero pad turned into a field whose zero means
 * "as before").
 */
export function regenerateManifest(manifestPath: string, built: Record<string, MapLayout>, shared: ReadonlySet<string>,
  accepted: ReadonlySet<string> = new Set()): RegenerateResult {
  const old = existsSync(manifestPath) ? JSON.parse(readFileSync(manifestPath, 'utf8')) as LayoutManifest : undefined;
  const problems = old ? compareLayouts(old, built, shared) : [];
  const refused = problems.filter((p) => p.fix === 'rename-map' && !accepted.has(p.map)).map((p) => p.map);
  if (refused.length > 0) return { problems, refused, written: false };
  writeFileSync(manifestPath, `${JSON.stringify(manifestOf(built), null, 2)}\n`);
  return { problems, refused, written: true };
}
