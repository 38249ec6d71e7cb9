// Errors crossing the addon boundary: syscalls fail with SysError (errno + call name), which the
// binding layer turns into a JS Error with `errno`, `code` and `syscall`, like Node's own fs errors.
#pragma once
#include <napi.h>
#include <string>

namespace sigil {

struct SysError {
  int err;              // positive errno
  std::string syscall;  // the failing call, e.g. "bpf_prog_query"
  std::string detail;   // path or extra context, may be empty
};

// Throws SysError{err, call, detail}; err may be negative (libbpf style) or positive.
[[noreturn]] void Fail(int err, const std::string& syscall, const std::string& detail = "");

// The JS Error for a SysError: message "<syscall> <detail>: <strerror> (<CODE>)", errno negative as in Node.
Napi::Error ToJsError(Napi::Env env, const SysError& e);

// TypeError carrying a usage string.
Napi::TypeError Usage(Napi::Env env, const std::string& usage);

// libbpf prints (verifier logs included) go to a buffer instead of stderr; take it on failure.
void InstallLibbpfLogger();
std::string TakeLibbpfLog();

}  // namespace sigil
