/**
 * Searches logs, audit files, state dirs and any other files for the secrets a test run handed out
 * (the ledger, see ledger.ts) and for PEM private key armour. Prints each finding as file, byte
 * offset, kind and a short sha256 of the value, never the value itself; exits 1 when anything is found.
 *
 *   node dist/test/secrets/scan.js --ledger F --logs DIR [--logs FILE ...] [--state DIR [--readable-by UID[:GID]]]
 *        [--allow-pem FILE ...] [EXTRA_FILE ...]           (e.g. /proc/<pid>/environ of each workload)
 *
 * --state with --readable-by only scans files that uid (or gid) could open: every parent directory
 * searchable and the file readable by owner, group or other bits (supplementary groups are not
 * considered). --allow-pem exempts a file from the PEM check (the placeholder OCI key is one by design).
 * Exit codes: 0 clean, 1 findings, 2 usage or I/O error (a missing ledger is an error: a scan with
 * nothing to look for proves nothing).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { readLedger, type LedgerEntry } from './ledger.js';

export interface Finding {
  file: string;
  /** Byte offset of the match in the file. */
  offset: number;
  kind: string;
  /** First 12 hex digits of sha256(value): enough to tell findings apart, useless to an attacker. */
  hash: string;
}

export interface ScanOptions {
  secrets: LedgerEntry[];
  /** Files or directories scanned whole. */
  paths: string[];
  /** Directories scanned for files `readableBy` could open (all files when it is unset). */
  stateDirs?: string[];
  readableBy?: { uid: number; gid?: number };
  /** Files exempt from the PEM armour check. */
  allowPem?: string[];
}

/** Secrets shorter than this are not searched for: they would match by chance. */
export const MIN_SECRET_LENGTH = 16;
const PREFIX = MIN_SECRET_LENGTH;
const CHUNK = 1 << 20;
/** Characters of base64, base64url, JWTs and percent-encoding: secrets are found inside runs of these. */
const RUN = /[A-Za-z0-9+/=_%.\-]{16,}/g;
const RUN_CHAR = /^[A-Za-z0-9+/=_%.\-]+$/;
const PEM = /-----BEGIN ([A-Z0-9]+ )*PRIVATE KEY-----/g;

export function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 12);
}

interface Needle {
  text: string;
  kind: string;
  hash: string;
}

/** Each secret as written and percent-encoded (form bodies, query strings). */
function needlesOf(secrets: LedgerEntry[]): Needle[] {
  const out: Needle[] = [];
  for (const { kind, value } of secrets) {
    if (value.length < MIN_SECRET_LENGTH) continue;
    const hash = shortHash(value);
    for (const text of new Set([value, encodeURIComponent(value)])) out.push({ text, kind, hash });
  }
  return out;
}

class Matcher {
  readonly #byPrefix = new Map<string, Needle[]>();
  /** Needles with characters outside RUN are few (client secrets); they are searched with indexOf. */
  readonly #odd: Needle[] = [];
  readonly maxLength: number;

  constructor(needles: Needle[]) {
    let max = 64;
    for (const n of needles) {
      max = Math.max(max, n.text.length);
      if (!RUN_CHAR.test(n.text)) {
        this.#odd.push(n);
        continue;
      }
      const key = n.text.slice(0, PREFIX);
      const list = this.#byPrefix.get(key);
      if (list) list.push(n);
      else this.#byPrefix.set(key, [n]);
    }
    this.maxLength = max;
  }

  /** Matches starting before `limit` in `text` (latin1, so string index = byte offset). */
  *find(text: string, limit: number): Generator<{ at: number; needle: Needle }> {
    for (const run of text.matchAll(RUN)) {
      const start = run.index;
      const end = start + run[0].length;
      for (let p = start; p <= end - PREFIX && p < limit; p++) {
        for (const needle of this.#byPrefix.get(text.slice(p, p + PREFIX)) ?? []) {
          if (text.startsWith(needle.text, p)) yield { at: p, needle };
        }
      }
    }
    for (const needle of this.#odd) {
      for (let p = text.indexOf(needle.text); p >= 0 && p < limit; p = text.indexOf(needle.text, p + 1)) yield { at: p, needle };
    }
  }
}

