// Attach health: is every program of the loaded object still attached where it should be, under its
// pin, running our code? And the repair when not. The checks read the kernel's link and program info,
// never this addon's bookkeeping alone.
#pragma once
#include <napi.h>

#include <string>
#include <vector>

namespace sigil {

// One thing found wrong with one program and what was done about it.
struct LinkRepair {
  std::string name;         // program name in the object, e.g. "sigil_connect4"
  std::string attach_type;  // libbpf's name, e.g. "cgroup_inet4_connect", "trace_raw_tp"
  // "missing" (no link), "detached" (cgroup link with cgroup_id 0), "wrong-cgroup", "replaced" (the
  // link runs another program), "unpinned" (pin absent or naming another link), "dead-pin" (a pinned
  // link found detached or elsewhere at start: the pin is dropped, never adopted)
  std::string problem;
  // "re-attached", "restored" (BPF_LINK_UPDATE back to ours), "re-pinned", "pin-dropped", "failed"
  std::string action;
  std::string error;  // set when action is "failed"
};

Napi::Array RepairsToJs(Napi::Env env, const std::vector<LinkRepair>& repairs);

}  // namespace sigil
