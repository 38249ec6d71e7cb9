/**
 * CredentialManager against a scripted exchange client: caching, single flight, refresh timing,
 * failure reasons, backoff and recovery, removal. Real keys, real timers (short lifetimes).
 */
import test from 'ava';
import { createPublicKey, sign, verify } from 'node:crypto';
import { AgentError } from '../../../agent/errors.js';
import {
  CREDENTIAL_ERRORS,
  CredentialError,
  CredentialManager,
  type CredentialListener,
  type ExchangeClient,
  type ExchangedToken,
  type IssuedCredential,
} from '../../../agent/credentials/index.js';
import { binding } from '../../controlplane/exchange/exchange-world.js';

interface Call {
  bindingId: string;
  publicKey: string;
  at: number;
}

type Behaviour = (call: Call, n: number) => Promise<ExchangedToken>;

class ScriptedClient implements ExchangeClient {
  readonly calls: Call[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(public behaviour: Behaviour) {}
  async exchange(bindingId: string, publicKey: string): Promise<ExchangedToken> {
    const call = { bindingId, publicKey, at: Date.now() };
    this.calls.push(call);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      return await this.behaviour(call, this.calls.length);
    } finally {
      this.inFlight--;
    }
  }
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const lifetime = (ms: number, extra: Partial<ExchangedToken> = {}): Behaviour => async (_call, n) => {
  await delay(20);
  return { token: `tok-${n}`, expiresAt: new Date(Date.now() + ms), ...extra };
};
const fastTiming = { baseBackoffMs: 100, maxBackoffMs: 400 };

async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await delay(25);
  }
  return check();
}

test('the first get waits for the exchange once; later gets answer from the cache', async (t) => {
  const client = new ScriptedClient(lifetime(60_000));
  const manager = new CredentialManager({ client });
  t.teardown(() => manager.close());
  manager.setBindings([binding('billing')]);

  const first = await Promise.all([manager.get('billing'), manager.get('billing'), manager.get('billing')]);
  t.is(client.calls.length, 1, 'one exchange for three concurrent callers');
  t.true(first.every((c) => c.keyId === 'ST$tok-1'));
  t.deepEqual(manager.stats, { refreshes: 1, failures: 0, waited: 3, blockedOnRefresh: 0 });

  const again = await manager.get('billing');
  t.is(again.keyId, 'ST$tok-1');
  t.is(manager.stats.waited, 3, 'a cached token does not wait');
  t.is(client.calls.length, 1);
});

test('only the public key is sent, and it belongs to the private key handed out', async (t) => {
  const client = new ScriptedClient(lifetime(60_000));
  const manager = new CredentialManager({ client });
  t.teardown(() => manager.close());
  manager.setBindings([binding('billing')]);
  const credential = await manager.get('billing');

  const sent = createPublicKey({ key: Buffer.from(client.calls[0]!.publicKey, 'base64'), format: 'der', type: 'spki' });
  t.is(sent.type, 'public');
  t.is(sent.asymmetricKeyDetails?.modulusLength, 2048);
  const signature = sign('sha256', Buffer.from('probe'), credential.privateKey);
  t.true(verify('sha256', Buffer.from('probe'), sent, signature));
});

test('refreshes at ~80% of the lifetime, never making a caller wait, one exchange at a time', async (t) => {
  // 3 s tokens: the refresh (at 2.25–2.55 s) has 150–450 ms before the token stops being handed out,
  // room enough for a loaded 2-core CI machine; 1 s tokens left only 50–150 ms.
  const client = new ScriptedClient(lifetime(3000));
  const manager = new CredentialManager({ client, timing: fastTiming });
  t.teardown(() => manager.close());
  manager.setBindings([binding('billing')]);
  await manager.get('billing');

  const keyIds = new Set<string>();
  const privateKeys = new Set<unknown>();
  const until = Date.now() + 7600;
  while (Date.now() < until) {
    const c = await manager.get('billing');
    t.true(c.expiresAt.getTime() > Date.now(), 'never an expired token');
    keyIds.add(c.keyId);
    privateKeys.add(c.privateKey);
    await delay(5);
  }
  t.true(client.calls.length >= 3, `refreshed (${client.calls.length} exchanges)`);
  t.true(keyIds.size >= 3);
  t.is(privateKeys.size, 1, 'the session key stays with the binding');
  t.is(client.maxInFlight, 1);
  t.is(manager.stats.blockedOnRefresh, 0);
  t.is(manager.stats.waited, 1, 'only the very first get waited');
  // Timers fire late, never early: "not before 75 % (80 % - 5 % jitter) of the lifetime" is exact;
  // the upper side is the only deadline that matters, the token's expiry (never an expired token above).
  const gaps = client.calls.slice(1).map((c, i) => c.at - client.calls[i]!.at);
  for (const gap of gaps) {
    t.true(gap >= 0.75 * 3000, `refresh after ${gap} ms: not before 75 % of a 3000 ms token`);
    t.true(gap < 3000 + 20, `refresh after ${gap} ms: before the 3000 ms token ran out`);
  }
});

