/**
 * Builds the C attack programs of test/hardening/attacks/ with `cc` into a directory (world-readable,
 * so the unprivileged attackers can run them). OpenSSL (libssl-dev) gives them their TLS.
 *
 *   const bin = await buildAttacks(dir, { evilRequire: '/tmp/x/evil-preload.cjs' });
 *   bin['swap-exe']   // path of the built program
 */
import { execFile } from 'node:child_process';
import { chmod } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../e2e/stack.js';

const execFileP = promisify(execFile);
export const ATTACK_SOURCES = path.join(ROOT, 'test/hardening/attacks');

type ProgramName = 'swap-exe' | 'pass-fd' | 'fd-receiver' | 'inject-ptrace' | 'inject-vm-writev' | 'inject-proc-mem' | 'setuid-drop' | 'lsm-probe';

const PROGRAMS: Record<ProgramName, string[]> = {
  'swap-exe': ['swap-exe.c', 'swap.c', 'common.c'],
  'pass-fd': ['pass-fd.c', 'swap.c', 'common.c'],
  'fd-receiver': ['fd-receiver.c', 'common.c'],
  'inject-ptrace': ['inject-ptrace.c', 'inject.c', 'common.c'],
  'inject-vm-writev': ['inject-vm-writev.c', 'inject.c', 'common.c'],
  'inject-proc-mem': ['inject-proc-mem.c', 'inject.c', 'common.c'],
  'setuid-drop': ['setuid-drop.c', 'common.c'],
  'lsm-probe': ['lsm-probe.c'],
};

export type AttackPrograms = Record<ProgramName | 'evil-preload.so', string>;

/** Why the attack programs cannot be built here (no compiler or OpenSSL headers), or undefined. */
export async function buildUnavailableReason(): Promise<string | undefined> {
  try {
    await execFileP('cc', ['--version']);
  } catch {
    return 'no C compiler (`cc`; Debian: gcc, libc6-dev)';
  }
  try {
    await execFileP('sh', ['-c', 'echo "#include <openssl/ssl.h>" | cc -E -x c - >/dev/null']);
  } catch {
    return 'no OpenSSL headers (Debian: libssl-dev)';
  }
  return undefined;
}

export async function buildAttacks(dir: string, options: { evilRequire: string }): Promise<AttackPrograms> {
  const flags = ['-O1', '-Wall', '-Wextra', '-Werror', '-Wno-unused-result'];
  const built: Record<string, string> = {};
  await Promise.all(Object.entries(PROGRAMS).map(async ([name, sources]) => {
    const out = path.join(dir, name);
    await execFileP('cc', [...flags, '-o', out, ...sources.map((s) => path.join(ATTACK_SOURCES, s)), '-lssl', '-lcrypto']);
    await chmod(out, 0o755);
    built[name] = out;
  }));
  const so = path.join(dir, 'evil-preload.so');
  await execFileP('cc', [...flags, '-shared', '-fPIC', `-DEVIL_REQUIRE=${JSON.stringify(options.evilRequire)}`, '-o', so, path.join(ATTACK_SOURCES, 'evil-preload.c')]);
  await chmod(so, 0o755);
  built['evil-preload.so'] = so;
  return built as AttackPrograms;
}
