import { readFileSync } from 'node:fs';
import type { ProtectionMode } from '../../native/binding.js';
import { SteeringError, SteeringErrorCode } from './errors.js';

/** What the agent's config asks for: 'auto' picks enforce where BPF LSM is active, taint-only elsewhere. */
export type ProtectionSetting = 'auto' | ProtectionMode;
export const PROTECTION_SETTINGS: readonly ProtectionSetting[] = ['auto', 'enforce', 'taint-only'];
export const DEFAULT_PROTECTION: ProtectionSetting = 'auto';

/** The mode in force and why, for doctor, /readyz and the heartbeat. */
export interface ProtectionChoice {
  mode: ProtectionMode;
  reason: string;
}

export const LSM_LIST = '/sys/kernel/security/lsm';

/**
 * Whether the kernel runs BPF as an LSM (`bpf` in the active list). Without it lsm/ programs load
 * and attach but are never called, so this file, not a successful attach, decides.
 */
export function bpfLsmStatus(lsmFile: string = LSM_LIST): { active: boolean; detail: string } {
  let list: string;
  try {
    list = readFileSync(lsmFile, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    return { active: false, detail: `${lsmFile} unreadable (${code}; is securityfs mounted?)` };
  }
  const active = list.split(',').includes('bpf');
  return { active, detail: active ? `bpf is an active LSM (${list})` : `bpf is not in the active LSM list (${list}); boot with lsm=${list},bpf to enforce` };
}

/** Resolves the setting against the kernel; 'enforce' without BPF LSM is a start-up error, not a downgrade. */
export function chooseProtection(setting: ProtectionSetting, lsm = bpfLsmStatus()): ProtectionChoice {
  if (setting === 'taint-only') return { mode: 'taint-only', reason: 'configured taint-only' };
  if (lsm.active) return { mode: 'enforce', reason: lsm.detail };
  if (setting === 'enforce') {
    throw new SteeringError(SteeringErrorCode.ProtectionUnavailable, `attestation.protection is enforce but ${lsm.detail}`);
  }
  return { mode: 'taint-only', reason: lsm.detail };
}

/** Why a load failed because the kernel refused the lsm/ programs, or undefined if it failed otherwise. */
export function lsmRefused(err: unknown): string | undefined {
  const message = err instanceof Error ? err.message : String(err);
  if (!/prog 'sigil_lsm_/.test(message)) return undefined;
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return `bpf is an active LSM but the kernel refused Sigil's LSM programs (${code}); identity changes taint instead of being refused`;
}

/** The taint bits (bpf/abi.h SIGIL_TAINT_*) as words for logs, audit and `sigil-agent attest`. */
export function taintReasons(taint: number): string[] {
  const out: string[] = [];
  if (taint & 0x1) out.push('mm-changed');
  if (taint & 0x2) out.push('user-namespace');
  if (taint & 0x4) out.push('credentials-changed');
  if (taint & 0x8) out.push('traced');
  if (taint & ~0xf) out.push(`unknown-0x${(taint & ~0xf).toString(16)}`);
  return out;
}
