/**
 * A deliberately bare OCI request signer and raw HTTPS sender for tests that need to build requests
 * the SDK would never send (missing headers, stale dates, wrong keys, wrong body hashes).
 *
 *   const headers = signManually({ method, target, host, key, keyId, body, ... });
 *   const answer = await sendRaw({ address, port, servername, caPem, method, target, headers, body });
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { request } from 'node:https';

export interface ManualSignInput {
  method: string;
  /** Path and query exactly as they will be sent. */
  target: string;
  /** Value of the Host header (with :port when not 443). */
  host: string;
  key: KeyObject;
  keyId: string;
  body?: Buffer;
  contentType?: string;
  /** Names to sign, in order; default: x-date (request-target) host [+ content-type content-length x-content-sha256]. */
  signHeaders?: string[];
  date?: Date;
  /** Overrides applied after hashing, before signing (e.g. a wrong x-content-sha256). */
  override?: Record<string, string>;
  /** Extra headers, sent but not signed unless listed in signHeaders. */
  extra?: Record<string, string>;
}

export function signManually(input: ManualSignInput): Record<string, string> {
  const body = input.body ?? Buffer.alloc(0);
  const headers: Record<string, string> = {
    host: input.host,
    'x-date': (input.date ?? new Date()).toUTCString(),
    ...input.extra,
  };
  const withBody = ['POST', 'PUT', 'PATCH'].includes(input.method.toUpperCase());
  if (withBody) {
    headers['content-type'] = input.contentType ?? 'application/json';
    headers['content-length'] = String(body.length);
    headers['x-content-sha256'] = createHash('sha256').update(body).digest('base64');
  }
  Object.assign(headers, input.override);
  const names = input.signHeaders ?? ['x-date', '(request-target)', 'host', ...(withBody ? ['content-type', 'content-length', 'x-content-sha256'] : [])];
  const signingString = names
    .map((name) => (name === '(request-target)' ? `(request-target): ${input.method.toLowerCase()} ${input.target}` : `${name}: ${headers[name] ?? ''}`))
    .join('\n');
  const signature = sign('sha256', Buffer.from(signingString), input.key).toString('base64');
  headers['authorization'] =
    `Signature version="1",keyId="${input.keyId}",algorithm="rsa-sha256",headers="${names.join(' ')}",signature="${signature}"`;
  return headers;
}

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export async function sendRaw(opts: {
  address: string;
  port: number;
  servername: string;
  caPem: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: Buffer | AsyncIterable<Buffer>;
}): Promise<RawAnswer> {
  return new Promise<RawAnswer>((resolve, reject) => {
    const req = request(
      {
        host: opts.address,
        port: opts.port,
        servername: opts.servername,
        ca: opts.caPem,
        method: opts.method,
        path: opts.target,
        headers: opts.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    const body = opts.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      (async () => {
        for await (const chunk of body) {
          if (!req.write(chunk)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      })().catch((err: unknown) => req.destroy(err as Error));
    }
  });
}
