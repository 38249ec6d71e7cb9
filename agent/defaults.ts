/** The agent's default paths, apart from config.ts so the CLI can print them without loading the config reader. */
export const DEFAULT_AGENT_STATE_DIR = '/var/lib/sigil/agent';
export const DEFAULT_AGENT_CONFIG_FILE = '/etc/sigil/agent.yaml';
