/**
 * The anchor of every hop figure: Debian's nginx, one worker, as a TLS-terminating reverse proxy with
 * upstream keepalive in front of the same Object Storage stand-in the signer forwards to. Streaming
 * both ways (no request or response buffering), as the signer does. Started and ended by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { requireTool } from './native-tools.js';

export interface NginxAnchorOptions {
  dir: string;
  listen: { address: string; port: number };
  upstream: { address: string; port: number; serverName: string; caFile: string };
  cert: { certPem: string; keyPem: string };
}

export interface NginxAnchor {
  masterPid: number;
  /** The one worker: its CPU is the anchor's CPU. */
  workerPid: number;
  stop(): Promise<void>;
}

function config(o: NginxAnchorOptions, dir: string): string {
  return `worker_processes 1;
user nobody nogroup;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
  keepalive_requests 1000000;
  upstream objectstorage {
    server ${o.upstream.address}:${o.upstream.port};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen ${o.listen.address}:${o.listen.port} ssl;
    server_name ${o.upstream.serverName};
    ssl_certificate ${dir}/cert.pem;
    ssl_certificate_key ${dir}/key.pem;
    client_max_body_size 0;
    location / {
      proxy_pass https://objectstorage;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host ${o.upstream.serverName};
      proxy_request_buffering off;
      proxy_buffering off;
      proxy_ssl_server_name on;
      proxy_ssl_name ${o.upstream.serverName};
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate ${o.upstream.caFile};
      # Off: a resumed session reaches the Node stand-in without its server name, which it refuses.
      proxy_ssl_session_reuse off;
      proxy_read_timeout 300s;
      proxy_send_timeout 300s;
    }
  }
}
`;
}

async function childrenOf(pid: number): Promise<number[]> {
  const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '');
  return text.trim().split(/\s+/).filter((s) => s !== '').map(Number);
}

function canConnect(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: address, port }, () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startNginxAnchor(o: NginxAnchorOptions): Promise<NginxAnchor> {
  const nginx = requireTool('nginx');
  const dir = path.join(o.dir, 'nginx');
  await mkdir(path.join(dir, 'tmp'), { recursive: true });
  // The worker runs as nobody: it needs its temp directory, nothing else (keys are read by the master).
  await chmod(path.join(dir, 'tmp'), 0o777);
  await writeFile(path.join(dir, 'cert.pem'), o.cert.certPem);
  await writeFile(path.join(dir, 'key.pem'), o.cert.keyPem, { mode: 0o600 });
  const conf = path.join(dir, 'nginx.conf');
  await writeFile(conf, config(o, dir));
  const child: ChildProcess = spawn(nginx, ['-p', dir, '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const masterPid = child.pid;
  if (masterPid === undefined) throw new Error('nginx did not start');
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(masterPid, 'SIGTERM');
      await exited;
    }
  };
  const deadline = Date.now() + 15_000;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`nginx exited ${child.exitCode}: ${stderr}${await readFile(path.join(dir, 'error.log'), 'utf8').catch(() => '')}`);
      const workers = await childrenOf(masterPid);
      if (workers.length === 1 && (await canConnect(o.listen.address, o.listen.port))) return { masterPid, workerPid: workers[0]!, stop };
      if (Date.now() > deadline) throw new Error(`nginx did not start listening on ${o.listen.address}:${o.listen.port} within 15 s: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (err) {
    await stop();
    throw err;
  }
}
