/**
 * A bound workload that keeps calling (stack-attach.test.ts): GetNamespace over a fresh connection
 * each time (so every call goes through connect(), where steering happens), until `--stop-file`
 * exists or `--max-ms` passes. One JSON line per call: {i, status} or {i, error}. Trust comes from
 * NODE_EXTRA_CA_CERTS.
 *
 *   node stack-loop-client.js --host <oci host> --tag <t> --stop-file <path> [--every-ms 50] [--max-ms 120000]
 */
import { existsSync } from 'node:fs';
import https from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    host: { type: 'string' }, tag: { type: 'string', default: 'loop' }, 'stop-file': { type: 'string' },
    'every-ms': { type: 'string', default: '50' }, 'max-ms': { type: 'string', default: '120000' },
  },
});
const host = values.host ?? '';
const stopFile = values['stop-file'] ?? '';
const deadline = Date.now() + Number(values['max-ms']);

function call(i: number): Promise<void> {
  return new Promise((resolve) => {
    const req = https.get({ host, path: '/n/', headers: { 'x-test-tag': values.tag }, agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => {
        process.stdout.write(`${JSON.stringify({ i, at: Date.now(), status: res.statusCode ?? 0 })}\n`);
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => {
      process.stdout.write(`${JSON.stringify({ i, at: Date.now(), error: err.message })}\n`);
      resolve();
    });
  });
}

for (let i = 0; !existsSync(stopFile) && Date.now() < deadline; i++) {
  await call(i);
  await new Promise((r) => setTimeout(r, Number(values['every-ms'])));
}
