// RecvBuffer: one stream's reassembly ring. Bytes may arrive in any order within the receive
// window [delivered, delivered + window); they wait here until the bytes before them arrived, and
// leave as soon as the engine copies them out to JS. The ring grows by powers of two up to the
// window (allocated on first data, so an idle stream holds none); data beyond the window the
// receiver advertised is refused by the caller before it gets here.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "stream_ranges.h"
#include "stream_ring.h"

namespace hubless {

// Out-of-order pieces one stream may hold; more is refused (and counted) until gaps fill.
constexpr size_t kMaxRecvRanges = 256;

class RecvBuffer {
 public:
  // Stores [offset, offset + n); `window` bounds what may be buffered above `delivered`.
  // Returns false when the ranges bound was hit (nothing stored).
  bool Insert(uint64_t offset, const uint8_t* p, size_t n, size_t window);
  // Contiguous bytes ready at `delivered`.
  size_t readable() const;
  // Copies up to n ready bytes out and advances `delivered`.
  size_t Take(uint8_t* out, size_t n);
  uint64_t delivered() const { return delivered_; }
  // Highest offset + 1 ever received (the flow-control accounting point).
  uint64_t highest() const { return highest_; }
  void Release();
  size_t capacity() const { return buf_.size(); }

 private:
  RingBytes buf_;
  RangeSet have_;  // received ranges at or above delivered_
  uint64_t delivered_ = 0;
  uint64_t highest_ = 0;
};

}  // namespace hubless
