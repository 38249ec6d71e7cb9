/**
 * A workload that uploads one large object with a plain HTTPS client (no SDK buffering), streaming
 * zeros, so that what the agent holds in memory while relaying it can be measured. Prints one JSON
 * line {status, bytes, ms}. PutObject's body is not signed (OCI's rules), so it streams end to end.
 *
 *   node put-stream.js --host objectstorage.<region>.oraclecloud.com --namespace ns --bucket b --object o --bytes N
 */
import https from 'node:https';
import { parseArgs } from 'node:util';

const { values } = parseArgs({ options: { host: { type: 'string' }, namespace: { type: 'string' }, bucket: { type: 'string' }, object: { type: 'string' }, bytes: { type: 'string' } } });
const total = Number(values.bytes);
const started = Date.now();
const chunk = Buffer.alloc(256 * 1024);
const req = https.request({
  host: values.host, port: 443, method: 'PUT', path: `/n/${values.namespace}/b/${values.bucket}/o/${values.object}`,
  headers: { 'content-type': 'application/octet-stream', 'content-length': String(total) },
}, (res) => {
  res.resume();
  res.on('end', () => {
    process.stdout.write(`${JSON.stringify({ status: res.statusCode, bytes: total, ms: Date.now() - started })}\n`);
  });
});
req.on('error', (err) => {
  process.stdout.write(`${JSON.stringify({ error: err.message })}\n`);
  process.exitCode = 1;
});
let sent = 0;
function pump(): void {
  while (sent < total) {
    const n = Math.min(chunk.length, total - sent);
    sent += n;
    if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      req.once('drain', pump);
      return;
    }
  }
  req.end();
}
pump();
