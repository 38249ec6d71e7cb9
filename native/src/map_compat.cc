#include "map_compat.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "map_set.h"

namespace sigil {

bool MapCompatible(const bpf_map* wanted, int existing_fd) {
  bpf_map_info info;
  if (existing_fd < 0 || !MapInfoOf(existing_fd, &info)) return false;
  return info.type == static_cast<__u32>(bpf_map__type(wanted)) && info.key_size == bpf_map__key_size(wanted) &&
         info.value_size == bpf_map__value_size(wanted) && info.max_entries == bpf_map__max_entries(wanted) &&
         info.map_flags == bpf_map__map_flags(wanted);
}

}  // namespace sigil
