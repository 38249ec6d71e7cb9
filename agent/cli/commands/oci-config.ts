/** `sigil-agent oci-config`: write a placeholder OCI config profile so unmodified SDKs start. */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PlaceholderConfigError, writePlaceholderConfig } from '../../signer/index.js';

export const summary = 'write a placeholder OCI config profile (no real key) for SDKs and the CLI';

const USAGE = `usage: sigil-agent oci-config [--dir D] [--region R] [--profile P] [--force]
  --dir      where to write 'config' and the placeholder key (default ~/.oci)
  --region   region id written to the profile (default us-ashburn-1)
  --profile  profile name (default DEFAULT)
  --force    replace an existing config file`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        dir: { type: 'string' },
        region: { type: 'string' },
        profile: { type: 'string' },
        force: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`sigil-agent oci-config: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const written = await writePlaceholderConfig({
      dir: values.dir ?? path.join(os.homedir(), '.oci'),
      region: values.region ?? 'us-ashburn-1',
      ...(values.profile === undefined ? {} : { profile: values.profile }),
      force: values.force ?? false,
    });
    process.stdout.write(
      `wrote ${written.configPath} (profile ${written.profile}) and placeholder key ${written.keyPath}\n` +
        'These are placeholders: requests are signed by the Sigil signer with the workload\'s own credential.\n' +
        'Clients must also trust the signer\'s CA: see `sigil-agent trust`.\n',
    );
    return 0;
  } catch (err) {
    if (err instanceof PlaceholderConfigError) {
      process.stderr.write(`sigil-agent oci-config: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
