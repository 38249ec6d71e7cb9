// Steering's attach-health members (declared in steering.h): the expected set from the loaded object,
// the start-time check of pinned links, and the repair the agent runs on a timer. Kept apart from
// steering.cc so the load/attach path and this watch-and-repair path can change independently.
#include "attach_health.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "bpf_util.h"
#include "errors.h"
#include "skel.h"
#include "steering.h"

namespace sigil {
namespace {

bool ProgInfoOf(int prog_fd, bpf_prog_info* info) {
  *info = {};
  __u32 len = sizeof(*info);
  return bpf_obj_get_info_by_fd(prog_fd, info, &len) == 0;
}

bool LinkInfoOf(int link_fd, bpf_link_info* info) {
  *info = {};
  __u32 len = sizeof(*info);
  return bpf_obj_get_info_by_fd(link_fd, info, &len) == 0;
}

// Tag of the program with this id; empty when it is gone.
std::string TagOfProgId(__u32 id) {
  Fd prog(bpf_prog_get_fd_by_id(id));
  bpf_prog_info info;
  if (prog.fd < 0 || !ProgInfoOf(prog.fd, &info)) return "";
  return Hex(info.tag, sizeof info.tag);
}

// Cgroup programs: libbpf's attach type name ("cgroup_inet4_connect"), as BPF_PROG_QUERY names them.
// Others: their attach type when it means something ("trace_raw_tp", "lsm_mac"), else the program type.
std::string AttachTypeOf(const bpf_program* prog) {
  bpf_attach_type at = bpf_program__expected_attach_type(prog);
  const char* name = nullptr;
  if (IsCgroupProgram(prog) || (at != 0 && bpf_program__type(prog) != BPF_PROG_TYPE_TRACEPOINT)) name = libbpf_bpf_attach_type_str(at);
  if (name == nullptr) name = libbpf_bpf_prog_type_str(bpf_program__type(prog));
  return name != nullptr ? name : "unknown";
}

// On 64-bit kernels a cgroup's id is the inode number of its cgroup2 directory.
__u64 CgroupIdOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) Fail(errno, "stat", path);
  return st.st_ino;
}

bpf_link* AttachTo(bpf_program* prog, const std::string& cgroup_path) {
  if (!IsCgroupProgram(prog)) return AttachProgram(prog, -1);
  Fd cg(open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (cg.fd < 0) Fail(errno, "open", cgroup_path);
  return AttachProgram(prog, cg.fd);
}

// What is wrong with a link we hold for `prog`, or "" when it is attached to `cgroup_id` running our code.
std::string LinkProblem(bpf_link* link, const bpf_program* prog, __u64 cgroup_id, const std::string& want_tag) {
  bpf_link_info info;
  if (!LinkInfoOf(bpf_link__fd(link), &info)) return "missing";
  if (IsCgroupProgram(prog)) {
    if (info.cgroup.cgroup_id == 0) return "detached";
    if (info.cgroup.cgroup_id != cgroup_id) return "wrong-cgroup";
  }
  if (TagOfProgId(info.prog_id) != want_tag) return "replaced";
  return "";
}

std::string TagOfProgram(const bpf_program* prog) {
  bpf_prog_info info;
  if (!ProgInfoOf(bpf_program__fd(prog), &info)) Fail(errno, "bpf_obj_get_info_by_fd", bpf_program__name(prog));
  return Hex(info.tag, sizeof info.tag);
}

}  // namespace

Napi::Array RepairsToJs(Napi::Env env, const std::vector<LinkRepair>& repairs) {
  Napi::Array out = Napi::Array::New(env, repairs.size());
  for (uint32_t i = 0; i < repairs.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", repairs[i].name);
    o.Set("attachType", repairs[i].attach_type);
    o.Set("problem", repairs[i].problem);
    o.Set("action", repairs[i].action);
    if (!repairs[i].error.empty()) o.Set("error", repairs[i].error);
    out.Set(i, o);
  }
  return out;
}

