/**
 * A whole-number setting: its default and the range an operator may set, declared together and checked
 * when declared, so a default can never sit outside its own bounds and every reader of the setting
 * uses the same numbers (tbot's credential_lifetime.go is the model).
 */
export interface Bounded {
  readonly default: number;
  readonly min: number;
  readonly max: number;
}

export function bounded(defaultValue: number, min: number, max: number): Bounded {
  if (!(Number.isInteger(defaultValue) && Number.isInteger(min) && Number.isInteger(max) && min <= defaultValue && defaultValue <= max)) {
    throw new RangeError(`a setting's default ${defaultValue} must be a whole number from ${min} to ${max}`);
  }
  return Object.freeze({ default: defaultValue, min, max });
}

/** What is wrong with `value` for this setting, or undefined when it is fine. */
export function boundedProblem(setting: Bounded, value: unknown): string | undefined {
  return Number.isInteger(value) && (value as number) >= setting.min && (value as number) <= setting.max
    ? undefined
    : `must be a whole number from ${setting.min} to ${setting.max}`;
}
