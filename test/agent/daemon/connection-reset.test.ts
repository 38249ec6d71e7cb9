import test from 'ava';
import pino from 'pino';
import { ConnectionReset } from '../../../agent/daemon/connection-reset.js';
import type { Endpoint } from '../../../agent/steering/index.js';

const log = pino({ level: 'silent' });

test('changes written in one policy application are ended together, with the current remotes', async (t) => {
  const calls: Array<{ tgids: number[]; remotes: Endpoint[] }> = [];
  const reset = new ConnectionReset({
    remotes: () => [{ addr: '192.0.2.10', port: 443 }],
    log,
    end: (tgids, remotes) => {
      calls.push({ tgids: [...tgids], remotes: [...remotes] });
      return { matched: 2, ended: 2, errors: [] };
    },
  });
  reset.changed(101);
  reset.changed(102);
  reset.changed(101);
  t.is(calls.length, 0, 'ended synchronously, before the rest of the application was written');
  await new Promise((r) => setImmediate(r));
  t.deepEqual(calls, [{ tgids: [101, 102], remotes: [{ addr: '192.0.2.10', port: 443 }] }]);
  t.deepEqual(reset.totals, { processes: 2, ended: 2, failed: 0 });
});

test('a failure to end (no CAP_NET_ADMIN) is counted and logged, never thrown', async (t) => {
  const reset = new ConnectionReset({
    remotes: () => [{ addr: '192.0.2.10', port: 443 }],
    log,
    end: () => { throw Object.assign(new Error('SOCK_DESTROY: Operation not permitted (EPERM)'), { code: 'EPERM' }); },
  });
  reset.changed(7);
  t.is(reset.flush(), undefined);
  t.is(reset.totals.failed, 1);
});
