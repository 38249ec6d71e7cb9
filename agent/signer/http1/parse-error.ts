/**
 * A framing error in HTTP/1.1 bytes. The codes are llhttp's names (what Node's own parser reported
 * before the signer parsed for itself), so logs, answers and docs/hardening.md keep their meaning.
 */
export type ParseErrorCode =
  | 'HPE_INVALID_METHOD'
  | 'HPE_INVALID_URL'
  | 'HPE_INVALID_VERSION'
  | 'HPE_INVALID_HEADER_TOKEN'
  | 'HPE_LF_EXPECTED'
  | 'HPE_CR_EXPECTED'
  | 'HPE_HEADER_OVERFLOW'
  | 'HPE_INVALID_CONTENT_LENGTH'
  | 'HPE_UNEXPECTED_CONTENT_LENGTH'
  | 'HPE_INVALID_TRANSFER_ENCODING'
  | 'HPE_INVALID_CHUNK_SIZE'
  | 'HPE_STRICT'
  | 'HPE_PAUSED_H2_UPGRADE'
  | 'HPE_INVALID_STATUS'
  | 'HPE_INVALID_EOF_STATE';

export class ParseError extends Error {
  override readonly name = 'ParseError';
  readonly code: ParseErrorCode;
  /** 431 for an oversized head, else 400. */
  readonly status: number;

  constructor(code: ParseErrorCode, message: string) {
    super(message);
    this.code = code;
    this.status = code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  }
}
