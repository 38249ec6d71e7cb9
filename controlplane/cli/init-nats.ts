/**
 * `sigil-controlplane init-nats`: creates the fleet's NATS authority once per installation — the
 * operator, the system and SIGIL accounts, the control plane's own user and an admin user — and
 * writes the nats-server configuration that trusts it. Agents are minted later, at enrolment.
 *
 *   <stateDir>/fleet/nats-auth.json   account signing seed etc. (0600; turns the fleet on)
 *   <stateDir>/controlplane.creds     the control plane's NATS user (0600; config nats.credsFile)
 *   <stateDir>/admin.creds            an operator's full-access NATS user (0600), separate from the above
 *
 * Single node (the demo): <nats config> — operator JWT, full resolver, JetStream, one listen address.
 *
 * `--cluster N`: <nats config> is a directory holding one complete config per node
 * (`node-<i>.conf`: server_name, client/cluster/monitor listeners on distinct ports, routes to every
 * other node, its own JetStream store and resolver dir, TLS for clients and for routes) and `tls/`
 * with the CA (made here unless --tls-ca-cert/--tls-ca-key name the operator's) and each node's
 * certificate. It also writes `<stateDir>/controlplane.yaml` (nats.servers, credsFile, caFile,
 * replicas, stateDir, issuer.url) so `sigil-controlplane run --config` needs no editing, and the rest
 * of a replica's state (admin token, bundle-signing key, the servers' CA): every replica gets a copy
 * of stateDir, and they share nothing else but NATS (the issuer's keys are kept in NATS KV).
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { stringify } from 'yaml';
import { ControlPlaneError } from '../errors.js';
import { BundleSigningKey, FLEET_AUTH_FILE, createNatsAuth, fleetSettings, natsServerConfig, type NatsAuthSetup } from '../fleet/index.js';
import { ensureAdminToken } from '../http/admin-token.js';
import { COMMON_CODES } from '../../common/errors.js';
import { parseServerList } from '../../common/nats/servers.js';
import { clusterCa, readCa } from './nats-pki.js';
import { authorityOf, certificateNames, hostPort, nodeConfigText, writeAuthority } from './nats-node-config.js';
import { writeNode, type NodeOptions } from './init-nats-node.js';

export interface InitNatsOptions {
  stateDir: string;
  /** Single node: the config file. With `cluster`: the directory for the nodes' configs and TLS files. */
  natsConfig: string;
  /** Where nats-server keeps account JWTs and JetStream data (per node `<dataDir>/node-<i>` with `cluster`). */
  dataDir: string;
  /** nats-server listen address (single node). */
  listen: string;
  /** The NATS servers agents are told at enrolment (one URL or comma-separated); default the control plane's. */
  agentNatsUrl?: string;
  force?: boolean;
  cluster?: ClusterOptions;
  /** One node's config (`--node`), for the authority already in stateDir. */
  node?: NodeOptions;
  /** Written as issuer.url into the cluster's controlplane.yaml (required with several servers). */
  issuerUrl?: string;
}

/** The value-taking flags of the cluster form (beyond the single-node ones), for the CLI's parser. */
export const CLUSTER_FLAGS = ['cluster', 'hosts', 'client-port', 'cluster-port', 'monitor-port', 'tls-ca-cert', 'tls-ca-key', 'issuer-url', 'node', 'host', 'routes'] as const;

export const CLUSTER_USAGE = `       sigil-controlplane init-nats --cluster <N> --state-dir <dir> --nats-config <dir> [--data-dir <dir>]
                              [--hosts <h1,h2,...>] [--client-port 4222] [--cluster-port 6222] [--monitor-port 8222]
                              [--tls-ca-cert <pem> --tls-ca-key <pem>] [--issuer-url <url>] [--agent-nats-url <urls>] [--force]
       sigil-controlplane init-nats --node <name> --routes <host:port,...> --state-dir <dir> --nats-config <file> [--data-dir <dir>]
                              [--host <addr>] [--client-port 4222] [--cluster-port 6222] [--monitor-port 8222]
                              [--tls-ca-cert <pem> --tls-ca-key <pem>]`;

type Flag = (name: (typeof CLUSTER_FLAGS)[number]) => string | undefined;

const intFlag = (flag: Flag) => (name: (typeof CLUSTER_FLAGS)[number], fallback: number): number => {
  const value = flag(name);
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new ControlPlaneError(COMMON_CODES.CONFIG, `--${name} "${value}" must be a whole number`);
  return Number(value);
};

/** NodeOptions from the CLI's flag values; undefined without --node. */
export function nodeOptionsFromFlags(flag: Flag): NodeOptions | undefined {
  const name = flag('node');
  if (name === undefined) return undefined;
  if (flag('cluster') !== undefined) throw new ControlPlaneError(COMMON_CODES.CONFIG, '--node and --cluster go apart: --cluster writes every node, --node one');
  const int = intFlag(flag);
  const caCertFile = flag('tls-ca-cert');
  const caKeyFile = flag('tls-ca-key');
  return {
    name,
    host: flag('host') ?? '127.0.0.1',
    routes: (flag('routes') ?? '').split(',').map((r) => r.trim()).filter((r) => r !== ''),
    clientPort: int('client-port', 4222),
    clusterPort: int('cluster-port', 6222),
    monitorPort: int('monitor-port', 8222),
    ...(caCertFile ? { caCertFile } : {}),
    ...(caKeyFile ? { caKeyFile } : {}),
  };
}

