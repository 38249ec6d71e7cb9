/**
 * One corpus of selector sets, checked against both sides: what `sigil apply` accepts (the control
 * plane's resource parser) and what an agent compiles (the matcher) must be the same sets.
 */
import test from 'ava';
import { Matcher } from '../../agent/attest/matcher.js';
import { parseResources } from '../../controlplane/resources/parse.js';
import { ValidationError } from '../../controlplane/resources/issues.js';
import { selectorProblem, selectorSetProblem } from '../../protocol/selectors.js';
import { binding } from '../agent/attest/support.js';
import { identityDoc, yamlOf } from '../controlplane/fixtures.js';

const SHA = 'a'.repeat(64);

const GOOD: string[][] = [
  [`unix:sha256:${SHA}`],
  ['unix:uid:0'],
  ['unix:uid:4294967294'],
  ['unix:gid:4294967294'],
  ['unix:path:/usr/bin/x', 'unix:user:www-data'],
  ['systemd:unit:getty@tty1.service'],
  ['systemd:unit:session-2.scope'],
  [`unix:sha256:${SHA}`, `script:sha256:${'b'.repeat(64)}`, 'unix:uid:1001'],
  [`unix:sha256:${SHA}`, 'env:allow:NODE_OPTIONS'],
  [`unix:sha256:${SHA}`, 'env:allow:NODE_OPTIONS', 'env:allow:LD_PRELOAD', 'env:allow:_JAVA_OPTIONS'],
];

const BAD: string[][] = [
  // The drift the review found: (uid_t)-1 is no uid; the agent always refused it.
  ['unix:uid:4294967295'],
  ['unix:gid:4294967295'],
  ['unix:uid:9999999999'],
  ['unix:uid:01'],
  ['unix:uid:-1'],
  ['unix:sha256:ABC'],
  ['unix:path:relative/x'],
  ['systemd:unit:nginx'],
  ['k8s:ns:default'],
  ['env:allow:'],
  ['env:allow:1ABC', `unix:sha256:${SHA}`],
  ['env:allow:A-B', `unix:sha256:${SHA}`],
  ['env:allow:A=B', `unix:sha256:${SHA}`],
  // Sets: a permission alone, contradictory facts, a script without its interpreter.
  ['env:allow:NODE_OPTIONS'],
  ['unix:uid:1', 'unix:uid:2'],
  [`script:sha256:${SHA}`, 'unix:uid:1'],
  [],
];

function agentAccepts(selectors: string[]): boolean {
  try {
    Matcher.compile([binding('b1', 'w', selectors)]);
    return true;
  } catch {
    return false;
  }
}

function applyAccepts(selectors: string[]): boolean {
  try {
    parseResources(yamlOf(identityDoc('x', { selectors })));
    return true;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    return false;
  }
}

function grammarAccepts(selectors: string[]): boolean {
  return selectors.every((s) => selectorProblem(s) === undefined) && selectorSetProblem(selectors) === undefined;
}

test('sets the grammar accepts are accepted by sigil apply and by the agent', (t) => {
  for (const set of GOOD) {
    t.true(grammarAccepts(set), set.join(' '));
    t.true(applyAccepts(set), `apply: ${set.join(' ')}`);
    t.true(agentAccepts(set), `agent: ${set.join(' ')}`);
  }
});

test('sets the grammar refuses are refused by sigil apply and by the agent', (t) => {
  for (const set of BAD) {
    t.false(grammarAccepts(set), set.join(' '));
    t.false(applyAccepts(set), `apply: ${set.join(' ')}`);
    t.false(agentAccepts(set), `agent: ${set.join(' ')}`);
  }
});
