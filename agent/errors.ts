import { SigilError } from '../common/errors.js';

/**
 * The agent's error base. Every error the agent raises on purpose is an AgentError with a stable
 * `code` (SIGIL_ERR_<AREA>_<WHAT>); each folder's `errors.ts` is the catalogue of its codes.
 */
export class AgentError extends SigilError {
  override readonly name: string = 'AgentError';
}

