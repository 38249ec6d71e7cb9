import { SigilError } from '../common/errors.js';

/** The addon's own failure: it is not built or cannot be loaded. The code predates this folder; kept. */
export const NATIVE_MISSING = 'SIGIL_ERR_STEERING_NATIVE_MISSING';

export class NativeMissingError extends SigilError {
  override readonly name = 'NativeMissingError';
  constructor(message: string) {
    super(NATIVE_MISSING, message);
  }
}

/** The built BPF object's BTF cannot be read (bpftool missing or failing, or no map section it knows). */
export const NATIVE_LAYOUT_READ = 'SIGIL_ERR_NATIVE_LAYOUT_READ';

export class LayoutReadError extends SigilError {
  override readonly name = 'LayoutReadError';
  constructor(message: string) {
    super(NATIVE_LAYOUT_READ, message);
  }
}
