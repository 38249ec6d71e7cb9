/**
 * A 1 GB PutObject from a bound workload streams through the real agent process: the Object Storage
 * stand-in verifies the signature and receives every byte, and the agent's peak RSS (VmHWM) grows by
 * less than 64 MB. Body-excluded uploads are never buffered.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import test from 'ava';
import { bpfUnavailableReason, kernelTest, requireBpf } from '../helpers/kernel.js';
import { OS_HOST, ROOT, startStack, type Stack } from './stack.js';
import { runWorkload } from './workload-runner.js';

const SCRIPT = path.join(ROOT, 'dist/test/e2e/put-stream.js');
const GB = 1024 * 1024 * 1024;
let stack: Stack | undefined;

test.before(async () => {
  if (bpfUnavailableReason !== undefined) return;
  const sha = (file: string): Promise<string> => readFile(file).then((b) => createHash('sha256').update(b).digest('hex'));
  stack = await startStack({
    extraPolicy: [
      {
        apiVersion: 'sigil.dev/v1', kind: 'WorkloadIdentity', metadata: { name: 'uploader' },
        spec: { spiffeId: 'spiffe://demo.sigil.dev/uploader', owner: 'team-data', agents: { labels: { role: 'demo' } }, selectors: [`unix:sha256:${await sha(process.execPath)}`, `script:sha256:${await sha(SCRIPT)}`] },
      },
      {
        apiVersion: 'sigil.dev/v1', kind: 'WorkloadCredential', metadata: { name: 'uploader-objectstorage' },
        spec: { workload: 'uploader', source: 'oci-demo', destinations: [OS_HOST], ttl: '15m' },
      },
    ],
  });
});
test.after.always(async () => {
  await stack?.stop();
});

async function peakRssKb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
}

const WORKLOAD_TIMEOUT_MS = 120_000;

kernelTest('a 1 GB PutObject streams through the agent with its peak RSS growing by less than 64 MB', async (t) => {
  if (!requireBpf(t) || !stack) return;
  // The workload may take up to WORKLOAD_TIMEOUT_MS; ava's default 2 min must not cut it short.
  t.timeout(WORKLOAD_TIMEOUT_MS + 60_000);
  const upload = (object: string, bytes: number) => runWorkload({
    cgroup: stack!.workloadCgroup,
    hosts: { [OS_HOST]: stack!.objectStorage.address },
    command: process.execPath,
    args: [stack!.app.path('test/e2e/put-stream.js'), '--host', OS_HOST, '--namespace', stack!.objectStorage.namespace, '--bucket', 'big', '--object', object, '--bytes', String(bytes)],
    env: { NODE_EXTRA_CA_CERTS: stack!.caBundle },
    timeoutMs: WORKLOAD_TIMEOUT_MS,
  });
  // A 1 MB upload first takes the one-time costs out of the figure: attesting the workload's binary
  // (hashed on a worker thread), the first TLS handshake and leaf certificate, the first signature.
  const warm = await upload('warm-up', 1024 * 1024);
  t.is(warm.lines[0]?.['status'], 200, warm.stdout + warm.stderr);
  const before = await peakRssKb(stack.agent.pid);
  const run = await upload('one-gb', GB);
  const after = await peakRssKb(stack.agent.pid);
  t.is(run.lines[0]?.['status'], 200, run.stdout + run.stderr);
  const stored = stack.objectStorage.objects.get('big/one-gb');
  t.is(stored?.size, GB);
  t.is(stored?.principal !== undefined, true, 'signed with the session token');
  const grewMb = (after - before) / 1024;
  t.log(`agent VmHWM ${Math.round(before / 1024)} MB → ${Math.round(after / 1024)} MB (+${grewMb.toFixed(1)} MB), upload ${String(run.lines[0]?.['ms'])} ms`);
  t.true(grewMb < 64, `agent peak RSS grew ${grewMb.toFixed(1)} MB`);
});
