import test from 'ava';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import common from 'oci-common';
import { LocalCa } from '../../../agent/signer/local-ca.js';
import { tempDir } from './fixtures.js';

const run = promisify(execFile);
const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../agent/cli/main.js');

test('oci-config writes a profile the official SDK loads, with a well-formed fingerprint and 0600 files', async (t) => {
  const dir = await tempDir('oci-config-cli');
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const out = await run(process.execPath, [main, 'oci-config', '--dir', dir, '--region', 'eu-frankfurt-1']);
  t.regex(out.stdout, /wrote .*config/);
  const config = await fs.readFile(path.join(dir, 'config'), 'utf8');
  t.regex(config, /^fingerprint=([0-9a-f]{2}:){15}[0-9a-f]{2}$/m);
  t.regex(config, /^region=eu-frankfurt-1$/m);
  t.is((await fs.stat(path.join(dir, 'config'))).mode & 0o777, 0o600);
  t.is((await fs.stat(path.join(dir, 'sigil_placeholder_key.pem'))).mode & 0o777, 0o600);
  const provider = new common.ConfigFileAuthenticationDetailsProvider(path.join(dir, 'config'), 'DEFAULT');
  t.is(provider.getRegion(), common.Region.EU_FRANKFURT_1);
  t.regex(await provider.getKeyId(), /^ocid1\.tenancy\.oc1\.\..+\/ocid1\.user\.oc1\.\..+\/([0-9a-f]{2}:){15}[0-9a-f]{2}$/);

  const again = await run(process.execPath, [main, 'oci-config', '--dir', dir]).then(() => 0, (e: { code: number; stderr: string }) => { t.regex(e.stderr, /--force/); return e.code; });
  t.is(again, 1);
  const bad = await run(process.execPath, [main, 'oci-config', '--dir', dir, '--force', '--region', 'Not A Region']).then(() => 0, (e: { code: number }) => e.code);
  t.is(bad, 1);
});

test('trust prints the real CA path for each client, and fails clearly before the CA exists', async (t) => {
  const dir = await tempDir('trust-cli');
  t.teardown(() => fs.rm(dir, { recursive: true, force: true }));
  const missing = await run(process.execPath, [main, 'trust', '--state-dir', dir]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /creates it at first start/);
  const ca = await LocalCa.open({ stateDir: dir });
  const out = (await run(process.execPath, [main, 'trust', '--state-dir', dir])).stdout;
  t.true(out.includes(`NODE_EXTRA_CA_CERTS=${ca.exportPath}`));
  t.regex(out, /OCI_CLI_CERT_BUNDLE=/);
  t.regex(out, /REQUESTS_CA_BUNDLE=/);
  t.regex(out, /update-ca-certificates/);
  t.regex(out, /SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}/);
});
