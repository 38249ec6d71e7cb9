/**
 * The benchmark's load generator: an ordinary OCI client that signs every request with oci-common's
 * own signer (DefaultRequestSigner, as the SDK does) and sends it over plain keep-alive HTTPS.
 *
 * The same program serves both sides of the comparison; only the OCI config differs:
 * - through Sigil: run bound in the steered cgroup with the placeholder config (the SDK still signs
 *   with the placeholder key; the agent replaces that signature);
 * - in-app: run unsteered with a session profile (security_token_file + key_file), signing for real.
 *
 *   node load-client.js --config F --host H --namespace N [--concurrency C] [--duration-ms D | --requests R]
 *                       [--op mixed|get] [--object-bytes B] [--hold N --rss-of PID]
 *
 * Prints one JSON line: requests, errors, statuses, elapsedMs, rps, cpuUsPerRequest (this process,
 * user+sys), latency p50/p99/max in µs. With --hold it opens N keep-alive connections (one request
 * each), keeps them all open and reports the RSS and open fds of process --rss-of at that moment.
 */
import { readFileSync, readdirSync } from 'node:fs';
import https from 'node:https';
import { parseArgs } from 'node:util';
import * as common from 'oci-common';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    host: { type: 'string' },
    namespace: { type: 'string', default: 'sigiltest' },
    bucket: { type: 'string', default: 'bench' },
    concurrency: { type: 'string', default: '8' },
    'duration-ms': { type: 'string' },
    requests: { type: 'string' },
    op: { type: 'string', default: 'mixed' },
    'object-bytes': { type: 'string', default: '1024' },
    hold: { type: 'string' },
    'rss-of': { type: 'string' },
    tag: { type: 'string', default: 'bench' },
  },
});
if (!values.config || !values.host) {
  process.stderr.write('usage: load-client --config F --host H [--namespace N] [--concurrency C] [--duration-ms D | --requests R] [--op mixed|get] [--hold N --rss-of PID]\n');
  process.exit(2);
}
const host = values.host;
const objectBody = Buffer.alloc(Number(values['object-bytes']), 'x');
// A session profile (security_token_file) signs as the SDK's session auth does: keyId ST$<token>.
const sessionProfile = readFileSync(values.config, 'utf8').includes('security_token_file');
const signer = new common.DefaultRequestSigner(sessionProfile
  ? new common.SessionAuthDetailProvider(values.config, 'DEFAULT')
  : new common.ConfigFileAuthenticationDetailsProvider(values.config, 'DEFAULT'));

interface Outcome {
  status: number;
  latencyUs: number;
}

/** The first refused request's answer, reported for diagnosis. */
let firstRefusal: string | undefined;

/** One signed request on `agent`; the response body is read and dropped. */
async function send(agent: https.Agent, method: 'GET' | 'PUT', path: string): Promise<Outcome> {
  const headers = new Headers();
  if (method === 'PUT') {
    headers.set('content-type', 'application/octet-stream');
    headers.set('content-length', String(objectBody.length));
  }
  const uri = `https://${host}${path}`;
  const started = process.hrtime.bigint();
  // PutObject's body is not signed: the SDK passes forceExcludeBody for it, and so do we.
  await signer.signHttpRequest({ uri, method, headers, body: method === 'PUT' ? objectBody.toString() : undefined } as common.HttpRequest, method === 'PUT');
  const plain: Record<string, string> = {};
  headers.forEach((value, name) => { plain[name] = value; });
  const status = await new Promise<number>((resolve, reject) => {
    const req = https.request({ host, port: 443, method, path, headers: plain, agent }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => { if ((res.statusCode ?? 0) >= 300 && text.length < 1000) text += d.toString(); });
      res.once('end', () => {
        if ((res.statusCode ?? 0) >= 300) firstRefusal ??= `${method} ${res.statusCode}: ${text}`;
        resolve(res.statusCode ?? 0);
      });
      res.once('error', reject);
    });
    req.once('error', reject);
    req.end(method === 'PUT' ? objectBody : undefined);
  });
  return { status, latencyUs: Number(process.hrtime.bigint() - started) / 1000 };
}

const objectPath = (worker: number): string => `/n/${values.namespace}/b/${values.bucket}/o/${values.tag}-${worker}`;

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

