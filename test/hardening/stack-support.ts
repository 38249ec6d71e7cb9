/**
 * Shared bits of the whole-stack hardening tests (stack-*.test.ts): distinct copies of node (same
 * program, different sha256), policy documents for one more identity, polling, /proc environ capture
 * and the part-1 secrets scan over everything a run leaves behind.
 *
 *   process.env[LEDGER_ENV] = await ledgerFile(t)     // before startStack: the stand-ins record secrets
 *   const app = await nodeCopy(dir, 'app', 1);         // { file, sha256 }
 *   await stack.applyPolicy(identityDocs('app', spiffe, [`unix:sha256:${app.sha256}`]));
 *   const findings = await scanStack(stack, { ledger, files: environs, readableBy: 65534 });
 */
import { createHash } from 'node:crypto';
import { appendFile, chmod, copyFile, mkdtemp, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { OS_HOST, type Stack } from '../e2e/stack.js';
import { parsePrometheusText, type ParsedFamily } from '../helpers/prometheus-text.js';
import { readLedger } from '../secrets/ledger.js';
import { scan, type Finding } from '../secrets/scan.js';

export const NOBODY = 65534;

/** A world-readable temp dir removed by the returned cleanup. */
export async function publicTempDir(prefix: string): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `sigil-test-${prefix}-`));
  await chmod(dir, 0o755);
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function sha256Of(file: string): Promise<string> {
  return createHash('sha256').update(await readFile(file)).digest('hex');
}

/** A copy of node with `marker` appended: runs the same, hashes differently. */
export async function nodeCopy(dir: string, name: string, marker: number): Promise<{ file: string; sha256: string }> {
  const file = path.join(dir, name);
  await copyFile(process.execPath, file);
  await appendFile(file, Buffer.from([marker & 0xff, 0x5a]));
  await chmod(file, 0o755);
  return { file, sha256: await sha256Of(file) };
}

/** One more WorkloadIdentity with a credential for Object Storage from the stack's `oci-demo` source. */
export function identityDocs(name: string, spiffeId: string, selectors: string[]): object[] {
  return [
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name },
      spec: { spiffeId, owner: 'team-hardening', agents: { labels: { role: 'demo' } }, selectors },
    },
    {
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: `${name}-objectstorage` },
      spec: { workload: name, source: 'oci-demo', destinations: [OS_HOST], ttl: '15m' },
    },
  ];
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface FleetRow { appliedRevision: number; lastHeartbeatAgeSeconds?: number; state: string; reasons: string[] }

export async function fleetRow(stack: Stack): Promise<FleetRow & { currentRevision: number }> {
  const { body } = await stack.api<{ currentRevision: number; agents: FleetRow[] }>('GET', '/v1/fleet/status');
  const row = body.agents[0];
  if (!row) throw new Error(`no agent in fleet status: ${JSON.stringify(body)}`);
  return { ...row, currentRevision: body.currentRevision };
}

/** Applies documents and waits until the agent acked that revision. */
export async function applyAndWait(stack: Stack, docs: object[]): Promise<number> {
  const revision = await stack.applyPolicy(docs);
  await waitFor(`the agent to apply revision ${revision}`, async () => (await fleetRow(stack)).appliedRevision >= revision);
  return revision;
}

/**
 * Copies /proc/<pid>/environ once the workload chain (sh → unshare → sh → [setpriv →] program) has
 * exec'd into `exe`, i.e. the environment the workload program itself runs with.
 */
export async function captureEnviron(pid: number, exe: string, into: string): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await readlink(`/proc/${pid}/exe`)) === exe) {
        await writeFile(into, await readFile(`/proc/${pid}/environ`), { mode: 0o600 });
        return true;
      }
    } catch {
      return false; // gone
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return false;
}

/**
 * The part-1 scanner over what a run leaves: the agent's output (logs and audit events, one stream),
 * the captured workload environments, and every file `readableBy` can open under the agent's state
 * dir, against the ledger of UPSTs and signatures the stand-ins saw, plus PEM private key armour.
 */
export async function scanStack(stack: Stack, options: { ledger: string; files: string[]; readableBy: number; dir: string }): Promise<{ findings: Finding[]; files: number; secrets: number }> {
  const log = path.join(options.dir, 'agent-output.log');
  await writeFile(log, stack.agent.output(), { mode: 0o600 });
  const secrets = readLedger(options.ledger);
  const result = await scan({ secrets, paths: [log, ...options.files], stateDirs: [stack.agent.stateDir], readableBy: { uid: options.readableBy } });
  return { ...result, secrets: secrets.length };
}

/** One scrape of the running agent's /metrics (its admin port), parsed strictly. */
export async function scrapeAgentMetrics(stack: Stack): Promise<Map<string, ParsedFamily>> {
  const res = await fetch(`${stack.agent.adminUrl}/metrics`);
  if (res.status !== 200) throw new Error(`GET ${stack.agent.adminUrl}/metrics answered ${res.status}`);
  return parsePrometheusText(await res.text());
}

/** A counter family's samples as { label value → value } (e.g. signed requests by upstream status). */
export function countsBy(families: Map<string, ParsedFamily>, name: string, label: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const s of families.get(name)?.samples ?? []) out.set(s.labels[label] ?? '', (out.get(s.labels[label] ?? '') ?? 0) + s.value);
  return out;
}
