/**
 * The workload of the end-to-end tests and the demo: an ordinary program using the official OCI
 * TypeScript SDK with a placeholder config (`sigil-agent oci-config`) and no credential of its own.
 * It does namespace, put, get, list and delete against Object Storage and prints one JSON line per
 * call: {op, ok, status?, code?}. It knows nothing of Sigil; trust comes from NODE_EXTRA_CA_CERTS.
 *
 *   node oci-sdk-workload.js --config <oci config file> [--region us-ashburn-1] [--bucket b] [--tag t] [--repeat n] [--pause-ms ms]
 *
 * --pause-ms waits between rounds (a long-running client with keep-alive connections, paced).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as common from 'oci-common';
import { ObjectStorageClient } from 'oci-objectstorage';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    region: { type: 'string', default: 'us-ashburn-1' },
    bucket: { type: 'string', default: 'sigil-demo' },
    tag: { type: 'string', default: 'workload' },
    repeat: { type: 'string', default: '1' },
    'pause-ms': { type: 'string', default: '0' },
  },
});
if (!values.config) {
  process.stderr.write('usage: oci-sdk-workload --config <oci config file> [--region R] [--bucket B] [--tag T] [--repeat N]\n');
  process.exit(2);
}

function report(op: string, result: { ok: boolean; status?: number; code?: string; cause?: string; detail?: unknown }): void {
  process.stdout.write(`${JSON.stringify({ op, tag: values.tag, ...result })}\n`);
}

async function step<T>(op: string, call: () => Promise<T>): Promise<T | undefined> {
  try {
    const value = await call();
    report(op, { ok: true });
    return value;
  } catch (err) {
    const e = err as { statusCode?: number; serviceCode?: string; message?: string; cause?: { code?: string } };
    // fetch reports a failed connect as "fetch failed"; its cause carries the errno code (EPERM, ECONNREFUSED).
    const cause = e.cause?.code;
    report(op, { ok: false, ...(e.statusCode === undefined ? {} : { status: e.statusCode }), code: e.serviceCode ?? e.message ?? String(err), ...(cause ? { cause } : {}) });
    return undefined;
  }
}

/** The SDK hands back a web ReadableStream or a Node Readable depending on version and runtime. */
async function bodyText(value: unknown): Promise<string> {
  if (value && typeof (value as ReadableStream).getReader === 'function') return new Response(value as ReadableStream).text();
  const chunks: Buffer[] = [];
  for await (const chunk of value as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks).toString('utf8');
}

/** Who runs this, as the kernel says (stderr, so stdout stays one line per call): the demo shows it. */
function reportIdentity(): void {
  const status = readFileSync('/proc/self/status', 'utf8');
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '?';
  process.stderr.write(`oci-sdk-workload identity: uid=${field('Uid')} gid=${field('Gid')} CapEff=${field('CapEff')} CapAmb=${field('CapAmb')}\n`);
}

async function main(): Promise<void> {
  reportIdentity();
  const auth = new common.ConfigFileAuthenticationDetailsProvider(values.config, 'DEFAULT');
  const client = new ObjectStorageClient({ authenticationDetailsProvider: auth }, {
    retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1) },
  });
  client.region = common.Region.fromRegionId(values.region);
  const bucketName = values.bucket;
  const repeat = Number(values.repeat);
  const pauseMs = Number(values['pause-ms']);
  for (let i = 0; i < repeat; i++) {
    const ns = await step('getNamespace', () => client.getNamespace({}));
    const namespaceName = ns?.value ?? 'unknown';
    const objectName = `hello-${values.tag}-${i}.txt`;
    const body = `hello from ${values.tag} #${i}\n`;
    await step('putObject', () => client.putObject({ namespaceName, bucketName, objectName, putObjectBody: body, contentLength: Buffer.byteLength(body), opcClientRequestId: values.tag }));
    await step('getObject', async () => {
      const got = await client.getObject({ namespaceName, bucketName, objectName });
      const text = await bodyText(got.value);
      if (text !== body) throw new Error(`getObject returned ${JSON.stringify(text)}`);
      return got;
    });
    await step('listObjects', () => client.listObjects({ namespaceName, bucketName }));
    await step('deleteObject', () => client.deleteObject({ namespaceName, bucketName, objectName }));
    if (pauseMs > 0) await new Promise((r) => setTimeout(r, pauseMs));
  }
  client.close?.();
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`workload failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
