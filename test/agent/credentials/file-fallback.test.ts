/**
 * The file fallback on the real filesystem, as root (the agent's situation): owner and modes, atomic
 * refresh, removal, refusal of unsafe directories, and the official OCI SDK reading the profile as the
 * workload's own uid (no capabilities), from a program deployed where that uid can read it.
 */
import test, { type ExecutionContext } from 'ava';
import { gatedTest } from '../../helpers/ci.js';
import { generateKeyPairSync, createPrivateKey, type KeyObject } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKLOAD_UID, deployTestApp, installDir, runAs } from '../../helpers/test-app.js';
import { SignJWT } from 'jose';
import {
  CREDENTIAL_ERRORS,
  CredentialError,
  CredentialManager,
  FileFallback,
  NatsExchangeClient,
  parseFileFallbackConfigs,
  type FileFallbackConfig,
  type IssuedCredential,
} from '../../../agent/credentials/index.js';
import { createLogger } from '../../../agent/log.js';
import { assertNoSecrets, binding, logSink, startExchangeWorld } from '../../controlplane/exchange/exchange-world.js';

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
// They hand files to another uid; skipped without root locally, failing in CI.
const rootTest = gatedTest(isRoot ? undefined : 'they need root to hand files to another uid', 'file-fallback');

const signingKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const sessionKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

async function token(n: number, tenant = 'ocid1.tenancy.oc1..fallbacktest'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ tenant, n }).setProtectedHeader({ alg: 'RS256' }).setSubject('ocid1.user.oc1..u').setIssuedAt(now).setExpirationTime(now + 600).sign(signingKey);
}

async function credential(n: number, key: KeyObject = sessionKey): Promise<IssuedCredential> {
  return { token: await token(n), privateKey: key, expiresAt: new Date(Date.now() + 600_000), region: 'us-ashburn-1' };
}

async function sandbox(t: ExecutionContext) {
  const base = await mkdtemp(join(tmpdir(), 'sigil-test-fallback-'));
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'billing');
  const config: FileFallbackConfig = { bindingId: 'billing', uid: NOBODY, dir };
  const sink = logSink();
  const fallback = new FileFallback([config], createLogger({ level: 'debug' }, sink));
  return { base, dir, config, fallback, sink };
}

rootTest('writes config, token and key owned by the workload uid, dir 0700 and files 0600', async (t) => {
  const { dir, fallback, sink } = await sandbox(t);
  const issued = await credential(1);
  fallback.credentialIssued(binding('billing'), issued);
  fallback.bindingRemoved('not-configured');
  await fallback.idle();

  const d = await lstat(dir);
  t.true(d.isDirectory());
  t.is(d.mode & 0o7777, 0o700);
  t.is(d.uid, NOBODY);
  t.is(d.gid, NOBODY, 'gid defaults to the primary group in /etc/passwd');
  t.deepEqual((await readdir(dir)).sort(), ['config', 'key.pem', 'token']);
  for (const name of ['config', 'key.pem', 'token']) {
    const f = await lstat(join(dir, name));
    t.true(f.isFile(), name);
    t.is(f.mode & 0o7777, 0o600, name);
    t.is(f.uid, NOBODY, name);
  }
  t.is(await readFile(join(dir, 'token'), 'utf8'), issued.token);
  t.true(createPrivateKey(await readFile(join(dir, 'key.pem'))).equals(sessionKey));
  const profile = await readFile(join(dir, 'config'), 'utf8');
  t.regex(profile, /^\[DEFAULT\]$/m);
  t.regex(profile, /^tenancy=ocid1\.tenancy\.oc1\.\.fallbacktest$/m);
  t.regex(profile, /^region=us-ashburn-1$/m);
  t.regex(profile, /^fingerprint=([0-9a-f]{2}:){15}[0-9a-f]{2}$/m);
  t.true(profile.includes(`key_file=${join(dir, 'key.pem')}\n`));
  t.true(profile.includes(`security_token_file=${join(dir, 'token')}\n`));
  t.is(fallback.status('billing')?.lastError, undefined);
  assertNoSecrets(t, sink.text(), { token: issued.token });
});

