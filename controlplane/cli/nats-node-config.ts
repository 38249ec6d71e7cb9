/**
 * One nats-server node as `init-nats` writes it, with `--cluster N` (every node at once) or `--node`
 * (one node, on its own host): server_name, client/cluster/monitor listeners, routes, its own
 * JetStream store and resolver dir, TLS for clients and routes (mutual) from the cluster's CA, and the
 * NATS authority's public part (operator, accounts) that every node must carry alike.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { ControlPlaneError } from '../errors.js';
import { natsServerConfig, type NatsAuthSetup } from '../fleet/index.js';
import { COMMON_CODES } from '../../common/errors.js';

/** The authority's public part (`<stateDir>/fleet/nats-authority.json`, 0644): what a node's config needs, no secret. */
export interface NatsAuthority {
  operatorJwt: string;
  systemAccountPublicKey: string;
  systemAccountJwt: string;
  accountPublicKey: string;
  accountJwt: string;
}

export const NATS_AUTHORITY_FILE = path.join('fleet', 'nats-authority.json');

export function authorityOf(setup: NatsAuthSetup): NatsAuthority {
  const { operatorJwt, systemAccountPublicKey, systemAccountJwt, accountJwt } = setup;
  return { operatorJwt, systemAccountPublicKey, systemAccountJwt, accountPublicKey: setup.fleet.accountPublicKey, accountJwt };
}

export async function writeAuthority(stateDir: string, authority: NatsAuthority): Promise<string> {
  const file = path.join(stateDir, NATS_AUTHORITY_FILE);
  await writeFile(file, `${JSON.stringify(authority, null, 2)}\n`, { mode: 0o644 });
  return file;
}

export async function readAuthority(stateDir: string): Promise<NatsAuthority> {
  const file = path.join(stateDir, NATS_AUTHORITY_FILE);
  let parsed: Partial<NatsAuthority>;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<NatsAuthority>;
  } catch (err) {
    throw new ControlPlaneError(COMMON_CODES.CONFIG, `${file}: cannot read the NATS authority (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); `
      + 'create it first with init-nats (or init-nats --cluster N), then copy that file here', { cause: err });
  }
  for (const key of ['operatorJwt', 'systemAccountPublicKey', 'systemAccountJwt', 'accountPublicKey', 'accountJwt'] as const) {
    if (typeof parsed[key] !== 'string') throw new ControlPlaneError(COMMON_CODES.CONFIG, `${file}: ${key} is missing`);
  }
  return parsed as NatsAuthority;
}

export const hostPort = (host: string, port: number): string => `${host.includes(':') ? `[${host}]` : host}:${port}`;

/**
 * The names a node's certificate carries. nats.js sends no TLS server name for a server given by IP
 * address, and Node then checks the certificate against "localhost": IP-addressed nodes also carry
 * that name. Such a node is then verified as "a node certified by this cluster's own CA"; nodes given
 * by DNS name, by that name.
 */
export function certificateNames(host: string): string[] {
  return [...new Set([host, ...(isIP(host) !== 0 || host === 'localhost' ? ['localhost'] : [])])];
}

export interface NodeConfig {
  name: string;
  host: string;
  clientPort: number;
  clusterPort: number;
  monitorPort: number;
  /** The other nodes' route URLs (`nats-route://host:port`); none: one node, no cluster block (nats-server refuses a JetStream cluster without routes). */
  routes: string[];
  certFile: string;
  keyFile: string;
  caFile: string;
  /** This node's JetStream store and resolver go under `<dataDir>/<name>`. */
  dataDir: string;
  /** First comment line: what wrote it. */
  writtenBy: string;
}

export function nodeConfigText(node: NodeConfig, authority: NatsAuthority): string {
  const data = path.join(node.dataDir, node.name);
  const tls = (extra: string[]): string[] => [
    'tls {',
    `  cert_file: ${JSON.stringify(node.certFile)}`,
    `  key_file: ${JSON.stringify(node.keyFile)}`,
    `  ca_file: ${JSON.stringify(node.caFile)}`,
    '  timeout: 5',
    ...extra.map((l) => `  ${l}`),
    '}',
  ];
  return [
    `# Written by ${node.writtenBy}: node ${node.name}.`,
    '# Decentralised JWT auth (operator -> accounts -> users); TLS for clients and routes.',
    `server_name: ${JSON.stringify(node.name)}`,
    `listen: ${JSON.stringify(hostPort(node.host, node.clientPort))}`,
    `http: ${JSON.stringify(hostPort(node.host, node.monitorPort))}`,
    ...tls([]),
    `jetstream { store_dir: ${JSON.stringify(path.join(data, 'jetstream'))} }`,
    ...(node.routes.length === 0 ? [] : [
      'cluster {',
      '  name: "sigil"',
      `  listen: ${JSON.stringify(hostPort(node.host, node.clusterPort))}`,
      '  routes: [',
      ...node.routes.map((r) => `    ${JSON.stringify(r)}`),
      '  ]',
      ...tls(['verify: true']).map((l) => `  ${l}`),
      '}',
    ]),
    natsServerConfig({ ...authority, fleet: { accountPublicKey: authority.accountPublicKey } }, path.join(data, 'resolver')),
  ].join('\n');
}
