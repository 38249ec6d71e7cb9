// Steering's pinned-set members (declared in steering.h): attach a fresh set and pin it, adopt a set
// an earlier agent pinned, upgrade one made from another object or config, open one read-only, and
// detach. Pin layout: <pinDir>/maps/<map> and <pinDir>/links/<program> (bpf_util.h).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "abi.h"
#include "bpf_util.h"
#include "dest_filter_map.h"
#include "errors.h"
#include "js_convert.h"
#include "map_set.h"
#include "skel.h"
#include "skeleton_load.h"
#include "steering.h"

namespace sigil {
namespace {

void MakeDir(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) Fail(errno, "mkdir", path);
}

std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return names;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  return names;
}

void RemovePins(const std::string& dir) {
  for (const char* sub : {"/links", "/maps"}) {
    for (const auto& name : ListDir(dir + sub)) unlink((dir + sub + "/" + name).c_str());
    rmdir((dir + sub).c_str());
  }
  rmdir(dir.c_str());
}

}  // namespace

Napi::Value Steering::Attach(const Napi::CallbackInfo& info) {
  const char* usage = "attach(cgroupPath: string, pinDir: string)";
  Napi::Env env = info.Env();
  std::string cgroup_path = StringArg(info, 0, usage);
  std::string pin_dir = StringArg(info, 1, usage);
  if (pin_dir.empty() || pin_dir[0] != '/') throw Usage(env, usage);
  if (!links_.empty()) {
    if (pin_dir == pin_dir_) {  // already attached here
      Napi::Object again = Napi::Object::New(env);
      again.Set("outcome", "adopted");
      again.Set("adopted", Napi::Boolean::New(env, true));
      return again;
    }
    throw Napi::Error::New(env, "attach: already attached under " + pin_dir_);
  }
  if (skel_ == nullptr) throw Napi::Error::New(env, "attach: not loaded; call load() first");
  try {
    pin_dir_ = pin_dir;
    cgroup_path_ = cgroup_path;
    std::vector<LinkRepair> repairs;
    const char* outcome;
    if (ListDir(pin_dir + "/links").empty()) {
      AttachFresh(cgroup_path);
      outcome = "attached";
    } else {
      repairs = DropDeadLinkPins(cgroup_path);  // attach_health.cc: a dead pinned link is replaced, never adopted
      if (PinnedIdentityMatches()) {
        Adopt(true);
        outcome = "adopted";
      } else {
        Upgrade(cgroup_path);
        outcome = "upgraded";
      }
    }
    for (auto& r : RepairLinks()) repairs.push_back(r);  // attach_health.cc: whatever is still missing
    Napi::Object result = Napi::Object::New(env);
    result.Set("outcome", outcome);
    result.Set("adopted", Napi::Boolean::New(env, outcome[0] != 'a' || outcome[1] != 't'));
    result.Set("repaired", RepairsToJs(env, repairs));
    return result;
  } catch (const SysError& e) {
    pin_dir_.clear();
    cgroup_path_.clear();
    throw ToJsError(env, e);
  }
}

void Steering::AttachFresh(const std::string& cgroup_path) {
  int cg = open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) Fail(errno, "open", cgroup_path);
  try {
    bpf_program* prog;
    bpf_object__for_each_program(prog, sigil_skel_object(skel_)) {
      if (!bpf_program__autoload(prog)) continue;  // the other protection mode's twin
      links_.emplace_back(bpf_program__name(prog), AttachProgram(prog, cg));
    }
    RecordIdentity();
    PinAll();
  } catch (...) {
    close(cg);
    ReleaseLinks();
    RemovePins(pin_dir_);
    throw;
  }
  close(cg);
}

// Maps first, links last: whoever sees links/ may assume maps/ is complete.
void Steering::PinAll() {
  MakeDir(pin_dir_);
  MakeDir(pin_dir_ + "/maps");
  MakeDir(pin_dir_ + "/links");
  for (const char* name : kMapNames) {
    int err = bpf_obj_pin(*MapSlot(maps_, name), MapPin(pin_dir_, name).c_str());
    if (err != 0) Fail(errno, "bpf_obj_pin", MapPin(pin_dir_, name));
  }
  for (auto& [name, link] : links_) {
    int err = bpf_link__pin(link, LinkPin(pin_dir_, name).c_str());
    if (err != 0) Fail(err, "bpf_link__pin", LinkPin(pin_dir_, name));
  }
}

