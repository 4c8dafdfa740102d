#include "stream_send.h"

#include <algorithm>
#include <cstring>

namespace hubless {

void SendBuffer::Grow(size_t need) {
  size_t cap = buf_.empty() ? 16384 : buf_.size();
  while (cap < need) cap *= 2;
  if (cap == buf_.size()) return;
  std::vector<uint8_t> nb(cap);
  // Copy byte ranges respecting both rings' wrap points.
  for (uint64_t o = base_; o < end_;) {
    const size_t src = static_cast<size_t>(o & (buf_.size() - 1));
    const size_t dst = static_cast<size_t>(o & (cap - 1));
    size_t len = static_cast<size_t>(end_ - o);
    len = std::min(len, buf_.size() - src);
    len = std::min(len, cap - dst);
    memcpy(nb.data() + dst, buf_.data() + src, len);
    o += len;
  }
  buf_.swap(nb);
}

bool SendBuffer::Write(const uint8_t* p, size_t n, size_t limit) {
  if (n == 0) return true;
  const size_t need = buffered() + n;
  if (need > limit) return false;
  if (need > buf_.size()) Grow(need);
  const size_t cap = buf_.size();
  size_t done = 0;
  while (done < n) {
    const size_t at = static_cast<size_t>((end_ + done) & (cap - 1));
    const size_t len = std::min(n - done, cap - at);
    memcpy(buf_.data() + at, p + done, len);
    done += len;
  }
  end_ += n;
  return true;
}

void SendBuffer::Read(uint64_t offset, uint8_t* out, size_t n) const {
  if (n == 0) return;
  const size_t cap = buf_.size();
  size_t done = 0;
  while (done < n) {
    const size_t at = static_cast<size_t>((offset + done) & (cap - 1));
    const size_t len = std::min(n - done, cap - at);
    memcpy(out + done, buf_.data() + at, len);
    done += len;
  }
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
  if (buffered() == 0 && !buf_.empty()) std::vector<uint8_t>().swap(buf_);
}

}  // namespace hubless