test('a failed first exchange is reported with its reason; the binding recovers by itself', async (t) => {
  let failing = true;
  const client = new ScriptedClient(async (_call, n) => {
    if (failing) throw new AgentError('SIGIL_ERR_EXCHANGE_SOURCE_UNAVAILABLE', 'credential source "oci-test" is unavailable after 3 attempts: HTTP 503');
    return { token: `tok-${n}`, expiresAt: new Date(Date.now() + 60_000) };
  });
  const manager = new CredentialManager({ client, timing: fastTiming });
  t.teardown(() => manager.close());
  manager.setBindings([binding('billing')]);

  const err = await t.throwsAsync(manager.get('billing'));
  t.true(err instanceof CredentialError);
  t.is((err as CredentialError).code, CREDENTIAL_ERRORS.UNAVAILABLE);
  t.is((err as CredentialError).status, 503);
  t.is(err?.message, 'no session token for binding "billing": credential source "oci-test" is unavailable after 3 attempts: HTTP 503 (SIGIL_ERR_EXCHANGE_SOURCE_UNAVAILABLE)');

  // While failing, callers are answered at once instead of being held through retries: the answer
  // comes without another exchange attempt having been made for it.
  const attemptsBefore = client.calls.length;
  await t.throwsAsync(manager.get('billing'));
  t.is(client.calls.length, attemptsBefore, 'the failing get did not wait for a retry');
  const status = manager.status('billing');
  t.is(status?.state, 'failing');
  t.is(status?.lastError?.code, 'SIGIL_ERR_EXCHANGE_SOURCE_UNAVAILABLE');

  // Backed off: wait for three retries (deadline 5 s), then check none came before its backoff's
  // minimum (half the bound, which doubles from 100 ms up to 400 ms). Timers are late, never early.
  t.true(await eventually(() => client.calls.length >= 4), `retried (${client.calls.length} attempts)`);
  const attempts = client.calls.slice(0, 4).map((c) => c.at);
  for (let i = 1; i < attempts.length; i++) {
    const bound = Math.min(fastTiming.maxBackoffMs, fastTiming.baseBackoffMs * 2 ** (i - 1));
    t.true(attempts[i]! - attempts[i - 1]! >= bound / 2 - 2, `retry ${i} after ${attempts[i]! - attempts[i - 1]!} ms, backoff at least ${bound / 2} ms`);
  }
  failing = false;
  t.true(await eventually(async () => (await manager.get('billing').then(() => true, () => false))));
  t.is(manager.status('billing')?.state, 'fresh');
  t.true(manager.stats.failures >= 2);
});

