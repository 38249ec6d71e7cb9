/**
 * FleetMonitor's program check, heartbeat by heartbeat: the expected set is what the agent says its
 * build ships (or a configured one), never what the kernel happened to show; any difference is a
 * reason (missing, wrong tag, foreign program of any name), and every reason clears once the kernel
 * view matches again.
 */
import test from 'ava';
import { FleetMonitor } from '../../../controlplane/fleet/fleet-monitor.js';
import type { AgentRecord } from '../../../controlplane/fleet/agent-registry.js';
import { decodeHeartbeat, type Heartbeat, type ProgramInfo, type ShippedProgram } from '../../../protocol/fleet.js';

const AGENT_ID = 'agt_0123456789abcdef';
const agent: AgentRecord = { id: AGENT_ID, hostname: 'h', labels: {}, publicNkey: 'U', enrolledAt: new Date(0).toISOString() };
const INTERVAL = 1000;

const OURS: ProgramInfo[] = [
  { attachType: 'cgroup_inet4_connect', id: 1, name: 'sigil_connect4', tag: 'a1a1a1a1a1a1a1a1' },
  { attachType: 'cgroup_inet4_connect', id: 2, name: 'sigil_guard4', tag: 'a2a2a2a2a2a2a2a2' },
  { attachType: 'cgroup_sock_ops', id: 3, name: 'sigil_sockops', tag: 'c3c3c3c3c3c3c3c3' },
];
const SHIPPED: ShippedProgram[] = OURS.map(({ attachType, name, tag }) => ({ attachType, name, tag }));
const FOREIGN: ProgramInfo = { attachType: 'cgroup_inet4_connect', id: 99, name: 'foreign_c4', tag: 'f0f0f0f0f0f0f0f0' };

function world(options: { expected?: ShippedProgram[] } = {}) {
  let now = 1_000_000;
  const monitor = new FleetMonitor({ heartbeatIntervalMs: INTERVAL, silentAfterIntervals: 3, ...(options.expected ? { expectedPrograms: options.expected } : {}) }, () => now);
  const beat = (programs: ProgramInfo[], extra: Partial<Heartbeat> = {}) => {
    now += INTERVAL;
    const heartbeat: Heartbeat = { agentId: AGENT_ID, version: '0.1.0', revision: 0, sentAt: new Date(now).toISOString(), programs, shippedPrograms: SHIPPED, counters: {}, workloads: [], refused: [], ...extra };
    monitor.recordHeartbeat(AGENT_ID, heartbeat);
    return monitor.stateOf(agent, undefined);
  };
  return { monitor, beat };
}

test('the kernel view matching the shipped set is healthy', (t) => {
  t.deepEqual(world().beat(OURS), { state: 'healthy', reasons: [] });
});

test('a foreign program of any name on a Sigil hook is flagged; once removed the reason clears and no false "missing" appears', (t) => {
  const { beat } = world();
  t.is(beat(OURS).state, 'healthy');
  const withForeign = beat([...OURS, FOREIGN]);
  t.is(withForeign.state, 'degraded');
  t.deepEqual(withForeign.reasons, ['foreign program foreign_c4 (cgroup_inet4_connect, id 99, tag f0f0f0f0f0f0f0f0) on the steered cgroup']);
  t.deepEqual(beat(OURS), { state: 'healthy', reasons: [] }, 'nothing was learned from the foreign program');
  t.deepEqual(beat(OURS), { state: 'healthy', reasons: [] });
});

test('a foreign program present from the very first heartbeat is flagged too (nothing is learned)', (t) => {
  const { beat } = world();
  t.is(beat([...OURS, FOREIGN]).state, 'degraded');
});

test('a program missing from the first heartbeat on is missing; back, it clears', (t) => {
  const { beat } = world();
  const missing = beat(OURS.filter((p) => p.name !== 'sigil_guard4'));
  t.deepEqual(missing.reasons, ['missing program sigil_guard4 (cgroup_inet4_connect)']);
  t.is(beat(OURS).state, 'healthy');
});