rootTest('a refresh replaces the token file atomically and leaves the key alone; unbinding removes it all', async (t) => {
  const { dir, fallback } = await sandbox(t);
  fallback.credentialIssued(binding('billing'), await credential(1));
  await fallback.idle();
  const tokenBefore = await stat(join(dir, 'token'));
  const keyBefore = await stat(join(dir, 'key.pem'));
  const configBefore = await stat(join(dir, 'config'));

  const second = await credential(2);
  fallback.credentialIssued(binding('billing'), second);
  await fallback.idle();
  t.is(await readFile(join(dir, 'token'), 'utf8'), second.token);
  t.not((await stat(join(dir, 'token'))).ino, tokenBefore.ino, 'renamed into place, not rewritten');
  t.is((await stat(join(dir, 'key.pem'))).ino, keyBefore.ino);
  t.is((await stat(join(dir, 'config'))).ino, configBefore.ino);
  t.deepEqual((await readdir(dir)).sort(), ['config', 'key.pem', 'token'], 'no temp files left behind');

  fallback.bindingRemoved('billing');
  await fallback.idle();
  await t.throwsAsync(lstat(dir), { code: 'ENOENT' });
});

rootTest('a link planted where the token goes is replaced, never followed', async (t) => {
  const { base, dir, fallback } = await sandbox(t);
  fallback.credentialIssued(binding('billing'), await credential(1));
  await fallback.idle();
  const victim = join(base, 'victim');
  await writeFile(victim, 'root data\n', { mode: 0o644 });
  await rm(join(dir, 'token'));
  await symlink(victim, join(dir, 'token'));

  fallback.credentialIssued(binding('billing'), await credential(2));
  await fallback.idle();
  t.is(await readFile(victim, 'utf8'), 'root data\n');
  t.true((await lstat(join(dir, 'token'))).isFile());
  t.is((await stat(victim)).uid, 0);
});

const unsafeCases: Array<[string, (s: { base: string; dir: string }) => Promise<void>, RegExp]> = [
  ['parent writable by others', async ({ base }) => chmod(base, 0o777), /is writable by group or others \(mode 777\)/],
  ['parent writable by group', async ({ base }) => chmod(base, 0o770), /is writable by group or others/],
  ['parent owned by the workload', async ({ base }) => chown(base, NOBODY, NOBODY), /is owned by uid 65534, not root/],
  ['dir is a symbolic link', async ({ base, dir }) => {
    await mkdir(join(base, 'elsewhere'));
    await symlink(join(base, 'elsewhere'), dir);
  }, /is a symbolic link/],
  ['dir belongs to another user', async ({ dir }) => {
    await mkdir(dir);
    await chown(dir, 12345, 12345);
  }, /already exists and belongs to uid 12345/],
  ['dir is a file', async ({ dir }) => writeFile(dir, 'x'), /is not a directory/],
];

for (const [what, prepare, message] of unsafeCases) {
  rootTest(`refuses an unsafe directory: ${what}`, async (t) => {
    const s = await sandbox(t);
    await prepare(s);
    s.fallback.credentialIssued(binding('billing'), await credential(1));
    await s.fallback.idle();
    const status = s.fallback.status('billing');
    t.is(status?.lastError?.code, CREDENTIAL_ERRORS.FALLBACK_UNSAFE_DIR);
    t.regex(status?.lastError?.message ?? '', message);
    t.regex(s.sink.text(), /file fallback failed/);
    const elsewhere = await readdir(join(s.base, 'elsewhere')).catch((): string[] => []);
    t.deepEqual(elsewhere, [], 'nothing written through the link');
    const inside = await readdir(s.dir).catch((): string[] => []);
    t.false(inside.includes('token'), 'no token written');
  });
}

test('fallback config: errors name the field', (t) => {
  const cases: Array<[unknown, RegExp]> = [
    [{}, /fileFallback: must be a list/],
    [[{ bindingId: 'b', uid: 1001 }], /fileFallback\[0\]\.dir: must be a normalized absolute path/],
    [[{ bindingId: 'b', uid: 0, dir: '/var/lib/sigil/b' }], /fileFallback\[0\]\.uid: must not be 0/],
    [[{ bindingId: 'b', uid: 1001, dir: '/var/lib/sigil/../b' }], /fileFallback\[0\]\.dir/],
    [[{ bindingId: 'b', uid: 1001, dir: '/x/b', mode: 420 }], /fileFallback\[0\]\.mode: unknown field/],
    [[{ bindingId: 'b', uid: 1001, dir: '/x/b' }, { bindingId: 'b', uid: 1002, dir: '/x/c' }], /fileFallback\[1\]\.bindingId: binding "b" is listed twice/],
  ];
  for (const [input, message] of cases) {
    const err = t.throws(() => parseFileFallbackConfigs(input));
    t.true(err instanceof CredentialError);
    t.is((err as CredentialError).code, CREDENTIAL_ERRORS.FALLBACK_BAD_CONFIG);
    t.regex(err!.message, message);
  }
  t.deepEqual(parseFileFallbackConfigs([{ bindingId: 'b', uid: 1001, gid: 100, dir: '/var/lib/sigil/b', region: 'eu-frankfurt-1' }]), [
    { bindingId: 'b', uid: 1001, gid: 100, dir: '/var/lib/sigil/b', region: 'eu-frankfurt-1' },
  ]);
});

