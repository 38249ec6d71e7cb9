import test from 'ava';
import type { ProcessFacts } from '../../../agent/attest/facts.js';
import { Matcher } from '../../../agent/attest/matcher.js';
import { binding } from './support.js';

const SHA = 'c'.repeat(64);
const OTHER = 'd'.repeat(64);
const facts: ProcessFacts = {
  source: 'proc', pid: 7, startTimeTicks: 1n, exePath: '/opt/app/bin/app', exeDeleted: false, sha256: SHA,
  uid: 1000, gid: 1000, realUid: 1000, realGid: 1000, user: 'app', systemdUnit: 'app.service', script: undefined,
  injectionEnv: [], envComplete: true,
};

test('no binding matches: unbound, index 0 never used by a workload', (t) => {
  const m = Matcher.compile([binding('b1', 'other', [`unix:sha256:${OTHER}`])]);
  t.deepEqual(m.match(facts), { state: 'unbound', reason: 'no-match' });
  t.is(m.workloads[0]?.index, 1);
});

test('several bindings of one workload: bound once, with every matching binding', (t) => {
  const m = Matcher.compile([
    binding('b-os', 'app', [`unix:sha256:${SHA}`], ['objectstorage.us-ashburn-1.oraclecloud.com']),
    binding('b-vault', 'app', [`unix:sha256:${SHA}`], ['vaults.us-ashburn-1.oci.oraclecloud.com']),
    binding('b-x', 'zeta', [`unix:sha256:${OTHER}`]),
  ]);
  const r = m.match(facts);
  if (r.state !== 'bound') return t.fail('expected bound');
  t.is(r.workload.workload, 'app');
  t.deepEqual(r.bindings.map((b) => b.id), ['b-os', 'b-vault']);
  t.is(m.workloadAt(r.workload.index)?.workload, 'app');
});

test('bindings of two different workloads match: refused as ambiguous', (t) => {
  const m = Matcher.compile([
    binding('b1', 'by-hash', [`unix:sha256:${SHA}`]),
    binding('b2', 'by-unit', ['systemd:unit:app.service']),
  ]);
  t.deepEqual(m.match(facts), { state: 'unbound', reason: 'ambiguous', workloads: ['by-hash', 'by-unit'] });
});

test('the workload table does not depend on bundle order', (t) => {
  const specs = [
    binding('b3', 'c', ['unix:uid:3']), binding('b1', 'a', ['unix:uid:1']),
    binding('b2', 'b', ['unix:uid:2']), binding('b0', 'a', ['unix:uid:1']),
  ];
  const forward = Matcher.compile(specs).workloads.map((w) => [w.index, w.workload, w.bindings.map((b) => b.id)]);
  const backward = Matcher.compile([...specs].reverse()).workloads.map((w) => [w.index, w.workload, w.bindings.map((b) => b.id)]);
  t.deepEqual(forward, [[1, 'a', ['b0', 'b1']], [2, 'b', ['b2']], [3, 'c', ['b3']]]);
  t.deepEqual(backward, forward);
});

test('a bad selector anywhere in the bundle throws, naming binding and selector', (t) => {
  const err = t.throws(() => Matcher.compile([
    binding('good', 'a', ['unix:uid:1']),
    binding('bad', 'b', ['unix:uid:1', 'unix:shaa256:00']),
  ]), { code: 'SIGIL_ERR_ATTEST_SELECTOR' });
  t.true(err?.message.includes('"bad"') && err.message.includes('unix:shaa256:00'), err?.message);
});

test('an injection variable its identity does not allow: unbound (injection-env), naming the variable', (t) => {
  const m = Matcher.compile([binding('b1', 'app', [`unix:sha256:${SHA}`, 'unix:uid:1000'])]);
  t.deepEqual(m.match({ ...facts, injectionEnv: ['LD_PRELOAD', 'NODE_OPTIONS'] }), {
    state: 'unbound', reason: 'injection-env', workload: 'app', variables: ['LD_PRELOAD', 'NODE_OPTIONS'], envComplete: true,
  });
  // The same process without them is bound: it is the environment that refuses it.
  t.is(m.match(facts).state, 'bound');
});

test('env:allow: allows exactly the variables it names', (t) => {
  const m = Matcher.compile([binding('b1', 'app', [`unix:sha256:${SHA}`, 'env:allow:NODE_OPTIONS'])]);
  t.is(m.match({ ...facts, injectionEnv: ['NODE_OPTIONS'] }).state, 'bound');
  t.is(m.match(facts).state, 'bound');
  t.like(m.match({ ...facts, injectionEnv: ['LD_PRELOAD', 'NODE_OPTIONS'] }), { state: 'unbound', reason: 'injection-env', variables: ['LD_PRELOAD'] });
});

test('an environment that could not be read whole binds nothing, even with every variable allowed', (t) => {
  const m = Matcher.compile([binding('b1', 'app', [`unix:sha256:${SHA}`, 'env:allow:LD_PRELOAD'])]);
  t.deepEqual(m.match({ ...facts, envComplete: false }), {
    state: 'unbound', reason: 'injection-env', workload: 'app', variables: [], envComplete: false,
  });
});

test('an allowance in one workload does not settle an ambiguity with another', (t) => {
  const m = Matcher.compile([
    binding('b1', 'allows', [`unix:sha256:${SHA}`, 'env:allow:NODE_OPTIONS']),
    binding('b2', 'strict', ['unix:uid:1000']),
  ]);
  t.deepEqual(m.match({ ...facts, injectionEnv: ['NODE_OPTIONS'] }), { state: 'unbound', reason: 'ambiguous', workloads: ['allows', 'strict'] });
});

test('a process that matches no selectors stays no-match whatever its environment', (t) => {
  const m = Matcher.compile([binding('b1', 'other', [`unix:sha256:${OTHER}`])]);
  t.deepEqual(m.match({ ...facts, injectionEnv: ['LD_PRELOAD'], envComplete: false }), { state: 'unbound', reason: 'no-match' });
});
