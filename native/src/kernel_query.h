// What the kernel says, independent of what this addon believes it did.
#pragma once
#include <linux/types.h>
#include <string>
#include <vector>

namespace sigil {

struct AttachedProgram {
  std::string attach_type;  // e.g. "cgroup_inet4_connect"
  __u32 id;
  std::string name;
  std::string tag;  // hex
};

struct ProgramStats {
  std::string name;
  __u32 id;
  __u64 run_count;
  __u64 run_time_ns;
};

struct FeatureCheck {
  std::string name;
  bool ok;
  std::string detail;
};

// BPF_PROG_QUERY on the cgroup for every attach type Sigil uses, plus each program's info.
std::vector<AttachedProgram> QueryCgroup(const std::string& cgroup_path);
// Program behind a link fd, with run counters (non-zero only while BPF stats are enabled).
ProgramStats StatsForLink(int link_fd);
// Program types, map types and helpers Sigil needs, probed by loading tiny programs.
std::vector<FeatureCheck> ProbeFeatures();

}  // namespace sigil
