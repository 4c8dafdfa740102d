// TEST-ONLY fault injection on the send path of stream packets (type 0x11): loss, reordering,
// duplication and delay, decided by a seeded PRNG (xorshift64*) so a failing run can be replayed.
// Off unless a test calls setFaults(); never meant for production traffic. It acts after sealing,
// so the receiver sees exactly what a lossy, reordering network would deliver.
#pragma once
#include <sys/socket.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace hubless {

struct FaultConfig {
  double loss = 0, reorder = 0, duplicate = 0;
  uint64_t delay_us = 0;
  uint64_t seed = 1;
};

class FaultInjector {
 public:
  struct Held {
    std::vector<uint8_t> bytes;
    uint64_t release_us;
    sockaddr_storage to;
    socklen_t to_len;
  };
  enum class Action { kSend, kDrop, kDuplicate, kHold };

  void Configure(const FaultConfig& c);
  bool active() const { return active_; }
  // Decides what happens to the next packet.
  Action Next();
  void Hold(const uint8_t* p, size_t n, uint64_t release_us, const sockaddr_storage& to, socklen_t to_len);
  uint64_t delay_us() const { return cfg_.delay_us; }
  // The earliest release time among held packets (UINT64_MAX if none).
  uint64_t NextRelease() const;
  // Packets due at `now_us`, moved out.
  std::deque<Held>& held() { return held_; }
  uint64_t dropped = 0, duplicated = 0, reordered = 0;

 private:
  double Uniform();
  FaultConfig cfg_;
  uint64_t state_ = 1;
  bool active_ = false;
  std::deque<Held> held_;
};

}  // namespace hubless
