/**
 * `sigil-controlplane run` told to stop while it is still starting (systemd stopping a unit that has
 * not sent READY yet) must exit, not log "shutting down" and run on until SIGKILL.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startNatsServer } from '../../helpers/nats-server.js';
import { SERVER_MAIN, tempDir } from '../support.js';

test('SIGTERM between "connected to NATS" and "listening" ends the control plane', async (t) => {
  const nats = await startNatsServer();
  t.teardown(() => nats.cleanup());
  const dir = await tempDir(t, 'stop-during-start');
  const configFile = join(dir, 'controlplane.yaml');
  await writeFile(configFile, `nats:\n  url: ${nats.url}\nhttp:\n  listen: 127.0.0.1:0\nstateDir: ${dir}/state\n`);
  const child = spawn(process.execPath, [SERVER_MAIN, 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
  let out = '';
  let sent = false;
  const exited = new Promise<string>((resolve) => child.once('exit', (code, signal) => resolve(code === null ? `by ${signal}` : String(code))));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never connected to NATS:\n${out}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      if (!sent && out.includes('"msg":"connected to NATS"')) {
        sent = true;
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve();
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
  });
  const outcome = await Promise.race([exited.then((code) => `exited ${code}`), new Promise((r) => setTimeout(() => r('still running 15 s after SIGTERM'), 15_000))]);
  t.is(outcome, 'exited 0', out);
  t.regex(out, /shutting down/);
});
