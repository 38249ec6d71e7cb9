/**
 * Bulk transfers with curl (native, so the client is not the bottleneck): one 1 GiB PutObject, and
 * 1 GiB of GetObject as 64 GETs of one 16 MiB object on one kept-alive connection (the Object
 * Storage stand-in keeps bodies up to 16 MiB, so no single object larger than that can be read back).
 * Body-excluded operations: through Sigil the agent signs the headers and streams the body.
 */
import { open } from 'node:fs/promises';

export const BULK_PUT_BYTES = 1024 * 1024 * 1024;
export const BULK_GET_OBJECT_BYTES = 16 * 1024 * 1024;
export const BULK_GET_COUNT = 64;

export interface CurlTransfer {
  bytes: number;
  seconds: number;
  status: number;
}

/** A sparse file of `bytes` zeros: read from the page cache, never from the disk. */
export async function sparseFile(file: string, bytes: number): Promise<void> {
  const fh = await open(file, 'w', 0o644);
  try {
    await fh.truncate(bytes);
  } finally {
    await fh.close();
  }
}

const WRITE_OUT = '%{json}\\n';

/** curl arguments: PUT `file` to `url` (Content-Length from the file, no Expect: 100-continue). */
export function curlPutArgs(url: string, file: string, headers: Record<string, string>, caFile: string): string[] {
  return ['-sS', '--http1.1', '--cacert', caFile, '-H', 'Expect:', '-H', 'content-type: application/octet-stream',
    ...headerArgs(headers), '-T', file, '-o', '/dev/null', '-w', WRITE_OUT, url];
}

/** curl arguments: GET `url` `count` times on one connection, bodies dropped. */
export function curlGetArgs(url: string, count: number, headers: Record<string, string>, caFile: string): string[] {
  const args = ['-sS', '--http1.1', '--cacert', caFile, ...headerArgs(headers), '-w', WRITE_OUT];
  for (let i = 0; i < count; i++) args.push('-o', '/dev/null', url);
  return args;
}

function headerArgs(headers: Record<string, string>): string[] {
  return Object.entries(headers).flatMap(([n, v]) => ['-H', `${n}: ${v}`]);
}

/** Sums curl's per-transfer JSON lines; any status other than 200 is an error naming it. */
export function parseCurl(lines: Array<Record<string, unknown>>, direction: 'up' | 'down', output: string): CurlTransfer {
  if (lines.length === 0) throw new Error(`curl printed no transfer report: ${output}`);
  let bytes = 0;
  let seconds = 0;
  for (const l of lines) {
    const status = Number(l['http_code']);
    if (status !== 200) throw new Error(`curl transfer answered ${status}: ${output}`);
    bytes += Number(direction === 'up' ? l['size_upload'] : l['size_download']);
    seconds += Number(l['time_total']);
  }
  return { bytes, seconds, status: 200 };
}

export const mbPerSecond = (t: CurlTransfer): number => Math.round((t.bytes / 1e6 / t.seconds) * 10) / 10;
