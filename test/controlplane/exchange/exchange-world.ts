/**
 * Everything a credential-exchange test needs, all real: a nats-server, the OCI IAM stand-in trusting
 * a JWT issuer's JWKS over HTTPS, the Object Storage stand-in trusting the IAM's UPSTs, a client
 * secret file, and the control plane's exchange responder, with every log line captured.
 *
 *   const world = await startExchangeWorld(t, { tokenLifetimeSeconds: 20 });
 *   const nc = await world.connectAgent('agent-a');      // NATS connection as that agent
 *   world.grant('agent-a', binding('billing'));          // agent-a now holds binding "billing"
 *   world.logs()                                         // everything logged so far (check for leaks)
 *
 * Teardown is registered on `t`. Loopback addresses 127.77.60.x belong to these tests.
 */
import type { ExecutionContext } from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { BindingSpec } from '../../../protocol/bindings.js';
import type { CredentialSourceSpec } from '../../../controlplane/resources/types.js';
import { subjects } from '../../../protocol/subjects.js';
import { createLogger, type Logger } from '../../../controlplane/log.js';
import { ExchangeService, OciTokenExchangeDriver, startExchangeResponder, type ExchangeResponder, type OwnedBinding } from '../../../controlplane/exchange/index.js';
import { startNatsServer, type NatsServer } from '../../helpers/nats-server.js';
import { createTestPki, type TestPki } from '../../helpers/test-pki.js';
import { startIamStandIn, type IamStandIn } from '../../standins/oci-iam.js';
import { startObjectStorageStandIn, type ObjectStorageStandIn } from '../../standins/oci-objectstorage.js';
import { startTestJwtIssuer, type TestJwtIssuer } from '../../standins/test-jwt-issuer.js';

export const CLIENT_ID = 'sigil-cp-test';
export const SOURCE_NAME = 'oci-test';
export const REGION = 'us-ashburn-1';
export const WORKLOAD_PRINCIPAL = 'ocid1.user.oc1..sigilworkload';

export interface LogSink {
  write(line: string): void;
  text(): string;
}

export function logSink(): LogSink {
  const lines: string[] = [];
  return { write: (line) => void lines.push(line), text: () => lines.join('') };
}

export function binding(id: string, overrides: Partial<BindingSpec> = {}): BindingSpec {
  return {
    id,
    spiffeId: `spiffe://sigil.test/workload/${id}`,
    workload: id,
    selectors: ['unix:uid:1001'],
    destinations: [`objectstorage.${REGION}.oraclecloud.com`],
    ttlSeconds: 900,
    source: SOURCE_NAME,
    ...overrides,
  };
}

export interface ExchangeWorld {
  pki: TestPki;
  nats: NatsServer;
  iam: IamStandIn;
  objectStorage: ObjectStorageStandIn;
  jwtIssuer: TestJwtIssuer;
  /** The client secret the IAM stand-in expects; the file holds it unless a test changes it. */
  secret: string;
  secretFile: string;
  source: CredentialSourceSpec;
  /** The control plane's connection. */
  cpConnection: NatsConnection;
  service: ExchangeService;
  responder: ExchangeResponder;
  cpLog: Logger;
  grant(agentId: string, spec: BindingSpec): void;
  revoke(agentId: string, bindingId: string): void;
  connectAgent(agentId: string): Promise<NatsConnection>;
  /** Stops and restarts the control plane's responder (no control plane answering in between). */
  stopResponder(): Promise<void>;
  startResponder(): void;
  /** Everything logged so far by the control plane and by whatever logs into `sink`. */
  sink: LogSink;
  logs(): string;
}

