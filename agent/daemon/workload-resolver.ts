import type { Attestor } from '../attest/index.js';
import { taintReasons } from '../steering/index.js';
import { AgentError } from '../errors.js';
import type { ConnectionRecord, ResolvedWorkload, WorkloadResolver } from '../signer/index.js';
import { CONNECTION_ERRORS } from '../signer/index.js';

/**
 * The signer's view of attestation: the kernel's record of a steered connection in, the workload
 * and its bindings out. The attestor checks the kernel-recorded start time against the live
 * /proc/<pid> (PID reuse), the exec sequence number against the process's current one (an exec
 * after connect: SIGIL_ERR_ATTEST_EXECED, which the signer answers by closing) and awaits a pending
 * attestation within its bound.
 */
export class AttestingWorkloadResolver implements WorkloadResolver {
  constructor(private readonly attestor: Attestor) {}

  async resolve(rec: ConnectionRecord): Promise<ResolvedWorkload> {
    const a = await this.attestor.attestation(rec.tgid, rec.startTime, rec.execSeq);
    if (a.state !== 'bound' || a.spiffeId === undefined || a.bindings.length === 0) {
      const why = a.reason === 'tainted' && a.taint !== undefined ? `tainted: ${taintReasons(a.taint).join(', ')}` : a.reason ?? 'no-match';
      throw new AgentError(CONNECTION_ERRORS.UNBOUND, `process ${rec.tgid} (${a.facts.exePath}) is bound to no workload on this host (${why})`, { status: 403 });
    }
    const tgid = rec.tgid;
    const lost = (): string | undefined => {
      const taint = this.attestor.taintOf(tgid);
      return taint === 0 ? undefined : `tainted: ${taintReasons(taint).join(', ')}`;
    };
    return { tgid, exePath: a.facts.exePath, exeSha256: a.facts.sha256, spiffeId: a.spiffeId, bindings: a.bindings, lost };
  }
}
