// Congestion control for one session's streams: RTT estimation (RFC 9002 §5), CUBIC (RFC 9438)
// with slow start and a Reno-friendly region, and a pacer.
//
// Pacing: a token bucket refilled from a nanosecond clock at 1.25 x cwnd / srtt (2 x in slow
// start), holding at most kPacingBurst packets. Sends are attempted whenever an ACK arrives, a
// writer writes, or the socket's timer fires; the clock, not the 1 ms timer, decides how much may
// go, so pacing granularity is finer than a millisecond whenever ACKs arrive more often than that
// (they do at any rate where pacing matters). The timer is only the fallback wake-up.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hubless {

constexpr size_t kMaxPacketBytes = 1232;
constexpr uint64_t kInitialWindow = 16 * kMaxPacketBytes;
constexpr uint64_t kMinWindow = 2 * kMaxPacketBytes;
constexpr uint64_t kMaxWindow = 64ull << 20;
constexpr uint64_t kPacingBurst = 32;  // packets: one GSO train and a half

struct RttEstimator {
  uint64_t latest = 0, smoothed = 0, var = 0, min = UINT64_MAX;  // microseconds
  bool has_sample = false;
  void Update(uint64_t sample_us, uint64_t ack_delay_us);
  uint64_t srtt_or(uint64_t dflt) const { return has_sample ? smoothed : dflt; }
};

class Cubic {
 public:
  uint64_t cwnd() const { return cwnd_; }
  uint64_t ssthresh() const { return ssthresh_; }
  bool in_slow_start() const { return cwnd_ < ssthresh_; }
  bool InRecovery(uint64_t sent_time_us) const { return sent_time_us <= recovery_start_; }
  // `app_limited`: the sender did not fill the window, so it does not grow.
  void OnAck(uint64_t bytes, uint64_t sent_time_us, uint64_t now_us, const RttEstimator& rtt, bool app_limited);
  // A loss of a packet sent at `sent_time_us`: reduces the window once per recovery period (losses
  // of packets sent before the current one began belong to it). Returns true when this loss
  // started a new congestion event (its number is then `congestion_events`).
  bool OnCongestion(uint64_t sent_time_us, uint64_t now_us);
  void OnPersistentCongestion();
  // The controller's state, saved before a congestion event and restored when every loss that
  // caused it proves spurious (the window never shrinks by a restore).
  struct State {
    uint64_t cwnd, ssthresh, recovery_start;
    double w_max, k;
  };
  State Save() const { return State{cwnd_, ssthresh_, recovery_start_, w_max_, k_}; }
  void Restore(const State& s);
  uint64_t congestion_events = 0;
  uint64_t congestion_undone = 0;

 private:
  uint64_t cwnd_ = kInitialWindow;
  uint64_t ssthresh_ = UINT64_MAX;
  uint64_t recovery_start_ = 0;
  double w_max_ = 0;      // segments
  double w_est_ = 0;      // segments, Reno-friendly estimate
  double k_ = 0;          // seconds
  uint64_t epoch_ = 0;    // microseconds; 0 = no epoch
  double acked_frac_ = 0;
};

class Pacer {
 public:
  // Whether one packet may leave now; refills from the clock.
  bool CanSend(uint64_t now_ns, uint64_t cwnd, uint64_t srtt_us, bool slow_start);
  void OnSend(size_t bytes) { tokens_ -= static_cast<double>(bytes); }
  // When the next packet may leave (ns), for the timer.
  uint64_t NextSendNs() const { return next_ns_; }
  double rate() const { return rate_; }  // bytes per second

 private:
  double tokens_ = kPacingBurst * kMaxPacketBytes;
  uint64_t last_ns_ = 0;
  uint64_t next_ns_ = 0;
  double rate_ = 0;
};

}  // namespace hubless
