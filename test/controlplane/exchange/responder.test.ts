/**
 * The control plane's exchange responder over a real nats-server, against the OCI IAM stand-in
 * (which verifies the JWT-SVID through the issuer's JWKS and issues a real UPST).
 */
import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import type { NatsConnection } from '@nats-io/transport-node';
import { subjects } from '../../../protocol/subjects.js';
import { EXCHANGE_CODES, decodeExchangeReply, encodeExchangeMessage, type ExchangeReply } from '../../../protocol/exchange.js';
import { verifyUpst } from '../../standins/upst.js';
import { SOURCE_NAME, WORKLOAD_PRINCIPAL, assertNoSecrets, binding, startExchangeWorld } from './exchange-world.js';

const session = generateKeyPairSync('rsa', { modulusLength: 2048 });
const sessionPublicB64 = session.publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

async function ask(nc: NatsConnection, agentId: string, body: unknown): Promise<ExchangeReply> {
  const data = typeof body === 'string' ? new TextEncoder().encode(body) : encodeExchangeMessage(body as never);
  const msg = await nc.request(subjects.exchange(agentId), data, { timeout: 10_000 });
  return decodeExchangeReply(msg.data);
}

test('an agent exchanges its session public key for a UPST bound to that key and its workload', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant('agent-a', binding('billing'));
  const nc = await world.connectAgent('agent-a');

  const reply = await ask(nc, 'agent-a', { bindingId: 'billing', publicKey: sessionPublicB64 });
  t.true(reply.ok, JSON.stringify(reply));
  if (!reply.ok) return;
  t.is(reply.region, 'us-ashburn-1');
  const verified = await verifyUpst(reply.token, [world.iam.publicKey]);
  t.is(verified.principal, WORKLOAD_PRINCIPAL);
  t.is(verified.claims.source_sub, 'spiffe://sigil.test/workload/billing');
  t.true(verified.sessionKey.equals(session.publicKey), 'the UPST carries the key the agent sent');
  t.is(new Date(reply.expiresAt).getTime(), verified.claims.exp * 1000);
  t.is(world.iam.issued, 1);

  assertNoSecrets(t, world.logs(), { secret: world.secret, token: reply.token });
  t.regex(world.logs(), /exchanged session token/);
});

test('an agent asking for a binding it does not hold is refused, and IAM is never asked', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant('agent-a', binding('billing'));
  const intruder = await world.connectAgent('agent-b');

  const reply = await ask(intruder, 'agent-b', { bindingId: 'billing', publicKey: sessionPublicB64 });
  t.deepEqual(reply, { ok: false, code: EXCHANGE_CODES.NOT_OWNED, message: 'agent "agent-b" holds no binding "billing"' });
  const unknown = await ask(intruder, 'agent-b', { bindingId: 'nothing-here', publicKey: sessionPublicB64 });
  t.false(unknown.ok);
  if (!unknown.ok) t.is(unknown.code, EXCHANGE_CODES.NOT_OWNED, 'unknown and foreign look the same');
  t.is(world.iam.exchanges.length, 0);
});

test('malformed and forged requests get coded replies and the responder keeps serving', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant('agent-a', binding('billing'));
  const nc = await world.connectAgent('agent-a');
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

  const cases: Array<[string, unknown, string, RegExp]> = [
    ['garbage', '\u0000\u0001not json', EXCHANGE_CODES.BAD_MESSAGE, /not UTF-8 JSON/],
    ['array', '[1,2]', EXCHANGE_CODES.BAD_MESSAGE, /JSON object/],
    ['agent id smuggled in the body', { bindingId: 'billing', publicKey: sessionPublicB64, agentId: 'agent-b' }, EXCHANGE_CODES.BAD_MESSAGE, /unknown field/],
    ['EC key', { bindingId: 'billing', publicKey: ec }, EXCHANGE_CODES.BAD_KEY, /ec key, not RSA/],
    ['1024-bit RSA', { bindingId: 'billing', publicKey: small }, EXCHANGE_CODES.BAD_KEY, /1024 bits/],
    ['base64 that is no key', { bindingId: 'billing', publicKey: 'AAAA' }, EXCHANGE_CODES.BAD_KEY, /not a DER SubjectPublicKeyInfo/],
  ];
  for (const [what, body, code, message] of cases) {
    const reply = await ask(nc, 'agent-a', body);
    t.false(reply.ok, what);
    if (reply.ok) continue;
    t.is(reply.code, code, what);
    t.regex(reply.message, message, what);
  }
  t.is(world.iam.exchanges.length, 0);
  const good = await ask(nc, 'agent-a', { bindingId: 'billing', publicKey: sessionPublicB64 });
  t.true(good.ok, 'still serving after the bad ones');
});

test('a wrong client secret is a clear SOURCE_REJECTED naming the source, without the secret', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant('agent-a', binding('billing'));
  const nc = await world.connectAgent('agent-a');
  const wrong = 'wrong-secret-0123456789';
  await writeFile(world.secretFile, wrong);

  const reply = await ask(nc, 'agent-a', { bindingId: 'billing', publicKey: sessionPublicB64 });
  t.false(reply.ok);
  if (reply.ok) return;
  t.is(reply.code, EXCHANGE_CODES.SOURCE_REJECTED);
  t.regex(reply.message, new RegExp(`credential source "${SOURCE_NAME}" .* refused the token exchange: HTTP 401 invalid_client`));
  t.false(reply.message.includes(wrong));
  t.false(reply.message.includes(world.secret));
  t.is(world.iam.exchanges.length, 1, '4xx is not retried');
  assertNoSecrets(t, world.logs(), { wrong, secret: world.secret });

  await writeFile(world.secretFile, world.secret);
  t.true((await ask(nc, 'agent-a', { bindingId: 'billing', publicKey: sessionPublicB64 })).ok, 'fixed secret file picked up without a restart');
});

test('IAM down: SOURCE_UNAVAILABLE after retries; IAM back: exchanges work again', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant('agent-a', binding('billing'));
  const nc = await world.connectAgent('agent-a');

  world.iam.setFailing('unavailable');
  const down = await ask(nc, 'agent-a', { bindingId: 'billing', publicKey: sessionPublicB64 });
  t.false(down.ok);
  if (!down.ok) {
    t.is(down.code, EXCHANGE_CODES.SOURCE_UNAVAILABLE);
    t.regex(down.message, /unavailable after 2 attempts: HTTP 503 temporarily_unavailable/);
  }
  world.iam.setFailing('reset');
  const reset = await ask(nc, 'agent-a', { bindingId: 'billing', publicKey: sessionPublicB64 });
  t.false(reset.ok);
  if (!reset.ok) t.is(reset.code, EXCHANGE_CODES.SOURCE_UNAVAILABLE);

  world.iam.setFailing('off');
  t.true((await ask(nc, 'agent-a', { bindingId: 'billing', publicKey: sessionPublicB64 })).ok);
});

test('stop() lets an exchange in progress answer, then takes no more requests', async (t) => {
  const world = await startExchangeWorld(t);
  world.grant('agent-a', binding('billing'));
  const nc = await world.connectAgent('agent-a');
  const pending = ask(nc, 'agent-a', { bindingId: 'billing', publicKey: sessionPublicB64 });
  await new Promise((resolve) => setTimeout(resolve, 20));
  await world.stopResponder();
  t.true((await pending).ok, 'the request in progress was answered');
  const err = await t.throwsAsync(nc.request(subjects.exchange('agent-a'), encodeExchangeMessage({ bindingId: 'billing', publicKey: sessionPublicB64 }), { timeout: 2000 }));
  t.regex(String(err?.message), /no responders|503/i);
});
