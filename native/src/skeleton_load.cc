#include "skeleton_load.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "errors.h"
#include "map_compat.h"
#include "sha256.h"
#include "skel.h"

namespace sigil {
namespace {

bool HasPrefix(const char* name, const char* prefix) { return strncmp(name, prefix, strlen(prefix)) == 0; }

// lsm/ programs (sigil_lsm_*) only in enforce mode, their kprobe twins (sigil_taint_*) only in
// taint-only mode; everything else always.
void ChoosePrograms(bpf_object* obj, Protection protection) {
  bpf_program* prog;
  bpf_object__for_each_program(prog, obj) {
    const char* name = bpf_program__name(prog);
    if (HasPrefix(name, "sigil_lsm_")) bpf_program__set_autoload(prog, protection == Protection::kEnforce);
    if (HasPrefix(name, "sigil_taint_")) bpf_program__set_autoload(prog, protection == Protection::kTaintOnly);
  }
}

}  // namespace

void IdentityOf(const SignerConfig& config, Protection protection, __u8 out[SIGIL_IDENTITY_BYTES]) {
  __u64 size = 0;
  const void* elf = sigil_skel_elf_bytes(&size);
  Sha256 hash;
  hash.Update(elf, size);
  hash.Update(&config.ip4, sizeof(config.ip4));
  hash.Update(config.ip6, sizeof(config.ip6));
  hash.Update(&config.port, sizeof(config.port));
  hash.Update(&protection, sizeof(protection));
  hash.Final(out);
}

sigil_bpf* LoadSkeleton(const SignerConfig& config, Protection protection, const MapFds* reuse) {
  TakeLibbpfLog();
  sigil_bpf* skel = sigil_skel_open();
  if (skel == nullptr) throw SysError{errno, "bpf_object__open", ""};
  sigil_skel_configure(skel, config.ip4, config.ip6, config.port);
  ChoosePrograms(sigil_skel_object(skel), protection);
  if (reuse != nullptr) {
    for (const char* name : kMapNames) {
      bpf_map* map = bpf_object__find_map_by_name(sigil_skel_object(skel), name);
      int fd = *MapSlot(const_cast<MapFds&>(*reuse), name);
      if (map == nullptr || !MapCompatible(map, fd)) continue;
      int err = bpf_map__reuse_fd(map, fd);
      if (err != 0) {
        sigil_skel_destroy(skel);
        throw SysError{-err, "bpf_map__reuse_fd", name};
      }
    }
  }
  int err = sigil_skel_load(skel);
  if (err != 0) {
    sigil_skel_destroy(skel);
    SysError e{-err, "bpf_object__load", ""};
    std::string log = TakeLibbpfLog();
    if (!log.empty()) e.detail = "(libbpf log tail: " + log.substr(log.size() > 2000 ? log.size() - 2000 : 0) + ")";
    throw e;
  }
  return skel;
}

}  // namespace sigil
