/**
 * `sigil-controlplane init-nats`: creates the fleet's NATS authority once per installation — the
 * operator, the system and SIGIL accounts, the control plane's own user and an admin user — and
 * writes the nats-server configuration that trusts it. Agents are minted later, at enrolment.
 *
 *   <stateDir>/fleet/nats-auth.json   account signing seed etc. (0600; turns the fleet on)
 *   <stateDir>/controlplane.creds     the control plane's NATS user (0600; config nats.credsFile)
 *   <stateDir>/admin.creds            an operator's full-access NATS user (0600), separate from the above
 *   <nats config>                     operator JWT, full resolver, JetStream, listen address (0644: public JWTs only)
 */
import { access, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ControlPlaneError } from '../errors.js';
import { FLEET_AUTH_FILE } from '../fleet/index.js';
import { createNatsAuth, natsServerConfig } from '../fleet/index.js';
import { COMMON_CODES } from '../../common/errors.js';

export interface InitNatsOptions {
  stateDir: string;
  natsConfig: string;
  /** Where nats-server keeps account JWTs and JetStream data. */
  dataDir: string;
  /** nats-server listen address. */
  listen: string;
  /** The NATS URL agents are told at enrolment. */
  agentNatsUrl?: string;
  force?: boolean;
}

export async function initNats(options: InitNatsOptions): Promise<{ files: string[] }> {
  const authFile = path.join(options.stateDir, FLEET_AUTH_FILE);
  if (!options.force && (await access(authFile).then(() => true, () => false))) {
    throw new ControlPlaneError(COMMON_CODES.CONFIG, `${authFile} exists: this installation already has a NATS authority (use --force to replace it and re-enrol every agent)`);
  }
  const setup = await createNatsAuth(options.agentNatsUrl);
  await mkdir(path.dirname(authFile), { recursive: true, mode: 0o700 });
  const files: Array<[string, string]> = [
    [authFile, JSON.stringify(setup.fleet, null, 2)],
    [path.join(options.stateDir, 'controlplane.creds'), setup.controlPlaneCreds],
    [path.join(options.stateDir, 'admin.creds'), setup.adminCreds],
  ];
  for (const [file, text] of files) await writeFile(file, text, { mode: 0o600 });
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
  return { files: [...files.map(([f]) => f), options.natsConfig] };
}

function splitListen(listen: string): [string, number] {
  const m = /^(.+):(\d{1,5})$/.exec(listen);
  if (!m) throw new ControlPlaneError(COMMON_CODES.CONFIG, `--listen "${listen}" must be host:port`);
  return [m[1] as string, Number(m[2])];
}