// True when the pinned set says it was made from this very object and config.
bool Steering::PinnedIdentityMatches() const {
  int fd = bpf_obj_get(MapPin(pin_dir_, "sigil_settings").c_str());
  if (fd < 0) return false;
  bpf_map_info info;
  __u32 zero = 0;
  sigil_settings value = {};
  bool same = MapInfoOf(fd, &info) && info.type == BPF_MAP_TYPE_ARRAY && info.key_size == sizeof(zero) &&
              info.value_size == sizeof(value) && bpf_map_lookup_elem(fd, &zero, &value) == 0 &&
              memcmp(value.identity, identity_, sizeof(identity_)) == 0;
  close(fd);
  return same;
}

// Written last in an upgrade: a set that crashed half way keeps the old identity and is upgraded again.
void Steering::RecordIdentity() {
  __u32 zero = 0;
  sigil_settings value = {};
  if (bpf_map_lookup_elem(maps_.settings, &zero, &value) != 0) value = {};
  memcpy(value.identity, identity_, sizeof(identity_));
  if (bpf_map_update_elem(maps_.settings, &zero, &value, BPF_ANY) != 0) Fail(errno, "bpf_map_update_elem", "sigil_settings");
}

// A pinned set from another object or config: load ours, sharing every pinned map whose kind and
// sizes still fit (state survives), re-pin the maps that do not (the agent refills destinations and
// rescans /proc at start), then swap programs inside the pinned links. Cgroup links are updated in
// place (BPF_LINK_UPDATE), so the hook is never empty; tracing links cannot be updated, so the new
// one is attached before the old one goes (an exec seen twice bumps the sequence twice: safe,
// whereas one seen by neither would keep a stale attestation).
void Steering::Upgrade(const std::string& cgroup_path) {
  MapFds pinned;
  for (const char* name : kMapNames) *MapSlot(pinned, name) = bpf_obj_get(MapPin(pin_dir_, name).c_str());
  sigil_bpf* next = nullptr;
  try {
    next = LoadSkeleton(config_, protection_, &pinned);
    MapFds fresh;
    SkeletonMaps(next, fresh);
    // The new programs pass whatever their filter does not name: it must cover the shared
    // destinations before they run (an older set may have no filter, or one it kept differently).
    DestFilterCover(fresh.dest_filter, fresh.dests);
    for (const char* name : kMapNames) {
      int fd = *MapSlot(fresh, name);
      if (!SameMap(fd, *MapSlot(pinned, name))) PinReplacing(fd, MapPin(pin_dir_, name));
    }
    ReplaceLinks(next, cgroup_path);
  } catch (...) {
    CloseMaps(pinned);
    if (next != nullptr) sigil_skel_destroy(next);
    ReleaseLinks();
    throw;
  }
  CloseMaps(pinned);
  sigil_skel_destroy(skel_);  // loaded by load(), never attached
  skel_ = next;
  SkeletonMaps(skel_, maps_);
  RecordIdentity();
}

