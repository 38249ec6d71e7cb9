#include "steering.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "abi.h"
#include "addr.h"
#include "bpf_util.h"
#include "errors.h"
#include "kernel_query.h"
#include "link_stats.h"
#include "sha256.h"
#include "skel.h"

namespace sigil {
namespace {

constexpr const char* kMapNames[] = {"sigil_procs", "sigil_images", "sigil_dests", "sigil_settings", "sigil_records",
                                     "sigil_handoff", "sigil_counters", "sigil_events", "sigil_clients"};

#define SIGIL_COUNTER_NAME(name, js) js,
constexpr const char* kCounterNames[] = {SIGIL_COUNTERS(SIGIL_COUNTER_NAME)};
#undef SIGIL_COUNTER_NAME
static_assert(sizeof(kCounterNames) / sizeof(kCounterNames[0]) == SIGIL_CNT_MAX, "counter names");

const char* StateName(__u8 state) {
  switch (state) {
    case SIGIL_PROC_PENDING: return "pending";
    case SIGIL_PROC_BOUND: return "bound";
    case SIGIL_PROC_UNBOUND: return "unbound";
    case SIGIL_PROC_EXEMPT: return "exempt";
    default: return "unknown";
  }
}

int StateFromName(const std::string& name) {
  if (name == "pending") return SIGIL_PROC_PENDING;
  if (name == "bound") return SIGIL_PROC_BOUND;
  if (name == "unbound") return SIGIL_PROC_UNBOUND;
  if (name == "exempt") return SIGIL_PROC_EXEMPT;
  return -1;
}

int* MapSlot(MapFds& maps, const std::string& name) {
  if (name == "sigil_procs") return &maps.procs;
  if (name == "sigil_images") return &maps.images;
  if (name == "sigil_dests") return &maps.dests;
  if (name == "sigil_settings") return &maps.settings;
  if (name == "sigil_records") return &maps.records;
  if (name == "sigil_handoff") return &maps.handoff;
  if (name == "sigil_counters") return &maps.counters;
  if (name == "sigil_events") return &maps.events;
  if (name == "sigil_clients") return &maps.clients;
  return nullptr;
}


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

bool MapInfoOf(int fd, bpf_map_info* info) {
  *info = {};
  __u32 len = sizeof(*info);
  return bpf_obj_get_info_by_fd(fd, info, &len) == 0;
}

// An existing map the new object can take over as is: same kind and sizes. A layout change that
// keeps every size must rename the map (abi.h asserts the sizes, so most changes show up here).
bool MapCompatible(const bpf_map* wanted, int existing_fd) {
  bpf_map_info info;
  if (existing_fd < 0 || !MapInfoOf(existing_fd, &info)) return false;
  return info.type == static_cast<__u32>(bpf_map__type(wanted)) && info.key_size == bpf_map__key_size(wanted) &&
         info.value_size == bpf_map__value_size(wanted) && info.max_entries == bpf_map__max_entries(wanted) &&
         info.map_flags == bpf_map__map_flags(wanted);
}

bool SameMap(int a, int b) {
  bpf_map_info ia, ib;
  return MapInfoOf(a, &ia) && MapInfoOf(b, &ib) && ia.id == ib.id;
}

void CloseMaps(MapFds& maps) {
  for (const char* name : kMapNames) {
    int* slot = MapSlot(maps, name);
    if (*slot >= 0) close(*slot);
    *slot = -1;
  }
}

// sha256 over the embedded object, the config baked into it and the program set chosen: equal
// identities, equal programs.
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

// Opens, configures and loads the embedded object. Maps in `reuse` that fit are shared, not created.
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

void SkeletonMaps(sigil_bpf* skel, MapFds& maps) {
  bpf_object* obj = sigil_skel_object(skel);
  for (const char* name : kMapNames) {
    bpf_map* map = bpf_object__find_map_by_name(obj, name);
    *MapSlot(maps, name) = map != nullptr ? bpf_map__fd(map) : -1;
  }
}

// ---- argument helpers: each failure is a TypeError naming the usage ----

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* usage) {
  if (info.Length() <= i || !info[i].IsString()) throw Usage(info.Env(), usage);
  return info[i].As<Napi::String>().Utf8Value();
}

Napi::Object ObjectArg(const Napi::CallbackInfo& info, size_t i, const char* usage) {
  if (info.Length() <= i || !info[i].IsObject()) throw Usage(info.Env(), usage);
  return info[i].As<Napi::Object>();
}

uint32_t U32Of(Napi::Env env, Napi::Value v, uint32_t max, const char* usage) {
  if (!v.IsNumber()) throw Usage(env, usage);
  double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= 0 && d <= max) || d != static_cast<double>(static_cast<uint64_t>(d))) throw Usage(env, usage);
  return static_cast<uint32_t>(d);
}