export async function startExchangeWorld(
  t: ExecutionContext,
  options: { tokenLifetimeSeconds?: number; iamAddress?: string; osAddress?: string; issuerAddress?: string } = {},
): Promise<ExchangeWorld> {
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  t.teardown(async () => {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
  });

  const pki = await createTestPki();
  cleanups.push(() => pki.close());
  const nats = await startNatsServer();
  cleanups.push(() => nats.cleanup());
  const jwtIssuer = await startTestJwtIssuer(pki, options.issuerAddress ?? '127.77.60.3');
  cleanups.push(() => jwtIssuer.close());
  const secret = `s3cret-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const iam = await startIamStandIn({
    pki,
    address: options.iamAddress ?? '127.77.60.1',
    clientId: CLIENT_ID,
    clientSecret: secret,
    trust: { issuer: jwtIssuer.issuer, audience: CLIENT_ID, jwksUrl: jwtIssuer.jwksUrl, jwksCaPem: pki.caCertPem },
    principals: [{ pattern: /^spiffe:\/\/sigil\.test\//, principal: WORKLOAD_PRINCIPAL }],
    ...(options.tokenLifetimeSeconds === undefined ? {} : { tokenLifetimeSeconds: options.tokenLifetimeSeconds }),
  });
  cleanups.push(() => iam.close());
  const objectStorage = await startObjectStorageStandIn({ pki, region: REGION, address: options.osAddress ?? '127.77.60.2', trustedIssuers: [iam.publicKey] });
  cleanups.push(() => objectStorage.close());

  const dir = await mkdtemp(join(tmpdir(), 'sigil-test-exchange-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const secretFile = join(dir, 'client-secret');
  await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  const source: CredentialSourceSpec = { kind: 'oci', domainUrl: iam.url, clientId: CLIENT_ID, clientSecretFile: secretFile, region: REGION, caFile: pki.caFile };

  const sink = logSink();
  const cpLog = createLogger({ level: 'debug' }, sink);
  const owned = new Map<string, OwnedBinding>();
  const service = new ExchangeService({
    ownership: { bindingFor: async (agentId, bindingId) => owned.get(`${agentId}/${bindingId}`) },
    minter: { mint: async (sub, aud, ttl) => ({ token: await jwtIssuer.mint({ sub, aud, expiresInSeconds: ttl }) }) },
    drivers: { oci: new OciTokenExchangeDriver({ retry: { attempts: 2, baseDelayMs: 50, maxDelayMs: 100 }, attemptTimeoutMs: 2000 }) },
    log: cpLog.child({ part: 'exchange' }),
  });
  const cpConnection = await connect({ servers: nats.url, name: 'sigil-cp-test' });
  cleanups.push(() => cpConnection.close());
  let responder = startExchangeResponder(cpConnection, service, { log: cpLog });
  cleanups.push(() => responder.stop());
  await cpConnection.flush();

  return {
    pki, nats, iam, objectStorage, jwtIssuer, secret, secretFile, source, cpConnection, service, cpLog, sink,
    get responder() {
      return responder;
    },
    grant(agentId, spec) {
      owned.set(`${agentId}/${spec.id}`, { spec, sourceName: spec.source, source });
    },
    revoke(agentId, bindingId) {
      owned.delete(`${agentId}/${bindingId}`);
    },
    async connectAgent(agentId) {
      const nc = await connect({ servers: nats.url, name: agentId, inboxPrefix: subjects.inboxPrefix(agentId) });
      cleanups.push(() => nc.close());
      return nc;
    },
    stopResponder: () => responder.stop(),
    startResponder() {
      responder = startExchangeResponder(cpConnection, service, { log: cpLog });
      cleanups.push(() => responder.stop());
    },
    logs: () => sink.text(),
  };
}

/** Fails the test when `text` contains any of the given secrets (or a PEM private key). */
export function assertNoSecrets(t: ExecutionContext, text: string, secrets: Record<string, string | undefined>): void {
  for (const [what, value] of Object.entries(secrets)) {
    if (value === undefined || value === '') continue;
    t.false(text.includes(value), `${what} appears in the logs`);
  }
  t.false(/PRIVATE KEY/.test(text), 'a PEM private key appears in the logs');
}
