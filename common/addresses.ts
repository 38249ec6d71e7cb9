/** IP address text, the one way both programs read it. */

const V4_MAPPED = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;

/** The IPv4 address inside a v4-mapped IPv6 address (`::ffff:10.0.0.1` → `10.0.0.1`), else undefined. */
export function unmapV4(address: string): string | undefined {
  return V4_MAPPED.exec(address)?.[1];
}

