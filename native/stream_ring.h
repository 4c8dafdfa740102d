// Byte rings addressed by absolute stream offset: a power-of-two buffer where offset o lives at
// o & (size - 1). The send buffer and the receive reassembly buffer both use them.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <utility>

namespace hubless {

// A ring's first size: the smallest power of two at or above this that holds the first bytes.
// Small, so a stream that only ever carries a few bytes (the many idle streams of one session)
// never holds, or leaves behind in the allocator, more than that; bulk streams double up fast.
constexpr size_t kMinRing = 256;

// How long a drained ring larger than kMinRing is kept for more data before it is freed: a bulk
// stream drains between every batch, and growing its ring again from kMinRing each time cost
// allocations, zeroed pages and copies on every batch; an idle stream still frees it soon.
constexpr uint64_t kRingKeepUs = 100'000;

// A ring's storage: a power-of-two byte array, left uninitialised (every byte is written before
// it is read), so growing it costs no memset.
// Every ring's bytes in this process (streamEngine.ringBytes()): what stream buffers hold.
inline std::atomic<int64_t> g_ring_bytes{0};

class RingBytes {
 public:
  RingBytes() = default;
  explicit RingBytes(size_t n) : p_(n != 0 ? new uint8_t[n] : nullptr), n_(n) {
    g_ring_bytes.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
  }
  ~RingBytes() { clear(); }
  RingBytes(const RingBytes&) = delete;
  RingBytes& operator=(const RingBytes&) = delete;
  size_t size() const { return n_; }
  bool empty() const { return n_ == 0; }
  uint8_t* data() { return p_.get(); }
  const uint8_t* data() const { return p_.get(); }
  void swap(RingBytes& o) {
    p_.swap(o.p_);
    std::swap(n_, o.n_);
  }
  void clear() {
    g_ring_bytes.fetch_sub(static_cast<int64_t>(n_), std::memory_order_relaxed);
    p_.reset();
    n_ = 0;
  }

 private:
  std::unique_ptr<uint8_t[]> p_;
  size_t n_ = 0;
};

// Copies n bytes starting at `offset` out of the ring, across its wrap point.
inline void RingRead(const RingBytes& ring, uint64_t offset, uint8_t* out, size_t n) {
  const size_t cap = ring.size();
  for (size_t done = 0; done < n;) {
    const size_t at = static_cast<size_t>((offset + done) & (cap - 1));
    const size_t k = std::min(n - done, cap - at);
    memcpy(out + done, ring.data() + at, k);
    done += k;
  }
}

// Copies n bytes into the ring at `offset`, across its wrap point.
inline void RingWrite(RingBytes& ring, uint64_t offset, const uint8_t* in, size_t n) {
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
inline void RingMove(const RingBytes& from, RingBytes& to, uint64_t start, uint64_t end) {
  for (uint64_t o = start; o < end;) {
    const size_t src = static_cast<size_t>(o & (from.size() - 1));
    const size_t dst = static_cast<size_t>(o & (to.size() - 1));
    const size_t len = std::min({static_cast<size_t>(end - o), from.size() - src, to.size() - dst});
    memcpy(to.data() + dst, from.data() + src, len);
    o += len;
  }
}

}  // namespace hubless
