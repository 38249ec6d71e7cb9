/**
 * The agent's credentials end to end: CredentialManager → NATS → exchange responder → OCI IAM
 * stand-in, and the official OCI SDK signing with the result against the Object Storage stand-in.
 */
import test, { type ExecutionContext } from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import common from 'oci-common';
import { createLogger } from '../../../agent/log.js';
import { CREDENTIAL_ERRORS, CredentialManager, NatsExchangeClient, type CredentialError, type RefreshTiming } from '../../../agent/credentials/index.js';
import { objectStorageClientFor, sessionTokenAuth } from '../../standins/sdk-client.js';
import { SOURCE_NAME, WORKLOAD_PRINCIPAL, assertNoSecrets, binding, startExchangeWorld, type ExchangeWorld } from '../../controlplane/exchange/exchange-world.js';

const AGENT = 'agent-int';
const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await delay(50);
  }
  return check();
}

async function agentManager(t: ExecutionContext, world: ExchangeWorld, timing: Partial<RefreshTiming> = {}) {
  const nc = await world.connectAgent(AGENT);
  const log = createLogger({ level: 'debug' }, world.sink);
  const manager = new CredentialManager({ client: new NatsExchangeClient(nc, AGENT, { timeoutMs: 8000 }), log: log.child({ part: 'credentials' }), timing });
  t.teardown(() => manager.close());
  return manager;
}

/** An SDK client whose every request is signed with whatever credential the manager holds now. */
function sdkThroughManager(world: ExchangeWorld, manager: CredentialManager, bindingId: string, privateKeyPem: string) {
  const auth: common.AuthenticationDetailsProvider = {
    getKeyId: async () => (await manager.get(bindingId)).keyId,
    getPrivateKey: () => privateKeyPem,
    getPassphrase: () => null,
  };
  return objectStorageClientFor(world.objectStorage, auth, world.pki.caCertPem);
}

const pemOf = async (manager: CredentialManager, id: string) =>
  (await manager.get(id)).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();

test('exchange over NATS yields a token and key the OCI SDK signs with; the token alone is useless', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant(AGENT, binding('billing'));
  const manager = await agentManager(t, world);
  manager.setBindings([binding('billing')]);

  const credential = await manager.get('billing');
  t.true(credential.keyId.startsWith('ST$'));
  t.true(credential.expiresAt.getTime() > Date.now() + 3000_000);
  const pem = credential.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const { client, agent } = sdkThroughManager(world, manager, 'billing', pem);
  t.teardown(() => agent.destroy());
  const ns = await client.getNamespace({});
  t.is(ns.value, world.objectStorage.namespace);
  await delay(50); // the stand-in records the status once its response is finished
  const accepted = world.objectStorage.requests.at(-1)!;
  t.is(accepted.status, 200);
  t.is(accepted.principal, WORKLOAD_PRINCIPAL);
  t.is(accepted.sourceSubject, 'spiffe://sigil.test/workload/billing');

  // The UPST taken off the wire, signed with any other key, is refused.
  const token = credential.keyId.slice(3);
  const thief = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  const stolen = objectStorageClientFor(world.objectStorage, sessionTokenAuth(token, thief), world.pki.caCertPem);
  t.teardown(() => stolen.agent.destroy());
  const err = await t.throwsAsync(stolen.client.getNamespace({}));
  t.is((err as { statusCode?: number }).statusCode, 401);
  await delay(50);
  t.is(world.objectStorage.requests.at(-1)!.status, 401);
  t.regex(world.objectStorage.requests.at(-1)!.rejection ?? '', /signature/);

  assertNoSecrets(t, world.logs(), { secret: world.secret, token });
});

