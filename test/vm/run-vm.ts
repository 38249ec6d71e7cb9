/**
 * `npm run test:vm`: the Vagrantfile's path, with tools this machine has. Opt-in (not in `make test`):
 * it needs root, debootstrap, qemu-system-x86_64 and a few minutes the first time.
 *
 *   1. test/vm/build-rootfs.sh: a Debian 12 root filesystem with systemd, the stock cloud kernel
 *      (6.1, BTF) and nats-server, cached in /var/cache/sigil-vm (SIGIL_VM_CACHE).
 *   2. A copy of it gets this checkout through deploy/install.sh --root (units enabled offline),
 *      this host's node binary, and sigil-vm-check.service (runs dist/test/vm/guest-check.js).
 *   3. qemu boots it (KVM when it works, else TCG) with systemd as PID 1: it starts NATS, the control
 *      plane and the agent from our units; guest-check reports on the second serial port and powers off.
 *   4. Here: the report is printed, and the exit code says whether the units came up and doctor passed.
 *
 * SIGIL_VM_DEB=1: the Debian package instead of install.sh. Builds two .debs (deploy/deb/build-deb.sh:
 * this version and a `+vm2` one, uncompressed), and the guest (test/vm/deb-guest-check.sh) installs the
 * first with `apt install ./…deb`, enrols and starts everything, upgrades to the second (conffile
 * edits, NATS authority, pins kept; agent restarted) and purges (all gone, programs detached, checked
 * with bpftool copied from this host).
 *
 * Needs a built checkout (`make build`). Environment: SIGIL_VM_CACHE, SIGIL_VM_TIMEOUT (s, default 900),
 * SIGIL_VM_ACCEL (kvm or tcg, default: kvm if the guest shows life within 20 s, else tcg), SIGIL_VM_DEBUG=1
 * (the guest's journal on its console, /var/cache/sigil-vm/run/console.log).
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { debFailures, parseVmReport, vmFailures } from './vm-report.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TIMEOUT_S = Number(process.env['SIGIL_VM_TIMEOUT'] ?? 900);
const DEB_MODE = (process.env['SIGIL_VM_DEB'] ?? '') !== '';

const DEB_CHECK_UNIT = `[Unit]
Description=Sigil VM test: install, upgrade and purge the Debian package, report, power off
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/bash /root/deb-guest-check.sh /dev/ttyS1
TimeoutStartSec=1500s

[Install]
WantedBy=multi-user.target
`;

/** The guest of SIGIL_VM_DEB=1: two packages, bpftool, the check script and its unit. */
function stageDebScenario(stage: string): void {
  const version = (JSON.parse(readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
  const debs = path.join(stage, 'root/debs');
  mkdirSync(debs, { recursive: true });
  for (const v of [version, `${version}+vm2`]) {
    console.log(`==> building sigil ${v} (.deb)`);
    sh('bash', [path.join(REPO, 'deploy/deb/build-deb.sh'), '--out', debs, '--compress', 'none', '--version', v], `build-deb.sh --version ${v}`);
  }
  copyFileSync(path.join(REPO, 'test/vm/deb-guest-check.sh'), path.join(stage, 'root/deb-guest-check.sh'));
  // A persistent journal: after the run, the disk image holds the units' logs (journalctl --directory).
  mkdirSync(path.join(stage, 'var/log/journal'), { recursive: true });
  mkdirSync(path.join(stage, 'usr/local/sbin'), { recursive: true });
  copyFileSync(sh('sh', ['-c', 'readlink -f "$(command -v bpftool)"'], 'finding bpftool').trim(), path.join(stage, 'usr/local/sbin/bpftool'));
  chmodSync(path.join(stage, 'usr/local/sbin/bpftool'), 0o755);
  writeFileSync(path.join(stage, 'etc/systemd/system/sigil-vm-deb-check.service'), DEB_CHECK_UNIT);
  sh('systemctl', ['--root', stage, 'enable', 'sigil-vm-deb-check.service'], 'enabling the deb check unit');
}

const CHECK_UNIT = `[Unit]
Description=Sigil VM test: report unit states, doctor and demo to the host, then power off
# Not ordered after the Sigil units: a start job stuck in "activating" must not hide the report.
# guest-check polls their states itself.

[Service]
Type=oneshot
ExecStart=/usr/bin/node /opt/sigil/dist/test/vm/guest-check.js /dev/ttyS1
TimeoutStartSec=400s

[Install]
WantedBy=multi-user.target
`;

function sh(cmd: string, args: string[], what: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`${what} failed (${cmd} exit ${r.status})`);
  return r.stdout;
}

function need(tool: string, pkg: string): void {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) throw new Error(`${tool} is missing: apt-get install ${pkg}`);
}