// A pinned link found at start that is detached or attached elsewhere is dropped (pin unlinked, and
// detached if it still runs elsewhere) so it is never adopted; RepairLinks() then attaches ours.
std::vector<LinkRepair> Steering::DropDeadLinkPins(const std::string& cgroup_path) {
  std::vector<LinkRepair> dropped;
  __u64 cgroup_id = CgroupIdOf(cgroup_path);
  std::string dir = pin_dir_ + "/links";
  for (bpf_program* prog = bpf_object__next_program(sigil_skel_object(skel_), nullptr); prog != nullptr;
       prog = bpf_object__next_program(sigil_skel_object(skel_), prog)) {
    if (!bpf_program__autoload(prog) || !IsCgroupProgram(prog)) continue;  // the other protection mode's twin; tracing links cannot be detached
    std::string path = LinkPin(pin_dir_, bpf_program__name(prog));
    Fd link(bpf_obj_get(path.c_str()));
    if (link.fd < 0) continue;  // not pinned: RepairLinks attaches it
    bpf_link_info info;
    if (!LinkInfoOf(link.fd, &info) || info.type != BPF_LINK_TYPE_CGROUP) continue;
    if (info.cgroup.cgroup_id == cgroup_id) continue;
    if (info.cgroup.cgroup_id != 0) bpf_link_detach(link.fd);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) Fail(errno, "unlink", path);
    dropped.push_back({bpf_program__name(prog), AttachTypeOf(prog), "dead-pin", "pin-dropped", ""});
  }
  return dropped;
}

// Every program of the loaded object: attached (to our cgroup, for cgroup programs), running our
// code, and pinned under its name. Each fault is repaired at once; a repair that fails is reported
// and retried on the next call.
std::vector<LinkRepair> Steering::RepairLinks() {
  std::vector<LinkRepair> repairs;
  if (skel_ == nullptr || pin_dir_.empty() || cgroup_path_.empty()) return repairs;  // not attached by us
  __u64 cgroup_id = CgroupIdOf(cgroup_path_);
  bpf_object* obj = sigil_skel_object(skel_);
  for (bpf_program* prog = bpf_object__next_program(obj, nullptr); prog != nullptr; prog = bpf_object__next_program(obj, prog)) {
    if (!bpf_program__autoload(prog)) continue;  // the other protection mode's twin: not loaded, never attached
    std::string name = bpf_program__name(prog);
    LinkRepair r{name, AttachTypeOf(prog), "", "", ""};
    auto it = links_.begin();
    while (it != links_.end() && it->first != name) ++it;
    try {
      std::string want_tag = TagOfProgram(prog);
      r.problem = it == links_.end() ? "missing" : LinkProblem(it->second, prog, cgroup_id, want_tag);
      if (!r.problem.empty() && r.problem != "unpinned") {
        ShareLiveMaps();  // what we attach must see the live maps (after an adopt the skeleton has its own)
        obj = sigil_skel_object(skel_);
        prog = bpf_object__find_program_by_name(obj, name.c_str());
        if (prog == nullptr) Fail(ENOENT, "bpf_object__find_program_by_name", name);
      }
      if (r.problem == "replaced") {
        int err = bpf_link__update_program(it->second, prog);
        if (err != 0) Fail(-err, "bpf_link_update", name);
        r.action = "restored";
      } else if (!r.problem.empty()) {
        bpf_link* fresh = AttachTo(prog, cgroup_path_);
        try {
          PinReplacing(bpf_link__fd(fresh), LinkPin(pin_dir_, name));
        } catch (...) {
          bpf_link__destroy(fresh);
          throw;
        }
        if (it != links_.end()) {
          if (r.problem == "wrong-cgroup") bpf_link_detach(bpf_link__fd(it->second));
          bpf_link__destroy(it->second);
          it->second = fresh;
        } else {
          links_.emplace_back(name, fresh);
        }
        r.action = "re-attached";
      } else {
        // Attached and ours; is the pin (what the next agent adopts) still this link?
        bpf_link_info mine, pinned;
        Fd pin(bpf_obj_get(LinkPin(pin_dir_, name).c_str()));
        bool same = pin.fd >= 0 && LinkInfoOf(pin.fd, &pinned) && LinkInfoOf(bpf_link__fd(it->second), &mine) && pinned.id == mine.id;
        if (same) continue;
        r.problem = "unpinned";
        PinReplacing(bpf_link__fd(it->second), LinkPin(pin_dir_, name));
        r.action = "re-pinned";
      }
    } catch (const SysError& e) {
      if (r.problem.empty()) r.problem = "unreadable";
      r.action = "failed";
      r.error = e.syscall + (e.detail.empty() ? "" : " " + e.detail) + ": " + strerror(e.err);
    }
    repairs.push_back(r);
  }
  RestoreHookOrder(repairs);
  return repairs;
}

