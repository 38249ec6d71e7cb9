#include "sock_destroy.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "addr.h"
#include "errors.h"

namespace sigil {
namespace {

constexpr const char* kListUsage = "listTcpSockets({ family: 'ipv4' | 'ipv6', states: number })";
constexpr const char* kDestroyUsage =
    "destroyTcpSocket({ family, src, sport, dst, dport, ifindex, cookie: bigint })";

// One netlink socket per call: calls are rare (policy changes) and this keeps no state across them.
class DiagSocket {
 public:
  DiagSocket() : fd_(socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG)) {
    if (fd_ < 0) Fail(errno, "socket", "NETLINK_SOCK_DIAG");
  }
  ~DiagSocket() { close(fd_); }
  DiagSocket(const DiagSocket&) = delete;
  DiagSocket& operator=(const DiagSocket&) = delete;

  void Send(__u16 type, __u16 flags, const inet_diag_req_v2& body) {
    struct {
      nlmsghdr nlh;
      inet_diag_req_v2 req;
    } msg{};
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = type;
    msg.nlh.nlmsg_flags = flags;
    msg.nlh.nlmsg_seq = ++seq_;
    msg.req = body;
    sockaddr_nl kernel{};
    kernel.nl_family = AF_NETLINK;
    if (sendto(fd_, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) < 0) {
      Fail(errno, "sendto", "NETLINK_SOCK_DIAG");
    }
  }

  // Reads replies until NLMSG_DONE (dump) or the ACK/error (request); calls on_msg for each payload.
  template <typename OnMsg>
  void Receive(const char* what, OnMsg on_msg) {
    alignas(nlmsghdr) char buf[32 * 1024];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        Fail(errno, "recv", what);
      }
      if (n == 0) Fail(EPIPE, "recv", what);
      int left = static_cast<int>(n);
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_seq != seq_) continue;
        if (h->nlmsg_type == NLMSG_DONE) return;
        if (h->nlmsg_type == NLMSG_ERROR) {
          auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
          if (e->error == 0) return;  // the ACK of a request
          Fail(e->error, what);
        }
        on_msg(h);
      }
    }
  }

 private:
  int fd_;
  __u32 seq_ = 0;
};

int FamilyOf(Napi::Env env, const Napi::Value& v, const char* usage) {
  if (!v.IsString()) throw Usage(env, usage);
  std::string f = v.As<Napi::String>().Utf8Value();
  if (f == "ipv4") return AF_INET;
  if (f == "ipv6") return AF_INET6;
  throw Usage(env, usage);
}

std::string AddrText(int family, const __u32 raw[4]) {
  __u32 full[4] = {raw[0], raw[1], raw[2], raw[3]};
  if (family == AF_INET) sigil_set_v4_mapped(full, raw[0]);
  return FormatAddr(full);
}

void AddrFrom(Napi::Env env, int family, const Napi::Value& v, __u32 out[4]) {
  __u32 full[4];
  if (!v.IsString() || !ParseAddr(v.As<Napi::String>().Utf8Value(), full)) throw Usage(env, kDestroyUsage);
  if (family == AF_INET) {
    if (!sigil_is_v4_mapped(full)) throw Usage(env, kDestroyUsage);
    out[0] = full[3];
    out[1] = out[2] = out[3] = 0;
  } else {
    std::memcpy(out, full, 16);
  }
}

__u16 PortFrom(Napi::Env env, const Napi::Value& v) {
  if (!v.IsNumber()) throw Usage(env, kDestroyUsage);
  int64_t p = v.As<Napi::Number>().Int64Value();
  if (p < 0 || p > 65535) throw Usage(env, kDestroyUsage);
  return static_cast<__u16>(p);
}

}  // namespace

