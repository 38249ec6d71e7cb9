/**
 * The secrets ledger: an opt-in file where the OCI stand-ins write down every secret value they hand
 * out or accept (UPSTs issued, request signatures verified), one `<kind>\t<value>` per line, so that
 * after a test run scan.ts can prove none of them ended up in a log, an audit file or a state dir.
 *
 *   SIGIL_SECRETS_LEDGER=/tmp/ledger npx ava ...       # every stand-in in every worker appends to it
 *   node dist/test/secrets/scan.js --ledger /tmp/ledger --logs <dir> ...
 *
 * Unset (the default), recording does nothing. The file holds live test secrets: mode 0600.
 */
import { appendFileSync, readFileSync } from 'node:fs';

export const LEDGER_ENV = 'SIGIL_SECRETS_LEDGER';

/** What a ledger line holds; the scanner names the kind in its findings. */
export type SecretKind = 'upst' | 'signature' | 'private-key' | 'client-secret' | 'other';

/** Signatures are one per request: a load test would write millions, so each process keeps this many. */
export const MAX_SIGNATURES_PER_PROCESS = 20_000;

let signaturesRecorded = 0;

/** Appends one secret to the ledger named by SIGIL_SECRETS_LEDGER; no-op when it is unset. */
export function recordSecret(kind: SecretKind, value: string, env: NodeJS.ProcessEnv = process.env): void {
  const file = env[LEDGER_ENV];
  if (!file || value.length === 0) return;
  if (kind === 'signature' && ++signaturesRecorded > MAX_SIGNATURES_PER_PROCESS) return;
  // One short append per line: O_APPEND keeps lines from different workers whole.
  appendFileSync(file, `${kind}\t${value.replace(/[\r\n\t]/g, '')}\n`, { mode: 0o600 });
}

export interface LedgerEntry {
  kind: SecretKind;
  value: string;
}

/** Reads a ledger; unknown kinds become `other`, blank lines are skipped, duplicates kept once. */
export function readLedger(file: string): LedgerEntry[] {
  const seen = new Set<string>();
  const entries: LedgerEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const tab = line.indexOf('\t');
    const kind = (tab > 0 ? line.slice(0, tab) : 'other') as SecretKind;
    const value = tab > 0 ? line.slice(tab + 1) : line;
    if (seen.has(value)) continue;
    seen.add(value);
    entries.push({ kind: ['upst', 'signature', 'private-key', 'client-secret'].includes(kind) ? kind : 'other', value });
  }
  return entries;
}
