#include "stream_send.h"

#include <algorithm>

#include "stream_ring.h"

namespace hubless {

void SendBuffer::Grow(size_t need) {
  size_t cap = buf_.empty() ? kMinRing : buf_.size();
  while (cap < need) cap *= 2;
  if (cap == buf_.size()) return;
  RingBytes nb(cap);
  if (!buf_.empty()) RingMove(buf_, nb, base_, end_);
  buf_.swap(nb);
}

bool SendBuffer::Write(const uint8_t* p, size_t n, size_t limit) {
  if (n == 0) return true;
  const size_t need = buffered() + n;
  if (need > limit) return false;
  if (need > buf_.size()) Grow(need);
  RingWrite(buf_, end_, p, n);
  end_ += n;
  return true;
}

void SendBuffer::Read(uint64_t offset, uint8_t* out, size_t n) const {
  if (n == 0) return;
  RingRead(buf_, offset, out, n);
}

void SendBuffer::OnAcked(uint64_t offset, size_t n) {
  if (n == 0) return;
  uint64_t s = offset < base_ ? base_ : offset;
  const uint64_t e = offset + n;
  if (s >= e) return;
  acked_.Add(s, e);
  if (!retransmit_.empty()) retransmit_.Remove(s, e);
  if (!acked_.empty() && acked_.front().start <= base_) {
    base_ = acked_.front().end;
    acked_.PopFront();
    retransmit_.RemoveBelow(base_);
  }
}

void SendBuffer::OnLost(uint64_t offset, size_t n) {
  uint64_t s = offset < base_ ? base_ : offset;
  const uint64_t e = offset + n;
  if (s >= e) return;
  if (acked_.Covers(s, e)) return;
  retransmit_.Add(s, e);
  // Parts acknowledged meanwhile are skipped when the range is sent again.
  for (const auto& a : acked_.ranges()) {
    if (a.start >= e) break;
    if (a.end > s) retransmit_.Remove(a.start, a.end);
  }
}

void SendBuffer::Release() {
  if (buffered() != 0) return;
  buf_.clear();
  acked_.Trim();
  retransmit_.Trim();
}

}  // namespace hubless
