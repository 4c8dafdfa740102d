// SendBuffer: one stream's outgoing bytes from the first unacknowledged offset to the last byte
// written, in a ring that grows by powers of two (allocated on first write, so an idle stream
// holds no buffer). Tracks which bytes were acknowledged and which must be sent again.
// The writer is told to stop above the high-water mark; the bound is enforced by the JS side
// waiting for a 'writable' event, so the ring never holds more than the mark plus one write.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "stream_ranges.h"
#include "stream_ring.h"

namespace hubless {

class SendBuffer {
 public:
  // Appends bytes; returns false when allocation would exceed `limit` bytes buffered.
  bool Write(const uint8_t* p, size_t n, size_t limit);
  // Copies [offset, offset + n) into out; the range must be buffered.
  void Read(uint64_t offset, uint8_t* out, size_t n) const;
  // Marks [offset, offset + n) acknowledged; advances the base over contiguous acked bytes.
  void OnAcked(uint64_t offset, size_t n);
  // Queues [offset, offset + n) for retransmission (skipping bytes already acknowledged).
  void OnLost(uint64_t offset, size_t n);
  // Bytes buffered (unacknowledged, from base to end).
  size_t buffered() const { return static_cast<size_t>(end_ - base_); }
  uint64_t base() const { return base_; }
  uint64_t end() const { return end_; }
  RangeSet& retransmit() { return retransmit_; }
  // Frees memory once everything was acknowledged.
  void Release();
  size_t capacity() const { return buf_.size(); }

  uint64_t next = 0;  // first offset never sent

 private:
  void Grow(size_t need);
  RingBytes buf_;  // size: 0 or a power of two
  uint64_t base_ = 0;         // first unacknowledged offset
  uint64_t end_ = 0;          // one past the last written byte
  RangeSet acked_;            // acknowledged ranges above base_
  RangeSet retransmit_;       // lost ranges to send again
};

}  // namespace hubless
