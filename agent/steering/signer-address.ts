/**
 * The signer's address belongs to the agent. Steered connections go to one loopback IP:port fixed
 * in the pinned programs; whoever listens there gets them. Defaults make that only ever the agent:
 * a dedicated loopback address (nothing else has a reason to listen on it) and a privileged port,
 * which only root (CAP_NET_BIND_SERVICE) can bind — so while the agent is down no user can stand in,
 * steered connects are refused (RST), and nothing stops the agent binding again.
 *
 * Two things can break that, and both are reported here (agent start-up and `doctor`):
 * - `net.ipv4.ip_unprivileged_port_start` lowered to or below the signer's port (it applies to IPv6
 *   too) makes the port bindable by anyone;
 * - another listener on the address, or on the wildcard of the port.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { TCP_STATE, canonicalAddr, destroySocket, listenersOn, ownersOf, type Endpoint, type TcpSocket } from './sockets.js';

export const UNPRIVILEGED_PORT_START_FILE = '/proc/sys/net/ipv4/ip_unprivileged_port_start';
/** The kernel's default; assumed when the sysctl cannot be read. */
const DEFAULT_UNPRIVILEGED_PORT_START = 1024;

/** Ports below this need CAP_NET_BIND_SERVICE in this network namespace. */
export function unprivilegedPortStart(file = UNPRIVILEGED_PORT_START_FILE): number {
  try {
    const value = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(value) && value >= 0 ? value : DEFAULT_UNPRIVILEGED_PORT_START;
  } catch {
    return DEFAULT_UNPRIVILEGED_PORT_START;
  }
}

/** Undefined when only privileged processes can bind `port`; else why anyone can. */
export function unprivilegedPortProblem(port: number, start = unprivilegedPortStart()): string | undefined {
  if (port < start) return undefined;
  return port >= 1024
    ? `signer port ${port} is not privileged (>= 1024): any local user can listen on the signer's address while the agent is down and receive steered connections; use a port below ${Math.min(start, 1024)} (default 944)`
    : `net.ipv4.ip_unprivileged_port_start is ${start}, so signer port ${port} can be bound by any local user: while the agent is down they could receive steered connections; set it above ${port} (sysctl -w net.ipv4.ip_unprivileged_port_start=1024) or choose a port below ${start}`;
}

export interface Squatter {
  socket: TcpSocket;
  /** Who holds it: pid and exe (empty when no process has it open any more). */
  owners: Array<{ pid: number; exe: string }>;
  /** True for a wildcard listener (0.0.0.0 / ::), false for one on the signer's own address. */
  wildcard: boolean;
}

/** Listeners that would take the signer's connections, other than those held by `selfPid`. */
export function squattersOn(endpoint: Endpoint, selfPid = process.pid): Squatter[] {
  const addr = canonicalAddr(endpoint.addr);
  return listenersOn(endpoint)
    .map((socket) => ({ socket, owners: ownersOf(socket.inode), wildcard: canonicalAddr(socket.src) !== addr }))
    .filter((s) => !s.owners.some((o) => o.pid === selfPid));
}

export function describeSquatter(s: Squatter): string {
  const who = s.owners.length === 0 ? 'no process (orphaned socket)' : s.owners.map((o) => `pid ${o.pid} (${o.exe})`).join(', ');
  const where = `${net.isIPv6(s.socket.src) && !s.socket.src.includes('.') ? `[${s.socket.src}]` : s.socket.src}:${s.socket.sport}`;
  return `${where} held by ${who}, uid ${s.socket.uid}`;
}

/**
 * Takes the signer's exact address back from whoever listens on it, so a stale or hostile listener
 * can never keep the agent from starting: each such listening socket is ended (SOCK_DESTROY; its
 * owner's accept() fails). Wildcard listeners are left alone (they do not block the bind, and the
 * more specific signer socket wins while the agent runs) but are reported. Returns what was ended.
 */
export function reclaimSignerAddress(endpoint: Endpoint): Squatter[] {
  const ended: Squatter[] = [];
  for (const squatter of squattersOn(endpoint)) {
    if (squatter.wildcard || squatter.socket.state !== TCP_STATE.LISTEN) continue;
    try {
      destroySocket(squatter.socket);
      ended.push(squatter);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  return ended;
}
