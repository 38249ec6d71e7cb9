/** Stable codes of this folder's errors (SIGIL_ERR_<AREA>_<WHAT>). */
export const RESOURCES_CODES = {
  RESOURCE_INVALID: 'SIGIL_ERR_RESOURCE_INVALID',
} as const;
