import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';

/** A YAML mapping as read from a config file, before a program's own reader checks its fields. */
export type ConfigMapping = Record<string, unknown>;

export const isMapping = (v: unknown): v is ConfigMapping => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads a YAML config file whose top level must be a mapping (an empty file is an empty mapping).
 * Both programs' readers start here; `error` builds their own coded error, naming the file.
 */
export async function readYamlMapping(file: string, error: (message: string, cause?: unknown) => Error): Promise<ConfigMapping> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw error(`${file}: cannot read the config file (${code === 'ENOENT' ? 'it does not exist' : code ?? String(err)})`, err);
  }
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw error(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`, err);
  }
  if (value === null || value === undefined) return {};
  if (!isMapping(value)) throw error(`${file}: the top level must be a mapping`);
  return value;
}
