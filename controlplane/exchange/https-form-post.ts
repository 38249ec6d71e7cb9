/**
 * One HTTPS POST of a form, with an optional extra CA, a per-attempt timeout and a bounded response.
 * No keep-alive: token exchanges are rare and each one should see the current CA file.
 */
import { request } from 'node:https';

export interface FormPost {
  url: URL;
  form: URLSearchParams;
  headers: Record<string, string>;
  /** PEM of extra trusted CAs (in addition to the system store). */
  caPem?: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface FormResponse {
  status: number;
  body: string;
}

const MAX_RESPONSE_BYTES = 256 * 1024;

/** Rejects on network, TLS and timeout errors (all worth a retry); resolves with any HTTP status. */
export function postForm(post: FormPost): Promise<FormResponse> {
  const body = post.form.toString();
  return new Promise<FormResponse>((resolve, reject) => {
    const req = request(
      post.url,
      {
        method: 'POST',
        agent: false,
        ...(post.caPem === undefined ? {} : { ca: post.caPem }),
        ...(post.signal === undefined ? {} : { signal: post.signal }),
        headers: {
          ...post.headers,
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': String(Buffer.byteLength(body)),
          accept: 'application/json',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            req.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.setTimeout(post.timeoutMs, () => req.destroy(new Error(`no response within ${post.timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}
