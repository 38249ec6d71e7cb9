/**
 * The agent's error catalogue. Every error the agent raises on purpose is an AgentError with a
 * stable `code` (SIGIL_ERR_<AREA>_<WHAT>) so callers, logs and tests match on codes, not messages.
 */
export class AgentError extends Error {
  override readonly name: string = 'AgentError';
  readonly code: string;
  /** HTTP status where the error reaches an HTTP client (the signer's own responses). */
  readonly status: number | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}
