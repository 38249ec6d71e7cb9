/**
 * Sequential GetNamespace calls over one kept-alive connection for a while, timed by the client: the
 * outside evidence for "no request waited on a token refresh" (stack-metrics.test.ts). One JSON line
 * per request: { start, ms, status } (start in epoch ms, the clock the test compares with IAM's).
 *
 *   node stack-latency-client.js --host <host> --seconds 40 --tag <t>
 */
import https from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { host: { type: 'string' }, seconds: { type: 'string', default: '10' }, tag: { type: 'string', default: 'latency' } } });
const host = values.host;
if (!host) {
  process.stderr.write('usage: stack-latency-client --host <host> [--seconds N] [--tag T]\n');
  process.exit(2);
}
const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });

function once(): Promise<{ status: number } | { error: string }> {
  return new Promise((resolve) => {
    const req = https.get({ host, path: '/n/', headers: { 'x-test-tag': values.tag }, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', (err) => resolve({ error: err.message }));
  });
}

const until = Date.now() + Number(values.seconds) * 1000;
while (Date.now() < until) {
  const start = Date.now();
  const t0 = performance.now();
  const result = await once();
  process.stdout.write(`${JSON.stringify({ start, ms: Math.round((performance.now() - t0) * 10) / 10, ...result })}\n`);
}
agent.destroy();
