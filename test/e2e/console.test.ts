/**
 * The console (/ui/ on the control plane's API listener) in a real browser, against the real stack:
 * Debian's chromium, headless, driven by playwright-core. A viewer logs in with a token and sees the
 * agent healthy, the bound identity in the inventory on its host, the bound workload's requests and the
 * unbound copy's connections in the audit trail (which the agent shipped over its own NATS subject into
 * the JetStream stream). A viewer token gets 403 on every write endpoint; no session means the login
 * page; an identity whose owner and selector carry markup renders as inert text. No token or signature
 * the stand-ins handed out or accepted is in any stored audit event. Screenshots go to test/output/console/.
 */
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { gatedTest } from '../helpers/ci.js';
import { bpfUnavailableReason } from '../helpers/kernel.js';
import { chromiumMissing, launchBrowser } from '../helpers/browser.js';
import { readLedger, LEDGER_ENV } from '../secrets/ledger.js';
import { AUDIT_STREAM } from '../../controlplane/audit/audit-stream.js';
import { ROOT, SPIFFE_ID, startStack, type Stack } from './stack.js';

const browserTest = gatedTest(bpfUnavailableReason ?? chromiumMissing, 'console in a browser (BPF and chromium)');
const SHOTS = path.join(ROOT, 'test/output/console');
/** Markup an attacker could put in an identity's owner and selectors: must stay text. */
const PROBE = '<script>window.__sigilPwned=1</script><img src=x onerror="window.__sigilPwned=2">';
const PROBE_SELECTOR = 'unix:path:/opt/<script>window.__sigilPwned=3</script>';

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** A raw HTTP call (headers exactly as given, e.g. a foreign Origin a browser would send). */
function raw(url: string, method: string, headers: Record<string, string>, body = ''): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { text += d.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.once('error', reject);
    req.end(body);
  });
}

/** Every message the audit stream holds, as stored (no decoding). */
async function storedAudit(stack: Stack): Promise<string> {
  const info = await (await jetstreamManager(stack.cp.nc)).streams.info(AUDIT_STREAM);
  if (info.state.messages === 0) return '';
  const consumer = await jetstream(stack.cp.nc).consumers.get(AUDIT_STREAM);
  let text = '';
  const batch = await consumer.fetch({ max_messages: info.state.messages, expires: 3000 });
  for await (const msg of batch) {
    text += `${msg.subject} ${msg.string()}\n`;
    if (msg.seq >= info.state.last_seq) break;
  }
  return text;
}

