#include "events.h"

#include <bpf/libbpf.h>
#include <algorithm>
#include <cerrno>
#include <string>

#include "abi.h"
#include "errors.h"

namespace sigil {
namespace {

constexpr int kPollMs = 100;  // bounds how long Stop() waits for the thread
constexpr size_t kQueueLimit = 65536;

// One ring-buffer record, copied off the ring: the header, and for EXEC what the loader saw.
struct Event {
  sigil_event head;
  __u64 ctime_ns = 0;
  __u32 taint = 0;
  __u32 flags = 0;
  __u32 cwd_dev = 0;
  __u64 cwd_ino = 0;
  std::string argv;  // raw NUL-separated bytes
  std::string env;
};

// NUL-separated strings as a JS array; a trailing NUL ends the last string, it does not add one.
Napi::Array Strings(Napi::Env env, const std::string& raw) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  size_t start = 0;
  while (start < raw.size()) {
    size_t end = raw.find('\0', start);
    if (end == std::string::npos) end = raw.size();
    out.Set(n++, Napi::String::New(env, raw.data() + start, end - start));
    start = end + 1;
  }
  return out;
}

void Deliver(Napi::Env env, Napi::Function callback, Event* event) {
  if (env != nullptr && callback != nullptr) {
    bool exec = event->head.type == SIGIL_EVENT_EXEC;
    Napi::Object js = Napi::Object::New(env);
    js.Set("type", exec ? "exec" : "exit");
    js.Set("tgid", Napi::Number::New(env, event->head.tgid));
    js.Set("startTime", Napi::BigInt::New(env, static_cast<uint64_t>(event->head.start_time)));
    js.Set("dev", Napi::Number::New(env, static_cast<double>(exec ? UserDev(event->head.dev) : 0)));
    js.Set("ino", Napi::Number::New(env, static_cast<double>(event->head.ino)));
    js.Set("execSeq", Napi::Number::New(env, exec ? event->head.exec_seq : 0));
    if (exec) {
      js.Set("ctimeNs", Napi::BigInt::New(env, static_cast<uint64_t>(event->ctime_ns)));
      js.Set("taint", Napi::Number::New(env, event->taint));
      js.Set("cwdDev", Napi::Number::New(env, static_cast<double>(UserDev(event->cwd_dev))));
      js.Set("cwdIno", Napi::BigInt::New(env, static_cast<uint64_t>(event->cwd_ino)));
      js.Set("argv", Strings(env, event->argv));
      js.Set("env", Strings(env, event->env));
      js.Set("argvComplete", Napi::Boolean::New(env, (event->flags & (SIGIL_EXEC_ARGV_TRUNCATED | SIGIL_EXEC_ARGV_UNREADABLE)) == 0));
      js.Set("envComplete", Napi::Boolean::New(env, (event->flags & (SIGIL_EXEC_ENV_TRUNCATED | SIGIL_EXEC_ENV_UNREADABLE)) == 0));
    }
    callback.Call({js});
  }
  delete event;
}

}  // namespace

EventPump::EventPump(Napi::Env env, int ringbuf_fd, Napi::Function callback) {
  ring_ = ring_buffer__new(ringbuf_fd, &EventPump::OnSample, this, nullptr);
  if (ring_ == nullptr) Fail(errno, "ring_buffer__new");
  tsfn_ = Napi::ThreadSafeFunction::New(env, callback, "sigil-events", kQueueLimit, 1);
  tsfn_.Unref(env);
  thread_ = std::thread(&EventPump::Run, this);
}

EventPump::~EventPump() { Stop(); }

void EventPump::Stop() {
  if (stopped_) return;
  stopped_ = true;
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  tsfn_.Release();
  ring_buffer__free(ring_);
  ring_ = nullptr;
}

int EventPump::OnSample(void* ctx, void* data, size_t size) {
  auto* self = static_cast<EventPump*>(ctx);
  if (size < sizeof(sigil_event)) return 0;
  auto* event = new Event();
  event->head = *static_cast<sigil_event*>(data);
  if (event->head.type == SIGIL_EVENT_EXEC) {
    if (size < sizeof(sigil_exec_event)) {
      delete event;
      return 0;
    }
    const auto* exec = static_cast<const sigil_exec_event*>(data);
    event->ctime_ns = exec->ctime_ns;
    event->taint = exec->taint;
    event->flags = exec->flags;
    event->cwd_dev = exec->cwd_dev;
    event->cwd_ino = exec->cwd_ino;
    event->argv.assign(reinterpret_cast<const char*>(exec->argv), std::min<__u32>(exec->argv_len, SIGIL_ARGV_BYTES));
    event->env.assign(reinterpret_cast<const char*>(exec->env), std::min<__u32>(exec->env_len, SIGIL_ENV_BYTES));
  }
  // Non-blocking: if JS falls behind by kQueueLimit events we drop rather than stall the kernel side.
  if (self->tsfn_.NonBlockingCall(event, Deliver) != napi_ok) delete event;
  return 0;
}

void EventPump::Run() {
  while (!stopping_) {
    int rc = ring_buffer__poll(ring_, kPollMs);
    if (rc < 0 && rc != -EINTR) break;
  }
}

}  // namespace sigil