test('under continuous load with short-lived tokens: refreshes happen, 0 requests fail, 0 wait', async (t) => {
  t.timeout(60_000);
  const world = await startExchangeWorld(t, { tokenLifetimeSeconds: 6 });
  world.grant(AGENT, binding('billing'));
  const manager = await agentManager(t, world);
  manager.setBindings([binding('billing')]);
  const { client, agent } = sdkThroughManager(world, manager, 'billing', await pemOf(manager, 'billing'));
  t.teardown(() => agent.destroy());

  const tokens = new Set<string>();
  let ok = 0;
  const failures: string[] = [];
  const until = Date.now() + 14_000;
  const worker = async () => {
    while (Date.now() < until) {
      tokens.add((await manager.get('billing')).keyId);
      try {
        await client.getNamespace({});
        ok++;
      } catch (err) {
        failures.push(String((err as Error).message ?? err));
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);

  t.deepEqual(failures, []);
  t.true(ok > 100, `${ok} requests`);
  t.true(tokens.size >= 3, `${tokens.size} distinct tokens in use`);
  const stats = manager.stats;
  t.log({ ok, ...stats });
  t.true(stats.refreshes >= 3);
  t.is(stats.failures, 0);
  t.is(stats.blockedOnRefresh, 0);
  t.is(stats.waited, 1, 'only the first get before any token existed');
  t.true(world.objectStorage.requests.every((r) => r.status === 200));
  assertNoSecrets(t, world.logs(), { secret: world.secret, ...Object.fromEntries([...tokens].map((k, i) => [`token${i}`, k.slice(3)])) });
});

test('exchange endpoint down: the provider reports why; it recovers on its own when IAM returns', async (t) => {
  t.timeout(60_000);
  const world = await startExchangeWorld(t, { tokenLifetimeSeconds: 3 });
  world.grant(AGENT, binding('billing'));
  const manager = await agentManager(t, world, { baseBackoffMs: 200, maxBackoffMs: 500 });
  manager.setBindings([binding('billing')]);
  await manager.get('billing');

  world.iam.setFailing('unavailable');
  let reason: CredentialError | undefined;
  t.true(await eventually(async () => {
    reason = await manager.get('billing').then(() => undefined, (e: CredentialError) => e);
    return reason !== undefined;
  }, 8000), 'the token ran out while IAM was down');
  t.is(reason?.code, CREDENTIAL_ERRORS.UNAVAILABLE);
  t.is(reason?.status, 503);
  t.regex(reason!.message, new RegExp(`^no session token for binding "billing": credential source "${SOURCE_NAME}" .* is unavailable after 2 attempts: HTTP 503 temporarily_unavailable.* \\(SIGIL_ERR_EXCHANGE_SOURCE_UNAVAILABLE\\)$`));

  world.iam.setFailing('off');
  t.true(await eventually(() => manager.get('billing').then(() => true, () => false), 5000), 'recovered without a restart');
  const { client, agent } = sdkThroughManager(world, manager, 'billing', await pemOf(manager, 'billing'));
  t.teardown(() => agent.destroy());
  t.is((await client.getNamespace({})).value, world.objectStorage.namespace);
});

test('control plane not answering: the reason says so; it recovers when the control plane is back', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant(AGENT, binding('billing'));
  await world.stopResponder();
  const manager = await agentManager(t, world, { baseBackoffMs: 200, maxBackoffMs: 400 });
  manager.setBindings([binding('billing')]);

  const err = await t.throwsAsync(manager.get('billing'));
  t.is((err as CredentialError).code, CREDENTIAL_ERRORS.UNAVAILABLE);
  t.regex(err!.message, /control plane not reachable: no control plane is answering exchange requests \(SIGIL_ERR_CREDENTIALS_CONTROL_PLANE_UNREACHABLE\)/);

  world.startResponder();
  t.true(await eventually(() => manager.get('billing').then(() => true, () => false), 5000));
});

test('wrong client secret: a clear error naming the source, without the secret anywhere', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant(AGENT, binding('billing'));
  const wrong = 'not-the-secret-987654321';
  await writeFile(world.secretFile, wrong);
  const manager = await agentManager(t, world);
  manager.setBindings([binding('billing')]);

  const err = await t.throwsAsync(manager.get('billing'));
  t.is((err as CredentialError).code, CREDENTIAL_ERRORS.UNAVAILABLE);
  t.regex(err!.message, new RegExp(`credential source "${SOURCE_NAME}" .*refused the token exchange: HTTP 401 invalid_client.*\\(SIGIL_ERR_EXCHANGE_SOURCE_REJECTED\\)`));
  t.false(err!.message.includes(wrong));
  assertNoSecrets(t, world.logs(), { wrong, secret: world.secret });
});

test('a binding this agent does not hold is refused by the control plane', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant('agent-other', binding('billing'));
  const manager = await agentManager(t, world);
  manager.setBindings([binding('billing')]);
  const err = await t.throwsAsync(manager.get('billing'));
  t.regex(err!.message, /agent "agent-int" holds no binding "billing" \(SIGIL_ERR_EXCHANGE_BINDING_NOT_OWNED\)/);
  t.is(world.iam.exchanges.length, 0);
});
