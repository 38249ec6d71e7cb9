import { isAbsolute, join } from 'node:path';
import { readYamlMapping } from '../../common/config-file.js';
import { ControlPlaneError } from '../errors.js';
import { isPlainObject } from '../resources/fields.js';
import { COMMON_CODES } from '../../common/errors.js';
import { parseServerList } from '../../common/nats/servers.js';
import { DEFAULT_TOKEN_LIFETIME, tokenLifetimeProblem, type TokenLifetime } from '../issuer/token-lifetime.js';

/** The control plane's settings; every field has a default except where noted. */
export interface ControlPlaneConfig {
  nats: {
    /** Every server of the NATS cluster (`nats.servers`, or `nats.url`); connecting needs any one. */
    servers: string[];
    /** NATS user credentials file (JWT + seed), when the server requires it. Relative: under stateDir. */
    credsFile?: string;
    /** CA of the servers' certificates, for tls:// servers (init-nats --cluster writes one). Relative: under stateDir. */
    caFile?: string;
    bucket: string;
    /** Replicas of the store's buckets: default 3 with 3 or more servers, else 1. */
    replicas: number;
  };
  http: {
    /** host:port; loopback by default. Port 0 picks a free port (logged at start). */
    listen: string;
  };
  /**
   * Holds the admin token and the issuer's signing keys. Replicas each have their own copy, made by
   * copying the first replica's (docs/operator-guide.md, "High availability").
   */
  stateDir: string;
  /** Default `<stateDir>/admin.token`. */
  adminTokenFile: string;
  issuer: {
    /**
     * The JWT `iss` and base of the discovery URLs; default http://<listen address>. Required with
     * more than one NATS server (an HA installation), where every replica must publish the same `iss`.
     */
    url?: string;
    /** Default `<stateDir>/issuer`. */
    keyDir: string;
    rotationPeriodSeconds: number;
    maxTokenTtlSeconds: number;
    defaultTtlSeconds: number;
    skewSeconds: number;
  };
  log: { level: string };
  /** The audit trail agents ship (a JetStream stream); the oldest events go first past either limit. */
  audit: {
    maxBytes: number;
    maxAgeSeconds: number;
    replicas: number;
  };
  console: {
    /** How long a console login lasts. */
    sessionTtlSeconds: number;
  };
}

export interface ConfigOverrides {
  /** One URL or several, comma-separated (`--nats-url`). */
  natsUrl?: string;
  listen?: string;
  stateDir?: string;
  issuerUrl?: string;
  logLevel?: string;
}

export const DEFAULT_STATE_DIR = '/var/lib/sigil/controlplane';
export const DEFAULT_LISTEN = '127.0.0.1:8787';
/** The audit stream's default size bound: 256 MiB. */
export const DEFAULT_AUDIT_MAX_BYTES = 256 * 1024 * 1024;
export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

