#include "stream_recv.h"

#include <algorithm>
#include <cstring>

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
    size_t cap = buf_.empty() ? 16384 : buf_.size();
    while (cap < need) cap *= 2;
    std::vector<uint8_t> nb(cap);
    // Move what is buffered (ranges above delivered_) into the new ring.
    for (const auto& r : have_.ranges()) {
      for (uint64_t o = r.start; o < r.end && !buf_.empty();) {
        if (o >= s && o < e) {  // the new bytes themselves: copied below
          o = e;
          continue;
        }
        const uint64_t stop = (o < s && r.end > s) ? s : r.end;
        const size_t src = static_cast<size_t>(o & (buf_.size() - 1));
        const size_t dst = static_cast<size_t>(o & (cap - 1));
        size_t len = static_cast<size_t>(stop - o);
        len = std::min({len, buf_.size() - src, cap - dst});
        memcpy(nb.data() + dst, buf_.data() + src, len);
        o += len;
      }
    }
    buf_.swap(nb);
  }
  const size_t cap = buf_.size();
  size_t done = 0;
  const size_t len = static_cast<size_t>(e - s);
  while (done < len) {
    const size_t at = static_cast<size_t>((s + done) & (cap - 1));
    const size_t k = std::min(len - done, cap - at);
    memcpy(buf_.data() + at, p + done, k);
    done += k;
  }
  if (e > highest_) highest_ = e;
  return true;
}

size_t RecvBuffer::readable() const {
  if (have_.empty() || have_.front().start > delivered_) return 0;
  return static_cast<size_t>(have_.front().end - delivered_);
}

size_t RecvBuffer::Take(uint8_t* out, size_t n) {
  n = std::min(n, readable());
  const size_t cap = buf_.size();
  size_t done = 0;
  while (done < n) {
    const size_t at = static_cast<size_t>((delivered_ + done) & (cap - 1));
    const size_t k = std::min(n - done, cap - at);
    memcpy(out + done, buf_.data() + at, k);
    done += k;
  }
  delivered_ += n;
  have_.RemoveBelow(delivered_);
  return n;
}

void RecvBuffer::Release() {
  if (have_.empty() && !buf_.empty()) std::vector<uint8_t>().swap(buf_);
}

}  // namespace hubless
