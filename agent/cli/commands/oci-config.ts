/** `sigil-agent oci-config`: write a placeholder OCI config profile so unmodified SDKs start. */
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';

export function command(): Command {
  return new Command('oci-config')
    .summary('write a placeholder OCI config profile (no real key) for SDKs and the CLI')
    .description('Write an OCI config profile and a placeholder key so unmodified SDKs and the OCI CLI start; '
      + "requests are signed by the Sigil signer with the workload's own credential.")
    .option('--dir <dir>', "where to write 'config' and the placeholder key (default ~/.oci)")
    .option('--region <region>', 'region id written to the profile', 'us-ashburn-1')
    .option('--profile <name>', 'profile name (default DEFAULT)')
    .option('--force', 'replace an existing config file')
    .action(async (options: { dir?: string; region: string; profile?: string; force?: boolean }) => {
      const { writePlaceholderConfig } = await import('../../signer/index.js'); // the signer's barrel: only when it runs
      const written = await writePlaceholderConfig({
        dir: options.dir ?? path.join(os.homedir(), '.oci'),
        region: options.region,
        ...(options.profile === undefined ? {} : { profile: options.profile }),
        force: options.force ?? false,
      });
      process.stdout.write(
        `wrote ${written.configPath} (profile ${written.profile}) and placeholder key ${written.keyPath}\n` +
          'These are placeholders: requests are signed by the Sigil signer with the workload\'s own credential.\n' +
          'Clients must also trust the signer\'s CA: see `sigil-agent trust`.\n',
      );
    });
}
