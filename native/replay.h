// Sliding anti-replay window over 64-bit packet counters (the bitmap scheme of RFC 6479): a ring of
// 64-bit words, so sliding forward clears whole words instead of shifting the bitmap.
// Check() is cheap and runs before decryption to skip work on obvious replays; Accept() runs only
// after the packet authenticated, so forged counters can never move the window.
#pragma once
#include <cstdint>

namespace hubless {

class ReplayWindow {
 public:
  static constexpr uint32_t kWords = 128;             // 8192 bits, 1 KiB
  static constexpr uint64_t kSize = (kWords - 1) * 64;  // 8128 packets guaranteed

  enum class Verdict { kFresh, kTooOld, kDuplicate };

  void Reset();
  Verdict Check(uint64_t counter) const;
  // Marks `counter` as seen; returns the verdict it had (only kFresh marks it).
  Verdict Accept(uint64_t counter);
  uint64_t highest() const { return highest_; }

 private:
  uint64_t bits_[kWords] = {};
  uint64_t highest_ = 0;
  bool any_ = false;
};

}  // namespace hubless
