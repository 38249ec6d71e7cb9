// JS <-> ABI conversions of the Steering methods' arguments and results. Each argument failure is a
// TypeError naming the method's usage.
#pragma once
#include <napi.h>
#include <linux/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "abi.h"

namespace sigil {

// sigil_proc.state <-> 'pending' | 'bound' | 'unbound' | 'exempt' ("unknown" / -1 for anything else).
const char* StateName(__u8 state);
int StateFromName(const std::string& name);

// The JS name of counter i (< SIGIL_CNT_MAX), from abi.h's SIGIL_COUNTERS.
const char* CounterName(__u32 i);

std::string StringArg(const Napi::CallbackInfo& info, size_t i, const char* usage);
Napi::Object ObjectArg(const Napi::CallbackInfo& info, size_t i, const char* usage);
// An integer 0..max.
uint32_t U32Of(Napi::Env env, Napi::Value v, uint32_t max, const char* usage);
// IP text to the ABI's 16-byte form (addr.h).
void AddrOf(Napi::Env env, Napi::Value v, __u32 out[4], const char* usage);
// { addr, port } to the destination map's key.
sigil_dest_key DestKeyOf(Napi::Env env, Napi::Object o, const char* usage);

}  // namespace sigil
