/**
 * NATS decentralised JWT auth for Sigil: operator → accounts → users.
 *
 *   operator   (seed kept offline; its *signing key* is given to the control plane so it can re-sign
 *               the Sigil account when revoking an agent)
 *   SYS        system account; one user (`sys`) lets the control plane push account updates
 *               ($SYS.REQ.CLAIMS.UPDATE) to the server's resolver
 *   SIGIL      the account every Sigil party lives in, JetStream enabled; users are minted by the
 *               account's signing key (held by the control plane): the control plane, an operator/admin
 *               user, and one user per enrolled agent, confined to its own subjects
 *
 * The server uses the full NATS resolver (`resolver: {type: full}`), which on nats-server 2.9 accepts
 * account updates at run time; users need no server change at all (the server checks the chain).
 */
import { Algorithms, encodeAccount, encodeOperator, encodeUser, fmtCreds, type Account, type User } from '@nats-io/jwt';
import { createAccount, createOperator, createUser, fromSeed, type KeyPair } from '@nats-io/nkeys';
import { subjects } from '../../protocol/subjects.js';

export const SIGIL_ACCOUNT_NAME = 'SIGIL';
const OPTS = { algorithm: Algorithms.v2 } as const;

/** What the control plane needs to mint agent users and revoke them. Secret: a 0600 file. */
export interface FleetNatsAuth {
  /** Public key of the SIGIL account. */
  accountPublicKey: string;
  /** Seed of the SIGIL account's signing key (mints user JWTs). */
  accountSigningSeed: string;
  /** Seed of an operator signing key (re-signs the SIGIL account JWT with revocations). */
  operatorSigningSeed: string;
  /** Credentials (JWT + seed) of a system-account user, to push account updates to the server. */
  systemCreds: string;
  /** The NATS servers handed to agents at enrolment; defaults to the control plane's own. */
  agentNatsServers?: string[];
  /** Older form of agentNatsServers (one URL, or several comma-separated); still read. */
  agentNatsUrl?: string;
}

export interface NatsAuthSetup {
  fleet: FleetNatsAuth;
  operatorJwt: string;
  systemAccountPublicKey: string;
  systemAccountJwt: string;
  /** The SIGIL account's JWT as first issued (no revocations). */
  accountJwt: string;
  /** The control plane's own user (full access to the SIGIL account). */
  controlPlaneCreds: string;
  /** A human operator's user (full access to the SIGIL account), separate from the control plane's. */
  adminCreds: string;
}

const decoder = new TextDecoder();
const seedOf = (kp: KeyPair): string => decoder.decode(kp.getSeed());

/** The SIGIL account's claims: JetStream on, users signed by the signing key, agents revoked by key. */
export function sigilAccountClaims(signingPublicKey: string, revocations: Record<string, number> = {}): Partial<Account> {
  return {
    signing_keys: [signingPublicKey],
    limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1, mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 },
    ...(Object.keys(revocations).length > 0 ? { revocations } : {}),
  };
}

/** Re-signs the SIGIL account JWT (e.g. with a new revocation list) using the operator signing key. */
export async function encodeSigilAccount(auth: FleetNatsAuth, revocations: Record<string, number>): Promise<string> {
  const signingPublicKey = fromSeed(new TextEncoder().encode(auth.accountSigningSeed)).getPublicKey();
  return encodeAccount(SIGIL_ACCOUNT_NAME, auth.accountPublicKey, sigilAccountClaims(signingPublicKey, revocations), {
    ...OPTS, signer: fromSeed(new TextEncoder().encode(auth.operatorSigningSeed)),
  });
}

/**
 * An agent's permissions: publish only under its own `sigil.cp.<id>.>`, receive only its own
 * `sigil.agent.<id>.>` and replies under its own inbox prefix. No JetStream, no other agent's subjects.
 */
export function agentPermissions(agentId: string): Partial<User> {
  return {
    pub: { allow: [`sigil.cp.${agentId}.>`] },
    sub: { allow: [`sigil.agent.${agentId}.>`, `${subjects.inboxPrefix(agentId)}.>`] },
  };
}

/** Mints an agent's user JWT for the public nkey the agent generated (its seed never leaves the host). */
export async function mintAgentUserJwt(auth: FleetNatsAuth, agentId: string, userPublicKey: string): Promise<string> {
  return encodeUser(`agent-${agentId}`, userPublicKey, auth.accountPublicKey, agentPermissions(agentId), {
    ...OPTS, signer: fromSeed(new TextEncoder().encode(auth.accountSigningSeed)),
  });
}

/** Mints a user in the SIGIL account with full access (control plane, admin); returns a creds file. */
export async function mintFullUserCreds(auth: FleetNatsAuth, name: string): Promise<string> {
  const user = createUser();
  const jwt = await encodeUser(name, user, auth.accountPublicKey, {}, {
    ...OPTS, signer: fromSeed(new TextEncoder().encode(auth.accountSigningSeed)),
  });
  return decoder.decode(fmtCreds(jwt, user));
}

/** A fresh operator, system account and SIGIL account, with the control plane's and an admin's creds. */
export async function createNatsAuth(agentNatsServers?: string[]): Promise<NatsAuthSetup> {
  const operator = createOperator();
  const operatorSigning = createOperator();
  const system = createAccount();
  const account = createAccount();
  const accountSigning = createAccount();

  const operatorJwt = await encodeOperator('sigil-operator', operator, {
    signing_keys: [operatorSigning.getPublicKey()],
    system_account: system.getPublicKey(),
  }, OPTS);
  const systemAccountJwt = await encodeAccount('SYS', system, {
    limits: { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 },
  }, { ...OPTS, signer: operatorSigning });
  const sysUser = createUser();
  const sysUserJwt = await encodeUser('sys', sysUser, system, {}, OPTS);

  const fleet: FleetNatsAuth = {
    accountPublicKey: account.getPublicKey(),
    accountSigningSeed: seedOf(accountSigning),
    operatorSigningSeed: seedOf(operatorSigning),
    systemCreds: decoder.decode(fmtCreds(sysUserJwt, sysUser)),
    ...(agentNatsServers && agentNatsServers.length > 0 ? { agentNatsServers } : {}),
  };
  return {
    fleet,
    operatorJwt,
    systemAccountPublicKey: system.getPublicKey(),
    systemAccountJwt,
    accountJwt: await encodeSigilAccount(fleet, {}),
    controlPlaneCreds: await mintFullUserCreds(fleet, 'sigil-controlplane'),
    adminCreds: await mintFullUserCreds(fleet, 'sigil-admin'),
  };
}

/**
 * nats-server configuration text for this setup: the operator, the system account, the full resolver
 * storing account JWTs under `resolverDir`, preloaded with SYS and SIGIL. Listen address, port and
 * JetStream come from the caller (flags or more config).
 */
export function natsServerConfig(setup: Pick<NatsAuthSetup, 'operatorJwt' | 'systemAccountPublicKey' | 'systemAccountJwt' | 'accountJwt'> & { fleet: Pick<FleetNatsAuth, 'accountPublicKey'> }, resolverDir: string): string {
  return [
    `operator: ${setup.operatorJwt}`,
    `system_account: ${setup.systemAccountPublicKey}`,
    'resolver: {',
    '  type: full',
    `  dir: ${JSON.stringify(resolverDir)}`,
    '  allow_delete: false',
    '  interval: "2m"',
    '}',
    'resolver_preload: {',
    `  ${setup.systemAccountPublicKey}: ${setup.systemAccountJwt}`,
    `  ${setup.fleet.accountPublicKey}: ${setup.accountJwt}`,
    '}',
    '',
  ].join('\n');
}
