import test from 'ava';
import { generateKeyPairSync } from 'node:crypto';
import {
  EXCHANGE_CODES,
  decodeExchangeReply,
  decodeExchangeRequest,
  encodeExchangeMessage,
} from '../../protocol/exchange.js';

const bytes = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));
const publicKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

test('a well-formed request round-trips', (t) => {
  const decoded = decodeExchangeRequest(encodeExchangeMessage({ bindingId: 'billing.exporter', publicKey }));
  t.deepEqual(decoded, { ok: true, value: { bindingId: 'billing.exporter', publicKey } });
});

const badRequests: Array<[string, unknown, RegExp]> = [
  ['not JSON', 'bindingId=x', /not UTF-8 JSON/],
  ['not UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), /not UTF-8 JSON/],
  ['an array', [], /must be a JSON object/],
  ['null', 'null', /must be a JSON object/],
  ['missing bindingId', { publicKey }, /bindingId must be a resource name/],
  ['bindingId with a subject wildcard', { bindingId: 'a.>', publicKey }, /bindingId must be a resource name/],
  ['bindingId upper-case', { bindingId: 'Billing', publicKey }, /bindingId/],
  ['bindingId a number', { bindingId: 7, publicKey }, /bindingId/],
  ['publicKey not base64', { bindingId: 'b', publicKey: 'not base64!' }, /publicKey must be base64/],
  ['publicKey too long', { bindingId: 'b', publicKey: 'A'.repeat(5000) }, /publicKey must be base64/],
  ['an extra field', { bindingId: 'b', publicKey, agentId: 'someone-else' }, /unknown field "agentId"/],
];

for (const [what, input, message] of badRequests) {
  test(`request refused with a coded failure: ${what}`, (t) => {
    const decoded = decodeExchangeRequest(input instanceof Uint8Array ? input : bytes(input));
    t.false(decoded.ok);
    if (decoded.ok) return;
    t.is(decoded.code, EXCHANGE_CODES.BAD_MESSAGE);
    t.regex(decoded.message, message);
  });
}

test('an oversized request is refused before it is parsed', (t) => {
  const decoded = decodeExchangeRequest(new Uint8Array(70 * 1024).fill(0x20));
  t.false(decoded.ok);
  if (!decoded.ok) t.regex(decoded.message, /larger than/);
});

test('replies: success and failure round-trip; region is optional', (t) => {
  const success = { ok: true as const, token: 'a.b.c', expiresAt: '2030-01-01T00:00:00.000Z', region: 'us-ashburn-1' };
  t.deepEqual(decodeExchangeReply(encodeExchangeMessage(success)), success);
  const { region: _region, ...withoutRegion } = success;
  t.deepEqual(decodeExchangeReply(encodeExchangeMessage(withoutRegion)), withoutRegion);
  const failure = { ok: false as const, code: EXCHANGE_CODES.NOT_OWNED, message: 'no such binding' };
  t.deepEqual(decodeExchangeReply(encodeExchangeMessage(failure)), failure);
});

const badReplies: Array<[string, unknown, RegExp]> = [
  ['garbage', '<html>', /not UTF-8 JSON/],
  ['no ok', { token: 'x', expiresAt: '2030-01-01T00:00:00Z' }, /"ok" must be true or false/],
  ['empty token', { ok: true, token: '', expiresAt: '2030-01-01T00:00:00Z' }, /token must be/],
  ['token with whitespace', { ok: true, token: 'a b', expiresAt: '2030-01-01T00:00:00Z' }, /token must be/],
  ['bad expiry', { ok: true, token: 'x', expiresAt: 'soon' }, /expiresAt/],
  ['bad region', { ok: true, token: 'x', expiresAt: '2030-01-01T00:00:00Z', region: 'US East\n' }, /region/],
  ['failure without a SIGIL code', { ok: false, code: 'oops', message: 'x' }, /SIGIL_ERR_ code/],
  ['an extra field', { ok: true, token: 'x', expiresAt: '2030-01-01T00:00:00Z', privateKey: 'x' }, /unknown field "privateKey"/],
];

for (const [what, input, message] of badReplies) {
  test(`reply turned into a BAD_MESSAGE failure: ${what}`, (t) => {
    const reply = decodeExchangeReply(bytes(input));
    t.false(reply.ok);
    if (reply.ok) return;
    t.is(reply.code, EXCHANGE_CODES.BAD_MESSAGE);
    t.regex(reply.message, message);
  });
}

test('a failure message from the control plane is capped in length', (t) => {
  const reply = decodeExchangeReply(bytes({ ok: false, code: EXCHANGE_CODES.INTERNAL, message: 'x'.repeat(5000) }));
  t.false(reply.ok);
  if (!reply.ok) t.is(reply.message.length, 1024);
});
