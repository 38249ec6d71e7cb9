import { credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log.js';
import { connectCluster, type NatsTarget } from '../nats-connection.js';
import { ControlPlaneError } from '../errors.js';
import { encodeSigilAccount, type FleetNatsAuth } from './nats-auth.js';
import { FLEET_CODES } from './errors.js';

/** The system subject the server's account resolver listens on for account JWT updates. */
export const CLAIMS_UPDATE_SUBJECT = '$SYS.REQ.CLAIMS.UPDATE';

/**
 * Pushes SIGIL account updates (the revocation list) to the NATS servers, as the system-account user.
 * The server disconnects revoked users at once and refuses them afterwards; their JWTs stay valid
 * cryptographically, which is why the revocation list is rebuilt from the agent registry every time.
 */
export class AccountUpdater {
  private constructor(private readonly auth: FleetNatsAuth, private readonly sys: NatsConnection) {}

  static async connect(auth: FleetNatsAuth, nats: NatsTarget, log: Logger): Promise<AccountUpdater> {
    const sys = await connectCluster(nats, {
      name: 'sigil-controlplane-sys', log,
      authenticator: credsAuthenticator(new TextEncoder().encode(auth.systemCreds)),
    });
    return new AccountUpdater(auth, sys);
  }

  /** Re-signs the account with `revocations` (user public key → unix seconds) and pushes it. */
  async publishRevocations(revocations: Record<string, number>): Promise<void> {
    const jwt = await encodeSigilAccount(this.auth, revocations);
    let answer: { error?: { description?: string }; data?: unknown };
    try {
      const msg = await this.sys.request(CLAIMS_UPDATE_SUBJECT, jwt, { timeout: 5_000 });
      answer = msg.json();
    } catch (err) {
      throw new ControlPlaneError(FLEET_CODES.FLEET_NATS_UPDATE, `NATS did not take the account update: ${(err as Error).message}`, { cause: err, status: 503 });
    }
    if (answer.error) {
      throw new ControlPlaneError(FLEET_CODES.FLEET_NATS_UPDATE, `NATS refused the account update: ${answer.error.description ?? JSON.stringify(answer.error)}`, { status: 502 });
    }
  }

  async close(): Promise<void> {
    await this.sys.close();
  }
}
