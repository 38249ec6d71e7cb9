import { readFile } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { fmtCreds } from '@nats-io/jwt';
import { createUser } from '@nats-io/nkeys';
import type { BundleSigningJwk, EnrollResponse } from '../../protocol/fleet.js';
import { isAgentId } from '../../protocol/subjects.js';
import { parseServerList } from '../../common/nats/servers.js';
import { AgentError } from '../errors.js';
import { AGENT_FLEET_CODES } from './errors.js';
import { ensureStateDir, writeFileAtomic } from './state-files.js';

/** What enrolment leaves in the state dir (`enrollment.json`); the NATS creds are in `nats.creds`. */
export interface Enrollment {
  agentId: string;
  /** The first NATS server (enrolments made before server lists have only this). */
  natsUrl: string;
  /** Every NATS server the control plane named at enrolment. */
  natsServers?: string[];
  /** `<stateDir>/nats-ca.pem` when the control plane handed over the NATS servers' CA. */
  natsCaFile?: string;
  /** The control plane's bundle-signing key, pinned: only bundles it signed are ever applied. */
  bundleSigningJwk: BundleSigningJwk;
  controlPlane: string;
  enrolledAt: string;
}

export const ENROLLMENT_FILE = 'enrollment.json';
export const CREDS_FILE = 'nats.creds';
export const NATS_CA_FILE = 'nats-ca.pem';

/** The servers to connect to: the agent's own config when it names some, else the enrolment's, else local. */
export function natsServersFor(enrollment: Enrollment, configured: string[] | undefined): string[] {
  return configured ?? enrollment.natsServers ?? (enrollment.natsUrl ? [enrollment.natsUrl] : [DEFAULT_AGENT_NATS_URL]);
}

export const DEFAULT_AGENT_NATS_URL = 'nats://127.0.0.1:4222';

/** A control plane that accepts the call and never answers must not hold `sigil-agent enroll` for minutes. */
const ENROLL_TIMEOUT_MS = 30_000;

/**
 * Enrols this host: generates the agent's NATS user nkey pair here (the seed never leaves the host),
 * trades the one-time join token for an agent id and a user JWT, and stores both (0600 files).
 */
export async function enroll(options: { token: string; controlPlaneUrl: string; stateDir: string; hostname?: string }): Promise<Enrollment> {
  const user = createUser();
  const url = `${options.controlPlaneUrl.replace(/\/+$/, '')}/v1/enroll`;
  let res: Response;
  const signal = AbortSignal.timeout(ENROLL_TIMEOUT_MS);
  try {
    res = await fetch(url, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: options.token, publicNkey: user.getPublicKey(), hostname: options.hostname ?? osHostname() }),
      signal,
    });
  } catch (err) {
    if (signal.aborted) throw new AgentError(AGENT_FLEET_CODES.ENROLL_FAILED, `the control plane at ${url} did not answer within ${ENROLL_TIMEOUT_MS / 1000} s`, { cause: err });
    throw new AgentError(AGENT_FLEET_CODES.ENROLL_FAILED, `cannot reach the control plane at ${url}: ${((err as Error).cause as Error | undefined)?.message ?? (err as Error).message}`, { cause: err });
  }
  const body = await res.json().catch(() => undefined) as (EnrollResponse & { code?: string; message?: string }) | undefined;
  if (!res.ok || !body) {
    throw new AgentError(body?.code ?? AGENT_FLEET_CODES.ENROLL_FAILED, `enrolment refused (HTTP ${res.status}): ${body?.message ?? 'no details'}`);
  }
  if (!isAgentId(body.agentId) || typeof body.natsUserJwt !== 'string' || body.bundleSigningJwk?.kty !== 'EC' || typeof body.natsUrl !== 'string') {
    throw new AgentError(AGENT_FLEET_CODES.ENROLL_FAILED, 'the control plane answered with an incomplete enrolment');
  }
  const servers = body.natsServers === undefined ? { ok: true as const, servers: [body.natsUrl] } : parseServerList(body.natsServers);
  if (!servers.ok) throw new AgentError(AGENT_FLEET_CODES.ENROLL_FAILED, `the control plane answered with a bad NATS server list: ${servers.problem}`);
  if (body.natsCaPem !== undefined && (typeof body.natsCaPem !== 'string' || !body.natsCaPem.includes('-----BEGIN CERTIFICATE-----'))) {
    throw new AgentError(AGENT_FLEET_CODES.ENROLL_FAILED, 'the control plane answered with a NATS CA that is not a PEM certificate');
  }
  const caFile = join(options.stateDir, NATS_CA_FILE);
  const enrollment: Enrollment = {
    agentId: body.agentId, natsUrl: servers.servers[0] as string, natsServers: servers.servers,
    ...(body.natsCaPem ? { natsCaFile: caFile } : {}),
    bundleSigningJwk: body.bundleSigningJwk, controlPlane: options.controlPlaneUrl, enrolledAt: new Date().toISOString(),
  };
  // Created here when enrolment runs before the agent's first start; same mode as the unit gives it.
  await ensureStateDir(options.stateDir);
  if (body.natsCaPem) await writeFileAtomic(caFile, body.natsCaPem);
  await writeFileAtomic(join(options.stateDir, CREDS_FILE), new TextDecoder().decode(fmtCreds(body.natsUserJwt, user)));
  await writeFileAtomic(join(options.stateDir, ENROLLMENT_FILE), `${JSON.stringify(enrollment, null, 2)}\n`);
  return enrollment;
}

/** The enrolment and NATS creds stored in `stateDir`; SIGIL_ERR_ENROLL_MISSING when not enrolled. */
export async function loadEnrollment(stateDir: string): Promise<{ enrollment: Enrollment; creds: Uint8Array }> {
  try {
    const enrollment = JSON.parse(await readFile(join(stateDir, ENROLLMENT_FILE), 'utf8')) as Enrollment;
    return { enrollment, creds: await readFile(join(stateDir, CREDS_FILE)) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new AgentError(AGENT_FLEET_CODES.NOT_ENROLLED, `this host is not enrolled (no ${ENROLLMENT_FILE} in ${stateDir}); run sigil-agent enroll`);
    }
    throw err;
  }
}
