/** The control plane's metric families, served through the shared admin endpoint and parsed strictly. */
import test from 'ava';
import { startAdminServer } from '../../agent/admin/index.js';
import { createLogger } from '../../agent/log.js';
import { ControlPlaneMetrics, type FleetSnapshot } from '../../controlplane/http/metrics.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';

test('fleet state counts, revisions, applies and exchanges parse and move', async (t) => {
  let fleet: FleetSnapshot = { currentRevision: 3, agents: [] };
  const metrics = new ControlPlaneMetrics({ fleet: async () => fleet });
  const server = await startAdminServer({ listen: '127.0.0.1:0', log: createLogger({ level: 'silent' }), metrics: () => metrics.render(), health: () => ({ started: true, ready: true, live: true }) });
  t.teardown(() => server.close());
  const scrape = async () => parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());

  let m = await scrape();
  for (const state of ['healthy', 'degraded', 'silent', 'revoked']) t.is(sampleValue(m, 'sigil_controlplane_agents', { state }), 0, `${state} is exported at zero`);
  t.is(sampleValue(m, 'sigil_controlplane_policy_revision'), 3);

  fleet = {
    currentRevision: 5,
    agents: [
      { id: 'agent-b', state: 'healthy', appliedRevision: 5, lastHeartbeatAgeSeconds: 2.5 },
      { id: 'agent-a', state: 'degraded', appliedRevision: 4, lastHeartbeatAgeSeconds: 10 },
      { id: 'agent-c', state: 'silent', appliedRevision: 0, lastHeartbeatAgeSeconds: undefined },
      { id: 'agent-d', state: 'healthy', appliedRevision: 5, lastHeartbeatAgeSeconds: 1 },
    ],
  };
  metrics.resourceApplied('WorkloadIdentity');
  metrics.resourceApplied('WorkloadIdentity');
  metrics.resourceApplied('WorkloadCredential');
  metrics.bundleAck(true);
  metrics.bundleAck(false);
  metrics.exchange('ok');
  metrics.exchange('ok');
  metrics.exchange('denied');

  m = await scrape();
  t.is(sampleValue(m, 'sigil_controlplane_agents', { state: 'healthy' }), 2);
  t.is(sampleValue(m, 'sigil_controlplane_agents', { state: 'degraded' }), 1);
  t.is(sampleValue(m, 'sigil_controlplane_agents', { state: 'silent' }), 1);
  t.is(sampleValue(m, 'sigil_controlplane_policy_revision'), 5);
  t.is(sampleValue(m, 'sigil_controlplane_agent_applied_revision', { agent: 'agent-a' }), 4);
  t.is(sampleValue(m, 'sigil_controlplane_agent_heartbeat_age_seconds', { agent: 'agent-b' }), 2.5);
  t.is(sampleValue(m, 'sigil_controlplane_agent_heartbeat_age_seconds', { agent: 'agent-c' }), undefined);
  t.is(sampleValue(m, 'sigil_controlplane_resource_applies_total', { kind: 'WorkloadIdentity' }), 2);
  t.is(sampleValue(m, 'sigil_controlplane_bundle_acks_total', { result: 'refused' }), 1);
  t.is(sampleValue(m, 'sigil_controlplane_exchanges_total', { result: 'ok' }), 2);
  t.is(sampleValue(m, 'sigil_controlplane_exchanges_total', { result: 'denied' }), 1);
});
