#include "stream_recv.h"

#include <algorithm>

#include "stream_ring.h"

namespace hubless {

bool RecvBuffer::Insert(uint64_t offset, const uint8_t* p, size_t n, size_t window) {
  uint64_t s = offset, e = offset + n;
  if (e <= delivered_) return true;  // a duplicate of what was delivered
  if (s < delivered_) {
    p += delivered_ - s;
    s = delivered_;
  }
  if (e > delivered_ + window) e = delivered_ + window;
  if (s >= e) return true;
  if (have_.Covers(s, e)) return true;
  if (!have_.Add(s, e, kMaxRecvRanges)) return false;
  const size_t need = static_cast<size_t>(e - delivered_);
  if (need > buf_.size()) {
    size_t cap = buf_.empty() ? kMinRing : buf_.size();
    while (cap < need) cap *= 2;
    RingBytes nb(cap);
    // Move what is buffered (ranges above delivered_) into the new ring; the new bytes
    // themselves, [s, e), are written below.
    if (!buf_.empty()) {
      for (const auto& rg : have_.ranges()) {
        if (rg.start < s) RingMove(buf_, nb, rg.start, std::min(rg.end, s));
        if (rg.end > e) RingMove(buf_, nb, std::max(rg.start, e), rg.end);
      }
    }
    buf_.swap(nb);
  }
  RingWrite(buf_, s, p, static_cast<size_t>(e - s));
  if (e > highest_) highest_ = e;
  return true;
}

size_t RecvBuffer::readable() const {
  if (have_.empty() || have_.front().start > delivered_) return 0;
  return static_cast<size_t>(have_.front().end - delivered_);
}

size_t RecvBuffer::Take(uint8_t* out, size_t n) {
  n = std::min(n, readable());
  RingRead(buf_, delivered_, out, n);
  delivered_ += n;
  have_.RemoveBelow(delivered_);
  return n;
}

void RecvBuffer::Release() {
  if (!have_.empty()) return;
  buf_.clear();
  have_.Trim();
}

}  // namespace hubless
