/**
 * Attach health against the running system (issue 21). From outside the agent, with bpftool:
 * each of its cgroup programs detached in turn while a bound workload (uid nobody, no capabilities)
 * keeps calling; the agent restarted over a dead pinned link; a foreign connect4 program attached to
 * the steered cgroup. What counts is what the kernel shows (bpftool), what the Object Storage
 * stand-in accepted, and what the fleet status says — not the agent's own words.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bpfUnavailableReason, cgroupView, requireBpf, SIGIL_CGROUP_PROGRAMS } from '../helpers/kernel.js';
import { OS_HOST, startStack, type Stack } from '../e2e/stack.js';
import { runWorkload, type WorkloadRun } from '../e2e/workload-runner.js';
import { NOBODY, applyAndWait, fleetRow, identityDocs, nodeCopy, publicTempDir, waitFor } from './stack-support.js';

const execFileP = promisify(execFile);
const LOOP_CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'stack-loop-client.js');
const LOOP_ID = 'spiffe://demo.sigil.dev/hardening/attach-loop';
const HEARTBEAT_MS = 300;

let stack: Stack | undefined;
let work: Awaited<ReturnType<typeof publicTempDir>> | undefined;
let app: { file: string; sha256: string } | undefined;

test.before(async () => {
  work = await publicTempDir('attach');
  if (bpfUnavailableReason !== undefined) return;
  stack = await startStack({ heartbeatMs: HEARTBEAT_MS });
  app = await nodeCopy(work.dir, 'attach-loop', 21);
  await applyAndWait(stack, identityDocs('attach-loop', LOOP_ID, [`unix:sha256:${app.sha256}`]));
});
test.after.always(async () => {
  await stack?.stop();
  await work?.cleanup();
});

async function bpftoolView(cgroup: string): Promise<string[]> {
  const { stdout } = await execFileP('bpftool', ['-j', 'cgroup', 'show', cgroup]);
  return cgroupView(JSON.parse(stdout || '[]') as Array<{ attach_type: string; name: string }>);
}

async function pinnedLink(pinDir: string, name: string): Promise<{ id: number; cgroup_id?: number }> {
  const { stdout } = await execFileP('bpftool', ['-j', 'link', 'show', 'pinned', `${pinDir}/links/${name}`]);
  return JSON.parse(stdout) as { id: number; cgroup_id?: number };
}

/** The bound workload calling in a loop until `stop()`; its pid is known once it exec'd into `app`. */
async function startLoop(s: Stack, tag: string): Promise<{ pid: number; stop(): Promise<WorkloadRun> }> {
  const stopFile = path.join(work!.dir, `stop-${tag}`);
  let pid = -1;
  const run = runWorkload({
    cgroup: s.workloadCgroup, hosts: { [OS_HOST]: s.objectStorage.address }, command: app!.file,
    args: [LOOP_CLIENT, '--host', OS_HOST, '--tag', tag, '--stop-file', stopFile, '--every-ms', '40'],
    env: { NODE_EXTRA_CA_CERTS: s.caBundle }, uid: NOBODY, timeoutMs: 180_000,
    onSpawn: (p) => { pid = p; },
  });
  await waitFor('the loop workload to exec', async () => pid > 0 && (await readlink(`/proc/${pid}/exe`).catch(() => '')) === app!.file, 10_000, 20);
  return { pid, stop: async () => { await writeFile(stopFile, ''); return run; } };
}

/** CapEff/CapPrm/CapAmb and the real uid of a live process, from /proc. */
async function credsOf(pid: number): Promise<{ uid: number; caps: string[] }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)?.[1]?.trim() ?? '';
  return { uid: Number(field('Uid').split(/\s+/)[0]), caps: ['CapEff', 'CapPrm', 'CapAmb'].map(field) };
}

