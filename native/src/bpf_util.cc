#include "bpf_util.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstdio>

#include "errors.h"

namespace sigil {

// bpffs refuses names with a dot, so a pin in the making carries this prefix instead.
constexpr const char kTempPinPrefix[] = "new__";

std::string Hex(const unsigned char* bytes, size_t len) {
  std::string out;
  char two[3];
  for (size_t i = 0; i < len; i++) {
    snprintf(two, sizeof two, "%02x", bytes[i]);
    out += two;
  }
  return out;
}

std::string MapPin(const std::string& dir, const std::string& name) { return dir + "/maps/" + name; }
std::string LinkPin(const std::string& dir, const std::string& name) { return dir + "/links/" + name; }

bool IsTempPin(const std::string& name) { return name.rfind(kTempPinPrefix, 0) == 0; }

void PinReplacing(int fd, const std::string& path) {
  std::string slash = path.substr(0, path.rfind('/') + 1);
  std::string tmp = slash + kTempPinPrefix + path.substr(slash.size());
  unlink(tmp.c_str());
  if (bpf_obj_pin(fd, tmp.c_str()) != 0) Fail(errno, "bpf_obj_pin", tmp);
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    Fail(err, "rename", path);
  }
}

bool IsCgroupProgram(const bpf_program* prog) {
  switch (bpf_program__type(prog)) {
    case BPF_PROG_TYPE_CGROUP_SOCK_ADDR:
    case BPF_PROG_TYPE_SOCK_OPS:
    case BPF_PROG_TYPE_CGROUP_SOCK:
    case BPF_PROG_TYPE_CGROUP_SKB:
    case BPF_PROG_TYPE_CGROUP_SOCKOPT:
    case BPF_PROG_TYPE_CGROUP_SYSCTL:
    case BPF_PROG_TYPE_CGROUP_DEVICE:
      return true;
    default:
      return false;
  }
}

bpf_link* AttachProgram(bpf_program* prog, int cgroup_fd) {
  bpf_link* link = IsCgroupProgram(prog) ? bpf_program__attach_cgroup(prog, cgroup_fd) : bpf_program__attach(prog);
  if (link == nullptr) Fail(errno, "bpf_link_create", bpf_program__name(prog));
  return link;
}

}  // namespace sigil
