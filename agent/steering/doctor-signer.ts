/**
 * `doctor` checks of what makes the signer impossible to stand in for and binding changes reach
 * open connections: the port is privileged, nobody else listens on the signer's port, and
 * SOCK_DESTROY works (a live test on a throw-away loopback connection).
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { describeSquatter, squattersOn, unprivilegedPortProblem, unprivilegedPortStart } from './signer-address.js';
import { destroySocket, TCP_STATE } from './sockets.js';
import { loadNative } from '../../native/index.js';

export interface SignerAddress { ipv4: string; ipv6: string; port: number }
type Check = (name: string, ok: boolean, detail: string) => boolean;

export async function signerChecks(signer: SignerAddress, check: Check): Promise<void> {
  const problem = unprivilegedPortProblem(signer.port);
  check('signer port privileged', problem === undefined, problem ?? `port ${signer.port} < net.ipv4.ip_unprivileged_port_start (${unprivilegedPortStart()}): only root can listen there`);
  try {
    const lines: string[] = [];
    let wildcards = 0;
    for (const addr of [signer.ipv4, signer.ipv6]) {
      for (const s of squattersOn({ addr, port: signer.port })) {
        if (s.wildcard) wildcards++;
        lines.push(`${s.wildcard ? 'WILDCARD ' : ''}${describeSquatter(s)}`);
      }
    }
    check('signer address', wildcards === 0, lines.length === 0
      ? `nothing listens on ${signer.ipv4}:${signer.port} or [${signer.ipv6}]:${signer.port} (agent not running: steered connects are refused)`
      : wildcards > 0
        ? `a wildcard listener would receive steered connections while the agent is down: ${lines.join('; ')}`
        : `held by ${lines.join('; ')} (the agent, when it is running; it takes the address back from anything else at start)`);
  } catch (err) {
    check('signer address', false, `cannot list listeners (sock_diag): ${(err as Error).message}`);
  }
  await liveSockDestroy(check);
}

/** Ends a connection of our own through SOCK_DESTROY and sees the client told so. */
async function liveSockDestroy(check: Check): Promise<void> {
  const host = `127.78.${1 + (randomBytes(1)[0]! % 250)}.9`;
  const server = net.createServer((s) => s.on('error', () => undefined));
  let client: net.Socket | undefined;
  try {
    loadNative();
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(0, host, resolve); });
    const port = (server.address() as net.AddressInfo).port;
    client = net.connect(port, host);
    const ended = new Promise<string>((resolve) => client!.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message)));
    await new Promise((resolve, reject) => { client!.once('connect', resolve); client!.once('error', reject); });
    const sockets = loadNative().listTcpSockets({ family: 'ipv4', states: 1 << TCP_STATE.ESTABLISHED }).filter((s) => s.dport === port && s.dst === host);
    if (sockets.length !== 1) throw new Error(`expected one socket to ${host}:${port}, sock_diag listed ${sockets.length}`);
    destroySocket(sockets[0]!);
    const code = await Promise.race([ended, new Promise<string>((r) => setTimeout(() => r('no error within 2 s'), 2_000).unref())]);
    check('SOCK_DESTROY (binding changes end open connections)', code === 'ECONNABORTED', code === 'ECONNABORTED'
      ? 'a test connection was ended (client saw ECONNABORTED)' : `client saw ${code}`);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'EOPNOTSUPP' ? 'kernel lacks CONFIG_INET_DIAG_DESTROY' : e.code === 'EPERM' ? 'needs CAP_NET_ADMIN' : e.message;
    check('SOCK_DESTROY (binding changes end open connections)', false, `${why}: a process whose binding changes keeps its open connections on the old path until they close`);
  } finally {
    client?.destroy();
    server.close();
  }
}