test.serial('each program detached with bpftool is back within 2 s; the stand-in accepts only signed requests from the bound workload meanwhile; the fleet goes degraded and back', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  await waitFor('the fleet to show the agent healthy', async () => (await fleetRow(s)).state === 'healthy', 15_000);
  t.deepEqual(await bpftoolView(s.cgroup), SIGIL_CGROUP_PROGRAMS, 'the full set before');

  const tag = 'attach-loop';
  const loop = await startLoop(s, tag);
  t.teardown(() => loop.stop());
  t.deepEqual(await credsOf(loop.pid), { uid: NOBODY, caps: ['0000000000000000', '0000000000000000', '0000000000000000'] }, 'uid nobody, no capabilities');
  const okBefore = (): number => s.objectStorage.requests.filter((r) => r.tag === tag && r.status === 200).length;
  await waitFor('the loop to get answers', () => okBefore() >= 3, 15_000, 20);

  for (const entry of SIGIL_CGROUP_PROGRAMS) {
    const name = entry.split('/')[1] as string;
    const link = await pinnedLink(s.pinDir, name);
    const signedBefore = okBefore();
    const detachedAt = Date.now();
    await execFileP('bpftool', ['link', 'detach', 'id', String(link.id)]);
    let backAfterMs = -1;
    await waitFor(`${name} back on the cgroup`, async () => {
      const view = await bpftoolView(s.cgroup);
      if (view.join() !== SIGIL_CGROUP_PROGRAMS.join()) return false;
      backAfterMs = Date.now() - detachedAt;
      return true;
    }, 10_000, 25);
    t.true(backAfterMs <= 2_000, `${name} back after ${backAfterMs} ms`);
    t.not((await pinnedLink(s.pinDir, name)).id, link.id, `${name}: a new link under the pin`);

    await waitFor(`the fleet to flag ${name}`, async () => {
      const row = await fleetRow(s);
      return row.state === 'degraded' && row.reasons.some((r) => r.includes(name));
    }, 10_000, 50);
    await waitFor(`the fleet healthy again after ${name}`, async () => (await fleetRow(s)).state === 'healthy', 15_000, 100);
    // The workload kept being served, signed, across this program's absence.
    await waitFor(`signed answers after ${name} came back`, () => okBefore() > signedBefore + 2, 15_000, 20);
  }

  const run = await loop.stop();
  const mine = s.objectStorage.requests.filter((r) => r.tag === tag);
  t.true(mine.length >= SIGIL_CGROUP_PROGRAMS.length * 3, `${mine.length} requests reached the stand-in`);
  const unsigned = mine.filter((r) => r.status !== 200 || r.principal === undefined || r.rejection !== undefined);
  t.deepEqual(unsigned, [], 'every request from the bound workload that reached the service was signed and accepted');
  t.true(run.lines.length >= mine.length, `${run.lines.length} calls made`);
  t.log(`${run.lines.length} calls, ${mine.length} reached the stand-in (all signed), ${run.lines.filter((l) => l['error']).length} failed closed`);

  const metrics = await (await fetch(`${s.agent.adminUrl}/metrics`)).text();
  for (const entry of SIGIL_CGROUP_PROGRAMS) {
    const name = entry.split('/')[1] as string;
    t.regex(metrics, new RegExp(`sigil_agent_program_repairs_total\\{[^}]*program="${name}"[^}]*problem="detached"[^}]*\\} 1`), `${name} counted`);
  }
  t.regex(s.agent.output(), /"problem":"detached"/, 'repairs are logged');
});

