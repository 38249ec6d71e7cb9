import { Command, Option } from 'commander';
import { readToken } from '../http/admin-token.js';
import { DEFAULT_LISTEN, DEFAULT_STATE_DIR } from '../config/config.js';
import { ValidationError, describeIssue, type ValidationIssue } from '../resources/issues.js';
import { durationSeconds } from '../resources/duration.js';
import { UsageError } from '../../common/cli/program.js';
import { CLI_CODES } from './errors.js';

/** Options every API command takes: flag > environment > default. */
export interface ConnectionOptions {
  server: string;
  tokenFile: string;
  /** How long one API call may take, as a duration ("30s"). */
  requestTimeout: string;
}

/**
 * A call that hangs (a control plane stuck on its store, a half-open connection) must end in a clear
 * error, not hold a script or CI job until undici's five-minute default.
 */
const DEFAULT_REQUEST_TIMEOUT = '30s';

export function withConnection(command: Command): Command {
  return command
    .addOption(new Option('--server <url>', 'control plane admin API').env('SIGIL_SERVER').default(`http://${DEFAULT_LISTEN}`))
    .addOption(new Option('--token-file <file>', 'admin token file').env('SIGIL_TOKEN_FILE').default(`${DEFAULT_STATE_DIR}/admin.token`))
    .addOption(new Option('--request-timeout <duration>', 'give up on one API call after this long').env('SIGIL_REQUEST_TIMEOUT').default(DEFAULT_REQUEST_TIMEOUT));
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
  private constructor(readonly server: string, private readonly token: string, private readonly timeoutMs: number) {}

  static async connect(options: ConnectionOptions): Promise<ApiClient> {
    const seconds = durationSeconds(options.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT);
    if (seconds === undefined || seconds <= 0) throw new UsageError('--request-timeout must be a duration like 30s');
    let token: string;
    try {
      token = await readToken(options.tokenFile);
    } catch (err) {
      throw new Error(`cannot read the admin token file ${options.tokenFile}: ${(err as Error).message}`);
    }
    return new ApiClient(options.server.replace(/\/+$/, ''), token, seconds * 1000);
  }

  async request<T>(method: string, path: string, body?: string): Promise<T> {
    const signal = AbortSignal.timeout(this.timeoutMs);
    const timedOut = (): ApiError => new ApiError(0, CLI_CODES.API_TIMEOUT, `the control plane at ${this.server} did not answer ${method} ${path.split('?')[0]} within ${this.timeoutMs / 1000} s; check its /readyz and logs, or raise --request-timeout`, []);
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${this.server}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/yaml' } : {}) },
        ...(body !== undefined ? { body } : {}),
        signal,
      });
    } catch (err) {
      if (signal.aborted) throw timedOut();
      throw new Error(`cannot reach the control plane at ${this.server}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`);
    }
    try {
      text = await res.text();
    } catch (err) {
      if (signal.aborted) throw timedOut();
      throw err;
    }
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
