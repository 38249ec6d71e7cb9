import test from 'ava';
import { parseServerList } from '../../../common/nats/servers.js';

test('a list, one URL, or a comma-separated string: every server kept, in order, duplicates once', (t) => {
  t.deepEqual(parseServerList(['nats://a:4222', 'tls://b:4223', 'c:4224']), { ok: true, servers: ['nats://a:4222', 'tls://b:4223', 'c:4224'] });
  t.deepEqual(parseServerList('nats://a:4222'), { ok: true, servers: ['nats://a:4222'] });
  t.deepEqual(parseServerList('nats://a:4222, nats://b:4222,nats://c:4222'), { ok: true, servers: ['nats://a:4222', 'nats://b:4222', 'nats://c:4222'] });
  t.deepEqual(parseServerList(['nats://a:4222', 'nats://a:4222']), { ok: true, servers: ['nats://a:4222'] });
  t.deepEqual(parseServerList('tls://[::1]:4222'), { ok: true, servers: ['tls://[::1]:4222'] });
});

test('anything else is refused with the entry named', (t) => {
  const problem = (v: unknown): string => {
    const r = parseServerList(v);
    return r.ok ? 'accepted' : r.problem;
  };
  t.regex(problem(42), /must be a NATS URL or a list/);
  t.regex(problem([]), /at least one/);
  t.regex(problem(['nats://a:4222', 7]), /entry 2 must be a string/);
  t.regex(problem('nats://a:4222,'), /"" is not a NATS URL/);
  t.regex(problem('http://a:4222'), /"http:\/\/a:4222" is not a NATS URL/);
  t.regex(problem('nats://a'), /is not a NATS URL/);
  t.regex(problem('nats://a:99999'), /port out of range/);
});
