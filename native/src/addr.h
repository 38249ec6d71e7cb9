// IP text <-> the ABI's 16-byte form (IPv4 stored v4-mapped, network order; bpf/v4_mapped.h).
#pragma once
#include <linux/types.h>
#include <string>

#include "v4_mapped.h"

namespace sigil {

// Parses "a.b.c.d", "::1", "::ffff:a.b.c.d"; false if it is none of these.
bool ParseAddr(const std::string& text, __u32 out[4]);
// IPv4 (also v4-mapped) prints dotted; everything else as IPv6 text.
std::string FormatAddr(const __u32 addr[4]);

}  // namespace sigil
