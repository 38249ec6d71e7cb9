import test from 'ava';
import { natsServersFor, type Enrollment } from '../../../agent/fleet/enrollment.js';

const base = { agentId: 'agent-000000000001', bundleSigningJwk: {} as Enrollment['bundleSigningJwk'], controlPlane: 'http://cp', enrolledAt: '' };

test("the agent's own servers win; else the enrolment's list; else its one URL (older enrolments)", (t) => {
  const enrolled: Enrollment = { ...base, natsUrl: 'tls://n1:4222', natsServers: ['tls://n1:4222', 'tls://n2:4223'] };
  t.deepEqual(natsServersFor(enrolled, undefined), ['tls://n1:4222', 'tls://n2:4223']);
  t.deepEqual(natsServersFor(enrolled, ['nats://mine:4222']), ['nats://mine:4222']);
  t.deepEqual(natsServersFor({ ...base, natsUrl: 'nats://old:4222' }, undefined), ['nats://old:4222']);
});
