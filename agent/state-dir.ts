/** Where the agent keeps its CA, enrolment and last good bundle unless configured otherwise. */
export const DEFAULT_AGENT_STATE_DIR = '/var/lib/sigil/agent';

/**
 * Mode of the state dir (and of the unit's StateDirectoryMode=): others may enter and read, because
 * every workload's uid must read the CA certificate `<stateDir>/ca.pem`. Everything secret in it is
 * 0600 on its own, and the CA key sits in the 0700 `ca/` below it.
 */
export const AGENT_STATE_DIR_MODE = 0o755;
