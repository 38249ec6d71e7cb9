/**
 * The one error base of both programs: a stable `code` (SIGIL_ERR_<AREA>_<WHAT>) that callers, logs and
 * tests match on instead of messages, and, where the error reaches an HTTP client, the status to answer.
 * Each folder keeps its own catalogue of codes (an `errors.ts` beside its code) and a subclass of this.
 */
export class SigilError extends Error {
  override readonly name: string = 'SigilError';
  readonly code: string;
  readonly status: number | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}

/** True when `err` carries one of our codes (from either program, or across a worker boundary). */
export function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** Codes both programs raise. */
export const COMMON_CODES = {
  /** A config file or setting is wrong; the message names the file and the field. */
  CONFIG: 'SIGIL_ERR_CONFIG',
} as const;
