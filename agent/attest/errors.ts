/**
 * Error codes raised by attestation. All are AgentErrors (agent/errors.ts); callers match on `code`.
 */
export const ATTEST_ERR = {
  /** A selector (or a selector set) is malformed; the message names it. */
  SELECTOR: 'SIGIL_ERR_ATTEST_SELECTOR',
  /** The live /proc/<pid> start time differs from the one the kernel recorded. */
  PID_REUSED: 'SIGIL_ERR_ATTEST_PID_REUSED',
  /** The process no longer exists (or became a zombie) while it was being looked at. */
  GONE: 'SIGIL_ERR_ATTEST_GONE',
  /** The attestation of a pending process did not finish in time. */
  TIMEOUT: 'SIGIL_ERR_ATTEST_TIMEOUT',
  /** The facts of a live process could not be read (permissions, unexpected /proc content). */
  FACTS: 'SIGIL_ERR_ATTEST_FACTS',
  /**
   * The process exec'd after it opened the connection being attributed: the connection belongs to the
   * program image that opened it, which is gone, so nothing can be said about it.
   */
  EXECED: 'SIGIL_ERR_ATTEST_EXECED',
  /** The attestor was closed while a caller waited. */
  CLOSED: 'SIGIL_ERR_ATTEST_CLOSED',
} as const;
