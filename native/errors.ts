/** Stable codes of the native addon's loader (the addon's own syscall errors carry errno codes). */
export const NativeErrorCode = {
  Missing: 'SIGIL_ERR_NATIVE_MISSING',
} as const;

export type NativeErrorCode = (typeof NativeErrorCode)[keyof typeof NativeErrorCode];

/** An error of the loader, matched on `code` like every Sigil error. */
export class NativeError extends Error {
  override readonly name = 'NativeError';
  readonly code: NativeErrorCode;
  constructor(code: NativeErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