/** Flags > file > defaults. A missing or bad file is a SIGIL_ERR_CONFIG naming the file and field. */
export async function loadConfig(file: string | undefined, overrides: ConfigOverrides = {}): Promise<ControlPlaneConfig> {
  const raw = file === undefined ? {} : await readConfigFile(file);
  const where = file ?? '(defaults)';
  const fail = (field: string, message: string): never => {
    throw new ControlPlaneError(COMMON_CODES.CONFIG, `${where}: ${field}: ${message}`);
  };
  const section = (name: string, allowed: string[]): Record<string, unknown> => {
    const value = raw[name];
    if (value === undefined || value === null) return {};
    if (!isPlainObject(value)) return fail(name, 'must be a mapping');
    for (const key of Object.keys(value)) if (!allowed.includes(key)) fail(`${name}.${key}`, `unknown field (allowed: ${allowed.join(', ')})`);
    return value;
  };
  const str = (obj: Record<string, unknown>, field: string, key: string): string | undefined => {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string' || value === '') return fail(field, 'must be a non-empty string');
    return value;
  };
  const seconds = (obj: Record<string, unknown>, field: string, key: string, fallback: number): number => {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    if (!Number.isInteger(value) || (value as number) <= 0) return fail(field, 'must be a positive whole number of seconds');
    return value as number;
  };
  const whole = (obj: Record<string, unknown>, field: string, key: string, fallback: number): number => {
    const value = obj[key];
    if (value === undefined || value === null) return fallback;
    if (!Number.isSafeInteger(value) || (value as number) <= 0) return fail(field, 'must be a positive whole number');
    return value as number;
  };

  for (const key of Object.keys(raw)) {
    if (!['nats', 'http', 'stateDir', 'adminTokenFile', 'issuer', 'log', 'audit', 'console'].includes(key)) fail(key, 'unknown field (allowed: nats, http, stateDir, adminTokenFile, issuer, log, audit, console)');
  }
  const nats = section('nats', ['servers', 'url', 'credsFile', 'caFile', 'bucket', 'replicas']);
  const http = section('http', ['listen']);
  const issuer = section('issuer', ['url', 'keyDir', 'rotationPeriodSeconds', 'maxTokenTtlSeconds', 'defaultTtlSeconds', 'skewSeconds']);
  const log = section('log', ['level']);
  const audit = section('audit', ['maxBytes', 'maxAgeSeconds', 'replicas']);
  const consoleSection = section('console', ['sessionTtlSeconds']);

  const stateDir = overrides.stateDir ?? str(raw, 'stateDir', 'stateDir') ?? DEFAULT_STATE_DIR;
  const listen = overrides.listen ?? str(http, 'http.listen', 'listen') ?? DEFAULT_LISTEN;
  if (!/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(listen)) fail('http.listen', `"${listen}" must be host:port`);
  const issuerUrl = overrides.issuerUrl ?? str(issuer, 'issuer.url', 'url');
  if (issuerUrl !== undefined && !/^https?:\/\/[^?#]+$/.test(issuerUrl)) fail('issuer.url', `"${issuerUrl}" must be an http(s) URL without query or fragment`);
  const lifetime: TokenLifetime = {
    defaultTtlSeconds: issuer['defaultTtlSeconds'] as number ?? DEFAULT_TOKEN_LIFETIME.defaultTtlSeconds,
    maxTokenTtlSeconds: issuer['maxTokenTtlSeconds'] as number ?? DEFAULT_TOKEN_LIFETIME.maxTokenTtlSeconds,
    skewSeconds: issuer['skewSeconds'] as number ?? DEFAULT_TOKEN_LIFETIME.skewSeconds,
  };
  const lifetimeProblem = tokenLifetimeProblem(lifetime);
  if (lifetimeProblem) fail(`issuer.${lifetimeProblem[0]}`, lifetimeProblem[1].replace('maxTokenTtlSeconds', 'issuer.maxTokenTtlSeconds'));
  // Relative to stateDir, so a copied state dir (one per replica) carries its own config unchanged.
  const inState = (file: string | undefined): string | undefined => (file === undefined || isAbsolute(file) ? file : join(stateDir, file));
  const credsFile = inState(str(nats, 'nats.credsFile', 'credsFile'));
  const caFile = inState(str(nats, 'nats.caFile', 'caFile'));
  if (nats['servers'] !== undefined && nats['url'] !== undefined) fail('nats.url', 'give nats.servers or nats.url, not both');
  const serverField = nats['servers'] !== undefined ? 'nats.servers' : 'nats.url';
  const listed = overrides.natsUrl ?? nats['servers'] ?? nats['url'] ?? DEFAULT_NATS_URL;
  const parsed = parseServerList(listed);
  if (!parsed.ok) return fail(overrides.natsUrl !== undefined ? '--nats-url' : serverField, parsed.problem);
  const servers = parsed.servers;
  const replicas = nats['replicas'] ?? (servers.length >= 3 ? 3 : 1);
  if (!Number.isInteger(replicas) || (replicas as number) < 1 || (replicas as number) > 5) fail('nats.replicas', 'must be a whole number from 1 to 5');
  if ((replicas as number) > servers.length) fail('nats.replicas', `${replicas as number} replicas need at least as many servers in nats.servers (${servers.length} listed)`);
  if (servers.length > 1 && issuerUrl === undefined) {
    fail('issuer.url', 'must be set when nats.servers lists several servers (an HA installation): every replica must publish the same issuer');
  }

  return {
    nats: {
      servers, ...(credsFile ? { credsFile } : {}), ...(caFile ? { caFile } : {}),
      bucket: str(nats, 'nats.bucket', 'bucket') ?? 'sigil-resources', replicas: replicas as number,
    },
    http: { listen },
    stateDir,
    adminTokenFile: str(raw, 'adminTokenFile', 'adminTokenFile') ?? join(stateDir, 'admin.token'),
    issuer: {
      ...(issuerUrl ? { url: issuerUrl } : {}),
      keyDir: str(issuer, 'issuer.keyDir', 'keyDir') ?? join(stateDir, 'issuer'),
      rotationPeriodSeconds: seconds(issuer, 'issuer.rotationPeriodSeconds', 'rotationPeriodSeconds', 86_400),
      ...lifetime,
    },
    log: { level: overrides.logLevel ?? str(log, 'log.level', 'level') ?? 'info' },
    audit: {
      maxBytes: whole(audit, 'audit.maxBytes', 'maxBytes', DEFAULT_AUDIT_MAX_BYTES),
      maxAgeSeconds: seconds(audit, 'audit.maxAgeSeconds', 'maxAgeSeconds', 7 * 86_400),
      replicas: whole(audit, 'audit.replicas', 'replicas', replicas as number),
    },
    console: { sessionTtlSeconds: seconds(consoleSection, 'console.sessionTtlSeconds', 'sessionTtlSeconds', 8 * 3600) },
  };
}

const readConfigFile = (file: string): Promise<Record<string, unknown>> =>
  readYamlMapping(file, (message, cause) => new ControlPlaneError(COMMON_CODES.CONFIG, message, cause === undefined ? {} : { cause }));

/** "127.0.0.1:8787" → { host, port }; brackets stripped from IPv6. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  return { host: listen.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(listen.slice(colon + 1)) };
}
