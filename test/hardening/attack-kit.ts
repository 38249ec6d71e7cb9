/**
 * What identity-attacks.test.ts runs, prepared once for both modes: the C attack programs, the
 * genuine bound script (a dependency-free copy of attack-victim.js, so it runs as any uid from a
 * world-readable directory) and the evil scripts the interpreter tricks load. Everything lives in one
 * public temp dir removed by `cleanup()`.
 *
 * Every evil script (and the --eval code) makes one PutObject of `attacks/<object>` tagged with
 * that object name, so the stand-in's records tell which trick sent what.
 */
import { chmod, chown, copyFile, truncate, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { OS_HOST } from '../e2e/stack.js';
import { buildAttacks, type AttackPrograms } from './attack-build.js';
import { publicTempDir, sha256Of } from './stack-support.js';

/** A dedicated test uid for the genuine workload and the attackers that must share its uid. */
export const WORKLOAD_UID = 64101;
const PAD_BYTES = 200 * 1024 * 1024;
const VICTIM_BUILT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'attack-victim.js');

export interface AttackKit {
  dir: string;
  bin: AttackPrograms;
  /** The bound script (its sha256 is in the victim identity). */
  victim: { file: string; sha256: string };
  /** setuid-drop installed setuid to WORKLOAD_UID (mode 4755), and its sha256. */
  setuid: { file: string; sha256: string };
  evil: {
    require: string;
    import: string;
    nodeOptions: string;
    disableWarning: string;
    preload: string;
    /** Source for `node --eval=<code>`. */
    evalCode: string;
    /** Source the debugger runs inside the victim. */
    inspectorCode: string;
  };
  /** A copy of `program` with 200 MB of sparse padding: slow to hash, instant to make. Removed by cleanup(). */
  padded(program: string, name: string): Promise<string>;
  cleanup(): Promise<void>;
}

/**
 * The evil payload: one PutObject of attacks/<object>, certificate unchecked, result on stdout.
 * node:https comes from process.getBuiltinModule where there is one (it also works where import()
 * does not, e.g. code evaluated through the inspector).
 */
export function evilSource(object: string): string {
  const body = `written by injected code as ${object}\n`;
  return [
    `(process.getBuiltinModule ? Promise.resolve({ default: process.getBuiltinModule('node:https') }) : import('node:https')).then(({ default: https }) => {`,
    `  const report = (r) => process.stdout.write(JSON.stringify({ event: 'request', pid: process.pid, object: ${JSON.stringify(object)}, ...r }) + '\\n');`,
    `  const req = https.request({ host: ${JSON.stringify(OS_HOST)}, method: 'PUT', path: '/n/sigiltest/b/attacks/o/${object}', agent: false, rejectUnauthorized: false,`,
    `    headers: { 'x-test-tag': ${JSON.stringify(object)}, 'content-type': 'text/plain', 'content-length': ${Buffer.byteLength(body)} } },`,
    `    (res) => { res.resume(); res.on('end', () => report({ status: res.statusCode })); });`,
    `  req.on('error', (err) => report({ error: err.message }));`,
    `  req.end(${JSON.stringify(body)});`,
    `});`,
  ].join('\n');
}

export async function prepareKit(): Promise<AttackKit> {
  const tmp = await publicTempDir('identity-attacks');
  try {
    const dir = tmp.dir;
    const evilFile = async (name: string, object: string): Promise<string> => {
      const file = path.join(dir, name);
      await writeFile(file, `${evilSource(object)}\n`, { mode: 0o644 });
      return file;
    };
    const evil = {
      require: await evilFile('evil-require.cjs', 'evil-require'),
      import: await evilFile('evil-import.mjs', 'evil-import'),
      nodeOptions: await evilFile('evil-node-options.cjs', 'evil-node-options'),
      disableWarning: await evilFile('evil-disable-warning.cjs', 'evil-disable-warning'),
      preload: await evilFile('evil-preload.cjs', 'evil-ld-preload'),
      evalCode: evilSource('evil-eval'),
      inspectorCode: evilSource('evil-inspector'),
    };
    const bin = await buildAttacks(dir, { evilRequire: evil.preload });
    const victimFile = path.join(dir, 'attack-victim.mjs');
    await copyFile(VICTIM_BUILT, victimFile);
    await chmod(victimFile, 0o644);
    const setuidFile = path.join(dir, 'setuid-drop-as-workload');
    await copyFile(bin['setuid-drop'], setuidFile);
    await chown(setuidFile, WORKLOAD_UID, WORKLOAD_UID);
    await chmod(setuidFile, 0o4755);
    return {
      dir,
      bin,
      victim: { file: victimFile, sha256: await sha256Of(victimFile) },
      setuid: { file: setuidFile, sha256: await sha256Of(setuidFile) },
      evil,
      async padded(program, name) {
        const file = path.join(dir, `${name}-${process.hrtime.bigint()}`);
        await copyFile(program, file);
        await truncate(file, statSync(file).size + PAD_BYTES);
        await chmod(file, 0o755);
        return file;
      },
      cleanup: tmp.cleanup,
    };
  } catch (err) {
    await tmp.cleanup();
    throw err;
  }
}
