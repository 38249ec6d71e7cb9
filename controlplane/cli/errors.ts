/** Stable codes of this folder's errors (SIGIL_ERR_<AREA>_<WHAT>). */
export const CLI_CODES = {
  API: 'SIGIL_ERR_API',
  API_BAD_RESPONSE: 'SIGIL_ERR_API_BAD_RESPONSE',
  API_TIMEOUT: 'SIGIL_ERR_API_TIMEOUT',
} as const;
