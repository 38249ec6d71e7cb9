import test from 'ava';
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEDGER_ENV, readLedger, recordSecret } from './ledger.js';
import { shortHash } from './scan.js';

const SCAN = path.join(path.dirname(fileURLToPath(import.meta.url)), 'scan.js');

async function tempDir(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sigil-test-secrets-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function runScan(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCAN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out }));
  });
}

/** A ledger with an UPST-like JWT, a base64 signature (with + and /) and a client secret. */
async function ledgerIn(dir: string): Promise<{ file: string; upst: string; signature: string; clientSecret: string }> {
  const file = path.join(dir, 'ledger');
  const upst = `eyJhbGciOiJSUzI1NiJ9.${crypto.randomBytes(90).toString('base64url')}.${crypto.randomBytes(256).toString('base64url')}`;
  let signature = crypto.randomBytes(256).toString('base64');
  while (!/[+/]/.test(signature)) signature = crypto.randomBytes(256).toString('base64');
  const clientSecret = `s3cret value ${crypto.randomBytes(8).toString('hex')}`;
  const env = { [LEDGER_ENV]: file };
  recordSecret('upst', upst, env);
  recordSecret('signature', signature, env);
  recordSecret('client-secret', clientSecret, env);
  recordSecret('upst', upst, env); // duplicates are read once
  return { file, upst, signature, clientSecret };
}

test('recordSecret writes nothing unless SIGIL_SECRETS_LEDGER is set; the ledger is private and deduplicated', async (t) => {
  const dir = await tempDir(t);
  recordSecret('upst', 'eyJ-never-written-anywhere-0123456789', {});
  const { file, upst } = await ledgerIn(dir);
  const entries = readLedger(file);
  t.is(entries.length, 3);
  t.deepEqual(entries[0], { kind: 'upst', value: upst });
  const { mode } = await import('node:fs').then((fs) => fs.statSync(file));
  t.is(mode & 0o777, 0o600);
});

test('planted secrets are found (raw, percent-encoded, across a chunk boundary, PEM armour) without printing them', async (t) => {
  const dir = await tempDir(t);
  const { file: ledger, upst, signature, clientSecret } = await ledgerIn(dir);
  const logs = path.join(dir, 'logs');
  const state = path.join(dir, 'state');
  await mkdir(path.join(logs, 'agent'), { recursive: true });
  await mkdir(state);
  await writeFile(path.join(logs, 'agent', 'audit.log'), `{"msg":"signed request","keyId":"ST$${upst}"}\n`);
  await writeFile(path.join(logs, 'cp.log'), `form body subject=x&sig=${encodeURIComponent(signature)}&z=1\n`);
  // Straddles the scanner's 1 MiB read size.
  const big = Buffer.concat([Buffer.alloc((1 << 20) - 20, 'a'), Buffer.from(` ${signature} `), Buffer.alloc(1000, 'b')]);
  await writeFile(path.join(logs, 'big.log'), big);
  await writeFile(path.join(logs, 'secret.conf'), `client_secret = ${clientSecret}\n`);
  const pem = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
  await writeFile(path.join(state, 'leaked-key.pem'), pem, { mode: 0o644 });
  const environ = path.join(dir, 'environ');
  await writeFile(environ, `PATH=/usr/bin\0OCI_TOKEN=${upst}\0`);

  const r = await runScan(['--ledger', ledger, '--logs', logs, '--state', state, environ]);
  t.is(r.code, 1, r.out);
  const lines = r.out.split('\n').filter((l) => l.startsWith('FOUND'));
  t.true(lines.some((l) => l.includes(`upst sha256:${shortHash(upst)} in ${path.join(logs, 'agent', 'audit.log')} at byte 36`)), r.out);
  t.true(lines.some((l) => l.includes(`signature sha256:${shortHash(signature)} in ${path.join(logs, 'cp.log')}`)), r.out);
  t.true(lines.some((l) => l.includes(`signature sha256:${shortHash(signature)} in ${path.join(logs, 'big.log')} at byte ${(1 << 20) - 19}`)), r.out);
  t.true(lines.some((l) => l.includes(`client-secret sha256:${shortHash(clientSecret)} in ${path.join(logs, 'secret.conf')}`)), r.out);
  t.true(lines.some((l) => l.includes(`pem-private-key`) && l.includes('leaked-key.pem at byte 0')), r.out);
  t.true(lines.some((l) => l.includes(`upst sha256:${shortHash(upst)} in ${environ}`)), r.out);
  t.is(lines.length, 6, r.out);
  for (const secret of [upst, signature, encodeURIComponent(signature), clientSecret, pem.split('\n')[1] as string]) {
    t.false(r.out.includes(secret), 'the output never holds a secret');
  }
});

test('a clean tree passes; --readable-by skips what the uid cannot open; --allow-pem exempts a file; a missing ledger is an error', async (t) => {
  const dir = await tempDir(t);
  const { file: ledger, upst } = await ledgerIn(dir);
  const logs = path.join(dir, 'logs');
  const state = path.join(dir, 'state');
  await mkdir(logs);
  await mkdir(state, { mode: 0o755 });
  await mkdir(path.join(state, 'private'), { mode: 0o700 });
  await writeFile(path.join(logs, 'agent.log'), '{"msg":"signed request","status":200,"exeSha256":"' + 'ab'.repeat(32) + '"}\n');
  await writeFile(path.join(state, 'root-only.token'), upst, { mode: 0o600 });
  await writeFile(path.join(state, 'private', 'open-file-in-closed-dir'), upst, { mode: 0o644 });
  await chmod(path.join(state, 'private'), 0o700);
  const placeholder = path.join(state, 'placeholder-key.pem');
  await writeFile(placeholder, '-----BEGIN PRIVATE KEY-----\nplaceholder\n-----END PRIVATE KEY-----\n', { mode: 0o644 });

  const clean = await runScan(['--ledger', ledger, '--logs', logs, '--state', state, '--readable-by', '1000:1000', '--allow-pem', placeholder]);
  t.is(clean.code, 0, clean.out);
  t.regex(clean.out, /scanned 2 files for 3 secrets .*: 0 found/);

  const asRoot = await runScan(['--ledger', ledger, '--logs', logs, '--state', state]);
  t.is(asRoot.code, 1, 'without --readable-by every file counts');
  t.is(asRoot.out.split('\n').filter((l) => l.startsWith('FOUND')).length, 3, asRoot.out);

  const missing = await runScan(['--ledger', path.join(dir, 'nope'), '--logs', logs]);
  t.is(missing.code, 2);
  t.regex(missing.out, /scan failed: .*ENOENT/);
  t.is((await readFile(ledger, 'utf8')).split('\n').filter(Boolean).length, 4);
});
