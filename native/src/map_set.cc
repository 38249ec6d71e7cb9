#include "map_set.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include "skel.h"

namespace sigil {

int* MapSlot(MapFds& maps, const std::string& name) {
  if (name == "sigil_procs") return &maps.procs;
  if (name == "sigil_images") return &maps.images;
  if (name == "sigil_dests") return &maps.dests;
  if (name == "sigil_settings") return &maps.settings;
  if (name == "sigil_records") return &maps.records;
  if (name == "sigil_handoff") return &maps.handoff;
  if (name == "sigil_counters") return &maps.counters;
  if (name == "sigil_events") return &maps.events;
  if (name == "sigil_clients") return &maps.clients;
  if (name == "sigil_dest_filter") return &maps.dest_filter;
  if (name == "sigil_client_slots") return &maps.client_slots;
  return nullptr;
}

bool MapInfoOf(int fd, bpf_map_info* info) {
  *info = {};
  __u32 len = sizeof(*info);
  return bpf_obj_get_info_by_fd(fd, info, &len) == 0;
}

bool SameMap(int a, int b) {
  bpf_map_info ia, ib;
  return MapInfoOf(a, &ia) && MapInfoOf(b, &ib) && ia.id == ib.id;
}

void CloseMaps(MapFds& maps) {
  for (const char* name : kMapNames) {
    int* slot = MapSlot(maps, name);
    if (*slot >= 0) close(*slot);
    *slot = -1;
  }
}

void SkeletonMaps(sigil_bpf* skel, MapFds& maps) {
  bpf_object* obj = sigil_skel_object(skel);
  for (const char* name : kMapNames) {
    bpf_map* map = bpf_object__find_map_by_name(obj, name);
    *MapSlot(maps, name) = map != nullptr ? bpf_map__fd(map) : -1;
  }
}

}  // namespace sigil
