#include "dest_filter_map.h"

#include <bpf/bpf.h>

#include <cerrno>
#include <vector>

#include "dest_filter.h"
#include "errors.h"

namespace sigil {
namespace {

__u64 ReadWord(int filter_fd, __u32 word) {
  __u64 bits = 0;
  if (bpf_map_lookup_elem(filter_fd, &word, &bits) != 0) Fail(errno, "bpf_map_lookup_elem", "sigil_dest_filter");
  return bits;
}

void WriteWord(int filter_fd, __u32 word, __u64 bits) {
  if (bpf_map_update_elem(filter_fd, &word, &bits, BPF_ANY) != 0) Fail(errno, "bpf_map_update_elem", "sigil_dest_filter");
}

// Every word as sigil_dests needs it.
std::vector<__u64> WordsOf(int dests_fd) {
  std::vector<__u64> words(SIGIL_DEST_FILTER_WORDS, 0);
  sigil_dest_key key = {}, next = {};
  const void* cursor = nullptr;
  while (bpf_map_get_next_key(dests_fd, cursor, &next) == 0) {
    key = next;
    cursor = &key;
    __u32 bit = sigil_dest_filter_bit(&key);
    words[bit / 64] |= 1ull << (bit % 64);
  }
  if (errno != ENOENT) Fail(errno, "bpf_map_get_next_key", "sigil_dests");
  return words;
}

}  // namespace

void DestFilterAdd(int filter_fd, const sigil_dest_key& key) {
  __u32 bit = sigil_dest_filter_bit(&key);
  __u64 bits = ReadWord(filter_fd, bit / 64);
  if ((bits & (1ull << (bit % 64))) == 0) WriteWord(filter_fd, bit / 64, bits | (1ull << (bit % 64)));
}

void DestFilterRemoved(int filter_fd, int dests_fd, const sigil_dest_key& key) {
  __u32 word = sigil_dest_filter_bit(&key) / 64;
  __u64 needed = WordsOf(dests_fd)[word];
  if (ReadWord(filter_fd, word) != needed) WriteWord(filter_fd, word, needed);
}

void DestFilterCover(int filter_fd, int dests_fd) {
  std::vector<__u64> words = WordsOf(dests_fd);
  for (__u32 word = 0; word < SIGIL_DEST_FILTER_WORDS; word++) {
    __u64 bits = ReadWord(filter_fd, word);
    if ((bits | words[word]) != bits) WriteWord(filter_fd, word, bits | words[word]);
  }
}

}  // namespace sigil
