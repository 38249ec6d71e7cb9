// Whether a pinned map can be taken over by a newly loaded object (upgrade, adopt-repair).
#pragma once

struct bpf_map;

namespace sigil {

// An existing map the new object can take over as is: same kind, key and value sizes, max entries
// and flags. The kernel cannot see a layout change that keeps every size, so such a change must
// rename the map; native/map-layouts.json and test/native/map-layouts.test.ts check that it did.
bool MapCompatible(const bpf_map* wanted, int existing_fd);

}  // namespace sigil