// A steering program re-attached after a detach runs after its guard (cgroup programs run in attach
// order). Steering stays correct either way, but then the steering program sees every connection the
// guard already steered as "not listed" and counts it so. Re-attach the guard behind it (new link
// first, old one detached after: the hook is never without both) so the order is the original again.
void Steering::RestoreHookOrder(std::vector<LinkRepair>& repairs) {
  static constexpr const char* kPairs[][2] = {{"sigil_connect4", "sigil_guard4"}, {"sigil_connect6", "sigil_guard6"}};
  for (const auto& pair : kPairs) {
    bool primary_new = false, guard_new = false;
    for (const auto& r : repairs) {
      if (r.action != "re-attached") continue;
      primary_new = primary_new || r.name == pair[0];
      guard_new = guard_new || r.name == pair[1];
    }
    if (!primary_new || guard_new) continue;
    auto it = links_.begin();
    while (it != links_.end() && it->first != pair[1]) ++it;
    bpf_program* guard = bpf_object__find_program_by_name(sigil_skel_object(skel_), pair[1]);
    if (it == links_.end() || guard == nullptr) continue;
    try {
      bpf_link* fresh = AttachTo(guard, cgroup_path_);
      try {
        PinReplacing(bpf_link__fd(fresh), LinkPin(pin_dir_, pair[1]));
      } catch (...) {
        bpf_link__destroy(fresh);
        throw;
      }
      bpf_link_detach(bpf_link__fd(it->second));
      bpf_link__destroy(it->second);
      it->second = fresh;
    } catch (const SysError& e) {
      // Order only affects counters, not steering: report, keep going.
      repairs.push_back({pair[1], AttachTypeOf(guard), "out-of-order", "failed", e.syscall + ": " + strerror(e.err)});
    }
  }
}

Napi::Value Steering::Repair(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  try {
    return RepairsToJs(env, RepairLinks());
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
}

Napi::Value Steering::ExpectedPrograms(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (skel_ == nullptr) throw Napi::Error::New(env, "expectedPrograms: not loaded; call load() first");
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  bpf_object* obj = sigil_skel_object(skel_);
  try {
    for (bpf_program* prog = bpf_object__next_program(obj, nullptr); prog != nullptr; prog = bpf_object__next_program(obj, prog)) {
      if (!bpf_program__autoload(prog)) continue;  // not loaded in this protection mode
      bpf_prog_info pinfo;
      if (!ProgInfoOf(bpf_program__fd(prog), &pinfo)) Fail(errno, "bpf_obj_get_info_by_fd", bpf_program__name(prog));
      Napi::Object o = Napi::Object::New(env);
      o.Set("attachType", AttachTypeOf(prog));
      o.Set("name", pinfo.name);  // the kernel's (possibly truncated) name, as BPF_PROG_QUERY shows it
      o.Set("tag", Hex(pinfo.tag, sizeof pinfo.tag));
      out.Set(i++, o);
    }
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  return out;
}

}  // namespace sigil
