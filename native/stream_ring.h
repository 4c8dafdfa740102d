// Byte rings addressed by absolute stream offset: a power-of-two buffer where offset o lives at
// o & (size - 1). The send buffer and the receive reassembly buffer both use them.
#pragma once
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace hubless {

// A ring's first size: the smallest power of two at or above this that holds the first bytes.
// Small, so a stream that only ever carries a few bytes (the many idle streams of one session)
// never holds, or leaves behind in the allocator, more than that; bulk streams double up fast.
constexpr size_t kMinRing = 256;

// Copies n bytes starting at `offset` out of the ring, across its wrap point.
inline void RingRead(const std::vector<uint8_t>& ring, uint64_t offset, uint8_t* out, size_t n) {
  const size_t cap = ring.size();
  for (size_t done = 0; done < n;) {
    const size_t at = static_cast<size_t>((offset + done) & (cap - 1));
    const size_t k = std::min(n - done, cap - at);
    memcpy(out + done, ring.data() + at, k);
    done += k;
  }
}

// Copies n bytes into the ring at `offset`, across its wrap point.
inline void RingWrite(std::vector<uint8_t>& ring, uint64_t offset, const uint8_t* in, size_t n) {
  const size_t cap = ring.size();
  for (size_t done = 0; done < n;) {
    const size_t at = static_cast<size_t>((offset + done) & (cap - 1));
    const size_t k = std::min(n - done, cap - at);
    memcpy(ring.data() + at, in + done, k);
    done += k;
  }
}

// Moves the bytes of offsets [start, end) from one ring into another of a different size,
// respecting both wrap points (used when a ring grows).
inline void RingMove(const std::vector<uint8_t>& from, std::vector<uint8_t>& to, uint64_t start, uint64_t end) {
  for (uint64_t o = start; o < end;) {
    const size_t src = static_cast<size_t>(o & (from.size() - 1));
    const size_t dst = static_cast<size_t>(o & (to.size() - 1));
    const size_t len = std::min({static_cast<size_t>(end - o), from.size() - src, to.size() - dst});
    memcpy(to.data() + dst, from.data() + src, len);
    o += len;
  }
}

}  // namespace hubless
