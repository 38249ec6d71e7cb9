#include "addr.h"

#include <arpa/inet.h>
#include <cstring>

namespace sigil {

bool ParseAddr(const std::string& text, __u32 out[4]) {
  in_addr v4{};
  if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    sigil_set_v4_mapped(out, v4.s_addr);
    return true;
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    std::memcpy(out, &v6, 16);
    return true;
  }
  return false;
}

std::string FormatAddr(const __u32 addr[4]) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (sigil_is_v4_mapped(addr)) {
    inet_ntop(AF_INET, &addr[3], buf, sizeof buf);
  } else {
    inet_ntop(AF_INET6, addr, buf, sizeof buf);
  }
  return buf;
}

}  // namespace sigil
