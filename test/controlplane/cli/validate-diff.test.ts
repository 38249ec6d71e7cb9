/**
 * `sigil validate` (offline), `sigil apply --dry-run` and `sigil diff` against a live control plane
 * (real NATS): validate says of every bad-input corpus row exactly what the server says to apply;
 * a dry run stores nothing; diff exits 0 with no differences, 1 with them, 2 when it cannot tell.
 */
import test from 'ava';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { loadConfig } from '../../../controlplane/config/config.js';
import { createLogger } from '../../../controlplane/log.js';
import { startControlPlane, type RunningControlPlane } from '../../../controlplane/server.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { ROWS, VALID, aliasBomb } from '../../hardening/bad-input-corpus.js';
import { credentialDoc, identityDoc, sourceDoc, yamlOf } from '../fixtures.js';
import { runCli } from '../support.js';

let nats: NatsServer;
let cp: RunningControlPlane;
let stop: AbortController;
let dir: string;
let env: Record<string, string>;
/** Nothing listens there: what validate is given, to show it never calls a server. */
const NO_SERVER = { SIGIL_SERVER: 'http://127.0.0.1:9', SIGIL_TOKEN_FILE: '/nonexistent' };

test.before(async () => {
  nats = await startNatsServer();
  dir = await mkdtemp(join(tmpdir(), 'sigil-test-validate-'));
  const config = await loadConfig(undefined, { natsUrl: nats.url, listen: '127.0.0.1:0', stateDir: join(dir, 'state'), logLevel: 'warn' });
  stop = new AbortController();
  cp = await startControlPlane(config, createLogger({ level: 'warn' }, new Writable({ write(_c, _e, done) { done(); } })), stop.signal);
  env = { SIGIL_SERVER: cp.url, SIGIL_TOKEN_FILE: config.adminTokenFile };
  EMPTY = await storeState();
});

