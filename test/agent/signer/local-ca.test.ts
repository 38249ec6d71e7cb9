import test from 'ava';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import net from 'node:net';
import tls from 'node:tls';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { LocalCa, caPaths } from '../../../agent/signer/local-ca.js';
import { tempDir } from './fixtures.js';

test('first start makes a CA: key 0600 in a 0700 dir, certificate exported world-readable; restart loads the same CA', async (t) => {
  const dir = await tempDir('ca');
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const oldUmask = process.umask(0o077); // a strict umask must not hide the exported certificate
  t.teardown(() => void process.umask(oldUmask));
  const ca = await LocalCa.open({ stateDir: dir });
  const paths = caPaths(dir);
  t.is((await fs.stat(paths.key)).mode & 0o777, 0o600);
  t.is((await fs.stat(paths.dir)).mode & 0o777, 0o700);
  t.is((await fs.stat(paths.exported)).mode & 0o777, 0o644);
  t.is(ca.exportPath, paths.exported);
  const cert = new crypto.X509Certificate(await fs.readFile(paths.exported));
  t.true(cert.ca);
  t.is((await fs.readdir(paths.dir)).filter((f) => f.endsWith('.tmp')).length, 0);

  const again = await LocalCa.open({ stateDir: dir });
  t.is(again.certPem, ca.certPem);
});

test('the CA made at first start is a strict X.509 v3 CA: self-signed, CA:TRUE pathlen 0, keyCertSign, its key id', async (t) => {
  const dir = await tempDir('ca-strict');
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const ca = await LocalCa.open({ stateDir: dir });
  const cert = new crypto.X509Certificate(ca.certPem);
  t.true(cert.verify(cert.publicKey), 'self-signed');
  t.true(cert.checkIssued(cert));
  const file = caPaths(dir).exported;
  // openssl's strict checks read every field the DER encoder wrote (version, serial, extensions).
  t.regex(execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', file, file], { encoding: 'utf8' }), /: OK/);
  const text = execFileSync('openssl', ['x509', '-in', file, '-noout', '-text'], { encoding: 'utf8' });
  t.regex(text, /Version: 3/);
  t.regex(text, /Basic Constraints: critical\s+CA:TRUE, pathlen:0/);
  t.regex(text, /Key Usage: critical\s+Certificate Sign, CRL Sign/);
  t.regex(text, /Subject Key Identifier:/);
  // A leaf names the CA's key id as its authority key id.
  const leafPath = path.join(dir, 'leaf.pem');
  const context = await ca.secureContextFor('objectstorage.us-ashburn-1.oraclecloud.com');
  t.truthy(context);
  const server = tls.createServer({ SNICallback: (n, cb) => { ca.secureContextFor(n).then((c) => cb(null, c), cb); } }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.77.43.2', r));
  t.teardown(() => server.close());
  const leaf = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
    const s = tls.connect({ host: '127.77.43.2', port: (server.address() as net.AddressInfo).port, servername: 'objectstorage.us-ashburn-1.oraclecloud.com', ca: ca.certPem }, () => { resolve(s.getPeerCertificate(true)); s.destroy(); });
    s.on('error', reject);
  });
  await fs.writeFile(leafPath, new crypto.X509Certificate(leaf.raw).toString());
  t.regex(execFileSync('openssl', ['verify', '-x509_strict', '-purpose', 'sslserver', '-CAfile', file, leafPath], { encoding: 'utf8' }), /: OK/);
  const ski = /Subject Key Identifier:\s+([0-9A-F:]+)/.exec(text)?.[1];
  t.truthy(ski);
  t.regex(execFileSync('openssl', ['x509', '-in', leafPath, '-noout', '-text'], { encoding: 'utf8' }), new RegExp(`Authority Key Identifier:\\s+(keyid:)?${ski}`));
});

test('a CA key readable by others is refused with a coded error', async (t) => {
  const dir = await tempDir('ca-mode');
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  await LocalCa.open({ stateDir: dir });
  await fs.chmod(caPaths(dir).key, 0o644);
  await t.throwsAsync(LocalCa.open({ stateDir: dir }), { code: 'SIGIL_ERR_SIGNER_CA_KEY_INSECURE' } as never);
});

test('leaf certificates are minted per SNI, chain to the CA, name only that host and are cached', async (t) => {
  const dir = await tempDir('ca-leaf');
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const ca = await LocalCa.open({ stateDir: dir, leafTtlMs: 3600_000 });
  const host = 'objectstorage.eu-frankfurt-1.oraclecloud.com';
  const first = ca.secureContextFor(host);
  t.is(ca.secureContextFor(host), first); // one mint per host
  const server = tls.createServer({ SNICallback: (n, cb) => { ca.secureContextFor(n).then((c) => cb(null, c), cb); } }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, '127.77.43.1', r));
  t.teardown(() => server.close());
  const port = (server.address() as net.AddressInfo).port;
  const connect = (servername: string) => new Promise<tls.PeerCertificate>((resolve, reject) => {
    const s = tls.connect({ host: '127.77.43.1', port, servername, ca: ca.certPem }, () => { resolve(s.getPeerCertificate()); s.destroy(); });
    s.on('error', reject);
  });
  const peer = await connect(host);
  t.is(peer.subjectaltname, `DNS:${host}`);
  const lifetime = Date.parse(peer.valid_to) - Date.parse(peer.valid_from);
  t.true(lifetime <= 3600_000 + 5 * 60_000 + 1000);
  // A leaf for one host does not verify for another name.
  await t.throwsAsync(new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.77.43.1', port, servername: host, ca: ca.certPem, checkServerIdentity: (_h, c) => tls.checkServerIdentity('iaas.eu-frankfurt-1.oraclecloud.com', c) }, () => { s.destroy(); resolve(undefined); });
    s.on('error', reject);
  }));
});

test('a state dir the agent creates is 0755 (parents too) whatever the umask, so every uid can reach ca.pem; the CA dir stays 0700', async (t) => {
  const dir = await tempDir('ca-statedir');
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const oldUmask = process.umask(0o077);
  t.teardown(() => void process.umask(oldUmask));
  const stateDir = `${dir}/var/lib/sigil/agent`;
  const ca = await LocalCa.open({ stateDir });
  for (const d of [`${dir}/var`, `${dir}/var/lib`, `${dir}/var/lib/sigil`, stateDir]) t.is((await fs.stat(d)).mode & 0o777, 0o755, d);
  t.is((await fs.stat(caPaths(stateDir).dir)).mode & 0o777, 0o700);
  // Only the temp dir above it (mkdtemp: 0700) is in the way, and the CA says so.
  t.is(ca.exportUnreadable, `${dir} has mode 0700 (others cannot enter it)`);
  await fs.chmod(dir, 0o755);
  t.is((await LocalCa.open({ stateDir })).exportUnreadable, undefined);
});
