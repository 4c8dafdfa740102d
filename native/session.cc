#include "session.h"

#include <sodium.h>

namespace hubless {

const char* const kSessionStatNames[kSsCount] = {
    "txPackets", "txBytes", "rxPackets", "rxBytes", "authFailures",
    "replays", "tooOld", "txCounter", "rxHighest",
};

SessionTable::~SessionTable() {
  for (auto& s : slots_) {
    if (s) {
      s->tx.Wipe();
      s->rx.Wipe();
    }
  }
}

uint32_t SessionTable::Reserve() {
  uint32_t slot;
  if (!free_.empty()) {
    slot = free_.back();
    free_.pop_back();
  } else {
    if (slots_.size() >= kMaxSessions) return 0;
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  uint32_t index;
  do {
    index = (randombytes_random() << kSlotBits) | slot;
  } while (index == 0);
  slots_[slot] = std::make_unique<Session>();
  slots_[slot]->local_index = index;
  live_++;
  return index;
}

bool SessionTable::Remove(uint32_t index) {
  Session* s = Find(index);
  if (s == nullptr) return false;
  s->tx.Wipe();
  s->rx.Wipe();
  const uint32_t slot = index & (kMaxSessions - 1);
  slots_[slot].reset();
  free_.push_back(slot);
  live_--;
  return true;
}

}  // namespace hubless
