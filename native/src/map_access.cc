// Steering's map accessors (declared in steering.h): destinations, processes, images, settings,
// connection records and counters, each read or written through the fds in maps_.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>

#include <cerrno>
#include <vector>

#include "abi.h"
#include "addr.h"
#include "dest_filter_map.h"
#include "errors.h"
#include "events.h"
#include "js_convert.h"
#include "steering.h"

namespace sigil {
namespace {

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
  try {
    DestFilterAdd(maps_.dest_filter, key);  // the bit first: the kernel must never see a listed key with a clear bit
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  if (bpf_map_update_elem(maps_.dests, &key, &value, BPF_ANY) != 0) throw ToJsError(env, {errno, "bpf_map_update_elem", "sigil_dests"});
  return env.Undefined();
}

Napi::Value Steering::DeleteDestination(const Napi::CallbackInfo& info) {
  const char* usage = "deleteDestination({ addr: string, port: number })";
  Napi::Env env = info.Env();
  sigil_dest_key key = DestKeyOf(env, ObjectArg(info, 0, usage), usage);
  RequireMaps(env, "deleteDestination");
  bool deleted = bpf_map_delete_elem(maps_.dests, &key) == 0;
  if (!deleted && errno != ENOENT) throw ToJsError(env, {errno, "bpf_map_delete_elem", "sigil_dests"});
  try {
    if (deleted) DestFilterRemoved(maps_.dest_filter, maps_.dests, key);  // the bit last, once the key is gone
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  return Napi::Boolean::New(env, deleted);
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
    out.Set(CounterName(i), Napi::Number::New(env, static_cast<double>(total)));
  }
  return out;
}

}  // namespace sigil
