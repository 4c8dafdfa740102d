// AckTracker: the receive side of packet numbers (the AEAD counters of stream packets). Decides
// when to acknowledge and writes ACK frames. Policy (delayed, coalesced ACKs):
//   - acknowledge at the end of a receive batch once 2 or more ack-eliciting packets wait, or at
//     once when a packet arrives out of order (below the largest seen: likely loss or reordering);
//   - otherwise within kMaxAckDelayUs of the first unacknowledged ack-eliciting packet.
//   - while the path loses packets (a gap or a late packet seen within kLossyAckUs), each ACK goes
//     out twice (the copy rides in the next packet, or alone): with a small window one lost ACK
//     otherwise leaves the sender nothing to go on until its probe timeout.
// The tracker keeps at most kAckMaxRanges + 1 ranges (the newest); older history is dropped, which
// only means a very old packet is not re-acknowledged (its sender declared it lost long ago).
#pragma once
#include <cstddef>
#include <cstdint>

#include "stream_ranges.h"

namespace hubless {

constexpr uint64_t kMaxAckDelayUs = 2000;
constexpr uint64_t kLossyAckUs = 100000;

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
  // Whether packets went missing or arrived late recently (ACKs are then sent twice).
  bool lossy(uint64_t now_us) const { return gap_seen_ && now_us < last_gap_us_ + kLossyAckUs; }
  // Owes the ACK just written once more, at once.
  void Repeat() {
    if (any_) pending_ = urgent_ = true;
  }

 private:
  RangeSet received_;
  uint64_t largest_ = 0;
  uint64_t largest_time_ = 0;
  uint64_t last_gap_us_ = 0;
  bool gap_seen_ = false;
  uint64_t deadline_ = UINT64_MAX;
  uint32_t eliciting_ = 0;
  bool any_ = false;
  bool pending_ = false;
  bool urgent_ = false;
};

}  // namespace hubless
