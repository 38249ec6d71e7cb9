// TCP sockets as the kernel's sock_diag sees them, and SOCK_DESTROY of one of them (tcp_abort: the
// owner gets ECONNABORTED, the peer an RST). Plain netlink, so it works on every kernel Sigil supports
// (CONFIG_INET_DIAG_DESTROY; the caller needs CAP_NET_ADMIN). Matching is the caller's business.
#pragma once
#include <napi.h>
#include <linux/types.h>

#include <string>
#include <vector>

namespace sigil {

struct TcpSocket {
  __u8 family;       // AF_INET or AF_INET6
  __u8 state;        // TCP_ESTABLISHED = 1 ... TCP_LISTEN = 10 (include/net/tcp_states.h)
  __u16 sport;       // host order
  __u16 dport;       // host order
  __u32 src[4];      // as inet_diag gives them: IPv4 in src[0], IPv6 all four
  __u32 dst[4];
  __u32 ifindex;
  __u32 cookie[2];
  __u32 uid;
  __u32 inode;
};

// Every TCP socket of `family` whose state bit is set in `states` (1 << TCP_*), one netlink dump.
std::vector<TcpSocket> ListTcpSockets(int family, __u32 states);
// SOCK_DESTROY of exactly that socket (the cookie must still match); throws SysError (ENOENT: gone).
void DestroyTcpSocket(const TcpSocket& socket);

// JS: listTcpSockets(opts), destroyTcpSocket(socket). Typed in native/binding.d.ts.
Napi::Value ListTcpSocketsJs(const Napi::CallbackInfo& info);
Napi::Value DestroyTcpSocketJs(const Napi::CallbackInfo& info);

}  // namespace sigil
