#include "noop_set.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "errors.h"
#include "link_stats.h"
#include "noop.skel.h"

namespace sigil {

Napi::Function NoopSet::Define(Napi::Env env) {
  return DefineClass(env, "NoopSet", {
      InstanceMethod<&NoopSet::Stats>("stats"),
      InstanceMethod<&NoopSet::Close>("close"),
  });
}

// new NoopSet(cgroupPath): loads the baselines and attaches them (connect4 to that cgroup).
NoopSet::NoopSet(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NoopSet>(info) {
  Napi::Env env = info.Env();
  const char* usage = "new NoopSet(cgroupPath: string)";
  if (info.Length() < 1 || !info[0].IsString()) throw Usage(env, usage);
  std::string cgroup = info[0].As<Napi::String>().Utf8Value();
  int cg = -1;
  try {
    skel_ = noop_bpf__open_and_load();
    if (skel_ == nullptr) Fail(errno, "bpf_object__load", "noop");
    cg = open(cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cg < 0) Fail(errno, "open", cgroup);
    bpf_link* c4 = bpf_program__attach_cgroup(skel_->progs.noop_connect4, cg);
    if (c4 == nullptr) Fail(errno, "bpf_link_create", "noop_connect4");
    links_.push_back(c4);
    bpf_link* exec = bpf_program__attach(skel_->progs.noop_exec);
    if (exec == nullptr) Fail(errno, "bpf_link_create", "noop_exec");
    links_.push_back(exec);
    bpf_link* openat = bpf_program__attach(skel_->progs.noop_openat);
    if (openat == nullptr) Fail(errno, "bpf_link_create", "noop_openat");
    links_.push_back(openat);
    close(cg);
  } catch (const SysError& e) {
    if (cg >= 0) close(cg);
    Release();
    throw ToJsError(env, e);
  }
}

NoopSet::~NoopSet() { Release(); }

void NoopSet::Release() {
  for (bpf_link* link : links_) bpf_link__destroy(link);
  links_.clear();
  if (skel_ != nullptr) noop_bpf__destroy(skel_);
  skel_ = nullptr;
}

// [{ name, id, runCount, runTimeNs }] per attached baseline (needs BPF_ENABLE_STATS held, e.g. by a Steering).
Napi::Value NoopSet::Stats(const Napi::CallbackInfo& info) {
  std::vector<int> fds;
  for (bpf_link* link : links_) fds.push_back(bpf_link__fd(link));
  return LinkStatsToJs(info.Env(), fds);
}

Napi::Value NoopSet::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace sigil