async function load(): Promise<Record<string, unknown>> {
  const concurrency = Number(values.concurrency);
  const agent = new https.Agent({ keepAlive: true, maxSockets: concurrency });
  // Every worker has its own small object, put once before the clock starts.
  for (let w = 0; w < concurrency; w++) {
    const put = await send(agent, 'PUT', objectPath(w));
    if (put.status !== 200) throw new Error(`setup PUT answered ${put.status}`);
  }
  const limit = values.requests ? Number(values.requests) : Number.POSITIVE_INFINITY;
  const until = values['duration-ms'] ? Date.now() + Number(values['duration-ms']) : Number.POSITIVE_INFINITY;
  const latencies: number[] = [];
  const statuses: Record<string, number> = {};
  let started = 0;
  let errors = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const worker = async (w: number): Promise<void> => {
    for (let i = 0; started < limit && Date.now() < until; i++) {
      started++;
      const method = values.op === 'mixed' && i % 2 === 1 ? 'PUT' : 'GET';
      try {
        const { status, latencyUs } = await send(agent, method, objectPath(w));
        statuses[status] = (statuses[status] ?? 0) + 1;
        if (status >= 300) errors++;
        else latencies.push(latencyUs);
      } catch (err) {
        errors++;
        statuses[(err as NodeJS.ErrnoException).code ?? 'error'] = (statuses[(err as NodeJS.ErrnoException).code ?? 'error'] ?? 0) + 1;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsedMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  agent.destroy();
  const ok = latencies.length;
  latencies.sort((a, b) => a - b);
  return {
    requests: ok,
    errors,
    statuses,
    elapsedMs: Math.round(elapsedMs),
    rps: Math.round((ok / elapsedMs) * 1000 * 10) / 10,
    cpuUsPerRequest: ok === 0 ? null : Math.round(((cpu.user + cpu.system) / ok) * 10) / 10,
    latencyUs: { p50: Math.round(percentile(latencies, 0.5)), p99: Math.round(percentile(latencies, 0.99)), max: Math.round(latencies[ok - 1] ?? Number.NaN) },
    ...(firstRefusal === undefined ? {} : { firstRefusal }),
  };
}

/** Opens `n` connections, one request each, in batches the signer's per-process limit allows. */
async function hold(n: number, pid: number): Promise<Record<string, unknown>> {
  const agents: https.Agent[] = [];
  const setup = await send(new https.Agent({ keepAlive: false }), 'PUT', objectPath(0));
  if (setup.status !== 200) throw new Error(`setup PUT answered ${setup.status}`);
  const batch = 50;
  let failed = 0;
  for (let opened = 0; opened < n; opened += batch) {
    const round = Array.from({ length: Math.min(batch, n - opened) }, () => new https.Agent({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 60_000 }));
    agents.push(...round);
    const results = await Promise.allSettled(round.map((a) => send(a, 'GET', objectPath(0))));
    failed += results.filter((r) => r.status === 'rejected' || r.value.status !== 200).length;
  }
  // On a slow machine the first connections reach the signer's keep-alive timeout (15 s) before the
  // last ones are open: open those again (one request each) until all are held at once.
  const openOn = (a: https.Agent): number => Object.values(a.freeSockets).reduce((s, list) => s + (list?.length ?? 0), 0);
  const refreshUntil = Date.now() + 60_000;
  for (let closed = agents.filter((a) => openOn(a) === 0); closed.length > 0 && Date.now() < refreshUntil; closed = agents.filter((a) => openOn(a) === 0)) {
    for (let i = 0; i < closed.length; i += batch) {
      const results = await Promise.allSettled(closed.slice(i, i + batch).map((a) => send(a, 'GET', objectPath(0))));
      failed += results.filter((r) => r.status === 'rejected' || r.value.status !== 200).length;
    }
  }
  // Held a while, so the benchmark (root) can count the agent's fds meanwhile.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const open = agents.reduce((sum, a) => sum + openOn(a), 0);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
  // Another user's fd table is not readable to this unprivileged client; the benchmark counts it.
  let fds: number | null = null;
  try {
    fds = readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    fds = null;
  }
  for (const a of agents) a.destroy();
  return { held: open, failed, agentRssMB: Math.round((rssKb / 1024) * 10) / 10, agentFds: fds };
}

const run = values.hold ? hold(Number(values.hold), Number(values['rss-of'])) : load();
run.then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`load-client: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
