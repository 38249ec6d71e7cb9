// Module entry: the Steering class plus kernel-wide helpers (query, feature probes, bpffs mount).
#include <napi.h>
#include <sys/mount.h>

#include <cerrno>

#include "errors.h"
#include "kernel_query.h"
#include "map_set.h"
#include "sd_notify.h"
#include "noop_set.h"
#include "sock_destroy.h"
#include "steering.h"

namespace sigil {
namespace {

Napi::Value Query(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Usage(env, "query(cgroupPath: string)");
  try {
    auto programs = QueryCgroup(info[0].As<Napi::String>().Utf8Value());
    Napi::Array out = Napi::Array::New(env, programs.size());
    for (uint32_t i = 0; i < programs.size(); i++) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("attachType", programs[i].attach_type);
      o.Set("id", Napi::Number::New(env, programs[i].id));
      o.Set("name", programs[i].name);
      o.Set("tag", programs[i].tag);
      out.Set(i, o);
    }
    return out;
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
}

Napi::Value Probe(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto checks = ProbeFeatures();
  Napi::Array out = Napi::Array::New(env, checks.size());
  for (uint32_t i = 0; i < checks.size(); i++) {
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", checks[i].name);
    o.Set("ok", Napi::Boolean::New(env, checks[i].ok));
    o.Set("detail", checks[i].detail);
    out.Set(i, o);
  }
  return out;
}

Napi::Value MountBpffs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) throw Usage(env, "mountBpffs(path: string)");
  std::string path = info[0].As<Napi::String>().Utf8Value();
  if (mount("bpf", path.c_str(), "bpf", 0, "mode=0700") != 0) throw ToJsError(env, {errno, "mount", path});
  return env.Undefined();
}

// The maps an upgrade hands to the new object when they fit (map_set.h); native/map-layouts.ts checks
// that none of them changes its layout without a new name.
Napi::Array PinnedMaps(Napi::Env env) {
  Napi::Array names = Napi::Array::New(env);
  uint32_t i = 0;
  for (const char* name : kMapNames) names.Set(i++, name);
  return names;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InstallLibbpfLogger();
  exports.Set("Steering", Steering::Define(env));
  exports.Set("NoopSet", NoopSet::Define(env));
  exports.Set("query", Napi::Function::New(env, Query, "query"));
  exports.Set("probeFeatures", Napi::Function::New(env, Probe, "probeFeatures"));
  exports.Set("mountBpffs", Napi::Function::New(env, MountBpffs, "mountBpffs"));
  exports.Set("sdNotify", Napi::Function::New(env, SdNotify, "sdNotify"));
  exports.Set("listTcpSockets", Napi::Function::New(env, ListTcpSocketsJs, "listTcpSockets"));
  exports.Set("destroyTcpSocket", Napi::Function::New(env, DestroyTcpSocketJs, "destroyTcpSocket"));
  exports.Set("pinnedMaps", PinnedMaps(env));
  return exports;
}

}  // namespace
}  // namespace sigil

static Napi::Object InitSigil(Napi::Env env, Napi::Object exports) { return sigil::Init(env, exports); }
NODE_API_MODULE(sigil_native, InitSigil)