test('a same-named program with another tag is named as such; beside ours it is foreign', (t) => {
  const { beat } = world();
  const impostor: ProgramInfo = { ...OURS[0]!, id: 50, tag: 'eeeeeeeeeeeeeeee' };
  t.deepEqual(beat([impostor, OURS[1]!, OURS[2]!]).reasons, ['program sigil_connect4 (cgroup_inet4_connect) has tag eeeeeeeeeeeeeeee, expected a1a1a1a1a1a1a1a1']);
  t.deepEqual(beat([...OURS, impostor]).reasons, ['foreign program sigil_connect4 (cgroup_inet4_connect, id 50, tag eeeeeeeeeeeeeeee) on the steered cgroup']);
  t.is(beat(OURS).state, 'healthy');
});

test('an agent that does not say what it ships is degraded rather than trusted', (t) => {
  const { beat } = world();
  const state = beat(OURS, { shippedPrograms: undefined });
  t.is(state.state, 'degraded');
  t.regex(state.reasons[0] ?? '', /does not report the programs its build ships/);
});

test('a configured expected set overrides what the agent says it ships', (t) => {
  const { beat } = world({ expected: [{ attachType: 'cgroup_sock_ops', name: 'sigil_sockops', tag: 'c3c3c3c3c3c3c3c3' }] });
  const state = beat([OURS[2]!, FOREIGN]);
  t.deepEqual(state.reasons, ['foreign program foreign_c4 (cgroup_inet4_connect, id 99, tag f0f0f0f0f0f0f0f0) on the steered cgroup']);
});

test('a repair the agent reports keeps it degraded for a few intervals (at least 5 s), then it is healthy again', (t) => {
  const { beat } = world();
  const repaired = beat(OURS, { repairs: [{ at: '2026-12-01T09:00:00.000Z', name: 'sigil_connect4', attachType: 'cgroup_inet4_connect', problem: 'detached', action: 're-attached' }] });
  t.is(repaired.state, 'degraded');
  t.deepEqual(repaired.reasons, ['program sigil_connect4 (cgroup_inet4_connect) was detached at 2026-12-01T09:00:00.000Z; the agent re-attached it']);
  let state = repaired;
  let beats = 0;
  for (; beats < 20 && state.state !== 'healthy'; beats++) state = beat(OURS);
  t.true(beats >= 3, `shown for ${beats} more heartbeats`);
  t.deepEqual(state, { state: 'healthy', reasons: [] });
});

test('a binding without a session token degrades the agent with the exchange\'s reason; a failing refresh says the old token is in use; success clears it', (t) => {
  const { beat } = world();
  const error = { code: 'SIGIL_ERR_EXCHANGE_SOURCE_MISCONFIGURED', message: 'client secret file /x cannot be opened (ENOENT)' };
  t.deepEqual(beat(OURS, { bindings: [{ id: 'b1', state: 'failing', error }, { id: 'b2', state: 'fresh' }] }), {
    state: 'degraded', reasons: ['binding b1: no session token: client secret file /x cannot be opened (ENOENT) (SIGIL_ERR_EXCHANGE_SOURCE_MISCONFIGURED)'],
  });
  t.deepEqual(beat(OURS, { bindings: [{ id: 'b1', state: 'fresh', error }] }).reasons,
    ['binding b1: session token refresh failing, old token still in use: client secret file /x cannot be opened (ENOENT) (SIGIL_ERR_EXCHANGE_SOURCE_MISCONFIGURED)']);
  t.deepEqual(beat(OURS, { bindings: [{ id: 'b1', state: 'fresh' }, { id: 'b3', state: 'pending' }] }), { state: 'healthy', reasons: [] });
});

test('decodeHeartbeat takes binding states and refuses malformed ones', (t) => {
  const base = { agentId: 'agent-0123456789ab', version: '0.1.0', revision: 0, sentAt: new Date(0).toISOString(), programs: [], counters: {}, workloads: [], refused: [] };
  const ok = decodeHeartbeat(JSON.stringify({ ...base, bindings: [{ id: 'b1', state: 'failing', error: { code: 'C', message: 'm' } }] }));
  t.true(ok.ok, ok.ok ? '' : ok.reason);
  t.true(decodeHeartbeat(JSON.stringify(base)).ok, 'absent from older agents');
  for (const bindings of [{}, [{ id: 'b1', state: 'broken' }], [{ id: '', state: 'fresh' }], [{ id: 'b1', state: 'fresh', error: { code: 'C' } }]]) {
    const r = decodeHeartbeat(JSON.stringify({ ...base, bindings }));
    t.false(r.ok, JSON.stringify(bindings));
  }
});