browserTest.serial('a viewer sees the fleet, the inventory and the audit trail in chromium; writes are refused; markup renders inert', async (t) => {
  t.timeout(6 * 60_000);
  const ledgerDir = await mkdtemp(path.join(os.tmpdir(), 'sigil-console-ledger-'));
  const ledger = path.join(ledgerDir, 'ledger');
  process.env[LEDGER_ENV] = ledger;
  const port = 25000 + Math.floor(Math.random() * 1000);
  const stack = await startStack({
    heartbeatMs: 1000,
    controlPlaneListen: `127.77.17.1:${port}`,
    extraPolicy: [{
      apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'markup-probe' },
      spec: { spiffeId: 'spiffe://demo.sigil.dev/probe/markup', owner: PROBE, agents: { labels: { role: 'demo' } }, selectors: [PROBE_SELECTOR] },
    }],
  });
  const browser = await launchBrowser();
  t.teardown(async () => {
    await browser.close();
    await stack.stop();
    delete process.env[LEDGER_ENV];
    await rm(ledgerDir, { recursive: true, force: true });
  });
  await mkdir(SHOTS, { recursive: true });
  const base = stack.cp.url;
  t.is(base, `http://127.77.17.1:${port}`);

  // A viewer token, made with the admin token (as `sigil token create --role viewer` does).
  const made = await stack.api<{ token: string; role: string }>('POST', '/v1/access-tokens', { role: 'viewer' });
  t.is(made.status, 201);
  t.is(made.body.role, 'viewer');
  const viewer = made.body.token;

  // The viewer may read the admin API, and is refused (403) on every write endpoint; nothing changed.
  const asViewer = (method: string, p: string, body?: string) => raw(`${base}${p}`, method, { authorization: `Bearer ${viewer}`, 'content-type': 'application/json' }, body);
  t.is((await asViewer('GET', '/v1/fleet/status')).status, 200);
  t.is((await asViewer('GET', '/v1/resources/wi')).status, 200);
  const agentId = (JSON.parse((await asViewer('GET', '/v1/agents')).body) as { items: Array<{ id: string }> }).items[0]!.id;
  const revisionBefore = (JSON.parse((await asViewer('GET', '/v1/resources/wi')).body) as { revision: number }).revision;
  const writes: Array<[string, string, string?]> = [
    ['POST', '/v1/apply', 'apiVersion: sigil.dev/v1\nkind: WorkloadIdentity\nmetadata: {name: viewer-made}\nspec: {spiffeId: "spiffe://demo.sigil.dev/x", owner: me, selectors: ["unix:uid:0"], agents: {}}\n'],
    ['DELETE', '/v1/resources/wi/billing-exporter'],
    ['POST', '/v1/tokens', '{}'],
    ['POST', '/v1/access-tokens', '{"role":"viewer"}'],
    ['POST', `/v1/agents/${agentId}/revoke`],
    ['PUT', '/v1/resources/wi/billing-exporter', '{}'],
    ['PATCH', '/v1/resources/wi/billing-exporter', '{}'],
  ];
  for (const [method, p, body] of writes) {
    const res = await asViewer(method, p, body);
    t.is(res.status, 403, `${method} ${p}: ${res.body}`);
    t.is((JSON.parse(res.body) as { code: string }).code, 'SIGIL_ERR_API_FORBIDDEN');
  }
  const after = JSON.parse((await asViewer('GET', '/v1/resources/wi')).body) as { revision: number; items: Array<{ metadata: { name: string } }> };
  t.is(after.revision, revisionBefore, 'no viewer write changed the policy');
  t.true(after.items.some((i) => i.metadata.name === 'billing-exporter'));
  t.false(after.items.some((i) => i.metadata.name === 'viewer-made'));
  t.is((JSON.parse((await asViewer('GET', '/v1/agents')).body) as { items: Array<{ revokedAt?: string }> }).items[0]!.revokedAt, undefined);

  // The console's own refusals: no session → the login page (pages) or 401 (data); foreign sign-in → 403.
  t.is((await raw(`${base}/ui/audit.json`, 'GET', {})).status, 401);
  const noSession = await raw(`${base}/ui/fleet`, 'GET', {});
  t.is(noSession.status, 303);
  t.is(noSession.headers.location, '/ui/login');
  const form = `token=${encodeURIComponent(viewer)}`;
  const formType = { 'content-type': 'application/x-www-form-urlencoded' };
  t.is((await raw(`${base}/ui/login`, 'POST', { ...formType, origin: 'http://evil.example' }, form)).status, 403);
  t.is((await raw(`${base}/ui/login`, 'POST', { ...formType, 'sec-fetch-site': 'cross-site', origin: base }, form)).status, 403);
  t.is((await raw(`${base}/ui/login`, 'POST', formType, form)).status, 403, 'no Origin and no Sec-Fetch-Site: refused');
  t.is((await raw(`${base}/ui/login`, 'POST', { ...formType, origin: base }, 'token=not-a-token')).status, 401);

  // The workloads: the bound SDK example runs a while (so the inventory sees it on its host); then the unbound copy.
  const running = stack.runSdkWorkload({ tag: 'console', repeat: 20, pauseMs: 1000 });

  const page = await browser.context.newPage();
  const scriptErrors: string[] = [];
  page.on('pageerror', (err) => scriptErrors.push(err.message));
  const first = await page.goto(`${base}/ui/inventory`);
  t.true(page.url().endsWith('/ui/login'), `no session: sent to the login page (at ${page.url()})`);
  t.is(first?.status(), 200);
  const csp = (await first?.allHeaders())?.['content-security-policy'] ?? '';
  for (const directive of ["default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'", "frame-ancestors 'none'"]) t.true(csp.includes(directive), `CSP has ${directive}: ${csp}`);
  t.is((await first?.allHeaders())?.['x-content-type-options'], 'nosniff');
  await page.screenshot({ path: path.join(SHOTS, 'login.png') });

  await page.fill('#token', viewer);
  await Promise.all([page.waitForURL(`${base}/ui/fleet`), page.click('button[type=submit]')]);
  const cookie = (await browser.context.cookies(`${base}/ui/fleet`)).find((c) => c.name === 'sigil_console');
  t.truthy(cookie);
  t.true(cookie!.httpOnly);
  t.is(cookie!.sameSite, 'Strict');
  t.is(cookie!.path, '/ui');
  t.false(cookie!.value.includes(viewer), 'the cookie holds a session id, not the token');
  t.is(await page.evaluate('document.cookie'), '', 'page script cannot read the session cookie');
  t.regex(await page.textContent('header') ?? '', /signed in as viewer/);

  // Fleet: the agent healthy (the page updates itself; no reload).
  const agentRow = page.locator(`#agents tr[data-agent="${agentId}"]`);
  await agentRow.locator('.pill.healthy').waitFor({ timeout: 30_000 });
  t.regex(await agentRow.textContent() ?? '', /sigil_connect4|connect4/);
  t.regex(await agentRow.textContent() ?? '', new RegExp(os.release().replace(/[.+]/g, '\\$&')));
  await page.screenshot({ path: path.join(SHOTS, 'fleet.png'), fullPage: true });

  // Inventory: the bound identity runs now on this host; the markup probe is text, and nothing ran.
  await page.goto(`${base}/ui/inventory`);
  const boundRow = page.locator('#identities tr[data-workload="billing-exporter"]');
  await until('the bound identity on its host', async () => ((await boundRow.locator('td.hosts').textContent())?.includes(os.hostname()) ? true : undefined), 45_000);
  t.regex(await boundRow.textContent() ?? '', /team-billing/);
  t.regex(await boundRow.textContent() ?? '', /objectstorage\.us-ashburn-1\.oraclecloud\.com/);
  await page.locator('[data-reach="billing-exporter"] svg').waitFor();
  t.regex(await page.locator('[data-reach="billing-exporter"] svg').textContent() ?? '', /ocid1\.user\.oc1\.\.sigildemobillingexporter/, 'the reach picture names the principal OCI issued the token for');
  const probeRow = page.locator('#identities tr[data-workload="markup-probe"]');
  t.true((await probeRow.textContent() ?? '').includes(PROBE), 'the owner is shown as the literal text it is');
  t.true((await probeRow.textContent() ?? '').includes('/opt/<script>window.__sigilPwned=3</script>'));
  t.is(await page.locator('#identities script, #identities img').count(), 0, 'no element was made from the markup');
  t.is(await page.evaluate('window.__sigilPwned'), undefined, 'no script ran');
  await page.screenshot({ path: path.join(SHOTS, 'inventory.png'), fullPage: true });

  const bound = await running;
  t.true(bound.lines.length >= 5 && bound.lines.every((l) => l['ok'] === true), JSON.stringify(bound.lines.slice(0, 3)));
  const unbound = await stack.runSdkWorkload({ node: stack.unboundNode, tag: 'unbound' });
  t.true(unbound.lines.length > 0 && unbound.lines.every((l) => l['ok'] !== true), 'the unbound copy was refused');
  t.true(stack.objectStorage.requests.some((r) => r.status === 401), 'the service refused it');

  // Audit: the bound requests (200, its SPIFFE ID, node's path and hash) and the unbound copy's connections.
  await page.goto(`${base}/ui/audit`);
  await until('the bound requests in the audit page', async () => ((await page.locator('#audit tr.served').count()) >= bound.lines.length ? true : undefined), 30_000);
  const served = page.locator('#audit tr.served').first();
  t.regex(await served.textContent() ?? '', new RegExp(SPIFFE_ID.replace(/[./]/g, '\\$&')));
  t.regex(await served.textContent() ?? '', new RegExp(process.execPath.replace(/[./]/g, '\\$&')));
  await page.locator('#audit tr.unbound').first().waitFor({ timeout: 30_000 });
  t.regex(await page.locator('#audit tr.unbound').first().textContent() ?? '', /unbound processes went to OCI unsigned/);
  await page.screenshot({ path: path.join(SHOTS, 'audit.png') });

  // Filters and exports.
  await page.goto(`${base}/ui/audit?status=refused`);
  t.is(await page.locator('#audit tr.served').count(), 0);
  t.true(await page.locator('#audit tr.unbound').count() > 0);
  const json = await page.evaluate(async (q) => (await fetch(`/ui/audit.json${q}`)).text(), `?identity=${encodeURIComponent(SPIFFE_ID)}`) as string;
  const exported = JSON.parse(json) as Array<{ kind: string; spiffeId: string; status: number; hostname: string }>;
  t.true(exported.length >= bound.lines.length);
  t.true(exported.every((e) => e.kind === 'request' && e.spiffeId === SPIFFE_ID && e.hostname === os.hostname()));
  const csv = await page.evaluate(async () => (await fetch('/ui/audit.csv')).text());
  t.regex(csv.split('\r\n')[0] ?? '', /^time,host,agentId,kind,spiffeId,exePath,exeSha256,destination,method,path,status,latencyMs,reason$/);
  t.true(csv.includes(SPIFFE_ID));
  t.deepEqual(scriptErrors, [], 'the console script ran without errors');

  // Never a token or signature in the audit trail: every UPST issued and signature verified (the
  // stand-ins' ledger) is absent from the stored stream, the JSON and the CSV.
  const secrets = readLedger(ledger).filter((e) => e.kind === 'upst' || e.kind === 'signature');
  t.true(secrets.some((e) => e.kind === 'upst') && secrets.some((e) => e.kind === 'signature'), 'the ledger recorded the secrets');
  const stored = await storedAudit(stack);
  t.true(stored.includes(SPIFFE_ID), 'the stream holds the events');
  for (const { kind, value } of secrets) {
    for (const [where, text] of [['stream', stored], ['json', json], ['csv', csv]] as const) t.false(text.includes(value), `a ${kind} is in the ${where}`);
  }

  // Sign out ends the session.
  await Promise.all([page.waitForURL(`${base}/ui/login`), page.click('header button[type=submit]')]);
  await page.goto(`${base}/ui/fleet`);
  t.true(page.url().endsWith('/ui/login'));
  t.truthy(await readFile(path.join(SHOTS, 'audit.png')));
});