/** ClusterOptions from the CLI's flag values; undefined without --cluster. */
export function clusterOptionsFromFlags(flag: Flag): ClusterOptions | undefined {
  const nodes = flag('cluster');
  if (nodes === undefined) return undefined;
  const int = intFlag(flag);
  const caCertFile = flag('tls-ca-cert');
  const caKeyFile = flag('tls-ca-key');
  return {
    nodes: int('cluster', 3),
    hosts: (flag('hosts') ?? '127.0.0.1').split(',').map((h) => h.trim()).filter((h) => h !== ''),
    clientPort: int('client-port', 4222),
    clusterPort: int('cluster-port', 6222),
    monitorPort: int('monitor-port', 8222),
    ...(caCertFile ? { caCertFile } : {}),
    ...(caKeyFile ? { caKeyFile } : {}),
  };
}

export interface ClusterOptions {
  /** Number of nodes (3 or 5 for a JetStream quorum that survives one or two losses). */
  nodes: number;
  /** Host (IP or DNS name) of each node; one host for all (one machine) or exactly `nodes` of them. */
  hosts: string[];
  /** Node i (from 0) listens on base + i, so nodes sharing a host never clash. */
  clientPort: number;
  clusterPort: number;
  monitorPort: number;
  /** The operator's CA (PEM files); default: a new CA, its key kept in `<natsConfig>/tls/ca-key.pem`. */
  caCertFile?: string;
  caKeyFile?: string;
  /** Validity of node certificates, days. */
  certDays?: number;
}

export interface ClusterNode {
  name: string;
  host: string;
  clientPort: number;
  clusterPort: number;
  monitorPort: number;
  configFile: string;
}

export async function initNats(options: InitNatsOptions): Promise<{ files: string[]; nodes?: ClusterNode[]; controlPlaneConfig?: string }> {
  // One node of a cluster: uses the authority made before (no new one), writes that node's files only.
  if (options.node) return { files: await writeNode(options, options.node) };
  const authFile = path.join(options.stateDir, FLEET_AUTH_FILE);
  if (!options.force && (await access(authFile).then(() => true, () => false))) {
    throw new ControlPlaneError(COMMON_CODES.CONFIG, `${authFile} exists: this installation already has a NATS authority (use --force to replace it and re-enrol every agent)`);
  }
  const cluster = options.cluster ? clusterLayout(options.cluster, options.natsConfig) : undefined;
  let agentServers: string[] | undefined;
  if (options.agentNatsUrl !== undefined) {
    const parsed = parseServerList(options.agentNatsUrl);
    if (!parsed.ok) throw new ControlPlaneError(COMMON_CODES.CONFIG, `--agent-nats-url: ${parsed.problem}`);
    agentServers = parsed.servers;
  }
  const setup = await createNatsAuth(agentServers ?? cluster?.map(clientUrl));
  await mkdir(path.dirname(authFile), { recursive: true, mode: 0o700 });
  const files: Array<[string, string]> = [
    [authFile, JSON.stringify(setup.fleet, null, 2)],
    [path.join(options.stateDir, 'controlplane.creds'), setup.controlPlaneCreds],
    [path.join(options.stateDir, 'admin.creds'), setup.adminCreds],
  ];
  for (const [file, text] of files) await writeFile(file, text, { mode: 0o600 });
  // Public: what `init-nats --node` (on any host) needs to write a node of this installation.
  const authorityFile = await writeAuthority(options.stateDir, authorityOf(setup));
  if (!options.cluster || !cluster) {
    const [host, port] = splitListen(options.listen);
    const config = [
      '# Written by sigil-controlplane init-nats: decentralised JWT auth (operator -> accounts -> users).',
      `listen: ${JSON.stringify(`${host}:${port}`)}`,
      `jetstream: { store_dir: ${JSON.stringify(path.join(options.dataDir, 'jetstream'))} }`,
      natsServerConfig(setup, path.join(options.dataDir, 'resolver')),
    ].join('\n');
    await mkdir(path.dirname(options.natsConfig), { recursive: true });
    // Only public material (operator and account JWTs): readable by nats-server's own (dynamic) user.
    await writeFile(options.natsConfig, config, { mode: 0o644 });
    return { files: [...files.map(([f]) => f), authorityFile, options.natsConfig] };
  }
  const written = await writeCluster(setup, options, options.cluster, cluster);
  return { files: [...files.map(([f]) => f), authorityFile, ...written.files], nodes: cluster, controlPlaneConfig: written.controlPlaneConfig };
}

