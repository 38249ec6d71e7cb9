import test from 'ava';
import { SessionStore, sessionCookie, sessionIdOf, SESSION_COOKIE } from '../../../controlplane/console/sessions.js';
import { sameOrigin } from '../../../controlplane/console/security.js';
import type { IncomingMessage } from 'node:http';

test('sessions are random ids that expire and can be ended', (t) => {
  let now = 1_000_000;
  const store = new SessionStore(60, () => now);
  const a = store.create('viewer');
  const b = store.create('admin');
  t.not(a.id, b.id);
  t.regex(a.id, /^[A-Za-z0-9_-]{43}$/, '32 random bytes');
  t.is(store.get(a.id)?.role, 'viewer');
  t.is(store.get('guess'), undefined);
  t.is(store.get(undefined), undefined);
  store.delete(b.id);
  t.is(store.get(b.id), undefined);
  now += 60_000;
  t.is(store.get(a.id), undefined, 'expired');
});

test('the cookie carries only the id, HttpOnly, SameSite=Strict, Path=/ui; it is read back from a Cookie header', (t) => {
  const s = new SessionStore(3600).create('viewer');
  const cookie = sessionCookie(s, false);
  t.regex(cookie, new RegExp(`^${SESSION_COOKIE}=${s.id}; Path=/ui; HttpOnly; SameSite=Strict; Max-Age=\\d+$`));
  t.regex(sessionCookie(s, true), /; Secure$/);
  t.is(sessionIdOf(`a=b; ${SESSION_COOKIE}=${s.id}; c=d`), s.id);
  t.is(sessionIdOf('a=b'), undefined);
});

test('a form POST counts as ours only with same-origin evidence', (t) => {
  const req = (headers: Record<string, string>) => ({ headers: { host: '127.0.0.1:8787', ...headers } }) as unknown as IncomingMessage;
  t.true(sameOrigin(req({ 'sec-fetch-site': 'same-origin' })));
  t.false(sameOrigin(req({ 'sec-fetch-site': 'same-site' })));
  t.false(sameOrigin(req({ 'sec-fetch-site': 'cross-site', origin: 'http://127.0.0.1:8787' })), 'the browser\'s own word wins');
  t.false(sameOrigin(req({ 'sec-fetch-site': 'none' })));
  t.true(sameOrigin(req({ origin: 'http://127.0.0.1:8787' })));
  t.false(sameOrigin(req({ origin: 'http://evil.example' })));
  t.false(sameOrigin(req({ origin: 'null' })));
  t.false(sameOrigin(req({})), 'no evidence: refused');
});
