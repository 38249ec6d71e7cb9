import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The agent's systemd unit, as shipped: tests and benchmarks run the agent the way it runs there. */
const AGENT_UNIT = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../deploy/systemd/sigil-agent.service');

/** The NODE_OPTIONS the agent's systemd unit sets (`Environment=NODE_OPTIONS=…`), as separate flags. */
export async function unitNodeFlags(): Promise<string[]> {
  const value = /^Environment=NODE_OPTIONS=(.*)$/m.exec(await readFile(AGENT_UNIT, 'utf8'))?.[1];
  return value === undefined ? [] : value.replace(/^"|"$/g, '').split(/\s+/).filter((w) => w !== '');
}