/** Can qemu use KVM here? Starts an empty machine with KVM and quits it through the monitor. */
function kvmWorks(): boolean {
  if (!existsSync('/dev/kvm')) return false;
  const r = spawnSync('qemu-system-x86_64', ['-accel', 'kvm', '-machine', 'none', '-display', 'none', '-nodefaults', '-no-user-config', '-monitor', 'stdio'], { input: 'quit\n', encoding: 'utf8', timeout: 10_000 });
  return r.status === 0;
}

const KVM_SIGN_OF_LIFE_MS = 20_000;

/**
 * One boot. With `signOfLifeMs`, gives up (and says so) when the kernel has printed nothing by then;
 * otherwise waits for the guest to power off, or SIGIL_VM_TIMEOUT.
 */
async function bootOnce(work: string, disk: string, accel: string, consoleLog: string, results: string, signOfLifeMs?: number): Promise<'done' | 'no-sign-of-life'> {
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', [
    '-accel', accel, ...(accel === 'tcg' ? ['-cpu', 'max'] : []), '-m', '2048', '-smp', '2',
    '-kernel', path.join(work, 'vmlinuz'), '-initrd', path.join(work, 'initrd.img'),
    '-append', `root=/dev/vda rw console=ttyS0 systemd.show_status=1 panic=-1${process.env['SIGIL_VM_DEBUG'] ? ' systemd.journald.forward_to_console=1' : ''}`,
    '-drive', `file=${disk},format=raw,if=virtio`,
    '-nic', 'none', '-display', 'none', '-no-reboot',
    '-serial', `file:${consoleLog}`, '-serial', `file:${results}`,
  ], { stdio: 'inherit' });
  const exited = new Promise((resolve) => qemu.on('exit', resolve));
  let silent = false;
  const lifeTimer = signOfLifeMs === undefined ? undefined : setTimeout(() => {
    if (!readFileSync(consoleLog, 'utf8').includes('Linux version')) { silent = true; qemu.kill('SIGTERM'); }
  }, signOfLifeMs);
  const timer = setTimeout(() => { console.error(`==> no power-off after ${TIMEOUT_S}s: stopping qemu`); qemu.kill('SIGTERM'); }, TIMEOUT_S * 1000);
  await exited;
  clearTimeout(timer);
  clearTimeout(lifeTimer);
  console.log(`==> guest ran ${Math.round((Date.now() - started) / 1000)}s`);
  return silent ? 'no-sign-of-life' : 'done';
}