void AddrOf(Napi::Env env, Napi::Value v, __u32 out[4], const char* usage) {
  if (!v.IsString() || !ParseAddr(v.As<Napi::String>().Utf8Value(), out)) throw Usage(env, usage);
}

sigil_dest_key DestKeyOf(Napi::Env env, Napi::Object o, const char* usage) {
  sigil_dest_key key = {};
  AddrOf(env, o.Get("addr"), key.addr, usage);
  key.port = htons(static_cast<__u16>(U32Of(env, o.Get("port"), 65535, usage)));
  return key;
}

bool MapLookup(int fd, const void* key, void* value, const char* call) {
  if (bpf_map_lookup_elem(fd, key, value) == 0) return true;
  if (errno == ENOENT) return false;
  Fail(errno, call);
}

// The kernel's exec sequence number of tgid; 0 when no exec of it was seen.
__u32 ExecSeqOf(int fd, __u32 tgid) {
  sigil_image image = {};
  return MapLookup(fd, &tgid, &image, "bpf_map_lookup_elem") ? image.exec_seq : 0;
}

}  // namespace

Napi::Function Steering::Define(Napi::Env env) {
  return DefineClass(env, "Steering", {
      InstanceMethod<&Steering::Load>("load"),
      InstanceMethod<&Steering::Attach>("attach"),
      InstanceMethod<&Steering::Open>("open"),
      InstanceMethod<&Steering::Detach>("detach"),
      InstanceMethod<&Steering::Close>("close"),
      InstanceMethod<&Steering::SetDestination>("setDestination"),
      InstanceMethod<&Steering::DeleteDestination>("deleteDestination"),
      InstanceMethod<&Steering::ListDestinations>("listDestinations"),
      InstanceMethod<&Steering::SetProcess>("setProcess"),
      InstanceMethod<&Steering::DeleteProcess>("deleteProcess"),
      InstanceMethod<&Steering::GetProcess>("getProcess"),
      InstanceMethod<&Steering::GetImage>("getImage"),
      InstanceMethod<&Steering::Protection>("protection"),
      InstanceMethod<&Steering::ProcessCount>("processCount"),
      InstanceMethod<&Steering::SetScanComplete>("setScanComplete"),
      InstanceMethod<&Steering::ConnectionFor>("connectionFor"),
      InstanceMethod<&Steering::Counters>("counters"),
      InstanceMethod<&Steering::EnableStats>("enableStats"),
      InstanceMethod<&Steering::ProgramStats>("programStats"),
      InstanceMethod<&Steering::StartEvents>("startEvents"),
      InstanceMethod<&Steering::StopEvents>("stopEvents"),
      InstanceMethod<&Steering::ExpectedPrograms>("expectedPrograms"),  // attach_health.cc
      InstanceMethod<&Steering::Repair>("repair"),                      // attach_health.cc
  });
}

