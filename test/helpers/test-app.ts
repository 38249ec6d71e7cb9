/**
 * Workloads as a user deploys them: compiled test programs copied, with the npm packages they
 * import, into a directory of their own that the workload's uid can read, and run as that uid with
 * no capabilities. The checkout may sit under a 0700 directory (/root) that an unprivileged uid
 * cannot enter; nothing here papers over that with privileges.
 *
 *   const app = await deployTestApp(dir, ['test/e2e/oci-sdk-workload.js'], ['oci-objectstorage']);
 *   app.path('test/e2e/oci-sdk-workload.js')   // <dir>/test/e2e/oci-sdk-workload.js, same bytes
 *   await runAs(WORKLOAD_UID, 'sh', ['-c', 'cat "$1"', 'sh', file]);
 */
import { execFile } from 'node:child_process';
import { chmod, chown, cp, mkdir, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The compiled tree (dist/) and the checkout's node_modules. */
const DIST = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const NODE_MODULES = path.resolve(DIST, '../node_modules');

/** The unprivileged uid (and gid) end-to-end workloads run as: a service user, not nobody. */
export const WORKLOAD_UID = 1001;

const execFileP = promisify(execFile);

/** `install -d -m mode [-o uid -g gid] dir`: the mode whatever the umask, as deploy/install.sh makes directories. */
export async function installDir(dir: string, mode: number, owner?: { uid: number; gid: number }): Promise<string> {
  await mkdir(dir, { recursive: true });
  await chmod(dir, mode);
  if (owner) await chown(dir, owner.uid, owner.gid);
  return dir;
}

/** The top-level packages `names` need at run time (their `dependencies`, transitively). */
async function closure(names: string[]): Promise<string[]> {
  const found = new Set<string>();
  const walk = async (pkgDir: string): Promise<void> => {
    const manifest = JSON.parse(await readFile(path.join(pkgDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    for (const dep of Object.keys(manifest.dependencies ?? {})) {
      const nested = path.join(pkgDir, 'node_modules', dep);
      if (existsSync(nested)) { await walk(nested); continue; } // copied along with its parent
      if (found.has(dep)) continue;
      if (!existsSync(path.join(NODE_MODULES, dep))) throw new Error(`${dep} (needed by ${pkgDir}) is not installed`);
      found.add(dep);
      await walk(path.join(NODE_MODULES, dep));
    }
  };
  for (const name of names) {
    found.add(name);
    await walk(path.join(NODE_MODULES, name));
  }
  return [...found].sort();
}

export interface TestApp {
  dir: string;
  /** Where a file of dist/ (e.g. `test/e2e/oci-sdk-workload.js`) was deployed. */
  path(distRelative: string): string;
}

/**
 * Copies `scripts` (paths under dist/, self-contained apart from npm packages) to `dir` with the same
 * layout, and `packages` with their dependencies to `dir/node_modules`. `dir` is created 0755.
 */
export async function deployTestApp(dir: string, scripts: string[], packages: string[] = []): Promise<TestApp> {
  await installDir(dir, 0o755);
  for (const script of scripts) {
    const target = path.join(dir, script);
    await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
    await cp(path.join(DIST, script), target);
    await chmod(target, 0o644);
  }
  if (packages.length > 0) {
    await installDir(path.join(dir, 'node_modules'), 0o755);
    for (const name of await closure(packages)) await cp(path.join(NODE_MODULES, name), path.join(dir, 'node_modules', name), { recursive: true });
  }
  return { dir, path: (distRelative) => path.join(dir, distRelative) };
}

/** Runs `command` as `uid` with no capabilities at all (setpriv drops them with the uid). */
export async function runAs(uid: number, command: string, args: string[], gid = uid): Promise<{ stdout: string; stderr: string }> {
  return execFileP('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', '--inh-caps=-all', command, ...args]);
}
