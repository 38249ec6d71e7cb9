/**
 * One load process (stack-load.test.ts): `--conns` keep-alive HTTPS connections to Object Storage,
 * all open at once, each sending `--requests` GetNamespace calls in turn, every one tagged with
 * `x-test-tag: <tag>` so the stand-in can say which principal signed which client's request. It
 * knows nothing of Sigil (trust comes from NODE_EXTRA_CA_CERTS) and prints one JSON summary line:
 * {tag, ok, errors, statuses, firstError, connections, ms}.
 *
 *   node stack-load-client.js --host objectstorage.<region>.oraclecloud.com --conns 56 --requests 100 --tag a
 */
import https from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { host: { type: 'string' }, conns: { type: 'string' }, requests: { type: 'string' }, tag: { type: 'string' } },
});
const host = values.host ?? '';
const conns = Number(values.conns);
const perConn = Number(values.requests);
const tag = values.tag ?? 'load';

const statuses: Record<string, number> = {};
let ok = 0;
let errors = 0;
let firstError: string | undefined;
const sockets = new Set<unknown>();

function once(agent: https.Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host, path: '/n/', method: 'GET', agent, headers: { 'x-test-tag': tag } }, (res) => {
      sockets.add(res.socket);
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(60_000, () => req.destroy(new Error('request timed out after 60 s')));
    req.on('error', reject);
    req.end();
  });
}

/** One connection's worth of work: its own agent with one kept-alive socket. */
async function connection(): Promise<void> {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < perConn; i++) {
    try {
      const status = await once(agent);
      statuses[status] = (statuses[status] ?? 0) + 1;
      if (status === 200) ok++;
      else errors++;
    } catch (err) {
      errors++;
      statuses['error'] = (statuses['error'] ?? 0) + 1;
      firstError ??= (err as Error).message;
    }
  }
  agent.destroy();
}

const started = performance.now();
await Promise.all(Array.from({ length: conns }, () => connection()));
process.stdout.write(`${JSON.stringify({ tag, ok, errors, statuses, firstError, connections: sockets.size, ms: Math.round(performance.now() - started) })}\n`);
