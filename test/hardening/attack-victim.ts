/**
 * The genuine bound program of identity-attacks.test.ts (its identity: node's sha256 + this script's
 * sha256). No dependencies, so a copy of it runs from any directory as any uid. Each request is a
 * PutObject of `attacks/<object>` on a fresh connection (tagged with the object name), reported as
 * {"event":"request","object","status"} or {"event":"error","object","error"}.
 *
 *   node attack-victim.mjs --host <oci host> --object <name>            one request
 *   node attack-victim.mjs --host <oci host> --object <name> --serve    <name>-0 now, then <name>-N
 *                                                                       per SIGUSR2, until SIGTERM
 *
 * Trust comes from NODE_EXTRA_CA_CERTS, as for any workload.
 */
import https from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { host: { type: 'string' }, object: { type: 'string' }, serve: { type: 'boolean', default: false } }, strict: false });
const host = String(values.host ?? '');
const base = String(values.object ?? 'victim');

function put(object: string): Promise<void> {
  const body = `written by the genuine workload as ${object}\n`;
  return new Promise((resolve) => {
    const req = https.request({
      host, method: 'PUT', path: `/n/sigiltest/b/attacks/o/${object}`, agent: false,
      headers: { 'x-test-tag': object, 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) },
    }, (res) => {
      res.resume();
      res.on('end', () => {
        process.stdout.write(`${JSON.stringify({ event: 'request', pid: process.pid, object, status: res.statusCode })}\n`);
        resolve();
      });
    });
    req.on('error', (err) => {
      process.stdout.write(`${JSON.stringify({ event: 'error', pid: process.pid, object, error: err.message })}\n`);
      resolve();
    });
    req.end(body);
  });
}

if (values.serve) {
  let n = 0;
  let chain = put(`${base}-${n}`);
  process.on('SIGUSR2', () => { n += 1; const object = `${base}-${n}`; chain = chain.then(() => put(object)); });
  process.on('SIGTERM', () => process.exit(0));
  setInterval(() => undefined, 1 << 30);
} else {
  await put(base);
}
