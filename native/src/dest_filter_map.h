// The destination filter's user-space side (bpf/dest_filter.h): one bit per sigil_dests key, set
// before the key is inserted and cleared only once no listed key needs it, so the kernel never sees
// a listed key with a clear bit.
#pragma once

#include "abi.h"

namespace sigil {

// Sets key's bit (before the caller inserts key into sigil_dests).
void DestFilterAdd(int filter_fd, const sigil_dest_key& key);

// Recomputes the word holding key's bit from sigil_dests (after the caller deleted key).
void DestFilterRemoved(int filter_fd, int dests_fd, const sigil_dest_key& key);

// Sets every bit sigil_dests needs, clearing none: for a filter new to these destinations (an
// upgrade sharing the pinned sigil_dests with a new, empty filter), before its programs run. The
// programs being replaced may still read the same filter, so what they needed stays set.
void DestFilterCover(int filter_fd, int dests_fd);

}  // namespace sigil
