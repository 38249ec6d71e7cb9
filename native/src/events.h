// Process events from the ring buffer, delivered to JS without blocking the event loop:
// a dedicated thread polls, a ThreadSafeFunction (unref'd, so it never keeps Node alive) calls back.
#pragma once
#include <napi.h>

#include <linux/types.h>
#include <sys/sysmacros.h>

#include <atomic>
#include <thread>

struct ring_buffer;

namespace sigil {

// The kernel's internal dev_t (MAJOR = dev >> 20) in the encoding stat(2) reports as st_dev.
inline unsigned long long UserDev(__u32 kdev) {
  return makedev(static_cast<unsigned>(kdev >> 20), static_cast<unsigned>(kdev & 0xfffff));
}

class EventPump {
 public:
  // Starts polling ringbuf_fd; callback(event) runs on the JS thread. Throws SysError.
  EventPump(Napi::Env env, int ringbuf_fd, Napi::Function callback);
  ~EventPump();
  EventPump(const EventPump&) = delete;
  EventPump& operator=(const EventPump&) = delete;

  // Joins the thread and releases the callback; idempotent.
  void Stop();

 private:
  static int OnSample(void* ctx, void* data, size_t size);
  void Run();

  ring_buffer* ring_ = nullptr;
  Napi::ThreadSafeFunction tsfn_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  bool stopped_ = false;
};

}  // namespace sigil
