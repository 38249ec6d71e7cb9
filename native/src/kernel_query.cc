#include "kernel_query.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bpf_util.h"
#include "errors.h"

namespace sigil {
namespace {

struct AttachTypeName {
  bpf_attach_type type;
  const char* name;
};

constexpr AttachTypeName kCgroupAttachTypes[] = {
    {BPF_CGROUP_INET4_CONNECT, "cgroup_inet4_connect"},
    {BPF_CGROUP_INET6_CONNECT, "cgroup_inet6_connect"},
    {BPF_CGROUP_SOCK_OPS, "cgroup_sock_ops"},
    {BPF_CGROUP_INET4_GETPEERNAME, "cgroup_inet4_getpeername"},
    {BPF_CGROUP_INET6_GETPEERNAME, "cgroup_inet6_getpeername"},
};

bpf_prog_info ProgInfo(int prog_fd) {
  bpf_prog_info info = {};
  __u32 len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) Fail(errno, "bpf_obj_get_info_by_fd");
  return info;
}

}  // namespace

std::vector<AttachedProgram> QueryCgroup(const std::string& cgroup_path) {
  Fd cg(open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (cg.fd < 0) Fail(errno, "open", cgroup_path);
  std::vector<AttachedProgram> out;
  for (const auto& at : kCgroupAttachTypes) {
    __u32 ids[64];
    __u32 count = 64;
    __u32 flags = 0;
    if (bpf_prog_query(cg.fd, at.type, 0, &flags, ids, &count) != 0) Fail(errno, "bpf_prog_query", cgroup_path);
    for (__u32 i = 0; i < count; i++) {
      Fd prog(bpf_prog_get_fd_by_id(ids[i]));
      if (prog.fd < 0) {
        if (errno == ENOENT) continue;  // detached between the query and now
        Fail(errno, "bpf_prog_get_fd_by_id");
      }
      bpf_prog_info info = ProgInfo(prog.fd);
      out.push_back({at.name, info.id, info.name, Hex(info.tag, sizeof info.tag)});
    }
  }
  return out;
}

ProgramStats StatsForLink(int link_fd) {
  bpf_link_info link = {};
  __u32 len = sizeof link;
  if (bpf_obj_get_info_by_fd(link_fd, &link, &len) != 0) Fail(errno, "bpf_obj_get_info_by_fd");
  Fd prog(bpf_prog_get_fd_by_id(link.prog_id));
  if (prog.fd < 0) Fail(errno, "bpf_prog_get_fd_by_id");
  bpf_prog_info info = ProgInfo(prog.fd);
  return {info.name, info.id, info.run_cnt, info.run_time_ns};
}

std::vector<FeatureCheck> ProbeFeatures() {
  std::vector<FeatureCheck> out;
  auto verdict = [](int rc) { return rc == 1 ? std::string("supported") : rc == 0 ? std::string("not supported by this kernel") : "probe failed: " + std::string(strerror(-rc)); };

  int map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sigil_probe", 4, 4, 1, nullptr);
  out.push_back({"bpf syscall", map_fd >= 0, map_fd >= 0 ? "bpf(BPF_MAP_CREATE) works" : "bpf(BPF_MAP_CREATE) failed: " + std::string(strerror(errno)) + " (need root/CAP_BPF and CONFIG_BPF_SYSCALL)"});
  if (map_fd >= 0) close(map_fd);

  const struct { bpf_prog_type type; const char* name; } progs[] = {
      {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, "program type cgroup_sock_addr (connect4/6, getpeername4/6)"},
      {BPF_PROG_TYPE_SOCK_OPS, "program type sock_ops"},
  };
  for (const auto& p : progs) {
    int rc = libbpf_probe_bpf_prog_type(p.type, nullptr);
    out.push_back({p.name, rc == 1, verdict(rc)});
  }
  // tp_btf needs the tracepoints' BTF prototypes; a tracing probe without an attach target says nothing.
  btf* vmlinux = btf__load_vmlinux_btf();
  for (const char* tp : {"btf_trace_sched_process_exec", "btf_trace_sched_process_fork", "btf_trace_sched_process_exit"}) {
    bool found = vmlinux != nullptr && btf__find_by_name_kind(vmlinux, tp, BTF_KIND_TYPEDEF) > 0;
    out.push_back({std::string("tracepoint ") + (tp + 10) + " in kernel BTF", found,
                   found ? "tp_btf target present" : vmlinux == nullptr ? "kernel BTF not loadable (CONFIG_DEBUG_INFO_BTF)" : "missing from kernel BTF"});
  }
  btf__free(vmlinux);

  const struct { bpf_map_type type; const char* name; } maps[] = {
      {BPF_MAP_TYPE_HASH, "map type hash"},
      {BPF_MAP_TYPE_LRU_HASH, "map type lru_hash"},
      {BPF_MAP_TYPE_PERCPU_ARRAY, "map type percpu_array"},
      {BPF_MAP_TYPE_SK_STORAGE, "map type sk_storage"},
      {BPF_MAP_TYPE_RINGBUF, "map type ringbuf"},
  };
  for (const auto& m : maps) {
    int rc = libbpf_probe_bpf_map_type(m.type, nullptr);
    out.push_back({m.name, rc == 1, verdict(rc)});
  }
  const struct { bpf_prog_type prog; bpf_func_id helper; const char* name; } helpers[] = {
      {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_sk_storage_get, "helper sk_storage_get in cgroup_sock_addr"},
      {BPF_PROG_TYPE_SOCK_OPS, BPF_FUNC_sk_storage_get, "helper sk_storage_get in sock_ops"},
      {BPF_PROG_TYPE_CGROUP_SOCK_ADDR, BPF_FUNC_get_socket_cookie, "helper get_socket_cookie in cgroup_sock_addr"},
  };
  for (const auto& h : helpers) {
    int rc = libbpf_probe_bpf_helper(h.prog, h.helper, nullptr);
    out.push_back({h.name, rc == 1, verdict(rc)});
  }
  return out;
}

}  // namespace sigil
