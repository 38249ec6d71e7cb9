/** Stable codes of native/'s TypeScript (the addon's own syscall errors carry errno codes). */
export const NativeErrorCode = {
  Missing: 'SIGIL_ERR_NATIVE_MISSING',
  /** The BPF object's BTF could not be read (bpftool missing or failing, or not a map section it knows). */
  LayoutRead: 'SIGIL_ERR_NATIVE_LAYOUT_READ',
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