function clusterLayout(options: ClusterOptions, dir: string): ClusterNode[] {
  const { nodes, hosts } = options;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 9) throw new ControlPlaneError(COMMON_CODES.CONFIG, '--cluster must be a whole number from 1 to 9 (3 or 5 for HA)');
  if (hosts.length !== 1 && hosts.length !== nodes) throw new ControlPlaneError(COMMON_CODES.CONFIG, `--hosts names ${hosts.length} hosts for ${nodes} nodes (give one, or one per node)`);
  for (const [flag, base] of [['--client-port', options.clientPort], ['--cluster-port', options.clusterPort], ['--monitor-port', options.monitorPort]] as const) {
    if (!Number.isInteger(base) || base < 1 || base + nodes - 1 > 65_535) throw new ControlPlaneError(COMMON_CODES.CONFIG, `${flag} ${base}: ports ${base}..${base + nodes - 1} must be valid`);
  }
  const all = Array.from({ length: nodes }, (_, i) => ({
    name: `sigil-nats-${i + 1}`,
    host: hosts.length === 1 ? hosts[0] as string : hosts[i] as string,
    clientPort: options.clientPort + i,
    clusterPort: options.clusterPort + i,
    monitorPort: options.monitorPort + i,
    configFile: path.join(dir, `node-${i + 1}.conf`),
  }));
  const used = all.flatMap((n) => [n.clientPort, n.clusterPort, n.monitorPort].map((p) => `${n.host}:${p}`));
  if (new Set(used).size !== used.length) throw new ControlPlaneError(COMMON_CODES.CONFIG, 'the client, cluster and monitor port ranges overlap; choose bases further apart');
  return all;
}

const clientUrl = (node: ClusterNode): string => `tls://${hostPort(node.host, node.clientPort)}`;

async function writeCluster(setup: NatsAuthSetup, options: InitNatsOptions, cluster: ClusterOptions, nodes: ClusterNode[]): Promise<{ files: string[]; controlPlaneConfig: string }> {
  const dir = options.natsConfig;
  const tlsDir = path.join(dir, 'tls');
  await mkdir(tlsDir, { recursive: true, mode: 0o755 });
  const existing = cluster.caCertFile || cluster.caKeyFile
    ? await readCa(cluster.caCertFile, cluster.caKeyFile)
    : undefined;
  const ca = await clusterCa(existing);
  const files: string[] = [];
  const write = async (file: string, text: string, mode: number): Promise<void> => {
    await writeFile(file, text, { mode });
    files.push(file);
  };
  const caFile = path.join(tlsDir, 'ca.pem');
  await write(caFile, ca.certPem, 0o644);
  if (ca.keyPem) await write(path.join(tlsDir, 'ca-key.pem'), ca.keyPem, 0o600);
  for (const node of nodes) {
    const leaf = await ca.issue(certificateNames(node.host), cluster.certDays ?? 825);
    const certFile = path.join(tlsDir, `${node.name}.pem`);
    const keyFile = path.join(tlsDir, `${node.name}-key.pem`);
    await write(certFile, leaf.certPem, 0o644);
    // nats-server reads it: run it as root, or chown this file to its user (docs/operator-guide.md).
    await write(keyFile, leaf.keyPem, 0o600);
    const config = nodeConfigText({
      ...node, certFile, keyFile, caFile, dataDir: options.dataDir, writtenBy: `sigil-controlplane init-nats --cluster ${nodes.length}`,
      routes: nodes.filter((n) => n !== node).map((n) => `nats-route://${hostPort(n.host, n.clusterPort)}`),
    }, authorityOf(setup));
    await write(node.configFile, config, 0o644);
  }
  // Everything a replica needs, made once here so every replica gets the same by copying stateDir:
  // the servers' CA, the admin token, the bundle-signing key (the issuer's keys live in NATS KV).
  const replicaCa = path.join(options.stateDir, 'nats-ca.pem');
  await write(replicaCa, ca.certPem, 0o644);
  const adminTokenFile = path.join(options.stateDir, 'admin.token');
  await ensureAdminToken(adminTokenFile);
  files.push(adminTokenFile);
  const bundleKeyFile = fleetSettings(options.stateDir, [], setup.fleet).bundleKeyFile;
  await BundleSigningKey.loadOrCreate(bundleKeyFile);
  files.push(bundleKeyFile);
  const controlPlaneConfig = path.join(options.stateDir, 'controlplane.yaml');
  await write(controlPlaneConfig, stringify({
    stateDir: options.stateDir,
    nats: {
      servers: nodes.map(clientUrl),
      // Relative to stateDir: each replica's copy of the state dir is complete as it is.
      credsFile: 'controlplane.creds',
      caFile: path.basename(replicaCa),
      replicas: Math.min(3, nodes.length),
    },
    ...(options.issuerUrl ? { issuer: { url: options.issuerUrl } } : {}),
  }), 0o600);
  return { files, controlPlaneConfig };
}


function splitListen(listen: string): [string, number] {
  const m = /^(.+):(\d{1,5})$/.exec(listen);
  if (!m) throw new ControlPlaneError(COMMON_CODES.CONFIG, `--listen "${listen}" must be host:port`);
  return [m[1] as string, Number(m[2])];
}
