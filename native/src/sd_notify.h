// sd_notify(3) for the agent's Type=notify unit: READY=1, WATCHDOG=1, STOPPING=1, STATUS=...
#pragma once
#include <napi.h>

namespace sigil {

// JS: sdNotify(state: string): boolean. false when $NOTIFY_SOCKET is unset.
Napi::Value SdNotify(const Napi::CallbackInfo& info);

}  // namespace sigil
