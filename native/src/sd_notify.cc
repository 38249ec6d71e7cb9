// sdNotify(state): one datagram to $NOTIFY_SOCKET, as sd_notify(3) does, without linking libsystemd.
// Node has no unix datagram sockets, so this lives in the addon. Returns false when the variable is
// unset (not started by systemd, or Type= is not notify); a failed send throws with errno.
#include "sd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "errors.h"

namespace sigil {
namespace {

// Closes the socket on every path out of SendNotify.
struct Fd {
  int fd;
  ~Fd() { if (fd >= 0) close(fd); }
};

// True when sent, false when $NOTIFY_SOCKET is unset; SysError on failure.
bool SendNotify(const std::string& state) {
  const char* env = getenv("NOTIFY_SOCKET");
  if (env == nullptr || env[0] == '\0') return false;
  std::string path(env);
  // "@name" is the abstract namespace: the kernel wants a leading NUL byte instead of '@'.
  if (path[0] != '/' && path[0] != '@') Fail(EAFNOSUPPORT, "sd_notify", "NOTIFY_SOCKET=" + path);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) Fail(ENAMETOOLONG, "sd_notify", "NOTIFY_SOCKET=" + path);
  memcpy(addr.sun_path, path.data(), path.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
  // Abstract names are not NUL-terminated: the length says where they end.
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size() + (path[0] == '/' ? 1 : 0));

  Fd sock{socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)};
  if (sock.fd < 0) Fail(errno, "socket", "AF_UNIX SOCK_DGRAM");
  ssize_t sent = sendto(sock.fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len);
  if (sent < 0) Fail(errno, "sendto", path);
  return true;
}

}  // namespace

Napi::Value SdNotify(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Usage(env, "sdNotify(state: string)");
  try {
    return Napi::Boolean::New(env, SendNotify(info[0].As<Napi::String>().Utf8Value()));
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
}

}  // namespace sigil
