#include "js_convert.h"

#include <arpa/inet.h>

#include "addr.h"
#include "errors.h"

namespace sigil {
namespace {

#define SIGIL_COUNTER_NAME(name, js) js,
constexpr const char* kCounterNames[] = {SIGIL_COUNTERS(SIGIL_COUNTER_NAME)};
#undef SIGIL_COUNTER_NAME
static_assert(sizeof(kCounterNames) / sizeof(kCounterNames[0]) == SIGIL_CNT_MAX, "counter names");

}  // namespace

const char* CounterName(__u32 i) { return kCounterNames[i]; }

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

}  // namespace sigil
