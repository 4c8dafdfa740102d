#include "replay.h"

#include <cstring>

namespace hubless {

void ReplayWindow::Reset() {
  std::memset(bits_, 0, sizeof bits_);
  highest_ = 0;
  any_ = false;
}

ReplayWindow::Verdict ReplayWindow::Check(uint64_t counter) const {
  if (!any_ || counter > highest_) return Verdict::kFresh;
  if (highest_ - counter >= kSize) return Verdict::kTooOld;
  const uint64_t word = (counter >> 6) & (kWords - 1);
  return (bits_[word] >> (counter & 63)) & 1 ? Verdict::kDuplicate : Verdict::kFresh;
}

ReplayWindow::Verdict ReplayWindow::Accept(uint64_t counter) {
  const Verdict v = Check(counter);
  if (v != Verdict::kFresh) return v;
  if (!any_ || counter > highest_) {
    const uint64_t from = any_ ? (highest_ >> 6) + 1 : counter >> 6;
    const uint64_t to = counter >> 6;
    // Clear the words the window slides over (at most all of them).
    if (!any_ || to - from + 1 >= kWords) {
      std::memset(bits_, 0, sizeof bits_);
    } else {
      for (uint64_t w = from; w <= to; w++) bits_[w & (kWords - 1)] = 0;
    }
    highest_ = counter;
    any_ = true;
  }
  bits_[(counter >> 6) & (kWords - 1)] |= uint64_t{1} << (counter & 63);
  return Verdict::kFresh;
}

}  // namespace hubless
