import { readToken } from '../http/admin-token.js';
import { DEFAULT_LISTEN, DEFAULT_STATE_DIR } from '../config/config.js';
import type { ParsedArgs } from './args.js';
import { stringFlag } from './args.js';
import { CLI_CODES } from './errors.js';

/** Options every API command takes. */
export const CONNECTION_FLAGS = { server: {}, 'token-file': {} } as const;

/** A failed API call, carrying the server's {code, message, details}. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly code: string, message: string, readonly details: unknown[]) {
    super(message);
  }
}

/** Talks to the control plane's admin API. Server and token file: flags > env > defaults. */
export class ApiClient {
  private constructor(readonly server: string, private readonly token: string) {}

  static async fromArgs(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): Promise<ApiClient> {
    const server = stringFlag(args, 'server') ?? env['SIGIL_SERVER'] ?? `http://${DEFAULT_LISTEN}`;
    const tokenFile = stringFlag(args, 'token-file') ?? env['SIGIL_TOKEN_FILE'] ?? `${DEFAULT_STATE_DIR}/admin.token`;
    let token: string;
    try {
      token = await readToken(tokenFile);
    } catch (err) {
      throw new Error(`cannot read the admin token file ${tokenFile}: ${(err as Error).message}`);
    }
    return new ApiClient(server.replace(/\/+$/, ''), token);
  }

  async request<T>(method: string, path: string, body?: string): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.server}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/yaml' } : {}) },
        ...(body !== undefined ? { body } : {}),
      });
    } catch (err) {
      throw new Error(`cannot reach the control plane at ${this.server}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new ApiError(res.status, CLI_CODES.API_BAD_RESPONSE, `unexpected answer (HTTP ${res.status}) from ${this.server}`, []);
    }
    if (!res.ok) {
      const e = json as { code?: string; message?: string; details?: unknown[] };
      throw new ApiError(res.status, e.code ?? CLI_CODES.API, e.message ?? `HTTP ${res.status}`, e.details ?? []);
    }
    return json as T;
  }
}
