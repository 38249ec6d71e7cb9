/**
 * Names both ends agree on. Resource names are also KV key tokens and binding ids on the wire, so they
 * keep to lower-case DNS-subdomain characters.
 */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
export const NAME_MAX_LENGTH = 253;

export function isResourceName(value: unknown): value is string {
  return typeof value === 'string' && value.length <= NAME_MAX_LENGTH && NAME_PATTERN.test(value);
}
