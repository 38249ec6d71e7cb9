import { join } from 'node:path';
import { readYamlMapping } from '../../common/config-file.js';
import { ControlPlaneError } from '../errors.js';
import { isPlainObject } from '../resources/fields.js';
import { COMMON_CODES } from '../../common/errors.js';
import { DEFAULT_TOKEN_LIFETIME, tokenLifetimeProblem, type TokenLifetime } from '../issuer/token-lifetime.js';

/** The control plane's settings; every field has a default except where noted. */
export interface ControlPlaneConfig {
  nats: {
    url: string;
    /** NATS user credentials file (JWT + seed), when the server requires it. */
    credsFile?: string;
    bucket: string;
  };
  http: {
    /** host:port; loopback by default. Port 0 picks a free port (logged at start). */
    listen: string;
  };
  /** Holds the admin token and the issuer's signing keys. Replicas share it for the keys. */
  stateDir: string;
  /** Default `<stateDir>/admin.token`. */
  adminTokenFile: string;
  issuer: {
    /** The JWT `iss` and base of the discovery URLs; default http://<listen address>. */
    url?: string;
    /** Default `<stateDir>/issuer`. */
    keyDir: string;
    rotationPeriodSeconds: number;
    maxTokenTtlSeconds: number;
    defaultTtlSeconds: number;
    skewSeconds: number;
  };
  log: { level: string };
}

export interface ConfigOverrides {
  natsUrl?: string;
  listen?: string;
  stateDir?: string;
  issuerUrl?: string;
  logLevel?: string;
}

export const DEFAULT_STATE_DIR = '/var/lib/sigil/controlplane';
export const DEFAULT_LISTEN = '127.0.0.1:8787';

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

  for (const key of Object.keys(raw)) {
    if (!['nats', 'http', 'stateDir', 'adminTokenFile', 'issuer', 'log'].includes(key)) fail(key, 'unknown field (allowed: nats, http, stateDir, adminTokenFile, issuer, log)');
  }
  const nats = section('nats', ['url', 'credsFile', 'bucket']);
  const http = section('http', ['listen']);
  const issuer = section('issuer', ['url', 'keyDir', 'rotationPeriodSeconds', 'maxTokenTtlSeconds', 'defaultTtlSeconds', 'skewSeconds']);
  const log = section('log', ['level']);

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
  const credsFile = str(nats, 'nats.credsFile', 'credsFile');

  return {
    nats: { url: overrides.natsUrl ?? str(nats, 'nats.url', 'url') ?? 'nats://127.0.0.1:4222', ...(credsFile ? { credsFile } : {}), bucket: str(nats, 'nats.bucket', 'bucket') ?? 'sigil-resources' },
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
  };
}

const readConfigFile = (file: string): Promise<Record<string, unknown>> =>
  readYamlMapping(file, (message, cause) => new ControlPlaneError(COMMON_CODES.CONFIG, message, cause === undefined ? {} : { cause }));

/** "127.0.0.1:8787" → { host, port }; brackets stripped from IPv6. */
export function splitHostPort(listen: string): { host: string; port: number } {
  const colon = listen.lastIndexOf(':');
  return { host: listen.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(listen.slice(colon + 1)) };
}
