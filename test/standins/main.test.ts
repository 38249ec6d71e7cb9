import test from 'ava';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { createTestPki } from '../helpers/test-pki.js';
import { basicAuth, exchangeForm, postTokenRequest } from './iam-client.js';
import { sendRaw, signManually } from './manual-signer.js';
import { startTestJwtIssuer } from './test-jwt-issuer.js';

interface Started {
  iam: { url: string; tokenUrl: string };
  objectStorage: { url: string; hostname: string; address: string; port: number; namespace: string };
  caFile: string;
}

test('the stand-ins CLI prints its endpoints as one JSON line, serves a signed request and stops on SIGTERM', async (t) => {
  const pki = await createTestPki();
  const jwt = await startTestJwtIssuer(pki, '127.77.3.3');
  t.teardown(async () => {
    await jwt.close();
    await pki.close();
  });
  const child = spawn(
    process.execPath,
    [
      fileURLToPath(new URL('./main.js', import.meta.url)),
      '--jwks-url', jwt.jwksUrl,
      '--jwks-ca-file', pki.caFile,
      '--issuer', jwt.issuer,
      '--audience', jwt.audience,
      '--client-id', 'demo',
      '--client-secret', 'demo-secret',
      '--principal', '^spiffe://sigil\\.test/=ocid1.user.oc1..demo',
      '--namespace', 'demons',
      '--iam-address', '127.77.3.1',
      '--os-address', '127.77.3.2',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const firstLine = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  const started = JSON.parse(firstLine) as Started;
  const caPem = readFileSync(started.caFile, 'utf8');

  const session = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const exchanged = await postTokenRequest({
    tokenUrl: started.iam.tokenUrl,
    caPem,
    form: exchangeForm({ jwt: await jwt.mint(), publicKey: session.publicKey }),
    authorization: basicAuth('demo', 'demo-secret'),
  });
  t.is(exchanged.status, 200);
  const os = started.objectStorage;
  const host = `${os.hostname}:${os.port}`;
  const headers = signManually({ method: 'GET', target: '/n/', host, key: session.privateKey, keyId: `ST$${exchanged.json['token'] as string}` });
  const answer = await sendRaw({ address: os.address, port: os.port, servername: os.hostname, caPem, method: 'GET', target: '/n/', headers });
  t.is(answer.status, 200);
  t.is(JSON.parse(answer.body.toString()), 'demons');

  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.false(existsSync(started.caFile), 'the CA file is removed on shutdown');
});

test('the stand-ins CLI names a missing setting and exits 2', async (t) => {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./main.js', import.meta.url)), '--issuer', 'x'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.is(code, 2);
  t.regex(stderr, /missing jwksUrl \(flag --jwks-url\)/);
});
