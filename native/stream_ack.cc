#include "stream_ack.h"

#include "frame.h"
#include "stream_wire.h"

namespace hubless {

void AckTracker::OnPacket(uint64_t pn, bool ack_eliciting, uint64_t now_us) {
  if (any_ && (pn < largest_ || pn > largest_ + 1)) {
    urgent_ = true;  // reordered, a gap filled late, or a gap: tell the sender soon
    gap_seen_ = true;
    last_gap_us_ = now_us;
  }
  if (!any_ || pn > largest_) {
    largest_ = pn;
    largest_time_ = now_us;
    any_ = true;
  }
  received_.Add(pn, pn + 1);
  while (received_.size() > kAckMaxRanges + 1) received_.DropLowest();
  pending_ = true;
  if (ack_eliciting) {
    if (eliciting_ == 0) deadline_ = now_us + kMaxAckDelayUs;
    eliciting_++;
  }
}

size_t AckTracker::MaxFrameSize() const {
  const size_t extra = received_.size() > 0 ? received_.size() - 1 : 0;
  return kAckFrameFixed + extra * kAckRangeSize;
}

size_t AckTracker::Write(uint8_t* p, size_t room, uint64_t now_us) {
  if (!any_ || room < kAckFrameFixed) return 0;
  const auto& r = received_.ranges();
  const size_t n = r.size();
  const RangeSet::Range& top = r[n - 1];
  p[0] = static_cast<uint8_t>(StreamFrame::kAck);
  StoreBE64(p + 1, largest_);
  const uint64_t delay = now_us > largest_time_ ? now_us - largest_time_ : 0;
  StoreBE32(p + 9, static_cast<uint32_t>(delay > UINT32_MAX ? UINT32_MAX : delay));
  StoreBE32(p + 14, static_cast<uint32_t>(top.end - 1 - top.start));
  size_t used = kAckFrameFixed;
  uint8_t count = 0;
  uint64_t prev_smallest = top.start;
  for (size_t i = n - 1; i-- > 0 && count < kAckMaxRanges && used + kAckRangeSize <= room;) {
    const RangeSet::Range& x = r[i];
    // QUIC's encoding: gap = packets missing between the ranges minus one.
    const uint64_t gap = prev_smallest - x.end - 1;
    const uint64_t len = x.end - 1 - x.start;
    if (gap > UINT32_MAX || len > UINT32_MAX) break;
    StoreBE32(p + used, static_cast<uint32_t>(gap));
    StoreBE32(p + used + 4, static_cast<uint32_t>(len));
    used += kAckRangeSize;
    count++;
    prev_smallest = x.start;
  }
  p[13] = count;
  pending_ = false;
  urgent_ = false;
  eliciting_ = 0;
  deadline_ = UINT64_MAX;
  return used;
}

}  // namespace hubless
