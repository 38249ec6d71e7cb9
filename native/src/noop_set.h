// `NoopSet`: the benchmark baselines of bpf/noop.bpf.c, attached to one cgroup (connect4) and to
// sched_process_exec, with the kernel's run-time stats per program. Released by close() or the destructor.
#pragma once
#include <napi.h>

#include <vector>

struct noop_bpf;
struct bpf_link;

namespace sigil {

class NoopSet : public Napi::ObjectWrap<NoopSet> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit NoopSet(const Napi::CallbackInfo& info);
  ~NoopSet() override;

 private:
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  void Release();

  noop_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
};

}  // namespace sigil
