import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { AgentError } from '../errors.js';
import { findCgroup2Mount } from '../steering/index.js';
import { DAEMON_CODES } from './errors.js';

/** The cgroup v2 directory this process is in, from the `0::` line of /proc/self/cgroup. */
export async function ownCgroup(mount?: string): Promise<string> {
  const root = mount ?? (await findCgroup2Mount());
  const line = (await readFile('/proc/self/cgroup', 'utf8')).split('\n').find((l) => l.startsWith('0::'));
  if (line === undefined) throw new AgentError(DAEMON_CODES.STEERING_CGROUP, 'no cgroup v2 entry in /proc/self/cgroup');
  return path.join(root, line.slice(3));
}

const within = (child: string, parent: string): boolean => child === parent || child.startsWith(`${parent.replace(/\/$/, '')}/`);

/**
 * The kernel hands the signer a connection's record in `sockops` on the signer's accepted socket, so
 * the signer must run inside the steered cgroup. A systemd service under the cgroup2 root is; a demo
 * or test that steers only a child cgroup moves the agent into `agentCgroup` below it first.
 * Fails with a clear error rather than serving connections it could never attribute.
 */
export async function placeAgent(steeredCgroup: string, agentCgroup: string | undefined): Promise<string> {
  if (agentCgroup) {
    await mkdir(agentCgroup, { recursive: true });
    await writeFile(path.join(agentCgroup, 'cgroup.procs'), `${process.pid}\n`);
  }
  const own = await ownCgroup();
  if (!within(own, steeredCgroup)) {
    throw new AgentError(
      DAEMON_CODES.STEERING_SIGNER_OUTSIDE,
      `the agent runs in cgroup ${own}, outside the steered cgroup ${steeredCgroup}: the kernel could not hand the signer its connection records. Run the agent under ${steeredCgroup} or set steering.agentCgroup to a cgroup below it.`,
    );
  }
  return own;
}
