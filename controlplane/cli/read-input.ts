import { readFile } from 'node:fs/promises';
import { Option } from 'commander';

/** `-f, --filename <file|->`, required: the YAML that apply, validate and diff read. */
export function filenameOption(): Option {
  return new Option('-f, --filename <file>', "YAML file of resources ('-' reads stdin)").makeOptionMandatory();
}

export async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
