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
  /**
   * What /proc/<pid>/exe opens is not the file the kernel saw executed (device, inode or ctime differ):
   * the exe was swapped or the file changed since exec. Unbound.
   */
  EXE_MISMATCH: 'SIGIL_ERR_ATTEST_EXE_MISMATCH',
  /**
   * A process found by the /proc scan failed a check that stands in for the missing exec record
   * (its exe is not mapped executable in its own memory, or it runs in another user namespace). Unbound.
   */
  UNTRUSTED: 'SIGIL_ERR_ATTEST_UNTRUSTED',
  /** The kernel tainted the process since its exec (see bpf/abi.h SIGIL_TAINT_*): it holds no binding. */
  TAINTED: 'SIGIL_ERR_ATTEST_TAINTED',
  /** The attestor was closed while a caller waited. */
  CLOSED: 'SIGIL_ERR_ATTEST_CLOSED',
} as const;
