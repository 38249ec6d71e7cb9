import { SigilError } from '../common/errors.js';

/** The addon's own failure: it is not built or cannot be loaded. The code predates this folder; kept. */
export const NATIVE_MISSING = 'SIGIL_ERR_STEERING_NATIVE_MISSING';

export class NativeMissingError extends SigilError {
  override readonly name = 'NativeMissingError';
  constructor(message: string) {
    super(NATIVE_MISSING, message);
  }
}
