/**
 * `sigil-agent detach` (the Debian package's prerm runs it): the programs an agent left pinned under
 * the configured pin dir are detached from the kernel and the pins removed, checked against what
 * the kernel reports for the cgroup afterwards; with nothing pinned it attaches nothing.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { KernelSteering, queryCgroup } from '../../../agent/steering/index.js';
import { KernelFixture, kernelSerialTest, requireBpf } from '../../helpers/kernel.js';
import { ROOT } from '../../e2e/stack.js';

const AGENT_MAIN = path.join(ROOT, 'dist/agent/cli/main.js');
const run = promisify(execFile);

kernelSerialTest('detach adopts the pinned set, detaches it from its cgroup and removes the pins; again: nothing to do', async (t) => {
  if (!requireBpf(t)) return;
  const fx = await KernelFixture.create(t);
  const signer = { ipv4: fx.loopback(), port: 944 };
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-detach-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // If the command fails, take the programs off before the fixture removes the cgroup.
  t.teardown(async () => {
    if (!existsSync(fx.pinDir) || readdirSync(fx.pinDir).length === 0) return;
    const s = await KernelSteering.attach({ signerIPv4: signer.ipv4, signerPort: signer.port, cgroupPath: fx.cgroupPath, pinDir: fx.pinDir });
    s.detach();
    s.close();
  });
  const config = path.join(dir, 'agent.yaml');
  await writeFile(config, stringify({ steering: { cgroup: fx.cgroupPath, pinDir: fx.pinDir }, signer }));

  // What a stopped agent leaves: its programs attached through pinned links.
  const steering = await KernelSteering.attach({ signerIPv4: signer.ipv4, signerPort: signer.port, cgroupPath: fx.cgroupPath, pinDir: fx.pinDir });
  steering.close();
  const attached = queryCgroup(fx.cgroupPath).filter((p) => p.name.startsWith('sigil_'));
  t.true(attached.length >= 3, JSON.stringify(attached));
  t.true(readdirSync(fx.pinDir).length > 0);

  const first = await run(process.execPath, [AGENT_MAIN, 'detach', '--config', config]);
  t.regex(first.stdout, new RegExp(`detached the programs pinned under ${fx.pinDir} from ${fx.cgroupPath}`));
  t.deepEqual(queryCgroup(fx.cgroupPath).filter((p) => p.name.startsWith('sigil_')), [], 'the kernel shows no Sigil program on the cgroup');
  t.false(existsSync(fx.pinDir), 'the pin dir is gone');

  const again = await run(process.execPath, [AGENT_MAIN, 'detach', '--config', config]);
  t.regex(again.stdout, /nothing pinned under .*: nothing to detach/);
  t.deepEqual(queryCgroup(fx.cgroupPath).filter((p) => p.name.startsWith('sigil_')), [], 'nothing was attached by the second run');
});

test('detach --help answers 0; an unknown option is a usage error (2)', async (t) => {
  t.regex((await run(process.execPath, [AGENT_MAIN, 'detach', '--help'])).stdout, /Usage: sigil-agent detach/);
  const err = await run(process.execPath, [AGENT_MAIN, 'detach', '--bogus']).catch((e: { code: number; stderr: string }) => e);
  t.is((err as { code: number }).code, 2);
});
