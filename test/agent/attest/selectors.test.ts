import test from 'ava';
import { AgentError } from '../../../agent/errors.js';
import type { ProcessFacts } from '../../../agent/attest/facts.js';
import { allHold, disallowedInjectionEnv, parseSelector, parseSelectorSet, selectorsThatHold } from '../../../agent/attest/selectors.js';

const SHA = 'a'.repeat(64);
const SCRIPT_SHA = 'b'.repeat(64);

const facts: ProcessFacts = {
  source: 'proc',
  pid: 42,
  startTimeTicks: 1000n,
  exePath: '/usr/bin/python3.11',
  exeDeleted: false,
  sha256: SHA,
  uid: 1000,
  gid: 100,
  realUid: 1000,
  realGid: 100,
  user: 'alice',
  systemdUnit: 'exporter.service',
  script: { interpreter: 'python', path: '/opt/exporter/main.py', sha256: SCRIPT_SHA },
  injectionEnv: [],
  envComplete: true,
};

test('valid selectors parse', (t) => {
  for (const text of [
    `unix:sha256:${SHA}`, 'unix:path:/usr/bin/x', 'unix:uid:0', 'unix:gid:4294967294', 'unix:user:www-data',
    'systemd:unit:nginx.service', 'systemd:unit:session-2.scope', 'systemd:unit:getty@tty1.service', `script:sha256:${SHA}`,
    'env:allow:NODE_OPTIONS', 'env:allow:_JAVA_OPTIONS', 'env:allow:ld_preload',
  ]) {
    t.is(parseSelector(text).text, text);
  }
});

test('syntax errors are SIGIL_ERR_ATTEST_SELECTOR and name the selector', (t) => {
  for (const text of [
    'unix:sha256:ABC', `unix:sha256:${'A'.repeat(64)}`, 'unix:path:relative/x', 'unix:uid:-1', 'unix:uid:01',
    'unix:uid:4294967295', 'unix:gid:x', 'unix:user:', 'systemd:unit:nginx', 'systemd:unit:foo.slice',
    `script:sha256:${SHA}0`, 'k8s:ns:default', 'unix:sha256', '', 'env:allow:', 'env:allow:1X', 'env:allow:A-B',
    'env:allow:A=1', 'env:allow:NODE_OPTIONS ', 'env:allow:*', 'env:NODE_OPTIONS',
  ]) {
    const err = t.throws(() => parseSelector(text), { instanceOf: AgentError });
    t.is(err?.code, 'SIGIL_ERR_ATTEST_SELECTOR');
    t.true(err?.message.includes(`"${text}"`), err?.message);
  }
});

test('script:sha256 without unix:sha256 is refused; with it, accepted', (t) => {
  const err = t.throws(() => parseSelectorSet([`script:sha256:${SCRIPT_SHA}`, 'unix:uid:1000']), { instanceOf: AgentError });
  t.is(err?.code, 'SIGIL_ERR_ATTEST_SELECTOR');
  t.true(err?.message.includes('unix:sha256'));
  t.is(parseSelectorSet([`script:sha256:${SCRIPT_SHA}`, `unix:sha256:${SHA}`]).length, 2);
});

test('empty sets and contradictory values are refused', (t) => {
  t.throws(() => parseSelectorSet([]), { code: 'SIGIL_ERR_ATTEST_SELECTOR' });
  const err = t.throws(() => parseSelectorSet(['unix:uid:1', 'unix:uid:2']), { code: 'SIGIL_ERR_ATTEST_SELECTOR' });
  t.true(err?.message.includes('unix:uid:1') && err.message.includes('unix:uid:2'));
  t.is(parseSelectorSet(['unix:uid:1', 'unix:uid:1']).length, 2);
});

test('a set matches only when every selector holds', (t) => {
  t.true(allHold(parseSelectorSet([`unix:sha256:${SHA}`, 'unix:uid:1000', 'systemd:unit:exporter.service']), facts));
  t.true(allHold(parseSelectorSet([`unix:sha256:${SHA}`, `script:sha256:${SCRIPT_SHA}`]), facts));
  t.false(allHold(parseSelectorSet([`unix:sha256:${SHA}`, 'unix:uid:1001']), facts));
  t.false(allHold(parseSelectorSet([`unix:sha256:${SHA}`, `script:sha256:${SHA}`]), facts));
  t.false(allHold(parseSelectorSet(['unix:user:bob']), facts));
  t.false(allHold(parseSelectorSet(['unix:gid:1000']), facts));
  t.false(allHold(parseSelectorSet(['unix:path:/usr/bin/python3']), facts));
  t.false(allHold(parseSelectorSet(['systemd:unit:other.service']), facts));
  t.false(allHold(parseSelectorSet([`unix:sha256:${SCRIPT_SHA}`]), { ...facts, script: undefined }));
});

test('selectorsThatHold lists every fact as a selector, and each of them holds', (t) => {
  const list = selectorsThatHold(facts);
  t.deepEqual(list, [
    `unix:sha256:${SHA}`, 'unix:path:/usr/bin/python3.11', 'unix:uid:1000', 'unix:gid:100', 'unix:user:alice',
    'systemd:unit:exporter.service', `script:sha256:${SCRIPT_SHA}`,
  ]);
  t.true(allHold(parseSelectorSet(list), facts));
  t.deepEqual(selectorsThatHold({ ...facts, user: undefined, systemdUnit: undefined, script: undefined }).length, 4);
});

test('env:allow: may repeat with different names, holds for any process, and never makes an identity alone', (t) => {
  const set = parseSelectorSet([`unix:sha256:${SHA}`, 'env:allow:NODE_OPTIONS', 'env:allow:LD_PRELOAD']);
  t.is(set.length, 3);
  t.true(allHold(set, facts));
  const err = t.throws(() => parseSelectorSet(['env:allow:NODE_OPTIONS']), { code: 'SIGIL_ERR_ATTEST_SELECTOR' });
  t.regex(err?.message ?? '', /names the process/);
  t.throws(() => parseSelectorSet(['env:allow:NODE_OPTIONS', 'env:allow:LD_PRELOAD']), { code: 'SIGIL_ERR_ATTEST_SELECTOR' });
});

test('disallowedInjectionEnv: the variables present that no env:allow: names', (t) => {
  const set = parseSelectorSet([`unix:sha256:${SHA}`, 'env:allow:NODE_OPTIONS']);
  t.deepEqual(disallowedInjectionEnv(set, { ...facts, injectionEnv: ['LD_PRELOAD', 'NODE_OPTIONS'] }), ['LD_PRELOAD']);
  t.deepEqual(disallowedInjectionEnv(set, { ...facts, injectionEnv: ['NODE_OPTIONS'] }), []);
  t.false(selectorsThatHold({ ...facts, injectionEnv: ['NODE_OPTIONS'] }).some((s) => s.startsWith('env:')));
});
