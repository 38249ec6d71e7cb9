/**
 * What a workload that cannot be steered does with the file fallback: the official OCI SDK loads the
 * session-token profile the agent wrote for it (as the workload's own uid, from its 0700 directory)
 * and calls Object Storage. Prints one JSON line: {ok: true, namespace} or {ok: false, error}.
 *
 *   node fallback-profile-client.js --config <dir>/config --endpoint https://<host>:<port> --address <ip> --ca-file <pem>
 */
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { parseArgs } from 'node:util';
import * as common from 'oci-common';
import { ObjectStorageClient } from 'oci-objectstorage';

const { values } = parseArgs({ options: { config: { type: 'string' }, endpoint: { type: 'string' }, address: { type: 'string' }, 'ca-file': { type: 'string' } } });
const { config, endpoint, address } = values;
const caFile = values['ca-file'];
if (!config || !endpoint || !address || !caFile) {
  process.stderr.write('usage: fallback-profile-client --config F --endpoint URL --address IP --ca-file PEM\n');
  process.exit(2);
}

async function main(): Promise<void> {
  const host = new URL(endpoint!).hostname;
  // The endpoint keeps its real name (signed as `host`); only the connection goes to the stand-in.
  const lookup = ((name: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
    if (name.toLowerCase() !== host) return callback(Object.assign(new Error(`ENOTFOUND ${name}`), { code: 'ENOTFOUND' }));
    if (options?.all) return callback(null, [{ address, family: 4 }]);
    return callback(null, address, 4);
  }) as never;
  const agent = new Agent({ ca: readFileSync(caFile!, 'utf8'), lookup });
  const client = new ObjectStorageClient(
    { authenticationDetailsProvider: new common.SessionAuthDetailProvider(config!) },
    { httpOptions: { agent }, retryConfiguration: { terminationStrategy: new common.MaxAttemptsTerminationStrategy(1) } },
  );
  client.endpoint = endpoint!;
  try {
    const namespace = (await client.getNamespace({})).value;
    process.stdout.write(`${JSON.stringify({ ok: true, namespace })}\n`);
  } catch (err) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: (err as Error).message })}\n`);
  } finally {
    agent.destroy();
  }
}

main().then(() => process.exit(0), (err: unknown) => {
  process.stdout.write(`${JSON.stringify({ ok: false, error: String(err) })}\n`);
  process.exit(0);
});