rootTest('end to end: the official SDK signs with the profile; refreshed in place; removed on unbind', async (t) => {
  t.timeout(60_000);
  const world = await startExchangeWorld(t, { tokenLifetimeSeconds: 3, iamAddress: '127.77.60.11', osAddress: '127.77.60.12', issuerAddress: '127.77.60.13' });
  world.grant('agent-fb', binding('billing'));
  // The parent the operator makes for fallback dirs (like /var/lib/sigil/fallback): root's, 0755.
  const base = await installDir(await mkdtemp(join(tmpdir(), 'sigil-test-fallback-')), 0o755);
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const dir = join(base, 'billing');
  const app = await deployTestApp(join(base, 'app'), ['test/agent/credentials/fallback-profile-client.js'], ['oci-common', 'oci-objectstorage']);
  const serviceCa = join(app.dir, 'service-ca.pem');
  await writeFile(serviceCa, world.pki.caCertPem, { mode: 0o644 });
  const log = createLogger({ level: 'debug' }, world.sink);
  const fallback = new FileFallback(parseFileFallbackConfigs([{ bindingId: 'billing', uid: NOBODY, dir }]), log);
  const nc = await world.connectAgent('agent-fb');
  const manager = new CredentialManager({ client: new NatsExchangeClient(nc, 'agent-fb'), log, listeners: [fallback] });
  t.teardown(() => manager.close());
  manager.setBindings([binding('billing')]);
  await manager.get('billing');
  await fallback.idle();

  /** The workload (as `uid`, no capabilities) loads the profile with the official SDK and calls the service. */
  const signWithProfile = async (uid = NOBODY): Promise<string> => {
    const { stdout } = await runAs(uid, process.execPath, [app.path('test/agent/credentials/fallback-profile-client.js'),
      '--config', join(dir, 'config'), '--endpoint', world.objectStorage.url, '--address', world.objectStorage.address, '--ca-file', serviceCa]);
    const result = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as { ok: boolean; namespace?: string; error?: string };
    return result.ok ? result.namespace! : `failed: ${result.error}`;
  };
  t.is(await signWithProfile(), world.objectStorage.namespace);
  // Another unprivileged user cannot even read it (the SDK says "does not exist"; cat says why).
  t.regex(await signWithProfile(WORKLOAD_UID), /^failed: .*(does not exist|EACCES)/i);
  await t.throwsAsync(runAs(WORKLOAD_UID, 'cat', [join(dir, 'config')]), { message: /Permission denied/ });
  const firstToken = await readFile(join(dir, 'token'), 'utf8');

  // 3 s tokens refresh at ~2.4 s; the file follows. Waited for as events with a generous deadline:
  // the file changing, then the first token's own expiry passing (so the next call proves the new one).
  const firstExpiry = (JSON.parse(Buffer.from(firstToken.split('.')[1] ?? '', 'base64url').toString()) as { exp: number }).exp * 1000;
  const deadline = Date.now() + 20_000;
  let secondToken = firstToken;
  while ((secondToken === firstToken || Date.now() <= firstExpiry) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    await fallback.idle();
    secondToken = await readFile(join(dir, 'token'), 'utf8');
  }
  t.not(secondToken, firstToken, 'the token file was refreshed before the deadline');
  t.true(Date.now() > firstExpiry, 'the first token has expired');
  t.is(await signWithProfile(), world.objectStorage.namespace, 'the refreshed profile works after the first token expired');

  manager.setBindings([]);
  await fallback.idle();
  await t.throwsAsync(lstat(dir), { code: 'ENOENT' });
  assertNoSecrets(t, world.logs(), { secret: world.secret, firstToken, secondToken });
});
