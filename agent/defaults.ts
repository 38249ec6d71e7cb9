/** The agent's default paths, apart from config.ts so the CLI can print them without loading the config reader. */
export { DEFAULT_AGENT_STATE_DIR } from './state-dir.js';
export const DEFAULT_AGENT_CONFIG_FILE = '/etc/sigil/agent.yaml';
