#include "events.h"

#include <bpf/libbpf.h>
#include <sys/sysmacros.h>

#include <cerrno>

#include "abi.h"
#include "errors.h"

namespace sigil {
namespace {

constexpr int kPollMs = 100;  // bounds how long Stop() waits for the thread
constexpr size_t kQueueLimit = 65536;

// The kernel's internal dev_t (MAJOR = dev >> 20) in the encoding stat(2) reports as st_dev.
unsigned long long UserDev(__u32 kdev) {
  return makedev(static_cast<unsigned>(kdev >> 20), static_cast<unsigned>(kdev & 0xfffff));
}

void Deliver(Napi::Env env, Napi::Function callback, sigil_event* event) {
  if (env != nullptr && callback != nullptr) {
    Napi::Object js = Napi::Object::New(env);
    js.Set("type", event->type == SIGIL_EVENT_EXEC ? "exec" : "exit");
    js.Set("tgid", Napi::Number::New(env, event->tgid));
    js.Set("startTime", Napi::BigInt::New(env, static_cast<uint64_t>(event->start_time)));
    js.Set("dev", Napi::Number::New(env, static_cast<double>(event->type == SIGIL_EVENT_EXEC ? UserDev(event->dev) : 0)));
    js.Set("ino", Napi::Number::New(env, static_cast<double>(event->ino)));
    js.Set("execSeq", Napi::Number::New(env, event->type == SIGIL_EVENT_EXEC ? event->exec_seq : 0));
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
  auto* event = new sigil_event(*static_cast<sigil_event*>(data));
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
