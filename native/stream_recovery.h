// Loss recovery for one session's stream packets (RFC 9002 in spirit, RACK-style):
//   - every sent stream packet leaves a record (number, time, size, what it carried) in a deque
//     ordered by packet number; records hold up to kMaxChunks fixed-size entries, so sending
//     allocates nothing per packet once the deque's blocks exist;
//   - a packet is lost when a packet sent kPacketThreshold later was acknowledged, or when it was
//     sent more than 9/8 x max(srtt, latest rtt) (at least 1 ms) before an acknowledged one;
//   - the probe timeout PTO = srtt + max(4 rttvar, 1 ms) + max ack delay, doubled per
//     consecutive PTO, never below kMinPtoUs. A PTO sends probes; it does not shrink the window.
//     Decision: kMinPtoUs = 20 ms. No floor at all (QUIC's choice) fires spurious probes on a
//     loaded 2-core host where a timer can run 10 ms late; 200 ms (TCP's RTO floor) makes every
//     tail loss on a LAN cost 200 ms. 20 ms keeps tail recovery quick and spurious probes rare.
// Lost packets are not resent as such: their stream ranges and control frames are queued again
// and go out in new packets with new numbers.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>

#include "stream_cc.h"
#include "stream_wire.h"

namespace hubless {

constexpr uint32_t kPacketThreshold = 3;
constexpr uint64_t kGranularityUs = 1000;
constexpr uint64_t kMinPtoUs = 20000;
// The ack delay the peer may add (our AckTracker policy, same on both ends) plus timer slack.
constexpr uint64_t kMaxAckDelayUsForRtt = 3000;
constexpr size_t kMaxChunks = 6;

enum class ChunkKind : uint8_t { kStream = 1, kMaxStreamData, kReset, kStopSending, kStreamBlocked };

struct SentChunk {
  uint32_t key;  // local stream key
  ChunkKind kind;
  bool fin;
  bool open;
  uint16_t len;
  uint64_t offset;
};

struct SentPacket {
  uint64_t pn;
  uint64_t time_us;
  uint16_t bytes;
  bool eliciting;
  bool acked;
  bool lost;
  bool max_data;
  bool data_blocked;
  uint8_t n;
  SentChunk c[kMaxChunks];
};

class RecoveryListener {
 public:
  virtual void OnPacketAcked(const SentPacket& p) = 0;
  virtual void OnPacketLost(const SentPacket& p) = 0;
 protected:
  ~RecoveryListener() = default;
};

class LossRecovery {
 public:
  // The record for the next packet; fill it, then Commit.
  SentPacket& Begin(uint64_t pn, uint64_t now_us);
  void Commit();
  // Processes a decoded ACK frame. Returns false for an ACK naming packets never sent or
  // malformed ranges (counted by the caller; nothing changes then).
  bool OnAck(const AckFrame& f, uint64_t now_us, RecoveryListener* l, Cubic* cc);
  // Runs loss detection; called on ACKs and when the loss timer fires.
  void DetectLosses(uint64_t now_us, RecoveryListener* l, Cubic* cc);
  // Next loss-timer or PTO deadline (UINT64_MAX when nothing is in flight).
  uint64_t Deadline() const;
  bool PtoDue(uint64_t now_us) const { return loss_time_ == UINT64_MAX && PtoDeadline() <= now_us; }
  void OnPtoFired() { pto_count_++; }
  uint64_t PtoDeadline() const;
  uint64_t PtoInterval() const;
  // The oldest packet still in flight (for a probe to carry again), or nullptr.
  const SentPacket* OldestInFlight() const;
  // Drops every record (session gone).
  void Clear();

  RttEstimator rtt;
  uint64_t bytes_in_flight = 0;
  uint64_t eliciting_in_flight = 0;
  uint64_t packets_lost = 0;
  uint64_t largest_sent = 0;
  uint32_t pto_count_ = 0;
  uint64_t last_eliciting_sent_us = 0;

 private:
  void PopDone();
  std::deque<SentPacket> sent_;
  uint64_t largest_acked_ = 0;
  bool any_acked_ = false;
  bool any_sent_ = false;
  uint64_t loss_time_ = UINT64_MAX;
};

}  // namespace hubless
