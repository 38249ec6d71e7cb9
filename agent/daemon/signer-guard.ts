import type { Logger } from 'pino';
import type { AddressReclaimer } from '../signer/index.js';
import { describeSquatter, reclaimSignerAddress, squattersOn, unprivilegedPortProblem } from '../steering/index.js';
import { DAEMON_CODES } from './errors.js';

/** Stable codes of the start-up checks of the signer's address (logged). */
export const SIGNER_ADDRESS_CODES = {
  PORT_UNPRIVILEGED: DAEMON_CODES.SIGNER_PORT_UNPRIVILEGED,
  WILDCARD_LISTENER: DAEMON_CODES.SIGNER_WILDCARD_LISTENER,
} as const;

/** The signer's reclaimer: ends other listeners on its exact address (see reclaimSignerAddress). */
export const signerReclaimer: AddressReclaimer = {
  reclaim(host, port) {
    const ended = reclaimSignerAddress({ addr: host, port }).map(describeSquatter);
    const remaining = squattersOn({ addr: host, port }).map(describeSquatter);
    return { ended, remaining };
  },
};

/**
 * Start-up warnings about who else could receive steered connections. These warn, never refuse:
 * refusing to start would leave the address unheld for good — exactly what a squatter needs — while
 * a running agent holds it and the exposure is only the time it is down. `doctor` fails on the same.
 */
export function checkSignerAddress(signer: { ipv4: string; ipv6: string; port: number }, log: Logger): void {
  const problem = unprivilegedPortProblem(signer.port);
  if (problem) log.error({ code: SIGNER_ADDRESS_CODES.PORT_UNPRIVILEGED, port: signer.port }, problem);
  for (const addr of [signer.ipv4, signer.ipv6]) {
    let others;
    try {
      others = squattersOn({ addr, port: signer.port });
    } catch (err) {
      log.warn({ err }, 'cannot list listeners on the signer port (sock_diag)');
      return;
    }
    for (const s of others) {
      log.error({ code: SIGNER_ADDRESS_CODES.WILDCARD_LISTENER, listener: describeSquatter(s) },
        `another process listens on the signer's port: ${describeSquatter(s)}; while the agent is down it would receive steered connections — move it off port ${signer.port} or choose another signer port`);
    }
  }
}
