// `Steering`: one loaded (or adopted) set of Sigil BPF programs, links and maps.
// Kernel handles are released by close() and, failing that, by the destructor.
// Members are defined by purpose: steering.cc (glue, load, release, stats, events), pinned_set.cc
// (attach, adopt, upgrade, open, detach), map_access.cc (map accessors), attach_health.cc (repair).
#pragma once
#include <napi.h>
#include <linux/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "abi.h"
#include "attach_health.h"
#include "events.h"
#include "map_set.h"
#include "skeleton_load.h"

struct sigil_bpf;
struct bpf_link;

namespace sigil {

class Steering : public Napi::ObjectWrap<Steering> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit Steering(const Napi::CallbackInfo& info);
  ~Steering() override;

 private:
  Napi::Value Load(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  // pinned_set.cc
  Napi::Value Attach(const Napi::CallbackInfo& info);
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Detach(const Napi::CallbackInfo& info);
  // map_access.cc
  Napi::Value SetDestination(const Napi::CallbackInfo& info);
  Napi::Value DeleteDestination(const Napi::CallbackInfo& info);
  Napi::Value ListDestinations(const Napi::CallbackInfo& info);
  Napi::Value SetProcess(const Napi::CallbackInfo& info);
  Napi::Value DeleteProcess(const Napi::CallbackInfo& info);
  Napi::Value GetProcess(const Napi::CallbackInfo& info);
  Napi::Value GetImage(const Napi::CallbackInfo& info);
  Napi::Value ProcessCount(const Napi::CallbackInfo& info);
  Napi::Value SetScanComplete(const Napi::CallbackInfo& info);
  Napi::Value ConnectionFor(const Napi::CallbackInfo& info);
  Napi::Value Counters(const Napi::CallbackInfo& info);
  // steering.cc
  Napi::Value Protection(const Napi::CallbackInfo& info);
  Napi::Value EnableStats(const Napi::CallbackInfo& info);
  Napi::Value ProgramStats(const Napi::CallbackInfo& info);
  Napi::Value StartEvents(const Napi::CallbackInfo& info);
  Napi::Value StopEvents(const Napi::CallbackInfo& info);
  // attach_health.cc
  Napi::Value ExpectedPrograms(const Napi::CallbackInfo& info);
  Napi::Value Repair(const Napi::CallbackInfo& info);
  std::vector<LinkRepair> DropDeadLinkPins(const std::string& cgroup_path);
  std::vector<LinkRepair> RepairLinks();
  void RestoreHookOrder(std::vector<LinkRepair>& repairs);

  // pinned_set.cc
  void AttachFresh(const std::string& cgroup_path);
  void Upgrade(const std::string& cgroup_path);
  void ReplaceLinks(sigil_bpf* next, const std::string& cgroup_path);
  bool PinnedIdentityMatches() const;
  void RecordIdentity();
  void Adopt(bool with_links);
  void ShareLiveMaps();
  void PinAll();
  // steering.cc
  void ReleaseLinks();
  void ReleaseAll();
  void RequireMaps(Napi::Env env, const char* method) const;
  static void CleanupHook(void* arg);

  sigil_bpf* skel_ = nullptr;
  SignerConfig config_;
  ::sigil::Protection protection_ = ::sigil::Protection::kEnforce;
  __u8 identity_[SIGIL_IDENTITY_BYTES] = {};  // of skel_'s object + config_; see abi.h sigil_settings
  MapFds maps_;
  bool maps_owned_ = false;  // true when maps_ came from pins and must be closed by us
  std::vector<std::pair<std::string, bpf_link*>> links_;
  std::string pin_dir_;
  std::string cgroup_path_;  // where attach() put the cgroup programs; empty when opened from pins
  int stats_fd_ = -1;
  std::unique_ptr<EventPump> events_;
  napi_env env_;
};

}  // namespace sigil
