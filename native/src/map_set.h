// The set of maps the agent pins and shares across upgrades: their names, one fd slot each, and the
// small info checks the load, upgrade and adopt paths share.
#pragma once
#include <string>

struct sigil_bpf;
struct bpf_map_info;

namespace sigil {

// Names of the maps pinned under <pinDir>/maps/ (sigil_threads is not among them: each load makes its own).
inline constexpr const char* kMapNames[] = {"sigil_procs", "sigil_images", "sigil_dests", "sigil_settings", "sigil_records",
                                            "sigil_handoff", "sigil_counters", "sigil_events", "sigil_clients",
                                            "sigil_dest_filter", "sigil_client_slots"};

// File descriptors of the maps user space works on: the skeleton's own, or opened from pins.
struct MapFds {
  int procs = -1, images = -1, dests = -1, settings = -1, records = -1, handoff = -1, counters = -1, events = -1;
  int clients = -1;  // steered client sockets by cookie (kernel only; pinned so upgrades and repairs share it)
  int dest_filter = -1;  // one bit per dests key (bpf/dest_filter.h), kept by the dests accessors
  int client_slots = -1;  // steered client sockets' records by cookie slot (kernel only, like clients)
};

// The slot of a map in kMapNames; nullptr for any other name.
int* MapSlot(MapFds& maps, const std::string& name);

bool MapInfoOf(int fd, bpf_map_info* info);

// Both fds name the same kernel map.
bool SameMap(int a, int b);

// Closes every open slot and resets it to -1.
void CloseMaps(MapFds& maps);

// The skeleton's own map fds (owned by the skeleton, not to be closed).
void SkeletonMaps(sigil_bpf* skel, MapFds& maps);

}  // namespace sigil
