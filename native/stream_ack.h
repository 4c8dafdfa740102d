// AckTracker: the receive side of packet numbers (the AEAD counters of stream packets). Decides
// when to acknowledge and writes ACK frames. Policy (delayed, coalesced ACKs):
//   - acknowledge at the end of a receive batch once 2 or more ack-eliciting packets wait, or at
//     once when a packet arrives out of order (below the largest seen: likely loss or reordering);
//   - otherwise within kMaxAckDelayUs of the first unacknowledged ack-eliciting packet.
// The tracker keeps at most kAckMaxRanges + 1 ranges (the newest); older history is dropped, which
// only means a very old packet is not re-acknowledged (its sender declared it lost long ago).
#pragma once
#include <cstddef>
#include <cstdint>

#include "stream_ranges.h"

namespace hubless {

constexpr uint64_t kMaxAckDelayUs = 2000;

class AckTracker {
 public:
  void OnPacket(uint64_t pn, bool ack_eliciting, uint64_t now_us);
  // An ACK is owed (anything new since the last one).
  bool pending() const { return pending_; }
  // The owed ACK should go out now rather than wait for the delay timer.
  bool urgent() const { return pending_ && (urgent_ || eliciting_ >= 2); }
  uint64_t deadline() const { return pending_ && eliciting_ > 0 ? deadline_ : UINT64_MAX; }
  size_t MaxFrameSize() const;
  // Writes an ACK frame (at most `room` bytes; fewer ranges if needed) and clears `pending`.
  size_t Write(uint8_t* p, size_t room, uint64_t now_us);

 private:
  RangeSet received_;
  uint64_t largest_ = 0;
  uint64_t largest_time_ = 0;
  uint64_t deadline_ = UINT64_MAX;
  uint32_t eliciting_ = 0;
  bool any_ = false;
  bool pending_ = false;
  bool urgent_ = false;
};

}  // namespace hubless
