/**
 * A real `nats-server -js` for tests, on 127.0.0.1 and a port the kernel picks.
 *
 *   const nats = await startNatsServer();            // or startNatsServer({ config: 'accounts { ... }' })
 *   const nc = await connect({ servers: nats.url });
 *   await nats.restart();                            // same port, same JetStream store dir
 *   await nats.stop();                               // SIGTERM by pid, waits for exit; keeps the dir
 *   await nats.cleanup();                            // stop + remove the temp dir (call in t.teardown)
 *
 * `config` is nats-server configuration text (accounts, operator/resolver for JWT auth, ...); the
 * listen address, port and store dir are always given as flags, which override the file.
 * Works with Debian's nats-server 2.9: `-p -1` asks for a random port, read back from its log.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface NatsServerOptions {
  /** nats-server config file text, written to a file in the temp dir and passed with -c. */
  config?: string;
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** Extra command-line arguments. */
  args?: string[];
  /** How long to wait for "Server is ready" (default 10 s). */
  readyTimeoutMs?: number;
}

export interface NatsServer {
  /** nats://host:port */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The temp dir holding the JetStream store (`<dir>/jetstream`) and the config file. */
  readonly dir: string;
  /** pid of the running server, undefined while stopped. */
  readonly pid: number | undefined;
  /** Everything the server printed so far (for assertions and failure messages). */
  output(): string;
  stop(): Promise<void>;
  /** Starts again on the same port with the same store dir. */
  restart(): Promise<void>;
  /** Stops (if running) and removes the temp dir. */
  cleanup(): Promise<void>;
}

const LISTEN_LINE = /Listening for client connections on [^\s]*:(\d+)/;

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const host = options.host ?? '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), 'sigil-test-nats-'));
  const baseArgs = ['-js', '-a', host, '-sd', join(dir, 'jetstream'), ...(options.args ?? [])];
  if (options.config !== undefined) {
    const configFile = join(dir, 'nats.conf');
    await writeFile(configFile, options.config);
    baseArgs.unshift('-c', configFile);
  }

  let child: ChildProcess | undefined;
  let log = '';
  let port = -1;

  async function launch(wantedPort: number): Promise<void> {
    const proc = spawn('nats-server', [...baseArgs, '-p', String(wantedPort)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    port = await new Promise<number>((resolve, reject) => {
      let found: number | undefined;
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`nats-server not ready after ${options.readyTimeoutMs ?? 10_000} ms:\n${log}`));
      }, options.readyTimeoutMs ?? 10_000);
      const onData = (chunk: Buffer): void => {
        log += chunk.toString();
        const listen = LISTEN_LINE.exec(log);
        if (listen?.[1]) found = Number(listen[1]);
        if (found !== undefined && log.includes('Server is ready')) {
          clearTimeout(timer);
          resolve(found);
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code ?? signal}) before it was ready:\n${log}`));
      });
      proc.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  async function stop(): Promise<void> {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  await launch(-1);

  return {
    get url() { return `nats://${host}:${port}`; },
    host,
    get port() { return port; },
    dir,
    get pid() { return child?.pid; },
    output: () => log,
    stop,
    async restart() {
      await stop();
      log = '';
      await launch(port);
    },
    async cleanup() {
      await stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
