import { Buffer } from 'node:buffer';
import { Command } from 'commander';
import { MAX_APPLY_BYTES } from '../../http/api.js';
import { bodyTooLarge } from '../../http/respond.js';
import { checkDocuments } from '../../resources/validate.js';
import { filenameOption, readInput } from '../read-input.js';

export function command(): Command {
  return new Command('validate')
    .summary('check a YAML file offline, with the server\'s checks and messages')
    .description('Check every document of a YAML file with the checks the server runs on apply, without a server: '
      + 'the same messages, exit 1 when refused. References to resources not in the file need the server: apply --dry-run.')
    .addOption(filenameOption())
    .action(async (options: { filename: string }) => {
      const text = await readInput(options.filename);
      if (Buffer.byteLength(text) > MAX_APPLY_BYTES) throw bodyTooLarge(MAX_APPLY_BYTES);
      const resources = checkDocuments(text);
      for (const r of resources) process.stdout.write(`${r.kind.toLowerCase()}/${r.metadata.name} valid\n`);
    });
}
