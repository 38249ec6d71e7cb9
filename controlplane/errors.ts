/**
 * The control plane's error catalogue: a stable `code` (SIGIL_ERR_<AREA>_<WHAT>) and, where the error
 * is answered over HTTP, the status to answer with.
 */
export class ControlPlaneError extends Error {
  override readonly name: string = 'ControlPlaneError';
  readonly code: string;
  readonly status: number | undefined;

  constructor(code: string, message: string, options: { cause?: unknown; status?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = options.status;
  }
}
