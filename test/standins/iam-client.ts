/**
 * Test-side client for the IAM stand-in's token endpoint.
 *
 *   exchangeForm({ jwt, publicKey })            the form a correct exchange sends
 *   postTokenRequest({ tokenUrl, caPem, form, basic? })  → { status, json }
 */
import type { KeyObject } from 'node:crypto';
import { request } from 'node:https';
import { TOKEN_EXCHANGE_GRANT, UPST_TOKEN_TYPE } from './oci-iam.js';

export function exchangeForm(args: { jwt: string; publicKey: KeyObject }): Record<string, string> {
  return {
    grant_type: TOKEN_EXCHANGE_GRANT,
    requested_token_type: UPST_TOKEN_TYPE,
    subject_token: args.jwt,
    subject_token_type: 'jwt',
    public_key: args.publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
  };
}

export function basicAuth(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
}

export async function postTokenRequest(args: {
  tokenUrl: string;
  caPem: string;
  form: Record<string, string>;
  authorization?: string;
  contentType?: string;
}): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = new URLSearchParams(args.form).toString();
  return new Promise((resolve, reject) => {
    const req = request(
      args.tokenUrl,
      {
        method: 'POST',
        ca: args.caPem,
        agent: false,
        headers: {
          'content-type': args.contentType ?? 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          ...(args.authorization ? { authorization: args.authorization } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> });
          } catch (err) {
            reject(err as Error);
          }
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
