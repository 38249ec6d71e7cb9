import { Command, Option } from 'commander';
import { readToken } from '../http/admin-token.js';
import { DEFAULT_LISTEN, DEFAULT_STATE_DIR } from '../config/config.js';
import { ValidationError, describeIssue, type ValidationIssue } from '../resources/issues.js';
import { CLI_CODES } from './errors.js';

/** Options every API command takes: flag > environment > default. */
export interface ConnectionOptions {
  server: string;
  tokenFile: string;
}

export function withConnection(command: Command): Command {
  return command
    .addOption(new Option('--server <url>', 'control plane admin API').env('SIGIL_SERVER').default(`http://${DEFAULT_LISTEN}`))
    .addOption(new Option('--token-file <file>', 'admin token file').env('SIGIL_TOKEN_FILE').default(`${DEFAULT_STATE_DIR}/admin.token`));
}

/** A failed API call, carrying the server's {code, message, details}. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(readonly status: number, readonly code: string, message: string, readonly details: unknown[]) {
    super(message);
  }
}

/**
 * The per-field lines under a refused apply (runProgram prints them under the message): the server's
 * details, or the same checks' details when `sigil validate` ran them here.
 */
export function issueLines(err: unknown): string[] | undefined {
  if (err instanceof ApiError) return err.details.map((d) => describeIssue(d as ValidationIssue));
  if (err instanceof ValidationError) return err.details.map(describeIssue);
  return undefined;
}

/** Talks to the control plane's admin API. */
export class ApiClient {
  private constructor(readonly server: string, private readonly token: string) {}

  static async connect(options: ConnectionOptions): Promise<ApiClient> {
    let token: string;
    try {
      token = await readToken(options.tokenFile);
    } catch (err) {
      throw new Error(`cannot read the admin token file ${options.tokenFile}: ${(err as Error).message}`);
    }
    return new ApiClient(options.server.replace(/\/+$/, ''), token);
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