async function main(): Promise<number> {
  if (process.getuid?.() !== 0) throw new Error('run as root (debootstrap, chroot, mkfs)');
  need('debootstrap', 'debootstrap');
  need('qemu-system-x86_64', 'qemu-system-x86');
  need('mkfs.ext4', 'e2fsprogs');
  if (!existsSync(path.join(REPO, 'dist/test/vm/guest-check.js')) || !existsSync(path.join(REPO, 'build/native/Release/sigil_native.node'))) {
    throw new Error('build first: make build');
  }

  const cache = sh('bash', [path.join(REPO, 'test/vm/build-rootfs.sh')], 'building the guest root filesystem').trim().split('\n').pop()!;
  // Its own directory per scenario, so the install.sh and the .deb runs do not share one.
  const work = path.join(cache, DEB_MODE ? 'run-deb' : 'run');
  const stage = path.join(work, 'rootfs');
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  console.log(`==> staging ${stage}`);
  sh('cp', ['-a', path.join(cache, 'rootfs'), stage], 'copying the cached root filesystem');
  if (!existsSync(path.join(stage, 'etc/hosts'))) writeFileSync(path.join(stage, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n');
  if (DEB_MODE) {
    need('bpftool', 'bpftool');
    stageDebScenario(stage);
  } else {
    sh('bash', [path.join(REPO, 'deploy/install.sh'), '--root', stage], 'deploy/install.sh --root');
    // The demo's workload is the official OCI SDK, a dev dependency the product install leaves out: give
    // this test image the checkout's whole node_modules. And the /etc/hosts every installed Debian has
    // (debootstrap makes none; the demo's workloads bind their private copy over it).
    sh('cp', ['-a', `${path.join(REPO, 'node_modules')}/.`, path.join(stage, 'opt/sigil/node_modules')], 'copying node_modules for the demo');
    if (!existsSync(path.join(stage, 'etc/hosts'))) writeFileSync(path.join(stage, 'etc/hosts'), '127.0.0.1 localhost\n::1 localhost\n');
    copyFileSync(process.execPath, path.join(stage, 'usr/bin/node'));
    chmodSync(path.join(stage, 'usr/bin/node'), 0o755);
    writeFileSync(path.join(stage, 'etc/systemd/system/sigil-vm-check.service'), CHECK_UNIT);
    sh('systemctl', ['--root', stage, 'enable', 'sigil-vm-check.service'], 'enabling the check unit');
  }

  const boot = path.join(stage, 'boot');
  const kernel = sh('sh', ['-c', `ls ${boot}/vmlinuz-* | sort -V | tail -1`], 'finding the kernel').trim();
  const initrd = kernel.replace('vmlinuz-', 'initrd.img-');
  copyFileSync(kernel, path.join(work, 'vmlinuz'));
  copyFileSync(initrd, path.join(work, 'initrd.img'));
  const disk = path.join(work, 'disk.img');
  console.log('==> making the root disk image');
  sh('mkfs.ext4', ['-q', '-F', '-L', 'sigilroot', '-d', stage, disk, '4G'], 'mkfs.ext4 -d');
  rmSync(stage, { recursive: true, force: true });

  const consoleLog = path.join(work, 'console.log');
  const results = path.join(work, 'results.log');
  const forced = process.env['SIGIL_VM_ACCEL'];
  const accels = forced ? [forced] : kvmWorks() ? ['kvm', 'tcg'] : ['tcg'];
  for (const accel of accels) {
    console.log(`==> booting ${path.basename(kernel)} with ${accel} (console: ${consoleLog})`);
    const outcome = await bootOnce(work, disk, accel, consoleLog, results, accel === accels.at(-1) ? undefined : KVM_SIGN_OF_LIFE_MS);
    if (outcome !== 'no-sign-of-life') break;
    // Nested KVM can create a machine yet never run the guest (seen: a stall at "Probing EDD").
    console.log(`==> no kernel output within ${KVM_SIGN_OF_LIFE_MS / 1000}s under ${accel}: trying the next accelerator`);
  }

  const report = parseVmReport(existsSync(results) ? readFileSync(results, 'utf8') : '');
  for (const s of report.sections) console.log(`--- ${s.section}\n${JSON.stringify(s.data, null, 2)}`);
  if (!report.done) {
    console.error(`the guest did not finish its report; last console lines:\n${readFileSync(consoleLog, 'utf8').split('\n').slice(-40).join('\n')}`);
    return 1;
  }
  const failures = DEB_MODE ? debFailures(report) : vmFailures(report);
  console.log(failures.length === 0 ? '==> VM test passed' : `==> VM test FAILED: ${failures.join('; ')}`);
  return failures.length === 0 ? 0 : 1;
}

main().then((code) => { process.exitCode = code; }, (err: unknown) => { console.error(`test:vm: ${(err as Error).message}`); process.exitCode = 1; });
