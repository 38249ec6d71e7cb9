import { AgentError } from '../errors.js';
import { ATTEST_ERR } from './errors.js';

/** Errnos that mean "this process is gone" when reading /proc/<pid>/... */
const GONE_ERRNOS = new Set(['ENOENT', 'ESRCH']);

/** Turns a failed read of /proc/<pid>/<what> into a coded error: GONE when the process vanished. */
export function procError(err: unknown, pid: number, what: string): AgentError {
  if (err instanceof AgentError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (GONE_ERRNOS.has(code)) {
    return new AgentError(ATTEST_ERR.GONE, `process ${pid} is gone (reading ${what}: ${code})`, { cause: err });
  }
  return new AgentError(ATTEST_ERR.FACTS, `cannot read ${what} of process ${pid}: ${(err as Error).message}`, { cause: err });
}
