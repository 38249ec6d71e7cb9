/**
 * `sigil-agent detach`: undo what the agent leaves in the kernel on purpose (pinned links and maps
 * keep steering while it restarts): adopt the pinned set under the configured pin dir, detach it
 * from its cgroup and remove the pins. For uninstalling (the Debian package's prerm runs it) and for
 * getting a host back to unsteered. Stop the agent first: a running agent re-attaches what it finds
 * detached. Nothing pinned: nothing is loaded or attached, it says so and succeeds.
 */
import { access, readdir, rm } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { DEFAULT_AGENT_CONFIG_FILE, loadAgentConfig } from '../../config.js';
import { KernelSteering, findCgroup2Mount, queryCgroup } from '../../steering/index.js';

export const summary = 'detach and unpin the kernel programs the agent left pinned (stop the agent first)';

const USAGE = `usage: sigil-agent detach [--config FILE] [--pin-dir P] [--cgroup C]
  --config   agent config naming steering.pinDir/cgroup and the signer (default ${DEFAULT_AGENT_CONFIG_FILE} when it exists)
  --pin-dir  the bpffs directory holding the pins (overrides the config)
  --cgroup   the steered cgroup (overrides the config; default the cgroup2 root)
Stop the agent first (systemctl stop sigil-agent): a running agent re-attaches detached programs.
Afterwards connections to OCI go out directly, unsigned, until the agent runs again.`;

export async function run(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, 'pin-dir': { type: 'string' }, cgroup: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`sigil-agent detach: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    const file = values.config ?? (await access(DEFAULT_AGENT_CONFIG_FILE).then(() => DEFAULT_AGENT_CONFIG_FILE, () => undefined));
    const config = await loadAgentConfig(file, {
      ...(values['pin-dir'] ? { pinDir: values['pin-dir'] } : {}),
      ...(values.cgroup ? { cgroup: values.cgroup } : {}),
    });
    const pinDir = config.steering.pinDir;
    const pins = await readdir(pinDir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    if (pins.length === 0) {
      process.stdout.write(`nothing pinned under ${pinDir}: nothing to detach\n`);
      await rm(pinDir, { recursive: true, force: true });
      return 0;
    }
    const cgroup = config.steering.cgroup || (await findCgroup2Mount());
    // Adopting needs the same signer settings the agent loaded with; a differing build is upgraded in place, then detached.
    const steering = await KernelSteering.attach({
      signerIPv4: config.signer.ipv4, signerIPv6: config.signer.ipv6, signerPort: config.signer.port,
      pinDir, cgroupPath: cgroup, protection: config.attestation.protection,
    });
    try {
      steering.detach();
    } finally {
      steering.close();
    }
    await rm(pinDir, { recursive: true, force: true });
    const left = queryCgroup(cgroup).filter((p) => p.name.startsWith('sigil_'));
    if (left.length > 0) {
      process.stderr.write(`sigil-agent detach: still attached to ${cgroup} (not through ${pinDir}): ${left.map((p) => `${p.name} id ${p.id}`).join(', ')}\n`);
      return 1;
    }
    process.stdout.write(`detached the programs pinned under ${pinDir} from ${cgroup} and removed the pins (${pins.length} entries)\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`sigil-agent detach: ${(err as Error).message}\n`);
    return 1;
  }
}
