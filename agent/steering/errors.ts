import { AgentError } from '../errors.js';

/** Stable codes of the steering layer. */
export const SteeringErrorCode = {
  NativeMissing: 'SIGIL_ERR_STEERING_NATIVE_MISSING',
  NoCgroup2: 'SIGIL_ERR_STEERING_NO_CGROUP2',
  NoBpffs: 'SIGIL_ERR_STEERING_NO_BPFFS',
  Kernel: 'SIGIL_ERR_STEERING_KERNEL',
  Closed: 'SIGIL_ERR_STEERING_CLOSED',
  Resolve: 'SIGIL_ERR_STEERING_RESOLVE',
  BadDestination: 'SIGIL_ERR_STEERING_BAD_DESTINATION',
  ProtectionUnavailable: 'SIGIL_ERR_STEERING_PROTECTION_UNAVAILABLE',
} as const;

export type SteeringErrorCode = (typeof SteeringErrorCode)[keyof typeof SteeringErrorCode];

export class SteeringError extends AgentError {
  override readonly name = 'SteeringError';
  constructor(code: SteeringErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options);
  }
}
