/**
 * `sigil-agent detach`: undo what the agent leaves in the kernel on purpose (pinned links and maps
 * keep steering while it restarts): adopt the pinned set under the configured pin dir, detach it
 * from its cgroup and remove the pins. For uninstalling (the Debian package's prerm runs it) and for
 * getting a host back to unsteered. Stop the agent first: a running agent re-attaches what it finds
 * detached. Nothing pinned: nothing is loaded or attached, it says so and succeeds.
 */
import { access, readdir, rm } from 'node:fs/promises';
import { Command } from 'commander';
import { CliExit } from '../../../common/cli/program.js';
import { DEFAULT_AGENT_CONFIG_FILE } from '../../defaults.js';

export function command(): Command {
  return new Command('detach')
    .summary('detach and unpin the kernel programs the agent left pinned (stop the agent first)')
    .description('Adopt the programs pinned under the configured pin dir, detach them from their cgroup and remove the pins. '
      + 'Stop the agent first (systemctl stop sigil-agent): a running agent re-attaches detached programs. '
      + 'Afterwards connections to OCI go out directly, unsigned, until the agent runs again.')
    .option('--config <agent.yaml>', `agent config naming steering.pinDir/cgroup and the signer (default ${DEFAULT_AGENT_CONFIG_FILE} when it exists)`)
    .option('--pin-dir <dir>', 'the bpffs directory holding the pins (overrides the config)')
    .option('--cgroup <dir>', 'the steered cgroup (overrides the config; default the cgroup2 root)')
    .action(async (options: { config?: string; pinDir?: string; cgroup?: string }) => {
      const code = await detach(options);
      if (code !== 0) throw new CliExit(code);
    });
}

async function detach(values: { config?: string; pinDir?: string; cgroup?: string }): Promise<number> {
  const { loadAgentConfig } = await import('../../config.js');
  const { KernelSteering, findCgroup2Mount, queryCgroup } = await import('../../steering/index.js'); // the addon: only when it runs
  try {
    const file = values.config ?? (await access(DEFAULT_AGENT_CONFIG_FILE).then(() => DEFAULT_AGENT_CONFIG_FILE, () => undefined));
    const config = await loadAgentConfig(file, {
      ...(values.pinDir ? { pinDir: values.pinDir } : {}),
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
    // '' and '/' both mean the cgroup2 root, as for `run`.
    const cgroup = config.steering.cgroup === '' || config.steering.cgroup === '/' ? await findCgroup2Mount() : config.steering.cgroup;
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
