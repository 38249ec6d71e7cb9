/**
 * The Node floor of the signer's hop: a minimal TLS pass-through in Node (this process alone), which
 * terminates TLS from the client and forwards the bytes as they are over one kept-alive TLS socket to
 * the same upstream, no HTTP parsing, no signature. Its CPU per request is what Node + OpenSSL cost on
 * this machine for the two TLS legs every signed request also has: the bound the signer's hop cannot
 * go below in Node. Started by the benchmark as a child (`node node-tls-floor.js` with its options as
 * JSON in SIGIL_FLOOR_OPTIONS); prints `ready` once listening; ends on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

export interface NodeTlsFloorOptions {
  listen: { address: string; port: number };
  upstream: { address: string; port: number; serverName: string; caPem: string };
  cert: { certPem: string; keyPem: string };
}

export interface NodeTlsFloor {
  pid: number;
  stop(): Promise<void>;
}

/** The pass-through itself (in the child). */
function serve(o: NodeTlsFloorOptions): void {
  const upstreamContext = tls.createSecureContext({ ca: o.upstream.caPem, minVersion: 'TLSv1.2' });
  const server = tls.createServer({ cert: o.cert.certPem, key: o.cert.keyPem, ALPNProtocols: ['http/1.1'] }, (client) => {
    client.setNoDelay(true);
    // One upstream TLS connection per client connection, kept as long as the client keeps its own:
    // wrk's connections are kept alive, so are these.
    const upstream = tls.connect({
      host: o.upstream.address, port: o.upstream.port, servername: o.upstream.serverName,
      secureContext: upstreamContext, ALPNProtocols: ['http/1.1'], rejectUnauthorized: true,
    });
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.once('close', end);
    upstream.once('close', end);
    client.on('error', end);
    upstream.on('error', end);
  });
  server.listen(o.listen.port, o.listen.address, () => process.stdout.write('ready\n'));
  process.once('SIGTERM', () => process.exit(0));
}

const SELF = fileURLToPath(import.meta.url);

/** Starts the floor as a child process with the given V8 flags; resolves once it listens. */
export async function startNodeTlsFloor(o: NodeTlsFloorOptions, nodeFlags: string[]): Promise<NodeTlsFloor> {
  const child: ChildProcess = spawn(process.execPath, [...nodeFlags, SELF], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '', SIGIL_FLOOR_OPTIONS: JSON.stringify(o) },
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('the Node TLS floor did not start');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      await exited;
    }
  };
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the Node TLS floor did not listen within 15 s: ${stderr}`)), 15_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the Node TLS floor exited ${code}: ${stderr}`));
      });
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { pid, stop };
}

const options = process.env['SIGIL_FLOOR_OPTIONS'];
if (process.argv[1] === SELF && options) serve(JSON.parse(options) as NodeTlsFloorOptions);
