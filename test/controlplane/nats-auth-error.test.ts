/**
 * A control plane pointed at the fleet's NATS (JWT authority) without `nats.credsFile` fails at start
 * with an error that names the setting, not NATS's bare `Authorization Violation`; with creds of
 * another authority it names the creds file.
 */
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../controlplane/config/config.js';
import { createNatsAuth, natsServerConfig } from '../../controlplane/fleet/nats-auth.js';
import { createLogger } from '../../controlplane/log.js';
import { startControlPlane } from '../../controlplane/server.js';
import { NATS_AUTH_FAILED } from '../../controlplane/nats-connect-error.js';
import { startNatsServer } from '../helpers/nats-server.js';

test('no nats.credsFile against a JWT-authorised NATS: the error names nats.credsFile; foreign creds: names the file', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-nats-auth-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const auth = await createNatsAuth();
  const nats = await startNatsServer({ config: natsServerConfig(auth, path.join(dir, 'resolver')) });
  t.teardown(() => nats.cleanup());
  const config = await loadConfig(undefined, { natsUrl: nats.url, listen: '127.0.0.1:0', stateDir: dir, logLevel: 'silent' });

  const missing = await t.throwsAsync(startControlPlane(config, createLogger({ level: 'silent' }), new AbortController().signal));
  t.is((missing as { code?: string }).code, NATS_AUTH_FAILED);
  t.regex(missing?.message ?? '', /Authorization Violation.*nats\.credsFile is not set/);
  t.regex(missing?.message ?? '', /controlplane\.creds.*init-nats/);

  const other = await createNatsAuth();
  const foreign = path.join(dir, 'other.creds');
  await writeFile(foreign, other.controlPlaneCreds, { mode: 0o600 });
  config.nats.credsFile = foreign;
  const refused = await t.throwsAsync(startControlPlane(config, createLogger({ level: 'silent' }), new AbortController().signal));
  t.is((refused as { code?: string }).code, NATS_AUTH_FAILED);
  t.regex(refused?.message ?? '', new RegExp(`refused the credentials in nats.credsFile \\(${foreign.replace(/[.]/g, '\\.')}\\)`));
});
