// The Steering class glue: its JS methods, load(), release and close, stats and events. The rest of
// its members live by purpose: pinned_set.cc (attach, adopt, upgrade, open, detach), map_access.cc
// (every map accessor), attach_health.cc (watch and repair).
#include "steering.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "abi.h"
#include "addr.h"
#include "errors.h"
#include "js_convert.h"
#include "link_stats.h"
#include "map_set.h"
#include "skel.h"
#include "skeleton_load.h"

namespace sigil {

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
  if (!sigil_is_v4_mapped(ip4)) throw Usage(env, usage);
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

Napi::Value Steering::Protection(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), protection_ == ::sigil::Protection::kEnforce ? "enforce" : "taint-only");
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
