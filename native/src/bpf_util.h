// Small kernel-handle helpers shared by steering.cc (load/attach/upgrade), attach_health.cc (watch and
// repair) and kernel_query.cc (BPF_PROG_QUERY): one definition each, so the pin layout, the atomic
// re-pin and the cgroup-or-kernel attach rule cannot drift apart.
#pragma once
#include <linux/types.h>
#include <unistd.h>

#include <cstddef>
#include <string>

struct bpf_link;
struct bpf_program;

namespace sigil {

// Closes a raw fd at scope end.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Lower-case hex of bytes (program tags).
std::string Hex(const unsigned char* bytes, size_t len);

// <pinDir>/maps/<name> and <pinDir>/links/<name>.
std::string MapPin(const std::string& dir, const std::string& name);
std::string LinkPin(const std::string& dir, const std::string& name);

// A pin left half made by an interrupted (re-)pin: it carries the temporary prefix.
bool IsTempPin(const std::string& name);

// Pins under a temporary name, then renames over the live one: bpffs replaces it atomically.
void PinReplacing(int fd, const std::string& path);

// Attached to the steered cgroup (and updatable in place, detachable from outside); everything else
// (tp_btf, lsm, tracepoint) hooks the kernel as a whole.
bool IsCgroupProgram(const bpf_program* prog);

// Attaches prog to cgroup_fd if it is a cgroup program, else to the kernel. Throws SysError.
bpf_link* AttachProgram(bpf_program* prog, int cgroup_fd);

}  // namespace sigil
