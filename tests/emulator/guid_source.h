// GuidSource: random lower-case GUIDs (version 4 layout) for record ids.
// Seeded for reproducible runs (--seed); 0 seeds from the OS.
// Thread-safe.
#pragma once

#include <cstdint>
#include <mutex>
#include <random>
#include <string>

namespace crmsync::emulator {

class GuidSource {
 public:
  explicit GuidSource(std::uint64_t seed) : rng_(seed != 0 ? seed : std::random_device{}()) {}

  std::string Next() {
    static const char kHex[] = "0123456789abcdef";
    std::lock_guard lock(mu_);
    const std::uint64_t a = rng_();
    const std::uint64_t b = rng_();
    std::string g;
    g.reserve(36);
    for (int i = 0; i < 32; ++i) {
      if (i == 8 || i == 12 || i == 16 || i == 20) g += '-';
      const std::uint64_t word = i < 16 ? a : b;
      unsigned nibble = static_cast<unsigned>((word >> ((i % 16) * 4)) & 15U);
      if (i == 12) nibble = 4;                  // version 4
      if (i == 16) nibble = 8 | (nibble & 3U);  // variant 10xx
      g += kHex[nibble];
    }
    return g;
  }

  std::uint64_t Number() {
    std::lock_guard lock(mu_);
    return rng_();
  }

 private:
  std::mutex mu_;
  std::mt19937_64 rng_;
};

}  // namespace crmsync::emulator
