/**
 * `sigil-controlplane init-nats` sets up a real installation's NATS authority: nats-server starts on
 * the written config, the control plane connects with the written creds and its fleet is on (a join
 * token can be created), and a second init refuses to overwrite the authority.
 */
import { spawn, spawnSync } from 'node:child_process';
import { stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { SERVER_MAIN, runCli, startServerProcess, tempDir } from '../support.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); }).on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nats-server did not listen on ${port}`);
}

test('init-nats writes an authority that nats-server and the control plane run on, and will not overwrite it', async (t) => {
  const dir = await tempDir(t, 'init-nats');
  const stateDir = join(dir, 'cp');
  const natsConfig = join(dir, 'nats.conf');
  const port = await freePort();
  const init = spawnSync(process.execPath, [SERVER_MAIN, 'init-nats', '--state-dir', stateDir, '--nats-config', natsConfig, '--data-dir', join(dir, 'nats'), '--listen', `127.0.0.1:${port}`], { encoding: 'utf8' });
  t.is(init.status, 0, init.stderr);
  for (const f of ['fleet/nats-auth.json', 'controlplane.creds', 'admin.creds']) {
    t.is((await stat(join(stateDir, f))).mode & 0o077, 0, `${f} is private`);
  }

  // nats-server exactly as an operator starts it: -c on the written config, nothing else.
  const nats = spawn('nats-server', ['-c', natsConfig], { stdio: 'ignore' });
  t.teardown(() => new Promise((resolve) => {
    if (nats.exitCode !== null) return resolve(undefined);
    nats.once('exit', resolve);
    nats.kill('SIGTERM');
  }));
  await waitForPort(port);
  const configFile = join(dir, 'controlplane.yaml');
  await writeFile(configFile, `nats:\n  url: nats://127.0.0.1:${port}\n  credsFile: ${join(stateDir, 'controlplane.creds')}\nhttp:\n  listen: 127.0.0.1:0\nstateDir: ${stateDir}\nlog:\n  level: info\n`);
  const cp = await startServerProcess(t, ['--config', configFile]);
  const created = await runCli(['token', 'create', '--labels', 'role=test'], { SIGIL_SERVER: cp.url, SIGIL_TOKEN_FILE: join(stateDir, 'admin.token') });
  t.is(created.code, 0, created.stderr);
  t.regex(created.stdout.trim(), /\S{20,}/);

  const again = spawnSync(process.execPath, [SERVER_MAIN, 'init-nats', '--state-dir', stateDir, '--nats-config', natsConfig], { encoding: 'utf8' });
  t.is(again.status, 1);
  t.regex(again.stderr, /already has a NATS authority/);
});
