// Opening, configuring and loading the embedded Sigil object, and the identity that says which
// object + config a pinned set was made from.
#pragma once
#include <linux/types.h>

#include "abi.h"
#include "map_set.h"

struct sigil_bpf;

namespace sigil {

// What load() bakes into the programs' rodata, network byte order.
struct SignerConfig {
  __u32 ip4 = 0;
  __u32 ip6[4] = {0, 0, 0, 0};
  __u16 port = 0;
};

// Which identity-protection programs are loaded (see bpf/sigil.bpf.c "Identity protection"):
// kEnforce the lsm/ set (needs BPF LSM active), kTaintOnly the kprobe set.
enum class Protection : __u8 { kEnforce = 1, kTaintOnly = 2 };

// sha256 over the embedded object, the config baked into it and the program set chosen: equal
// identities, equal programs.
void IdentityOf(const SignerConfig& config, Protection protection, __u8 out[SIGIL_IDENTITY_BYTES]);

// Opens, configures and loads the embedded object. Maps in `reuse` that fit (map_compat.h) are
// shared, not created. Throws SysError (with the libbpf log tail when the load fails).
sigil_bpf* LoadSkeleton(const SignerConfig& config, Protection protection, const MapFds* reuse);

}  // namespace sigil
