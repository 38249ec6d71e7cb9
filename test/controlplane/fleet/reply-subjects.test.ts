/**
 * Issue 14 (4): a request is answered only in the asking agent's own inbox. Agent A, with its real
 * NATS user, asks on its own `sigil.cp.A.bundle.get` / `.exchange` but names B's push subject or a
 * control-plane subject of B as the reply: the control plane must publish nothing there (a full
 * user subscribed to all of B's subjects sees nothing) and count the drop on /metrics.
 */
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { connect, credsAuthenticator, type Msg } from '@nats-io/transport-node';
import { isOwnInbox, subjects } from '../../../protocol/subjects.js';
import { encodeExchangeMessage } from '../../../protocol/exchange.js';
import { parsePrometheusText, sampleValue } from '../../helpers/prometheus-text.js';
import { eventually, startFleetWorld } from './fleet-world.js';

const REFUSED = 'sigil_controlplane_requests_refused_reply_total';

test('only _INBOX.<agentId>.<token>… is an agent\'s own inbox', (t) => {
  t.true(isOwnInbox('agent-aaa', '_INBOX.agent-aaa.x1'));
  t.true(isOwnInbox('agent-aaa', '_INBOX.agent-aaa.x1.y2'));
  for (const reply of [undefined, '', '_INBOX.agent-aaa', '_INBOX.agent-aaa.', '_INBOX.agent-aaab.x', '_INBOX.agent-bbb.x',
    '_INBOX.agent-aaa.*', '_INBOX.agent-aaa.>', '_INBOX.agent-aaa..x', '_INBOX.agent-aaa.a b', 'sigil.agent.agent-aaa.bundle', '_INBOX.x']) {
    t.false(isOwnInbox('agent-aaa', reply), String(reply));
  }
});

test('agent A\'s requests with reply subjects outside its inbox are dropped and counted; nothing reaches B\'s subjects', async (t) => {
  const world = await startFleetWorld(t);
  const a = await world.addAgent();
  const b = await world.addAgent();
  await eventually(() => a.applied.length > 0 && b.applied.length > 0, 5_000, 'both agents got their bundles');
  const A = a.client.agentId;
  const B = b.client.agentId;

  // The judge: a full user (the control plane's own creds) hears everything published for B.
  const watcher = await connect({ servers: world.nats.url, authenticator: credsAuthenticator(new TextEncoder().encode(world.auth.controlPlaneCreds)) });
  t.teardown(() => watcher.close());
  const onB: string[] = [];
  const record = (err: Error | null, m: Msg): void => { if (!err) onB.push(`${m.subject} ${m.string().slice(0, 80)}`); };
  watcher.subscribe(`sigil.agent.${B}.>`, { callback: record });
  watcher.subscribe(`sigil.cp.${B}.>`, { callback: record });
  watcher.subscribe(`${subjects.inboxPrefix(B)}.>`, { callback: record });
  await watcher.flush();
  // B's own client keeps heartbeating meanwhile: stop it so every message on B's subjects is suspect.
  await b.client.stop();
  await watcher.flush();
  onB.length = 0;

  const scrape = async (handler: string): Promise<number> => {
    const text = await (await fetch(`${world.cp.url}/metrics`)).text();
    return sampleValue(parsePrometheusText(text), REFUSED, { handler }) ?? 0;
  };
  const before = { get: await scrape('bundle.get'), exchange: await scrape('exchange') };

  const nc = await connect({ servers: world.nats.url, authenticator: credsAuthenticator(await readFile(`${a.stateDir}/nats.creds`)), inboxPrefix: subjects.inboxPrefix(A) });
  t.teardown(() => nc.close());
  const tricks = [subjects.bundlePush(B), subjects.heartbeat(B)];
  for (const reply of tricks) nc.publish(subjects.bundleGet(A), '', { reply });
  nc.publish(subjects.exchange(A), encodeExchangeMessage({ bindingId: 'x', publicKey: 'AAAA' }), { reply: subjects.bundlePush(B) });
  await nc.flush();

  // The drops are decided (counted) before anything could be published for them.
  await eventually(async () => (await scrape('bundle.get')) >= before.get + tricks.length && (await scrape('exchange')) >= before.exchange + 1, 5_000, 'drops counted');
  t.is(await scrape('bundle.get'), before.get + tricks.length);
  t.is(await scrape('exchange'), before.exchange + 1);

  // The handler still answers A in its own inbox (so it was alive and chose to drop the others).
  const own = (await nc.request(subjects.bundleGet(A), '', { timeout: 3_000 })).json<{ ok: boolean }>();
  t.true(own.ok);
  await nc.flush();
  await watcher.flush();
  t.deepEqual(onB, [], 'something was published on B\'s subjects');
});
