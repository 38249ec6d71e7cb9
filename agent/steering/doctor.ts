/**
 * `sigil-agent doctor`: can this host steer? Checks kernel features one by one, then proves the
 * whole path on the real kernel in a throw-away cgroup and pin dir, and removes everything it made.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { ensureBpffs, DEFAULT_BPFFS } from './bpffs.js';
import { findCgroup2Mount } from './mounts.js';
import { loadNative } from '../../native/index.js';
import { PROBE_PEER, PeerProcess, spawnInCgroup } from './probe.js';
import { KernelSteering, type ProcessImage } from './steering.js';
import { taintReasons } from './protection.js';
import { signerChecks, type SignerAddress } from './doctor-signer.js';
import { sleep } from '../../common/abort.js';

export interface DoctorCheck { name: string; ok: boolean; detail: string }
export interface DoctorReport { ok: boolean; checks: DoctorCheck[] }

/** `signer`: the configured signer address, checked too (privileged port, no other listener, SOCK_DESTROY). */
export async function runDoctor(options: { signer?: SignerAddress } = {}): Promise<DoctorReport> {
  const checks: DoctorCheck[] = [];
  const check = (name: string, ok: boolean, detail: string): boolean => { checks.push({ name, ok, detail }); return ok; };
  const attempt = async (name: string, fn: () => Promise<string> | string): Promise<boolean> => {
    try { return check(name, true, await fn()); } catch (err) { return check(name, false, (err as Error).message); }
  };

  check('running as root', process.getuid?.() === 0, process.getuid?.() === 0 ? 'uid 0' : 'run as root: loading BPF and writing cgroups need CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN');
  const nativeOk = await attempt('native addon', () => { loadNative(); return 'sigil_native.node loaded'; });
  check('kernel BTF', existsSync('/sys/kernel/btf/vmlinux'), existsSync('/sys/kernel/btf/vmlinux') ? '/sys/kernel/btf/vmlinux present' : 'missing /sys/kernel/btf/vmlinux: kernel needs CONFIG_DEBUG_INFO_BTF=y');
  let cg2 = '';
  const cgOk = await attempt('cgroup2 mount', async () => { cg2 = await findCgroup2Mount(); return `cgroup2 at ${cg2}`; });
  const bpffsOk = await attempt('bpffs mount', async () => (await ensureBpffs(`${DEFAULT_BPFFS}/sigil`) ? `was not mounted; mounted bpffs at ${DEFAULT_BPFFS}` : `bpffs at ${DEFAULT_BPFFS}`));
  let featuresOk = nativeOk;
  if (nativeOk) {
    for (const f of loadNative().probeFeatures()) featuresOk = check(f.name, f.ok, f.detail) && featuresOk;
  }
  if (nativeOk && cgOk && bpffsOk && featuresOk) await liveChecks(cg2, check, attempt);
  else check('live steering test', false, 'skipped: fix the checks above first');
  if (nativeOk && options.signer) await signerChecks(options.signer, check);
  return { ok: checks.every((c) => c.ok), checks };
}

type Check = (name: string, ok: boolean, detail: string) => boolean;
type Attempt = (name: string, fn: () => Promise<string> | string) => Promise<boolean>;

