// SHA-256 (FIPS 180-4), used only to name a version of the embedded BPF object plus its load config.
// Kept here rather than linking OpenSSL: Node already exports its own OpenSSL symbols into the process.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sigil {

class Sha256 {
 public:
  Sha256();
  void Update(const void* data, size_t len);
  void Final(uint8_t out[32]);

 private:
  void Block(const uint8_t block[64]);
  uint32_t state_[8];
  uint8_t buffer_[64];
  size_t buffered_ = 0;
  uint64_t total_bytes_ = 0;
};

}  // namespace sigil
