// Run-time stats of the programs behind some links, as the JS array both Steering.programStats()
// and NoopSet.stats() return: [{ name, id, runCount, runTimeNs }]. Throws a JS error on failure.
#pragma once
#include <napi.h>

#include <vector>

namespace sigil {

Napi::Array LinkStatsToJs(Napi::Env env, const std::vector<int>& link_fds);

}  // namespace sigil