test('a failing refresh keeps serving the token it still has and retries before it runs out', async (t) => {
  let failing = false;
  const client = new ScriptedClient(async (_call, n) => {
    await delay(10);
    if (failing) throw new AgentError('SIGIL_ERR_CREDENTIALS_CONTROL_PLANE_UNREACHABLE', 'control plane not reachable');
    return { token: `tok-${n}`, expiresAt: new Date(Date.now() + 1500) };
  });
  const manager = new CredentialManager({ client, timing: { baseBackoffMs: 5000, maxBackoffMs: 5000 } });
  t.teardown(() => manager.close());
  manager.setBindings([binding('billing')]);
  await manager.get('billing');
  failing = true;
  t.true(await eventually(() => client.calls.length >= 2 && client.inFlight === 0, 2000), 'the refresh ran and failed');
  t.is((await manager.get('billing')).keyId, 'ST$tok-1', 'the token in hand still serves');
  t.is(manager.status('billing')?.lastError?.code, 'SIGIL_ERR_CREDENTIALS_CONTROL_PLANE_UNREACHABLE');
  failing = false;
  // The retry comes well before the 5 s backoff, because the token would otherwise lapse.
  t.true(await eventually(() => client.calls.length >= 3, 1000), `calls: ${client.calls.length}`);
  t.true(await eventually(async () => (await manager.get('billing').then((c) => c.keyId, () => 'ST$tok-1')) !== 'ST$tok-1', 500));
  t.is(manager.stats.blockedOnRefresh, 0);
});

test('removing a binding drops it at once: waiting callers are released, listeners told, late replies ignored', async (t) => {
  let release!: () => void;
  const client = new ScriptedClient(async () => {
    await new Promise<void>((resolve) => (release = resolve));
    return { token: 'late', expiresAt: new Date(Date.now() + 60_000) };
  });
  const events: string[] = [];
  const listener: CredentialListener = {
    credentialIssued: (b) => void events.push(`issued:${b.id}`),
    bindingRemoved: (id) => void events.push(`removed:${id}`),
  };
  const manager = new CredentialManager({ client, listeners: [listener] });
  t.teardown(() => manager.close());
  manager.setBindings([binding('billing')]);

  const waiting = manager.get('billing');
  t.true(await eventually(() => client.calls.length === 1)); // key generated, exchange under way
  manager.setBindings([]);
  const err = await t.throwsAsync(waiting);
  t.is((err as CredentialError).code, CREDENTIAL_ERRORS.UNKNOWN_BINDING);
  release();
  // The late reply has been handed back once the exchange is no longer in flight (deadline 5 s).
  t.true(await eventually(() => client.inFlight === 0), 'the late exchange returned');
  await new Promise((resolve) => setImmediate(resolve)); // let the manager's continuation run
  t.deepEqual(events, ['removed:billing']);
  t.is(manager.status('billing'), undefined);
  const after = await t.throwsAsync(manager.get('billing'));
  t.is((after as CredentialError).code, CREDENTIAL_ERRORS.UNKNOWN_BINDING);
  t.is(manager.stats.refreshes, 0, 'the late reply was not taken');
});

test('setBindings keeps tokens across unrelated changes and starts over when the identity changes', async (t) => {
  const client = new ScriptedClient(lifetime(60_000));
  const issued: IssuedCredential[] = [];
  const manager = new CredentialManager({ client, listeners: [{ credentialIssued: (_b, c) => void issued.push(c), bindingRemoved: () => {} }] });
  t.teardown(() => manager.close());
  manager.setBindings([binding('billing'), binding('reports')]);
  const billing = await manager.get('billing');
  await manager.get('reports');
  t.is(client.calls.length, 2);

  manager.setBindings([binding('billing', { destinations: ['objectstorage.eu-frankfurt-1.oraclecloud.com'] }), binding('reports')]);
  t.is((await manager.get('billing')).keyId, billing.keyId, 'destinations changed: same token');
  t.is(client.calls.length, 2);

  manager.setBindings([binding('billing', { spiffeId: 'spiffe://sigil.test/workload/other' }), binding('reports')]);
  const renewed = await manager.get('billing');
  t.not(renewed.keyId, billing.keyId);
  t.false(renewed.privateKey.equals(billing.privateKey), 'a new identity gets a new key');
  t.is(client.calls.length, 3);
  t.is(issued.length, 3);
});

test('an unknown binding is refused with a coded error', async (t) => {
  const manager = new CredentialManager({ client: new ScriptedClient(lifetime(60_000)) });
  const err = await t.throwsAsync(manager.get('nope'));
  t.is((err as CredentialError).code, CREDENTIAL_ERRORS.UNKNOWN_BINDING);
  t.regex(err!.message, /binding "nope" is not on this host/);
});
