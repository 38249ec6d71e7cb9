import test from 'ava';
import { bounded, boundedProblem } from '../../common/bounded.js';
import { AGENT_SETTINGS } from '../../agent/settings.js';
import { DEFAULT_TOKEN_LIFETIME, tokenLifetimeProblem } from '../../controlplane/issuer/token-lifetime.js';

test('a setting whose default lies outside its own range cannot be declared', (t) => {
  t.throws(() => bounded(10, 20, 30), { instanceOf: RangeError });
  t.throws(() => bounded(1.5, 0, 3), { instanceOf: RangeError });
  t.notThrows(() => bounded(20, 20, 30));
});

test('a value is checked against the range, with the range in the message', (t) => {
  const s = bounded(5, 1, 9);
  t.is(boundedProblem(s, 9), undefined);
  t.is(boundedProblem(s, 10), 'must be a whole number from 1 to 9');
  t.is(boundedProblem(s, '5'), 'must be a whole number from 1 to 9');
  t.is(boundedProblem(s, 2.5), 'must be a whole number from 1 to 9');
});

test("every agent setting's default is within its range", (t) => {
  for (const [name, s] of Object.entries(AGENT_SETTINGS)) t.is(boundedProblem(s, s.default), undefined, name);
});

test('a token lifetime holds together: defaults pass, a default above the maximum does not', (t) => {
  t.is(tokenLifetimeProblem(DEFAULT_TOKEN_LIFETIME), undefined);
  t.deepEqual(tokenLifetimeProblem({ ...DEFAULT_TOKEN_LIFETIME, defaultTtlSeconds: 7200, maxTokenTtlSeconds: 3600 }), ['defaultTtlSeconds', 'must not exceed maxTokenTtlSeconds']);
  t.deepEqual(tokenLifetimeProblem({ ...DEFAULT_TOKEN_LIFETIME, skewSeconds: -1 }), ['skewSeconds', 'must be a whole number from 0 to 3600']);
});