Steering::Steering(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Steering>(info), env_(info.Env()) {
  napi_add_env_cleanup_hook(env_, &Steering::CleanupHook, this);
}

Steering::~Steering() {
  ReleaseAll();
  napi_remove_env_cleanup_hook(env_, &Steering::CleanupHook, this);
}

void Steering::CleanupHook(void* arg) { static_cast<Steering*>(arg)->ReleaseAll(); }

void Steering::RequireMaps(Napi::Env env, const char* method) const {
  if (maps_.procs < 0) throw Napi::Error::New(env, std::string(method) + ": not loaded; call load() or open(pinDir) first");
}

Napi::Value Steering::Load(const Napi::CallbackInfo& info) {
  const char* usage = "load({ signerIPv4: string, signerIPv6?: string, signerPort: number, protection?: 'enforce' | 'taint-only' })";
  Napi::Env env = info.Env();
  Napi::Object config = ObjectArg(info, 0, usage);
  if (skel_ != nullptr || maps_.procs >= 0) throw Napi::Error::New(env, "load: already loaded");
  __u32 ip4[4], ip6[4];
  AddrOf(env, config.Get("signerIPv4"), ip4, usage);
  if (!IsV4Mapped(ip4)) throw Usage(env, usage);
  Napi::Value v6 = config.Get("signerIPv6");
  if (v6.IsUndefined()) {
    ParseAddr("::1", ip6);
  } else {
    AddrOf(env, v6, ip6, usage);
  }
  __u16 port = static_cast<__u16>(U32Of(env, config.Get("signerPort"), 65535, usage));
  if (port == 0) throw Usage(env, usage);
  Napi::Value protection = config.Get("protection");
  if (protection.IsUndefined()) {
    protection_ = ::sigil::Protection::kEnforce;
  } else {
    std::string mode = protection.IsString() ? protection.As<Napi::String>().Utf8Value() : "";
    if (mode == "enforce") {
      protection_ = ::sigil::Protection::kEnforce;
    } else if (mode == "taint-only") {
      protection_ = ::sigil::Protection::kTaintOnly;
    } else {
      throw Usage(env, usage);
    }
  }

  config_.ip4 = ip4[3];
  memcpy(config_.ip6, ip6, sizeof(config_.ip6));
  config_.port = htons(port);
  try {
    skel_ = LoadSkeleton(config_, protection_, nullptr);
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  IdentityOf(config_, protection_, identity_);
  SkeletonMaps(skel_, maps_);
  maps_owned_ = false;
  return env.Undefined();
}

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

void Steering::ReleaseLinks() {
  for (auto& [name, link] : links_) bpf_link__destroy(link);
  links_.clear();
}

void Steering::ReleaseAll() {
  if (events_) {
    events_->Stop();
    events_.reset();
  }
  ReleaseLinks();
  if (maps_owned_) {
    for (const char* name : kMapNames) {
      int* slot = MapSlot(maps_, name);
      if (*slot >= 0) close(*slot);
    }
  }
  maps_ = MapFds{};
  maps_owned_ = false;
  if (skel_ != nullptr) {
    sigil_skel_destroy(skel_);
    skel_ = nullptr;
  }
  if (stats_fd_ >= 0) {
    close(stats_fd_);
    stats_fd_ = -1;
  }
}

Napi::Value Steering::Close(const Napi::CallbackInfo& info) {
  ReleaseAll();
  pin_dir_.clear();
  cgroup_path_.clear();
  return info.Env().Undefined();
}

Napi::Value Steering::SetDestination(const Napi::CallbackInfo& info) {
  const char* usage = "setDestination({ addr: string, port: number, destId: number, deny?: boolean })";
  Napi::Env env = info.Env();
  Napi::Object o = ObjectArg(info, 0, usage);
  sigil_dest_key key = DestKeyOf(env, o, usage);
  sigil_dest value = {};
  value.dest_id = U32Of(env, o.Get("destId"), 0xffffffffu, usage);
  Napi::Value deny = o.Get("deny");
  if (!deny.IsUndefined() && !deny.IsBoolean()) throw Usage(env, usage);
  value.flags = deny.IsBoolean() && deny.As<Napi::Boolean>().Value() ? SIGIL_DEST_DENY : 0;
  RequireMaps(env, "setDestination");
  if (bpf_map_update_elem(maps_.dests, &key, &value, BPF_ANY) != 0) throw ToJsError(env, {errno, "bpf_map_update_elem", "sigil_dests"});
  return env.Undefined();
}

Napi::Value Steering::DeleteDestination(const Napi::CallbackInfo& info) {
  const char* usage = "deleteDestination({ addr: string, port: number })";
  Napi::Env env = info.Env();
  sigil_dest_key key = DestKeyOf(env, ObjectArg(info, 0, usage), usage);
  RequireMaps(env, "deleteDestination");
  if (bpf_map_delete_elem(maps_.dests, &key) == 0) return Napi::Boolean::New(env, true);
  if (errno == ENOENT) return Napi::Boolean::New(env, false);
  throw ToJsError(env, {errno, "bpf_map_delete_elem", "sigil_dests"});
}

Napi::Value Steering::ListDestinations(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireMaps(env, "listDestinations");
  Napi::Array out = Napi::Array::New(env);
  sigil_dest_key key = {}, next = {};
  sigil_dest value = {};
  const void* cursor = nullptr;
  uint32_t i = 0;
  while (bpf_map_get_next_key(maps_.dests, cursor, &next) == 0) {
    key = next;
    cursor = &key;
    if (bpf_map_lookup_elem(maps_.dests, &key, &value) != 0) continue;  // deleted meanwhile
    Napi::Object d = Napi::Object::New(env);
    d.Set("addr", FormatAddr(key.addr));
    d.Set("port", Napi::Number::New(env, ntohs(key.port)));
    d.Set("destId", Napi::Number::New(env, value.dest_id));
    d.Set("deny", Napi::Boolean::New(env, (value.flags & SIGIL_DEST_DENY) != 0));
    out.Set(i++, d);
  }
  return out;
}

// Writes state/binding/start; the exec sequence number is the kernel's alone (a separate map) and is
// never written here. With expectExecSeq, nothing is written when the process has exec'd since
// (best effort: read, compare, write; the kernel's own map keeps the sequence truthful regardless).
Napi::Value Steering::SetProcess(const Napi::CallbackInfo& info) {
  const char* usage =
      "setProcess(tgid: number, { state: 'pending'|'bound'|'unbound'|'exempt', bindingId?: number, startTime?: bigint, expectExecSeq?: number })";
  Napi::Env env = info.Env();
  if (info.Length() < 2) throw Usage(env, usage);
  __u32 tgid = U32Of(env, info[0], 0x7fffffff, usage);
  Napi::Object o = ObjectArg(info, 1, usage);
  Napi::Value state = o.Get("state");
  int code = state.IsString() ? StateFromName(state.As<Napi::String>().Utf8Value()) : -1;
  if (code < 0) throw Usage(env, usage);
  sigil_proc value = {};
  value.state = static_cast<__u8>(code);
  Napi::Value guarded = o.Get("guardedSignals");
  value.guarded_signals = guarded.IsUndefined() ? 0 : static_cast<__u16>(U32Of(env, guarded, 0xffff, usage));
  Napi::Value binding = o.Get("bindingId");
  value.binding_id = binding.IsUndefined() ? 0 : U32Of(env, binding, 0xffffffffu, usage);
  Napi::Value start = o.Get("startTime");
  if (!start.IsUndefined()) {
    if (!start.IsBigInt()) throw Usage(env, usage);
    bool lossless = true;
    value.start_time = start.As<Napi::BigInt>().Uint64Value(&lossless);
    if (!lossless) throw Usage(env, usage);
  }
  Napi::Value expect = o.Get("expectExecSeq");
  bool has_expect = !expect.IsUndefined();
  __u32 expected = has_expect ? U32Of(env, expect, 0xffffffffu, usage) : 0;
  RequireMaps(env, "setProcess");
  try {
    if (has_expect && ExecSeqOf(maps_.images, tgid) != expected) return Napi::Boolean::New(env, false);
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  if (bpf_map_update_elem(maps_.procs, &tgid, &value, BPF_ANY) != 0) throw ToJsError(env, {errno, "bpf_map_update_elem", "sigil_procs"});
  return Napi::Boolean::New(env, true);
}

Napi::Value Steering::DeleteProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw Usage(env, "deleteProcess(tgid: number)");
  __u32 tgid = U32Of(env, info[0], 0x7fffffff, "deleteProcess(tgid: number)");
  RequireMaps(env, "deleteProcess");
  if (bpf_map_delete_elem(maps_.procs, &tgid) == 0) return Napi::Boolean::New(env, true);
  if (errno == ENOENT) return Napi::Boolean::New(env, false);
  throw ToJsError(env, {errno, "bpf_map_delete_elem", "sigil_procs"});
}

Napi::Value Steering::GetProcess(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw Usage(env, "getProcess(tgid: number)");
  __u32 tgid = U32Of(env, info[0], 0x7fffffff, "getProcess(tgid: number)");
  RequireMaps(env, "getProcess");
  sigil_proc value = {};
  __u32 exec_seq = 0;
  try {
    if (!MapLookup(maps_.procs, &tgid, &value, "bpf_map_lookup_elem")) return env.Null();
    exec_seq = ExecSeqOf(maps_.images, tgid);
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("state", StateName(value.state));
  o.Set("bindingId", Napi::Number::New(env, value.binding_id));
  o.Set("guardedSignals", Napi::Number::New(env, value.guarded_signals));
  o.Set("startTime", Napi::BigInt::New(env, static_cast<uint64_t>(value.start_time)));
  o.Set("execSeq", Napi::Number::New(env, exec_seq));
  return o;
}

Napi::Value Steering::GetImage(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw Usage(env, "getImage(tgid: number)");
  __u32 tgid = U32Of(env, info[0], 0x7fffffff, "getImage(tgid: number)");
  RequireMaps(env, "getImage");
  sigil_image image = {};
  try {
    if (!MapLookup(maps_.images, &tgid, &image, "bpf_map_lookup_elem")) return env.Null();
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("execSeq", Napi::Number::New(env, image.exec_seq));
  o.Set("taint", Napi::Number::New(env, image.taint));
  o.Set("originTgid", Napi::Number::New(env, image.origin_tgid));
  o.Set("originStart", Napi::BigInt::New(env, static_cast<uint64_t>(image.origin_start)));
  o.Set("dev", Napi::Number::New(env, static_cast<double>(UserDev(image.dev))));
  o.Set("ino", Napi::BigInt::New(env, static_cast<uint64_t>(image.ino)));
  o.Set("ctimeNs", Napi::BigInt::New(env, static_cast<uint64_t>(image.ctime_ns)));
  return o;
}

Napi::Value Steering::Protection(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), protection_ == ::sigil::Protection::kEnforce ? "enforce" : "taint-only");
}

Napi::Value Steering::ProcessCount(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireMaps(env, "processCount");
  __u32 key = 0, next = 0;
  const void* cursor = nullptr;
  uint32_t count = 0;
  while (bpf_map_get_next_key(maps_.procs, cursor, &next) == 0) {
    key = next;
    cursor = &key;
    count++;
  }
  return Napi::Number::New(env, count);
}

Napi::Value Steering::SetScanComplete(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBoolean()) throw Usage(env, "setScanComplete(done: boolean)");
  RequireMaps(env, "setScanComplete");
  __u32 zero = 0;
  sigil_settings value = {};
  // Keep the identity: read, change scan_complete, write (only this agent writes settings).
  if (bpf_map_lookup_elem(maps_.settings, &zero, &value) != 0) value = {};
  value.scan_complete = info[0].As<Napi::Boolean>().Value() ? 1 : 0;
  if (bpf_map_update_elem(maps_.settings, &zero, &value, BPF_ANY) != 0) throw ToJsError(env, {errno, "bpf_map_update_elem", "sigil_settings"});
  return env.Undefined();
}

Napi::Value Steering::ConnectionFor(const Napi::CallbackInfo& info) {
  const char* usage = "connectionFor(fd: number)";
  Napi::Env env = info.Env();
  if (info.Length() < 1) throw Usage(env, usage);
  int fd = static_cast<int>(U32Of(env, info[0], 0x7fffffff, usage));
  RequireMaps(env, "connectionFor");
  sigil_conn rec = {};
  // SK_STORAGE maps take a socket fd as the key from user space.
  if (bpf_map_lookup_elem(maps_.records, &fd, &rec) != 0) {
    if (errno == ENOENT) return env.Null();
    throw ToJsError(env, {errno, "bpf_map_lookup_elem", "sigil_records"});
  }
  if (rec.role != SIGIL_ROLE_ACCEPTED) return env.Null();  // a client socket, not one the signer accepted
  Napi::Object o = Napi::Object::New(env);
  o.Set("origAddr", FormatAddr(rec.addr));
  o.Set("origPort", Napi::Number::New(env, ntohs(rec.port)));
  o.Set("family", rec.family == 2 ? "ipv4" : "ipv6");
  o.Set("tgid", Napi::Number::New(env, rec.tgid));
  o.Set("uid", Napi::Number::New(env, rec.uid));
  o.Set("execSeq", Napi::Number::New(env, rec.exec_seq));
  o.Set("startTime", Napi::BigInt::New(env, static_cast<uint64_t>(rec.start_time)));
  o.Set("cookie", Napi::BigInt::New(env, static_cast<uint64_t>(rec.cookie)));
  return o;
}

Napi::Value Steering::Counters(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  RequireMaps(env, "counters");
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) throw ToJsError(env, {-cpus, "libbpf_num_possible_cpus", ""});
  std::vector<__u64> values(static_cast<size_t>(cpus));
  Napi::Object out = Napi::Object::New(env);
  for (__u32 i = 0; i < SIGIL_CNT_MAX; i++) {
    if (bpf_map_lookup_elem(maps_.counters, &i, values.data()) != 0) throw ToJsError(env, {errno, "bpf_map_lookup_elem", "sigil_counters"});
    __u64 total = 0;
    for (__u64 v : values) total += v;
    out.Set(kCounterNames[i], Napi::Number::New(env, static_cast<double>(total)));
  }
  return out;
}

Napi::Value Steering::EnableStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (stats_fd_ < 0) {
    // Run-time stats stay on while this fd is open (kernel-wide, reference counted).
    stats_fd_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (stats_fd_ < 0) throw ToJsError(env, {errno, "bpf_enable_stats", ""});
  }
  return env.Undefined();
}

Napi::Value Steering::ProgramStats(const Napi::CallbackInfo& info) {
  std::vector<int> fds;
  for (auto& [name, link] : links_) fds.push_back(bpf_link__fd(link));
  return LinkStatsToJs(info.Env(), fds);
}

Napi::Value Steering::StartEvents(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) throw Usage(env, "startEvents(callback: (event) => void)");
  RequireMaps(env, "startEvents");
  if (events_) throw Napi::Error::New(env, "startEvents: already started");
  try {
    events_ = std::make_unique<EventPump>(env, maps_.events, info[0].As<Napi::Function>());
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  return env.Undefined();
}

Napi::Value Steering::StopEvents(const Napi::CallbackInfo& info) {
  if (events_) {
    events_->Stop();
    events_.reset();
  }
  return info.Env().Undefined();
}

}  // namespace sigil
