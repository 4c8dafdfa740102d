#include "stream_faults.h"

#include <cstring>

namespace hubless {

void FaultInjector::Configure(const FaultConfig& c) {
  cfg_ = c;
  state_ = c.seed != 0 ? c.seed : 0x9E3779B97F4A7C15ull;
  active_ = c.loss > 0 || c.reorder > 0 || c.duplicate > 0 || c.delay_us > 0;
}

double FaultInjector::Uniform() {
  state_ ^= state_ >> 12;
  state_ ^= state_ << 25;
  state_ ^= state_ >> 27;
  return static_cast<double>((state_ * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

FaultInjector::Action FaultInjector::Next() {
  if (Uniform() < cfg_.loss) {
    dropped++;
    return Action::kDrop;
  }
  if (Uniform() < cfg_.reorder) {
    reordered++;
    return Action::kHold;
  }
  if (Uniform() < cfg_.duplicate) {
    duplicated++;
    return Action::kDuplicate;
  }
  return Action::kSend;
}

void FaultInjector::Hold(const uint8_t* p, size_t n, uint64_t release_us, const sockaddr_storage& to,
                         socklen_t to_len) {
  Held h;
  h.bytes.assign(p, p + n);
  h.release_us = release_us;
  h.to = to;
  h.to_len = to_len;
  // Keep release order: insert before the first later packet.
  auto it = held_.end();
  while (it != held_.begin() && (it - 1)->release_us > release_us) --it;
  held_.insert(it, std::move(h));
}

uint64_t FaultInjector::NextRelease() const {
  return held_.empty() ? UINT64_MAX : held_.front().release_us;
}

}  // namespace hubless
