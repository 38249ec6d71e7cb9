import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { isMapping, readYamlMapping } from '../common/config-file.js';
import { resolveLogLevel } from '../common/log.js';
import { bounded, boundedProblem, type Bounded } from '../common/bounded.js';
import { AGENT_SETTINGS, DEFAULT_ADMIN_LISTEN, DEFAULT_PIN_DIR } from './settings.js';
import { parseFileFallbackConfigs, type FileFallbackConfig } from './credentials/index.js';
import { DEFAULT_PROTECTION, PROTECTION_SETTINGS, type ProtectionSetting } from './steering/index.js';
import { AgentError } from './errors.js';
import { COMMON_CODES } from '../common/errors.js';
import { parseServerList } from '../common/nats/servers.js';

/**
 * The agent's settings. Flags > file > defaults; a missing or bad file is SIGIL_ERR_CONFIG naming the
 * file and the field. Everything has a default, so `sigil-agent run` works with no file at all.
 */
export interface AgentConfig {
  /** Holds the local CA, the enrolment (agent id, NATS creds, pinned bundle key) and the last good bundle. */
  stateDir: string;
  log: { level: string };
  steering: {
    /**
     * cgroup v2 directory whose sockets are steered; '/' = the cgroup2 root (every process). Empty (unset):
     * `sigil-agent run` refuses unless --all-host says the root is meant.
     */
    cgroup: string;
    /** bpffs directory for pinned links and maps, so a restarted agent adopts them. */
    pinDir: string;
    /** A cgroup under `cgroup` the agent moves itself into at start (demo, tests); empty = stay put. */
    agentCgroup: string;
  };
  signer: {
    /**
     * Loopback addresses the kernel redirects to; fixed so pinned programs stay right across restarts.
     * Defaults: a loopback address of its own and a privileged port, so only the agent (root) can
     * listen there and, while it is down, steered connects are refused (agent/steering/signer-address.ts).
     */
    ipv4: string;
    ipv6: string;
    port: number;
    maxSignedBodyBytes: number;
    attestTimeoutMs: number;
    maxConnectionsPerProcess: number;
    maxConnections: number;
  };
  upstream: { caFile?: string };
  attestation: {
    /**
     * Identity protection: 'enforce' refuses identity-changing operations (PR_SET_MM, user namespaces,
     * credential changes, ptrace-class access) on bound processes with BPF LSM; 'taint-only' only
     * unbinds the process; 'auto' (default) enforces where BPF LSM is active.
     */
    protection: ProtectionSetting;
  };
  dns: {
    /** Resolved addresses stay steered this long after DNS stopped returning them. */
    graceSeconds: number;
    /** host → addresses, instead of DNS (air-gapped hosts, tests). */
    resolve: Record<string, string[]>;
  };
  controlPlane: {
    /**
     * NATS servers (`controlPlane.natsUrl`: one URL or several comma-separated, or `controlPlane.servers`:
     * a list). Unset by default: the agent then uses the servers it was given at enrolment.
     */
    natsServers?: string[];
  };
  admin: {
    /** host:port of the loopback admin endpoint (/metrics, /healthz, /readyz); empty disables it. */
    listen: string;
  };
  /** Opt-in per binding: also write an OCI config profile readable only by the workload's uid. */
  fileFallback: FileFallbackConfig[];
}

export interface AgentConfigOverrides {
  stateDir?: string;
  cgroup?: string;
  pinDir?: string;
  natsUrl?: string;
  logLevel?: string;
  signerPort?: number;
  adminListen?: string;
}

import { DEFAULT_AGENT_STATE_DIR } from './state-dir.js';
export { AGENT_STATE_DIR_MODE, DEFAULT_AGENT_STATE_DIR } from './state-dir.js';
export { DEFAULT_AGENT_CONFIG_FILE } from './defaults.js';

/** The signer's own loopback address ("SIG" in ASCII); all of 127.0.0.0/8 is on `lo` with no setup. */
export const DEFAULT_SIGNER_IPV4 = '127.83.73.71';
export const DEFAULT_SIGNER_IPV6 = '::1';
/** Privileged (< 1024): only root can bind it. Rarely used, so no wildcard service sits on it. */
export const DEFAULT_SIGNER_PORT = 944;
const SIGNER_PORT = bounded(DEFAULT_SIGNER_PORT, 1, 65535);