std::vector<TcpSocket> ListTcpSockets(int family, __u32 states) {
  DiagSocket diag;
  inet_diag_req_v2 req{};
  req.sdiag_family = static_cast<__u8>(family);
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_states = states;
  diag.Send(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, req);
  std::vector<TcpSocket> out;
  diag.Receive("SOCK_DIAG_BY_FAMILY", [&](const nlmsghdr* h) {
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(sizeof(inet_diag_msg))) return;
    auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
    TcpSocket s{};
    s.family = m->idiag_family;
    s.state = m->idiag_state;
    s.sport = ntohs(m->id.idiag_sport);
    s.dport = ntohs(m->id.idiag_dport);
    std::memcpy(s.src, m->id.idiag_src, sizeof s.src);
    std::memcpy(s.dst, m->id.idiag_dst, sizeof s.dst);
    s.ifindex = m->id.idiag_if;
    s.cookie[0] = m->id.idiag_cookie[0];
    s.cookie[1] = m->id.idiag_cookie[1];
    s.uid = m->idiag_uid;
    s.inode = m->idiag_inode;
    out.push_back(s);
  });
  return out;
}

void DestroyTcpSocket(const TcpSocket& s) {
  DiagSocket diag;
  inet_diag_req_v2 req{};
  req.sdiag_family = s.family;
  req.sdiag_protocol = IPPROTO_TCP;
  req.idiag_states = ~0u;
  req.id.idiag_sport = htons(s.sport);
  req.id.idiag_dport = htons(s.dport);
  std::memcpy(req.id.idiag_src, s.src, sizeof s.src);
  std::memcpy(req.id.idiag_dst, s.dst, sizeof s.dst);
  req.id.idiag_if = s.ifindex;
  req.id.idiag_cookie[0] = s.cookie[0];
  req.id.idiag_cookie[1] = s.cookie[1];
  diag.Send(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, req);
  diag.Receive("SOCK_DESTROY", [](const nlmsghdr*) {});
}

Napi::Value ListTcpSocketsJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Usage(env, kListUsage);
  Napi::Object o = info[0].As<Napi::Object>();
  int family = FamilyOf(env, o.Get("family"), kListUsage);
  if (!o.Get("states").IsNumber()) throw Usage(env, kListUsage);
  __u32 states = o.Get("states").As<Napi::Number>().Uint32Value();
  std::vector<TcpSocket> sockets;
  try {
    sockets = ListTcpSockets(family, states);
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  Napi::Array out = Napi::Array::New(env, sockets.size());
  for (uint32_t i = 0; i < sockets.size(); i++) {
    const TcpSocket& s = sockets[i];
    Napi::Object js = Napi::Object::New(env);
    js.Set("family", s.family == AF_INET ? "ipv4" : "ipv6");
    js.Set("state", Napi::Number::New(env, s.state));
    js.Set("src", AddrText(s.family, s.src));
    js.Set("sport", Napi::Number::New(env, s.sport));
    js.Set("dst", AddrText(s.family, s.dst));
    js.Set("dport", Napi::Number::New(env, s.dport));
    js.Set("ifindex", Napi::Number::New(env, s.ifindex));
    js.Set("cookie", Napi::BigInt::New(env, static_cast<uint64_t>(s.cookie[1]) << 32 | s.cookie[0]));
    js.Set("uid", Napi::Number::New(env, s.uid));
    js.Set("inode", Napi::Number::New(env, s.inode));
    out.Set(i, js);
  }
  return out;
}

Napi::Value DestroyTcpSocketJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Usage(env, kDestroyUsage);
  Napi::Object o = info[0].As<Napi::Object>();
  TcpSocket s{};
  int family = FamilyOf(env, o.Get("family"), kDestroyUsage);
  s.family = static_cast<__u8>(family);
  AddrFrom(env, family, o.Get("src"), s.src);
  AddrFrom(env, family, o.Get("dst"), s.dst);
  s.sport = PortFrom(env, o.Get("sport"));
  s.dport = PortFrom(env, o.Get("dport"));
  Napi::Value ifindex = o.Get("ifindex");
  if (!ifindex.IsUndefined() && !ifindex.IsNumber()) throw Usage(env, kDestroyUsage);
  s.ifindex = ifindex.IsNumber() ? ifindex.As<Napi::Number>().Uint32Value() : 0;
  Napi::Value cookie = o.Get("cookie");
  if (!cookie.IsBigInt()) throw Usage(env, kDestroyUsage);
  bool lossless = false;
  uint64_t c = cookie.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) throw Usage(env, kDestroyUsage);
  s.cookie[0] = static_cast<__u32>(c);
  s.cookie[1] = static_cast<__u32>(c >> 32);
  try {
    DestroyTcpSocket(s);
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  return env.Undefined();
}

}  // namespace sigil
