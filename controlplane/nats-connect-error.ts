/**
 * NATS refusing the control plane's connection says only `Authorization Violation`. Which setting
 * is wrong is known here: no `nats.credsFile` (the fleet's NATS needs the creds `init-nats` wrote),
 * or a creds file NATS does not accept (another authority, a revoked user, the wrong server).
 */
import { CONTROLPLANE_CODES, ControlPlaneError } from './errors.js';

export const NATS_AUTH_FAILED = CONTROLPLANE_CODES.NATS_AUTHORIZATION;

const isAuthorizationError = (err: unknown): boolean =>
  /authorization violation|authentication/i.test(`${(err as Error)?.name ?? ''} ${(err as Error)?.message ?? ''} ${String((err as { code?: unknown })?.code ?? '')}`);

/** The error to report for a failed connect: a named setting for an authorization refusal, else `err` itself. */
export function explainNatsConnectError(err: unknown, settings: { servers: string[]; credsFile?: string | undefined }, configFile = 'controlplane.yaml'): unknown {
  if (!isAuthorizationError(err)) return err;
  const url = settings.servers.join(', ');
  const hint = settings.credsFile
    ? `NATS at ${url} refused the credentials in nats.credsFile (${settings.credsFile}) with "Authorization Violation": `
      + 'they belong to another NATS authority, or the server is not the one `sigil-controlplane init-nats` configured (its nats.conf)'
    : `NATS at ${url} refused the connection with "Authorization Violation": nats.credsFile is not set in ${configFile}. `
      + 'A NATS with the fleet\'s JWT authority needs it: nats: { credsFile: /var/lib/sigil/controlplane/controlplane.creds } (written by `sigil-controlplane init-nats`)';
  return new ControlPlaneError(NATS_AUTH_FAILED, hint, { cause: err });
}
