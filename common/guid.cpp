#include "common/guid.h"

#include <openssl/rand.h>
#include <pthread.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace crmsync {
namespace {

// RAND_bytes costs about as much per call for 16 bytes as for a kilobyte
// (its lock and generator set-up dominate), and an initial push asks for one
// GUID per record: each thread draws 64 GUIDs' worth at once.
constexpr std::size_t kPoolBytes = std::size_t{16} * 64;

struct RandomPool {
  unsigned char bytes[kPoolBytes];
  std::size_t used = kPoolBytes;  // all used: the first GUID fills the pool
};

thread_local RandomPool pool;

// A forked child must not hand out the bytes its parent will hand out too.
void DiscardPoolInChild() {
  pool.used = kPoolBytes;
}

void DrawBytes(unsigned char* out, std::size_t n) {
  static const bool registered = pthread_atfork(nullptr, nullptr, DiscardPoolInChild) == 0;
  if (!registered || n > kPoolBytes) {
    if (RAND_bytes(out, static_cast<int>(n)) != 1) std::abort();  // no randomness: nothing safe to do
    return;
  }
  if (pool.used + n > kPoolBytes) {
    if (RAND_bytes(pool.bytes, static_cast<int>(kPoolBytes)) != 1) std::abort();
    pool.used = 0;
  }
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = pool.bytes[pool.used + i];
    pool.bytes[pool.used + i] = 0;  // a byte handed out is not kept
  }
  pool.used += n;
}

std::string Format(const unsigned char (&b)[16]) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < sizeof b; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

}  // namespace

std::string NewGuid() {
  unsigned char b[16];
  DrawBytes(b, sizeof b);
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return Format(b);
}

std::string NewTimeOrderedGuid() {
  unsigned char b[16];
  DrawBytes(b, sizeof b);
  const auto ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  for (int i = 0; i < 6; ++i) b[i] = static_cast<unsigned char>(ms >> (40 - 8 * i));  // big-endian: sorts as text
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x70);
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);
  return Format(b);
}

}  // namespace crmsync
