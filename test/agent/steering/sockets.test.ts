/**
 * SOCK_DESTROY through sock_diag on the real kernel: connections are ended by owning process and
 * remote endpoint, nothing else is touched; a squatting listener can be found and ended.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { kernelTest as test, requireBpf, until } from '../../helpers/kernel.js';
import { destroySocket, endConnections, listenersOn, ownersOf } from '../../../agent/steering/index.js';

function listen(host: string): Promise<{ server: net.Server; port: number; accepted: net.Socket[] }> {
  const accepted: net.Socket[] = [];
  const server = net.createServer((s) => { accepted.push(s); s.on('error', () => undefined); });
  return new Promise((resolve) => server.listen(0, host, () => resolve({ server, port: (server.address() as net.AddressInfo).port, accepted })));
}

/** A child process that holds one connection to host:port until killed; resolves once connected. */
async function holder(host: string, port: number): Promise<{ pid: number; gone: Promise<string>; kill(): void }> {
  const child = spawn(process.execPath, ['-e', `
    const s = require('net').connect(${port}, ${JSON.stringify(host)}, () => process.stdout.write('up\\n'));
    s.on('error', (e) => { process.stdout.write('error ' + e.code + '\\n'); });
    s.on('close', () => { process.stdout.write('closed\\n'); setInterval(() => {}, 1000); });
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  await until(() => (out.includes('up') ? true : undefined));
  const gone = until(() => (out.includes('closed') ? out : undefined), 5_000);
  gone.catch(() => undefined);
  return { pid: child.pid as number, gone, kill: () => child.kill('SIGKILL') };
}

test('endConnections ends only the named process\'s connections to the named endpoint', async (t) => {
  if (!requireBpf(t)) return;
  const a = await listen('127.77.250.1');
  const b = await listen('127.77.250.2');
  const toA = await holder('127.77.250.1', a.port);
  const toB = await holder('127.77.250.2', b.port);
  const mine = net.connect(a.port, '127.77.250.1');
  mine.on('error', () => undefined);
  await new Promise((r) => mine.once('connect', r));
  try {
    const result = endConnections([toA.pid, toB.pid], [{ addr: '127.77.250.1', port: a.port }]);
    t.deepEqual(result, { matched: 1, ended: 1, errors: [] });
    t.regex(await toA.gone, /error ECONNABORTED/);
    // The other destination, and another process's connection to the same one, are untouched.
    t.false(mine.destroyed);
    t.is(b.accepted.filter((s) => !s.destroyed).length, 1);
    t.deepEqual(endConnections([toA.pid], [{ addr: '127.77.250.1', port: a.port }]), { matched: 0, ended: 0, errors: [] });
  } finally {
    toA.kill();
    toB.kill();
    mine.destroy();
    a.server.close();
    b.server.close();
  }
});

test('a listener on the address (or the wildcard) is found with its owner, and ending it frees the port', async (t) => {
  if (!requireBpf(t)) return;
  const squat = await listen('127.77.250.3');
  try {
    const found = listenersOn({ addr: '127.77.250.3', port: squat.port });
    t.is(found.length, 1);
    t.deepEqual(ownersOf(found[0]!.inode).map((o) => o.pid), [process.pid]);
    t.is(listenersOn({ addr: '127.77.250.4', port: squat.port }).length, 0);
    destroySocket(found[0]!);
    const again = net.createServer();
    await new Promise<void>((resolve, reject) => { again.once('error', reject); again.listen(squat.port, '127.77.250.3', resolve); });
    again.close();
    t.pass();
  } finally {
    squat.server.close();
  }
});