/** Scans one file in chunks, carrying enough of each chunk over that no match is split. */
async function scanFile(file: string, matcher: Matcher, checkPem: boolean, findings: Finding[]): Promise<void> {
  const carryLength = matcher.maxLength - 1;
  let carry = '';
  let base = 0;
  const scanWindow = (text: string, final: boolean): void => {
    const limit = final ? text.length : Math.max(0, text.length - carryLength);
    for (const { at, needle } of matcher.find(text, limit)) findings.push({ file, offset: base + at, kind: needle.kind, hash: needle.hash });
    if (checkPem) {
      for (const m of text.matchAll(PEM)) {
        if (m.index < limit) findings.push({ file, offset: base + m.index, kind: 'pem-private-key', hash: shortHash(m[0]) });
      }
    }
    carry = text.slice(limit);
    base += limit;
  };
  // highWaterMark keeps memory flat on large logs; /proc files report size 0 but stream fine.
  for await (const chunk of createReadStream(file, { highWaterMark: CHUNK })) {
    scanWindow(carry + (chunk as Buffer).toString('latin1'), false);
  }
  scanWindow(carry, true);
}

function canAccess(st: { uid: number; gid: number; mode: number }, who: { uid: number; gid?: number }, bit: number): boolean {
  if (who.uid === 0) return true;
  if (st.uid === who.uid) return ((st.mode >> 6) & bit) !== 0;
  if (who.gid !== undefined && st.gid === who.gid) return ((st.mode >> 3) & bit) !== 0;
  return (st.mode & bit) !== 0;
}

/** Regular files under `root` (symlinks not followed); with `who`, only those it could open. */
async function* walk(root: string, who?: { uid: number; gid?: number }): AsyncGenerator<string> {
  let st;
  try {
    st = await lstat(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (st.isFile()) {
    if (!who || canAccess(st, who, 4)) yield root;
    return;
  }
  if (!st.isDirectory() || (who && !canAccess(st, who, 1))) return;
  for (const entry of await readdir(root)) yield* walk(path.join(root, entry), who);
}

export async function scan(options: ScanOptions): Promise<{ findings: Finding[]; files: number }> {
  const matcher = new Matcher(needlesOf(options.secrets));
  const allowPem = new Set((options.allowPem ?? []).map((f) => path.resolve(f)));
  const findings: Finding[] = [];
  const files = new Set<string>();
  const add = async (root: string, who?: { uid: number; gid?: number }): Promise<void> => {
    // A path given directly (e.g. /proc/<pid>/environ) is scanned even when it is not a regular file.
    const direct = await stat(root).catch(() => undefined);
    if (direct && !direct.isDirectory() && !who) {
      files.add(root);
      return;
    }
    for await (const f of walk(root, who)) files.add(f);
  };
  for (const p of options.paths) await add(p);
  for (const d of options.stateDirs ?? []) await add(d, options.readableBy);
  for (const f of files) await scanFile(f, matcher, !allowPem.has(path.resolve(f)), findings);
  return { findings, files: files.size };
}

function parseWho(value: string | undefined): { uid: number; gid?: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)(?::(\d+))?$/.exec(value);
  if (!m) throw new Error(`--readable-by must be UID or UID:GID, got ${JSON.stringify(value)}`);
  return { uid: Number(m[1]), ...(m[2] === undefined ? {} : { gid: Number(m[2]) }) };
}

/** The CLI; returns the exit code. Output never contains a secret value. */
export async function main(argv: string[], out: (line: string) => void = console.log): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        ledger: { type: 'string' },
        logs: { type: 'string', multiple: true },
        state: { type: 'string', multiple: true },
        'readable-by': { type: 'string' },
        'allow-pem': { type: 'string', multiple: true },
      },
    }));
  } catch (err) {
    out(`usage error: ${(err as Error).message}`);
    return 2;
  }
  if (!values.ledger) {
    out('usage: scan --ledger FILE --logs DIR [--state DIR [--readable-by UID[:GID]]] [--allow-pem FILE] [FILE ...]');
    return 2;
  }
  try {
    const secrets = readLedger(values.ledger);
    const { findings, files } = await scan({
      secrets,
      paths: [...(values.logs ?? []), ...positionals],
      stateDirs: values.state ?? [],
      readableBy: parseWho(values['readable-by']),
      allowPem: values['allow-pem'] ?? [],
    });
    for (const f of findings) out(`FOUND ${f.kind} sha256:${f.hash} in ${f.file} at byte ${f.offset}`);
    out(`scanned ${files} files for ${secrets.length} secrets from ${values.ledger} and PEM private keys: ${findings.length} found`);
    return findings.length > 0 ? 1 : 0;
  } catch (err) {
    out(`scan failed: ${(err as Error).message}`);
    return 2;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main(process.argv.slice(2));
}