async function liveChecks(cg2: string, check: Check, attempt: Attempt): Promise<void> {
  const id = randomBytes(4).toString('hex');
  const cgroupPath = path.join(cg2, `sigil-doctor-${id}`);
  const pinDir = `${DEFAULT_BPFFS}/sigil-doctor-${id}`;
  const subnet = `127.78.${1 + (randomBytes(1)[0]! % 250)}`;
  const signerHost = `${subnet}.1`, otherHost = `${subnet}.2`, destHost = `${subnet}.3`, destPort = 443;
  const peers: PeerProcess[] = [];
  let steering: KernelSteering | undefined;
  const peer = (mode: 'listen' | 'dial', args: string[]) => {
    const p = new PeerProcess(spawnInCgroup(cgroupPath, process.execPath, [PROBE_PEER, mode, ...args]));
    peers.push(p);
    return p;
  };
  try {
    mkdirSync(cgroupPath);
    const signer = await peer('listen', ['--pin', pinDir, '--host', signerHost]).ready();
    const other = await peer('listen', ['--host', otherHost]).ready();
    steering = await KernelSteering.attach({ signerIPv4: signerHost, signerPort: signer.port, cgroupPath, pinDir });
    steering.enableStats();
    steering.setDestination({ addr: destHost, port: destPort, destId: 1 });
    const client = await peer('dial', []).ready();
    check('load and attach', true, `attached to temporary cgroup ${cgroupPath}, pins in ${pinDir}`);
    const { mode, reason } = steering.protectionChoice;
    check('identity protection mode', true, `${mode}: ${reason}`);
    await attempt('a user namespace taints the process (kernel)', async () => {
      // unshare(CLONE_NEWUSER) then exec: the new image starts in a foreign user namespace, so the
      // kernel must have tainted it, whatever user space says.
      const child = spawnInCgroup(cgroupPath, 'unshare', ['--user', 'sleep', '5']);
      try {
        const image = await pollImage(steering!, child.pid!, 3_000);
        if ((image.taint & 0x2) === 0) throw new Error(`process ${child.pid} in a new user namespace has taint ${image.taint}`);
        return `taint ${taintReasons(image.taint).join(', ')} on the unshare'd process`;
      } finally {
        child.kill('SIGKILL');
      }
    });

    const [steered] = await client.dial(destHost, destPort);
    await attempt('steered connection reaches the signer', async () => {
      if (!steered?.ok) throw new Error(`dial ${destHost}:${destPort} failed: ${steered?.code}`);
      const got = await signer.acceptedFrom(steered.localPort!, 5_000);
      const r = got.record;
      if (!r) throw new Error('the signer accepted it but the kernel has no record for the socket');
      if (r.origAddr !== destHost || r.origPort !== destPort) throw new Error(`record says ${r.origAddr}:${r.origPort}, expected ${destHost}:${destPort}`);
      if (r.tgid !== client.pid) throw new Error(`record tgid ${r.tgid}, expected ${client.pid}`);
      return `${destHost}:${destPort} -> ${signerHost}:${signer.port}, record tgid ${r.tgid}, uid ${r.uid}`;
    });
    await attempt('getpeername shows the dialled address', () => {
      if (steered?.remoteAddress !== destHost || steered.remotePort !== destPort) throw new Error(`client sees ${steered?.remoteAddress}:${steered?.remotePort}`);
      return `${steered.remoteAddress}:${steered.remotePort}`;
    });
    await attempt('non-listed destination untouched', async () => {
      const [r] = await client.dial(otherHost, other.port);
      if (!r?.ok) throw new Error(`dial failed: ${r?.code}`);
      await other.acceptedFrom(r.localPort!, 5_000);
      if (signer.accepted().some((a) => a.peerPort === r.localPort)) throw new Error('it reached the signer');
      return `${otherHost}:${other.port} reached directly`;
    });
    await attempt('direct dial of the signer has no record', async () => {
      const [r] = await client.dial(signerHost, signer.port);
      if (!r?.ok) throw new Error(`dial failed: ${r?.code}`);
      const got = await signer.acceptedFrom(r.localPort!, 5_000);
      if (got.record) throw new Error(`unexpected record ${JSON.stringify(got.record)}`);
      return 'accepted without a record (the signer will refuse it)';
    });
    await attempt('kernel view (BPF_PROG_QUERY)', () => {
      // Exactly the cgroup programs this build ships (two on each connect hook: steering + guard), nothing else.
      const progs = steering!.query();
      const seen = progs.map((p) => `${p.attachType}/${p.name}/${p.tag}`).sort();
      const shipped = steering!.expectedPrograms().filter((p) => p.attachType.startsWith('cgroup_')).map((p) => `${p.attachType}/${p.name}/${p.tag}`).sort();
      const missing = shipped.filter((p) => !seen.includes(p));
      const foreign = seen.filter((p) => !shipped.includes(p));
      if (missing.length > 0 || foreign.length > 0) throw new Error(`kernel view differs from the build: missing ${missing.join(', ') || 'none'}; not ours ${foreign.join(', ') || 'none'}`);
      return progs.map((p) => `${p.attachType}=${p.name}#${p.id}(${p.tag})`).join(' ');
    });
    await attempt('program run time', () => steering!.programStats()
      .map((s) => `${s.name} ${s.runCount ? Math.round(s.runTimeNs / s.runCount) : 0}ns/run (${s.runCount} runs)`).join('; '));
  } catch (err) {
    check('live steering test', false, (err as Error).message);
  } finally {
    await cleanup(cgroupPath, pinDir, peers, steering, check);
  }
}

async function pollImage(steering: KernelSteering, pid: number, timeoutMs: number): Promise<ProcessImage> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const image = steering.getImage(pid);
    if (image !== null && image.taint !== 0) return image;
    if (Date.now() > deadline) {
      if (image !== null) return image;
      throw new Error(`no kernel image record for process ${pid}`);
    }
    await sleep(20);
  }
}

async function cleanup(cgroupPath: string, pinDir: string, peers: PeerProcess[], steering: KernelSteering | undefined, check: Check): Promise<void> {
  for (const p of peers) p.child.kill('SIGKILL');
  await Promise.all(peers.map((p) => (p.child.exitCode !== null || p.child.signalCode !== null ? undefined : new Promise((r) => p.child.once('exit', r)))));
  try { steering?.detach(); } catch { /* best effort; the pin dir is removed below */ }
  steering?.close();
  rmSync(pinDir, { recursive: true, force: true });
  for (let i = 0; i < 50 && existsSync(cgroupPath); i++) {
    try { rmdirSync(cgroupPath); } catch { await sleep(20); }
  }
  const leftovers = [pinDir, cgroupPath].filter((p) => existsSync(p));
  check('cleanup', leftovers.length === 0, leftovers.length === 0 ? 'temporary cgroup, pins and processes removed' : `left behind: ${leftovers.join(', ')} (${existsSync(cgroupPath) ? readFileSync(path.join(cgroupPath, 'cgroup.procs'), 'utf8').trim() : ''})`);
}
