#include "errors.h"

#include <bpf/libbpf.h>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace sigil {
namespace {

std::mutex log_mutex;
std::string log_buffer;
constexpr size_t kMaxLog = 16 * 1024;  // the tail of a verifier log is where the reason is

int CaptureLibbpf(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG && std::getenv("SIGIL_LIBBPF_DEBUG") == nullptr) return 0;
  char line[1024];
  int n = vsnprintf(line, sizeof line, format, args);
  if (std::getenv("SIGIL_LIBBPF_DEBUG") != nullptr) fputs(line, stderr);
  std::lock_guard<std::mutex> lock(log_mutex);
  log_buffer.append(line);
  if (log_buffer.size() > kMaxLog) log_buffer.erase(0, log_buffer.size() - kMaxLog);
  return n;
}

std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "E" + std::to_string(err);
}

}  // namespace

void Fail(int err, const std::string& syscall, const std::string& detail) {
  throw SysError{err < 0 ? -err : err, syscall, detail};
}

Napi::Error ToJsError(Napi::Env env, const SysError& e) {
  std::string message = e.syscall;
  if (!e.detail.empty()) message += " " + e.detail;
  message += ": " + std::string(strerror(e.err)) + " (" + ErrnoName(e.err) + ")";
  Napi::Error error = Napi::Error::New(env, message);
  error.Set("errno", Napi::Number::New(env, -e.err));
  error.Set("code", Napi::String::New(env, ErrnoName(e.err)));
  error.Set("syscall", Napi::String::New(env, e.syscall));
  return error;
}

Napi::TypeError Usage(Napi::Env env, const std::string& usage) {
  return Napi::TypeError::New(env, "usage: " + usage);
}

void InstallLibbpfLogger() { libbpf_set_print(CaptureLibbpf); }

std::string TakeLibbpfLog() {
  std::lock_guard<std::mutex> lock(log_mutex);
  std::string out;
  out.swap(log_buffer);
  return out;
}

}  // namespace sigil