test.after.always(async () => {
  stop?.abort();
  await cp?.done;
  await nats?.cleanup();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Rows whose exact text depends on the stack depth of the process that parses them. */
const STACK_BOUND = new Set(['nesting 20,000 deep']);

let files = 0;
async function file(body: string | Buffer): Promise<string> {
  const name = join(dir, `doc-${files++}.yaml`);
  await writeFile(name, body);
  return name;
}

/** What storeState() reads from an empty store (filled in before the first test). */
let EMPTY = '';

/** Everything the store holds, with the revision. */
async function storeState(): Promise<string> {
  const kinds = await Promise.all(['wi', 'cs', 'wc'].map((k) => runCli(['get', k, '-o', 'json'], env)));
  return kinds.map((k) => k.stdout).join('');
}

const CORPUS = [
  ...ROWS.map((r) => ({ name: r.name, body: r.body })),
  { name: 'alias bomb', body: aliasBomb() },
  { name: 'the same resource twice', body: yamlOf(sourceDoc('twice'), sourceDoc('twice', { region: 'eu-frankfurt-1' })) },
];

// One test per row (serial: two spawned CLIs at a time on a shared machine).
for (const row of CORPUS) {
  test.serial(`validate says offline, word for word, what the server answers apply: ${row.name}`, async (t) => {
    const path = await file(row.body);
    const [offline, server] = await Promise.all([runCli(['validate', '-f', path], NO_SERVER), runCli(['apply', '-f', path], env)]);
    t.is(server.code, 1, `apply refused: ${server.stderr.slice(0, 200)}`);
    t.regex(server.stderr, /^sigil apply: .* \[SIGIL_ERR_/);
    t.is(offline.code, 1, `validate refused: ${offline.stderr.slice(0, 200)}`);
    if (STACK_BOUND.has(row.name)) {
      // The YAML parser gives up where the JS stack ends, which depends on how deep the caller already is:
      // same code and field, not the same column.
      const gist = (s: string): string => s.split('\n')[0]?.replace(/ at line .*? \[/, ' [') ?? '';
      t.is(gist(offline.stderr), gist(server.stderr).replace(/^sigil apply:/, 'sigil validate:'));
    } else {
      t.is(offline.stderr, server.stderr.replace(/^sigil apply:/, 'sigil validate:'));
    }
    t.is(offline.stdout, '');
  });
}

test.serial('none of the corpus stored anything', async (t) => {
  t.is(await storeState(), EMPTY, 'the store is as empty as before the corpus');
});

test.serial('validate of a valid file names each resource (rc 0); references to resources not in it are the server\'s to check', async (t) => {
  const ok = await runCli(['validate', '-f', await file(VALID)], NO_SERVER);
  t.is(ok.code, 0, ok.stderr);
  t.is(ok.stdout, 'credentialsource/another-source valid\n');
  const dangling = await file(yamlOf(credentialDoc('dangling', { workload: 'nobody', source: 'nothing' })));
  t.is((await runCli(['validate', '-f', dangling], NO_SERVER)).code, 0, 'offline: no stored state to check against');
  const dry = await runCli(['apply', '--dry-run', '-f', dangling], env);
  t.is(dry.code, 1);
  t.regex(dry.stderr, /WorkloadCredential\/dangling: spec\.workload: WorkloadIdentity "nobody" does not exist/);
  t.is((await runCli(['validate', '-f', '-'], NO_SERVER, VALID)).code, 0, '-f - reads stdin');
  t.is((await runCli(['validate'], NO_SERVER)).code, 2, '-f is required');
});

test.serial('apply --dry-run: the server\'s checks and change report, and nothing stored', async (t) => {
  t.timeout(3 * 60_000);
  const docs = await file(yamlOf(identityDoc('dry'), sourceDoc('dry-source')));
  const before = await storeState();
  const dry = await runCli(['apply', '--dry-run', '-f', docs], env);
  t.is(dry.code, 0, dry.stderr);
  t.is(dry.stdout, 'workloadidentity/dry created (dry run)\ncredentialsource/dry-source created (dry run)\nnothing stored; policy revision stays 0\n');
  const json = JSON.parse((await runCli(['apply', '--dry-run', '-f', docs, '-o', 'json'], env)).stdout) as { dryRun: boolean; changes: unknown[] };
  t.true(json.dryRun);
  t.is(json.changes.length, 2);
  t.is(await storeState(), before, 'the store did not move');
  t.is((await runCli(['get', 'wi', 'dry'], env)).code, 1, 'not created');

  t.is((await runCli(['apply', '-f', docs], env)).code, 0);
  const again = await runCli(['apply', '--dry-run', '-f', docs], env);
  t.regex(again.stdout, /^workloadidentity\/dry unchanged \(dry run\)$/m);
  t.is((await runCli(['apply', '-f', docs, '-o', 'name'], env)).stdout, 'workloadidentity/dry\ncredentialsource/dry-source\n');
  // The same -o on get: name lines, and wide's extra columns.
  t.regex((await runCli(['get', 'wi', '-o', 'name'], env)).stdout, /^workloadidentity\/dry$/m);
  const wide = await runCli(['get', 'cs', '-o', 'wide'], env);
  t.regex(wide.stdout, /^NAME\s+KIND\s+REGION\s+DOMAIN\s+REVISION\s+CLIENT ID\s+SECRET FILE\s+UPDATED$/m);
  t.regex(wide.stdout, /^dry-source\s+oci\s+us-ashburn-1\s+\S+\s+\d+\s+client-1\s+\/etc\/sigil\/secret\s+\d{4}-/m);
});

test.serial('diff: rc 0 and silent when the server has the file, rc 1 and a unified diff when not, rc 2 when it cannot tell', async (t) => {
  t.timeout(3 * 60_000);
  const applied = await file(yamlOf(identityDoc('diffed'), sourceDoc('diffed-source')));
  t.is((await runCli(['apply', '-f', applied], env)).code, 0);
  const same = await runCli(['diff', '-f', applied], env);
  t.is(same.code, 0, same.stderr);
  t.is(same.stdout, '');

  const before = await storeState();
  const changed = await file(yamlOf(identityDoc('diffed', { owner: 'team-other' }), sourceDoc('diffed-source'), sourceDoc('brand-new')));
  const diff = await runCli(['diff', '-f', changed], env);
  t.is(diff.code, 1, diff.stderr);
  t.regex(diff.stdout, /^--- live\/WorkloadIdentity\/diffed\n\+\+\+ merged\/WorkloadIdentity\/diffed\n@@ /m);
  t.regex(diff.stdout, /^-  owner: team-billing\n\+  owner: team-other$/m);
  t.regex(diff.stdout, /^\+\+\+ merged\/CredentialSource\/brand-new\n@@ -0,0 \+1,\d+ @@\n\+apiVersion: sigil\.dev\/v1$/m);
  t.notRegex(diff.stdout, /diffed-source/, 'an unchanged resource shows nothing');
  t.is(await storeState(), before, 'diff stores nothing');

  t.is((await runCli(['diff', '-f', await file('kind: [unclosed\n')], env)).code, 2, 'invalid file');
  t.is((await runCli(['diff', '-f', changed], NO_SERVER)).code, 2, 'no server');
  t.is((await runCli(['diff', '-f', join(dir, 'absent.yaml')], env)).code, 2, 'no file');
});

test.serial('the admin API refuses a dryRun value it does not know instead of applying', async (t) => {
  const token = (await readFile(env['SIGIL_TOKEN_FILE'] as string, 'utf8')).trim();
  const res = await fetch(`${cp.url}/v1/apply?dryRun=maybe`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: VALID });
  t.is(res.status, 400);
  t.is(((await res.json()) as { code: string }).code, 'SIGIL_ERR_API_BAD_QUERY');
  t.is((await runCli(['get', 'cs', 'another-source'], env)).code, 1, 'not applied');
});