type Raw = Record<string, unknown>;


/** Reads, validates and defaults the agent's config. `file` undefined means defaults only. */
export async function loadAgentConfig(file: string | undefined, overrides: AgentConfigOverrides = {}): Promise<AgentConfig> {
  const raw = file === undefined ? {} : await readConfigFile(file);
  return agentConfigFrom(raw, file ?? '(defaults)', overrides);
}

/** Validation and defaults on an already parsed document (exported for tests). */
export function agentConfigFrom(raw: Raw, where: string, overrides: AgentConfigOverrides = {}): AgentConfig {
  const fail = (field: string, message: string): never => {
    throw new AgentError(COMMON_CODES.CONFIG, `${where}: ${field}: ${message}`);
  };
  const only = (obj: Raw, prefix: string, allowed: string[]): void => {
    for (const key of Object.keys(obj)) {
      if (!allowed.includes(key)) fail(`${prefix}${key}`, `unknown field (allowed: ${allowed.join(', ')})`);
    }
  };
  const section = (name: string, allowed: string[]): Raw => {
    const value = raw[name];
    if (value === undefined || value === null) return {};
    if (!isMapping(value)) return fail(name, 'must be a mapping');
    only(value, `${name}.`, allowed);
    return value;
  };
  const str = (obj: Raw, field: string, key: string): string | undefined => {
    const value = obj[key];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'string') return fail(field, 'must be a string');
    return value;
  };
  const int = (obj: Raw, field: string, key: string, setting: Bounded): number => {
    const value = obj[key];
    if (value === undefined || value === null) return setting.default;
    const problem = boundedProblem(setting, value);
    return problem === undefined ? (value as number) : fail(field, problem);
  };
  const oneOf = <T extends string>(value: string, allowed: readonly T[], field: string): T => {
    if (!(allowed as readonly string[]).includes(value)) fail(field, `"${value}" is not one of ${allowed.join(', ')}`);
    return value as T;
  };
  const ip = (value: string, field: string, family: 4 | 6): string => {
    if (isIP(value) !== family) fail(field, `"${value}" is not an IPv${family} address`);
    return value;
  };

  only(raw, '', ['stateDir', 'log', 'steering', 'signer', 'upstream', 'attestation', 'dns', 'controlPlane', 'admin', 'fileFallback']);
  const attestation = section('attestation', ['protection']);
  const log = section('log', ['level']);
  const steering = section('steering', ['cgroup', 'pinDir', 'agentCgroup']);
  const signer = section('signer', ['ipv4', 'ipv6', 'port', 'maxSignedBodyBytes', 'attestTimeoutMs', 'maxConnectionsPerProcess', 'maxConnections']);
  const upstream = section('upstream', ['caFile']);
  const dns = section('dns', ['graceSeconds', 'resolve']);
  const controlPlane = section('controlPlane', ['natsUrl', 'servers']);
  const admin = section('admin', ['listen']);

  const resolve: Record<string, string[]> = {};
  if (dns['resolve'] !== undefined && dns['resolve'] !== null) {
    if (!isMapping(dns['resolve'])) fail('dns.resolve', 'must map hostnames to lists of addresses');
    for (const [host, addrs] of Object.entries(dns['resolve'] as Raw)) {
      const list = typeof addrs === 'string' ? [addrs] : addrs;
      if (!Array.isArray(list) || list.length === 0 || list.some((a) => typeof a !== 'string' || isIP(a) === 0)) {
        fail(`dns.resolve.${host}`, 'must be an IP address or a non-empty list of IP addresses');
      }
      resolve[host.toLowerCase()] = list as string[];
    }
  }

  let fileFallback: FileFallbackConfig[];
  try {
    fileFallback = parseFileFallbackConfigs(raw['fileFallback']);
  } catch (err) {
    throw new AgentError(COMMON_CODES.CONFIG, `${where}: ${(err as Error).message}`, { cause: err });
  }

  const stateDir = overrides.stateDir ?? str(raw, 'stateDir', 'stateDir') ?? DEFAULT_AGENT_STATE_DIR;
  const caFile = str(upstream, 'upstream.caFile', 'caFile');
  const adminListen = overrides.adminListen ?? str(admin, 'admin.listen', 'listen') ?? DEFAULT_ADMIN_LISTEN;
  if (adminListen !== '' && !/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/.test(adminListen)) {
    fail('admin.listen', `"${adminListen}" must be host:port (or empty to disable)`);
  }
  return {
    stateDir,
    log: { level: resolveLogLevel(overrides.logLevel, str(log, 'log.level', 'level'), where) },
    steering: {
      cgroup: overrides.cgroup ?? str(steering, 'steering.cgroup', 'cgroup') ?? '',
      pinDir: overrides.pinDir ?? str(steering, 'steering.pinDir', 'pinDir') ?? DEFAULT_PIN_DIR,
      agentCgroup: str(steering, 'steering.agentCgroup', 'agentCgroup') ?? '',
    },
    signer: {
      ipv4: ip(str(signer, 'signer.ipv4', 'ipv4') ?? DEFAULT_SIGNER_IPV4, 'signer.ipv4', 4),
      ipv6: ip(str(signer, 'signer.ipv6', 'ipv6') ?? DEFAULT_SIGNER_IPV6, 'signer.ipv6', 6),
      port: overrides.signerPort ?? int(signer, 'signer.port', 'port', SIGNER_PORT),
      maxSignedBodyBytes: int(signer, 'signer.maxSignedBodyBytes', 'maxSignedBodyBytes', AGENT_SETTINGS.signerMaxSignedBodyBytes),
      attestTimeoutMs: int(signer, 'signer.attestTimeoutMs', 'attestTimeoutMs', AGENT_SETTINGS.signerAttestTimeoutMs),
      maxConnectionsPerProcess: int(signer, 'signer.maxConnectionsPerProcess', 'maxConnectionsPerProcess', AGENT_SETTINGS.signerMaxConnectionsPerProcess),
      maxConnections: int(signer, 'signer.maxConnections', 'maxConnections', AGENT_SETTINGS.signerMaxConnections),
    },
    upstream: caFile === undefined ? {} : { caFile },
    attestation: { protection: oneOf(str(attestation, 'attestation.protection', 'protection') ?? DEFAULT_PROTECTION, PROTECTION_SETTINGS, 'attestation.protection') },
    dns: { graceSeconds: int(dns, 'dns.graceSeconds', 'graceSeconds', AGENT_SETTINGS.dnsGraceSeconds), resolve },
    controlPlane: natsServersFrom(overrides.natsUrl, controlPlane, fail),
    admin: { listen: adminListen },
    fileFallback,
  };
}

/** `--nats` > `controlPlane.servers` / `controlPlane.natsUrl` > unset (the enrolment's servers). */
function natsServersFrom(flag: string | undefined, section: Raw, fail: (field: string, message: string) => never): AgentConfig['controlPlane'] {
  if (section['natsUrl'] !== undefined && section['servers'] !== undefined) fail('controlPlane.servers', 'give controlPlane.servers or controlPlane.natsUrl, not both');
  const field = flag !== undefined ? '--nats' : section['servers'] !== undefined ? 'controlPlane.servers' : 'controlPlane.natsUrl';
  const value = flag ?? section['servers'] ?? section['natsUrl'];
  if (value === undefined || value === null) return {};
  const parsed = parseServerList(value);
  if (!parsed.ok) return fail(field, parsed.problem);
  return { natsServers: parsed.servers };
}

/**
 * Reads a YAML config file whose top level must be a mapping (the agent's and the control plane's).
 * Errors name the file and say what is wrong; `error` makes each program's own coded error.
 */
const readConfigFile = (file: string): Promise<Raw> =>
  readYamlMapping(file, (message, cause) => new AgentError(COMMON_CODES.CONFIG, message, cause === undefined ? {} : { cause }));
