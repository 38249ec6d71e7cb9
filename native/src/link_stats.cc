#include "link_stats.h"

#include "errors.h"
#include "kernel_query.h"

namespace sigil {

Napi::Array LinkStatsToJs(Napi::Env env, const std::vector<int>& link_fds) {
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  try {
    for (int fd : link_fds) {
      ProgramStats s = StatsForLink(fd);
      Napi::Object o = Napi::Object::New(env);
      o.Set("name", s.name);
      o.Set("id", Napi::Number::New(env, s.id));
      o.Set("runCount", Napi::Number::New(env, static_cast<double>(s.run_count)));
      o.Set("runTimeNs", Napi::Number::New(env, static_cast<double>(s.run_time_ns)));
      out.Set(i++, o);
    }
  } catch (const SysError& e) {
    throw ToJsError(env, e);
  }
  return out;
}

}  // namespace sigil
