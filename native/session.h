// The session table: one entry per installed key pair (a handshake's result), addressed by the
// receiver index that peers put in the clear header. Rekeying installs a new entry and retires the
// old one later, so packets in flight under the old keys still open.
#pragma once
#include <sys/socket.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "aead.h"
#include "replay.h"

namespace hubless {

// Per-session counters, exported to JS by name (SessionStatNames) in this order.
enum SessionStat : uint32_t {
  kSsTxPackets,
  kSsTxBytes,
  kSsRxPackets,
  kSsRxBytes,
  kSsAuthFailures,
  kSsReplays,
  kSsTooOld,
  kSsTxCounter,
  kSsRxHighest,
  kSsCount
};
extern const char* const kSessionStatNames[kSsCount];

struct alignas(16) Session {
  AeadKey tx;
  AeadKey rx;
  ReplayWindow window;
  sockaddr_storage peer;
  socklen_t peer_len = 0;
  uint32_t local_index = 0;
  uint32_t remote_index = 0;
  // The logical session (stream connection) this key pair belongs to: its first key pair's
  // index. Rekeyed pairs are linked to it, so streams outlive any one key pair.
  uint32_t conn = 0;
  uint64_t tx_counter = 0;
  uint64_t stats[kSsCount] = {};
  bool installed = false;
};

class SessionTable {
 public:
  // Slot in the low 20 bits, random bits above: indices are not guessable in sequence and a
  // stale index from a freed slot does not match the slot's next occupant.
  static constexpr uint32_t kSlotBits = 20;
  static constexpr uint32_t kMaxSessions = 1u << kSlotBits;

  ~SessionTable();
  // Reserves an index for a handshake in progress; 0 when the table is full.
  uint32_t Reserve();
  // The session for an index, or nullptr; reserved-but-not-installed entries are returned too.
  Session* Find(uint32_t index) const {
    const uint32_t slot = index & (kMaxSessions - 1);
    if (slot >= slots_.size()) return nullptr;
    Session* s = slots_[slot].get();
    return s != nullptr && s->local_index == index ? s : nullptr;
  }
  bool Remove(uint32_t index);
  size_t size() const { return live_; }

 private:
  std::vector<std::unique_ptr<Session>> slots_;
  std::vector<uint32_t> free_;
  size_t live_ = 0;
};

}  // namespace hubless
