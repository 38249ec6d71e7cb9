/** Stable codes of this folder's errors (SIGIL_ERR_<AREA>_<WHAT>). */
export const ADMIN_CODES = {
  ADMIN_LISTEN: 'SIGIL_ERR_ADMIN_LISTEN',
} as const;
