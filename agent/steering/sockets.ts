/**
 * The host's TCP sockets as the kernel sees them (sock_diag), and ending some of them (SOCK_DESTROY):
 * how a policy change reaches connections a workload already holds, and how the agent finds who sits
 * on the signer's address. Needs CAP_NET_ADMIN and CONFIG_INET_DIAG_DESTROY (Debian's 6.1 has both).
 */
import { readdirSync, readlinkSync } from 'node:fs';
import net from 'node:net';
import type { NativeTcpSocket } from '../../native/binding.js';
import { loadNative } from '../../native/index.js';
import { unmapV4 } from '../../common/addresses.js';

export type TcpSocket = NativeTcpSocket;

export interface Endpoint {
  addr: string;
  port: number;
}

/** include/net/tcp_states.h */
export const TCP_STATE = { ESTABLISHED: 1, SYN_SENT: 2, CLOSE_WAIT: 8, LISTEN: 10 } as const;

/** A client's open connections: what a reconnect must replace. */
const CONNECTED = (1 << TCP_STATE.ESTABLISHED) | (1 << TCP_STATE.SYN_SENT) | (1 << TCP_STATE.CLOSE_WAIT);

/** One spelling per address: IPv4 dotted (also from v4-mapped), IPv6 as inet_ntop prints it. */
export function canonicalAddr(addr: string): string {
  const v4 = unmapV4(addr);
  if (v4 !== undefined) return v4;
  if (net.isIPv6(addr)) return new net.SocketAddress({ address: addr, family: 'ipv6' }).address;
  return addr;
}

const endpointKey = (addr: string, port: number): string => `${canonicalAddr(addr)}|${port}`;

/** Socket inodes among a process's open fds (socket:[N]); empty when it is gone. */
export function socketInodes(tgid: number): Set<number> {
  const inodes = new Set<number>();
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${tgid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${tgid}/fd/${fd}`));
      if (m?.[1]) inodes.add(Number(m[1]));
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

export interface EndResult {
  /** Sockets of those processes to those endpoints that were found. */
  matched: number;
  /** ...and ended. The rest had gone already (ENOENT) or failed (`errors`). */
  ended: number;
  errors: string[];
}

/**
 * Ends the TCP connections that the given processes hold to the given remote endpoints. Matched by
 * socket inode (from each process's fd table), not by uid: another process of the same user keeps
 * its connections. A socket shared with a forked child is ended for both, as it is one socket.
 */
export function endConnections(tgids: Iterable<number>, remotes: Iterable<Endpoint>): EndResult {
  const native = loadNative();
  const inodes = new Set<number>();
  for (const tgid of tgids) for (const ino of socketInodes(tgid)) inodes.add(ino);
  const wanted = new Set([...remotes].map((r) => endpointKey(r.addr, r.port)));
  const result: EndResult = { matched: 0, ended: 0, errors: [] };
  if (inodes.size === 0 || wanted.size === 0) return result;
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const socket of native.listTcpSockets({ family, states: CONNECTED })) {
      if (!inodes.has(socket.inode) || !wanted.has(endpointKey(socket.dst, socket.dport))) continue;
      result.matched++;
      try {
        native.destroyTcpSocket(socket);
        result.ended++;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') result.errors.push((err as Error).message);
      }
    }
  }
  return result;
}

/** Listening sockets that would take connections for `endpoint`: bound to it exactly or to the wildcard. */
export function listenersOn(endpoint: Endpoint): TcpSocket[] {
  const native = loadNative();
  const addr = canonicalAddr(endpoint.addr);
  const v4 = net.isIPv4(addr);
  const out: TcpSocket[] = [];
  for (const family of ['ipv4', 'ipv6'] as const) {
    for (const socket of native.listTcpSockets({ family, states: 1 << TCP_STATE.LISTEN })) {
      if (socket.sport !== endpoint.port) continue;
      const local = canonicalAddr(socket.src);
      // A v6 wildcard (::) also takes IPv4 unless IPV6_V6ONLY; counting it is the safe side.
      const wildcard = local === '0.0.0.0' ? v4 : local === '::';
      if (local === addr || wildcard) out.push(socket);
    }
  }
  return out;
}

/** Ends one socket (e.g. a listener squatting the signer's address). */
export function destroySocket(socket: TcpSocket): void {
  loadNative().destroyTcpSocket(socket);
}

export interface SocketOwner {
  pid: number;
  exe: string;
}

/** The processes holding socket `inode` (a /proc walk; for rare diagnostics, not hot paths). */
export function ownersOf(inode: number): SocketOwner[] {
  const owners: SocketOwner[] = [];
  const link = `socket:[${inode}]`;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${name}/fd`);
    } catch {
      continue;
    }
    const holds = fds.some((fd) => {
      try {
        return readlinkSync(`/proc/${name}/fd/${fd}`) === link;
      } catch {
        return false;
      }
    });
    if (!holds) continue;
    let exe = '?';
    try {
      exe = readlinkSync(`/proc/${name}/exe`);
    } catch {
      // kernel thread or gone
    }
    owners.push({ pid: Number(name), exe });
  }
  return owners;
}