test.serial('restarted over a dead pinned link, the agent re-attaches instead of adopting it', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  const child = s.agent.child;
  const exited = new Promise((r) => child.once('exit', r));
  process.kill(s.agent.pid, 'SIGTERM');
  await exited;
  const dead = await pinnedLink(s.pinDir, 'sigil_connect4');
  await execFileP('bpftool', ['link', 'detach', 'id', String(dead.id)]);
  t.is((await pinnedLink(s.pinDir, 'sigil_connect4')).cgroup_id ?? 0, 0, 'the pin now holds a detached link');
  t.false((await bpftoolView(s.cgroup)).includes('cgroup_inet4_connect/sigil_connect4'));

  const mark = s.agent.output().length;
  await s.restartAgent();
  t.deepEqual(await bpftoolView(s.cgroup), SIGIL_CGROUP_PROGRAMS, 'bpftool shows sigil_connect4 attached again');
  const fresh = await pinnedLink(s.pinDir, 'sigil_connect4');
  t.not(fresh.id, dead.id);
  t.truthy(fresh.cgroup_id, 'the pin holds a live link');
  t.regex(s.agent.output().slice(mark), /"problem":"dead-pin"/);

  const loop = await startLoop(s, 'after-dead-pin');
  const signed = await waitFor('a signed answer after the restart', () => s.objectStorage.requests.some((r) => r.tag === 'after-dead-pin' && r.status === 200), 15_000, 20)
    .then(() => true, () => false);
  const run = await loop.stop();
  t.true(signed, `no signed answer; the workload saw: ${run.stdout.slice(0, 2000)} ${run.stderr.slice(0, 2000)}\nagent: ${s.agent.output().slice(mark).slice(-3000)}`);
  t.deepEqual(s.objectStorage.requests.filter((r) => r.tag === 'after-dead-pin' && r.status !== 200), []);
});

test.serial('a foreign connect4 program on the steered cgroup turns the fleet degraded naming it; removed, the reason clears', async (t) => {
  if (!requireBpf(t) || !stack) return;
  const s = stack;
  await waitFor('healthy before', async () => (await fleetRow(s)).state === 'healthy', 15_000);
  const dir = path.join(work!.dir, 'foreign');
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'foreign.c'), [
    '#include <linux/bpf.h>',
    '__attribute__((section("cgroup/connect4"), used)) int foreign_c4(struct bpf_sock_addr *ctx) { return 1; }',
    '__attribute__((section("license"), used)) char LICENSE[] = "GPL";',
    '',
  ].join('\n'));
  const multiarch = (await execFileP('gcc', ['-print-multiarch']).catch(() => ({ stdout: 'x86_64-linux-gnu' }))).stdout.trim();
  await execFileP('clang', ['-O2', '-target', 'bpf', `-I/usr/include/${multiarch}`, '-c', path.join(dir, 'foreign.c'), '-o', path.join(dir, 'foreign.o')]);
  const pin = `${s.pinDir}-foreign`;
  await execFileP('bpftool', ['prog', 'load', path.join(dir, 'foreign.o'), pin, 'type', 'cgroup/connect4']);
  let attached = false;
  t.teardown(async () => {
    if (attached) await execFileP('bpftool', ['cgroup', 'detach', s.cgroup, 'connect4', 'pinned', pin]).catch(() => undefined);
    await rm(pin, { force: true });
  });
  await execFileP('bpftool', ['cgroup', 'attach', s.cgroup, 'connect4', 'pinned', pin, 'multi']);
  attached = true;
  t.true((await bpftoolView(s.cgroup)).includes('cgroup_inet4_connect/foreign_c4'));

  await waitFor('the fleet to name the foreign program', async () => {
    const row = await fleetRow(s);
    return row.state === 'degraded' && row.reasons.some((r) => r.includes('foreign program foreign_c4'));
  }, 10_000, 50);
  t.deepEqual(await bpftoolView(s.cgroup), [...SIGIL_CGROUP_PROGRAMS, 'cgroup_inet4_connect/foreign_c4'].sort(), 'the agent does not remove what it did not attach');

  await execFileP('bpftool', ['cgroup', 'detach', s.cgroup, 'connect4', 'pinned', pin]);
  attached = false;
  await waitFor('the reason to clear', async () => (await fleetRow(s)).state === 'healthy', 10_000, 50);
  const row = await fleetRow(s);
  t.deepEqual(row.reasons, [], 'no false "missing" once it is gone');
});