void Steering::ReplaceLinks(sigil_bpf* next, const std::string& cgroup_path) {
  std::vector<std::pair<std::string, bpf_link*>> old;
  for (const auto& name : ListDir(pin_dir_ + "/links")) {
    if (IsTempPin(name)) continue;  // left half made by an interrupted upgrade
    bpf_link* link = bpf_link__open(LinkPin(pin_dir_, name).c_str());
    if (link == nullptr) {
      for (auto& entry : old) bpf_link__destroy(entry.second);
      Fail(errno, "bpf_link__open", LinkPin(pin_dir_, name));
    }
    old.emplace_back(name, link);
  }
  int cg = open(cgroup_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  try {
    if (cg < 0) Fail(errno, "open", cgroup_path);
    bpf_program* prog;
    bpf_object__for_each_program(prog, sigil_skel_object(next)) {
      if (!bpf_program__autoload(prog)) continue;  // the other protection mode's twin
      std::string name = bpf_program__name(prog);
      auto it = old.begin();
      while (it != old.end() && it->first != name) ++it;
      if (it != old.end() && IsCgroupProgram(prog)) {
        int err = bpf_link__update_program(it->second, prog);
        if (err != 0) Fail(-err, "bpf_link_update", name);
        links_.push_back(*it);
        old.erase(it);
        continue;
      }
      bpf_link* link = AttachProgram(prog, cg);
      links_.emplace_back(name, link);
      PinReplacing(bpf_link__fd(link), LinkPin(pin_dir_, name));
    }
  } catch (...) {
    if (cg >= 0) close(cg);
    for (auto& entry : old) bpf_link__destroy(entry.second);
    throw;
  }
  close(cg);
  // What is left ran the old tracing programs (pins already replaced) or programs this object no
  // longer has: detach them even if a stale agent still holds them.
  for (auto& [name, link] : old) {
    bool replaced = false;
    for (auto& entry : links_) replaced = replaced || entry.first == name;
    if (!replaced) unlink(LinkPin(pin_dir_, name).c_str());
    bpf_link_detach(bpf_link__fd(link));
    bpf_link__destroy(link);
  }
}

// Take over a set pinned by an earlier (possibly dead) agent instead of attaching a second one.
void Steering::Adopt(bool with_links) {
  MapFds opened;
  try {
    for (const char* name : kMapNames) {
      int fd = bpf_obj_get(MapPin(pin_dir_, name).c_str());
      if (fd < 0) Fail(errno, "bpf_obj_get", MapPin(pin_dir_, name));
      *MapSlot(opened, name) = fd;
    }
    if (with_links) {
      for (const auto& name : ListDir(pin_dir_ + "/links")) {
        if (IsTempPin(name)) continue;  // left half made by an interrupted upgrade
        bpf_link* link = bpf_link__open(LinkPin(pin_dir_, name).c_str());
        if (link == nullptr) Fail(errno, "bpf_link__open", LinkPin(pin_dir_, name));
        links_.emplace_back(name, link);
      }
    }
  } catch (...) {
    for (const char* name : kMapNames) {
      if (*MapSlot(opened, name) >= 0) close(*MapSlot(opened, name));
    }
    ReleaseLinks();
    throw;
  }
  if (maps_owned_) {
    for (const char* name : kMapNames) close(*MapSlot(maps_, name));
  }
  maps_ = opened;
  maps_owned_ = true;
}

// Programs that repair (attach_health.cc) attaches must work on the live maps. After Adopt() the
// skeleton load() made still has maps of its own: load it again sharing the live ones.
void Steering::ShareLiveMaps() {
  MapFds mine;
  SkeletonMaps(skel_, mine);
  bool same = true;
  for (const char* name : kMapNames) same = same && SameMap(*MapSlot(mine, name), *MapSlot(maps_, name));
  if (same) return;
  sigil_bpf* next = LoadSkeleton(config_, protection_, &maps_);
  MapFds shared;
  SkeletonMaps(next, shared);
  for (const char* name : kMapNames) {
    if (!SameMap(*MapSlot(shared, name), *MapSlot(maps_, name))) {
      sigil_skel_destroy(next);
      Fail(EINVAL, "bpf_map__reuse_fd", std::string(name) + " (pinned map does not fit this object)");
    }
  }
  sigil_skel_destroy(skel_);  // never attached: the adopted links run the pinned programs
  skel_ = next;
}

Napi::Value Steering::Open(const Napi::CallbackInfo& info) {
  const char* usage = "open(pinDir: string)";
  Napi::Env env = info.Env();
  std::string pin_dir = StringArg(info, 0, usage);
  if (skel_ != nullptr || maps_.procs >= 0) throw Napi::Error::New(env, "open: already loaded");
  pin_dir_ = pin_dir;
  try {
    Adopt(false);
  } catch (const SysError& e) {
    pin_dir_.clear();
    throw ToJsError(env, e);
  }
  return env.Undefined();
}

Napi::Value Steering::Detach(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (pin_dir_.empty()) return env.Undefined();
  for (auto& [name, link] : links_) {
    unlink(LinkPin(pin_dir_, name).c_str());
    // Force the detach even if another process still holds the link (tracing links may refuse).
    bpf_link_detach(bpf_link__fd(link));
  }
  ReleaseLinks();
  RemovePins(pin_dir_);
  pin_dir_.clear();
  cgroup_path_.clear();
  return env.Undefined();
}

}  // namespace sigil
