/**
 * `sigil-controlplane init-nats --node <name>`: one node's nats-server config, written on (or for) the
 * host that runs it, for an installation whose NATS authority exists already (`init-nats` or
 * `init-nats --cluster N` made it; this reads only its public part, `<stateDir>/fleet/nats-authority.json`).
 * The node's key is made here and never leaves this host; its certificate is signed by the cluster's
 * CA: the one given with --tls-ca-cert/--tls-ca-key, else the one `--cluster` left in `<dir>/tls/`
 * next to the config. Routes go to the peers named with --routes.
 *
 *   <nats config>              the node's config (server_name, listeners, routes, JetStream, resolver, TLS)
 *   <dir>/tls/ca.pem           the CA certificate (copied there when it came from elsewhere)
 *   <dir>/tls/<name>.pem, <name>-key.pem   the node's certificate and key (0600)
 */
import { X509Certificate } from 'node:crypto';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ControlPlaneError } from '../errors.js';
import { COMMON_CODES } from '../../common/errors.js';
import { clusterCa, readCa } from './nats-pki.js';
import { certificateNames, nodeConfigText, readAuthority, type NodeConfig } from './nats-node-config.js';

/** One node's settings: its config's, but the routes may be written `host:port`, and the CA is read from files. */
export interface NodeOptions extends Pick<NodeConfig, 'name' | 'host' | 'clientPort' | 'clusterPort' | 'monitorPort' | 'routes'> {
  /** The cluster's CA (PEM files); default `<dir of the config>/tls/ca.pem` and `ca-key.pem`. */
  caCertFile?: string;
  caKeyFile?: string;
  certDays?: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ROUTE = /^(?:nats-route:\/\/)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/** `host:port` or `nats-route://host:port` → `nats-route://host:port`; refuses anything else. */
export function routeUrl(given: string): string {
  const m = ROUTE.exec(given.trim());
  if (!m || Number(m[2]) < 1 || Number(m[2]) > 65_535) throw new ControlPlaneError(COMMON_CODES.CONFIG, `--routes: "${given}" is not host:port or nats-route://host:port`);
  return `nats-route://${m[1]}:${m[2]}`;
}

export async function writeNode(options: { stateDir: string; natsConfig: string; dataDir: string }, node: NodeOptions): Promise<string[]> {
  if (!NAME.test(node.name)) throw new ControlPlaneError(COMMON_CODES.CONFIG, `--node "${node.name}": a server name is letters, digits, '-', '_' and '.'`);
  if (node.routes.length === 0) throw new ControlPlaneError(COMMON_CODES.CONFIG, '--node needs --routes: the route URLs (host:port) of the other nodes');
  const routes = node.routes.map(routeUrl);
  for (const [flag, port] of [['--client-port', node.clientPort], ['--cluster-port', node.clusterPort], ['--monitor-port', node.monitorPort]] as const) {
    if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new ControlPlaneError(COMMON_CODES.CONFIG, `${flag} ${port} is not a port`);
  }
  if (new Set([node.clientPort, node.clusterPort, node.monitorPort]).size !== 3) throw new ControlPlaneError(COMMON_CODES.CONFIG, 'the client, cluster and monitor ports must differ');
  const authority = await readAuthority(options.stateDir);
  const tlsDir = path.join(path.dirname(options.natsConfig), 'tls');
  const caFile = path.join(tlsDir, 'ca.pem');
  const given = node.caCertFile !== undefined || node.caKeyFile !== undefined;
  const caFiles = given ? { cert: node.caCertFile, key: node.caKeyFile } : { cert: caFile, key: path.join(tlsDir, 'ca-key.pem') };
  if (!given && !(await access(caFiles.key as string).then(() => true, () => false))) {
    throw new ControlPlaneError(COMMON_CODES.CONFIG, `no CA: give --tls-ca-cert and --tls-ca-key, or write this node next to the configs of init-nats --cluster (its CA is ${caFiles.key})`);
  }
  const ca = await clusterCa(await readCa(caFiles.cert, caFiles.key));
  await mkdir(tlsDir, { recursive: true, mode: 0o755 });
  const files: string[] = [];
  const write = async (file: string, text: string, mode: number): Promise<void> => {
    await writeFile(file, text, { mode });
    files.push(file);
  };
  const existingCa = await readFile(caFile, 'utf8').catch(() => undefined);
  const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;
  if (existingCa === undefined) await write(caFile, ca.certPem, 0o644);
  else if (fingerprint(existingCa) !== fingerprint(ca.certPem)) throw new ControlPlaneError(COMMON_CODES.CONFIG, `${caFile} holds another CA than ${caFiles.cert}: one directory, one cluster`);
  const leaf = await ca.issue(certificateNames(node.host), node.certDays ?? 825);
  const certFile = path.join(tlsDir, `${node.name}.pem`);
  const keyFile = path.join(tlsDir, `${node.name}-key.pem`);
  await write(certFile, leaf.certPem, 0o644);
  // nats-server reads it: run it as root, or chown this file to its user (docs/operator-guide.md).
  await write(keyFile, leaf.keyPem, 0o600);
  const config = nodeConfigText({ ...node, routes, certFile, keyFile, caFile, dataDir: options.dataDir, writtenBy: 'sigil-controlplane init-nats --node' }, authority);
  await write(options.natsConfig, config, 0o644);
  return files;
}
