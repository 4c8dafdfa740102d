#include "stream_cc.h"

#include <algorithm>
#include <cmath>

namespace hubless {

namespace {
constexpr double kC = 0.4;
constexpr double kBeta = 0.7;
constexpr double kAlpha = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);
constexpr double kSeg = static_cast<double>(kMaxPacketBytes);
}  // namespace

void RttEstimator::Update(uint64_t sample, uint64_t ack_delay) {
  latest = sample;
  if (sample < min) min = sample;
  if (!has_sample) {
    has_sample = true;
    smoothed = sample;
    var = sample / 2;
    return;
  }
  // Subtract the peer's ack delay only when that leaves at least min_rtt (RFC 9002 §5.3).
  uint64_t adjusted = sample;
  if (sample >= min + ack_delay) adjusted = sample - ack_delay;
  const uint64_t diff = smoothed > adjusted ? smoothed - adjusted : adjusted - smoothed;
  var = (3 * var + diff) / 4;
  smoothed = (7 * smoothed + adjusted) / 8;
}

void Cubic::OnAck(uint64_t bytes, uint64_t sent_time_us, uint64_t now_us, const RttEstimator& rtt,
                  bool app_limited) {
  if (InRecovery(sent_time_us) || app_limited) return;
  if (in_slow_start()) {
    cwnd_ = std::min(cwnd_ + bytes, kMaxWindow);
    return;
  }
  if (epoch_ == 0) {
    epoch_ = now_us;
    const double w = static_cast<double>(cwnd_) / kSeg;
    if (w_max_ < w) {
      k_ = 0;
      w_max_ = w;
    } else {
      k_ = std::cbrt((w_max_ - w) / kC);
    }
    w_est_ = w;
  }
  const double w = static_cast<double>(cwnd_) / kSeg;
  const double t = static_cast<double>(now_us - epoch_ + rtt.srtt_or(1000)) / 1e6;
  const double target_cubic = kC * std::pow(t - k_, 3) + w_max_;
  w_est_ += kAlpha * (static_cast<double>(bytes) / kSeg) / w;
  double target = std::max(target_cubic, w_est_);
  target = std::min(target, 1.5 * w);
  if (target > w) {
    acked_frac_ += (target - w) / w * (static_cast<double>(bytes) / kSeg);
    if (acked_frac_ >= 1.0) {
      const double whole = std::floor(acked_frac_);
      cwnd_ = std::min<uint64_t>(cwnd_ + static_cast<uint64_t>(whole * kSeg), kMaxWindow);
      acked_frac_ -= whole;
    }
  }
}

bool Cubic::OnCongestion(uint64_t sent_time_us, uint64_t now_us) {
  if (InRecovery(sent_time_us)) return false;  // one reduction per round trip of losses
  congestion_events++;
  recovery_start_ = now_us;
  const double w = static_cast<double>(cwnd_) / kSeg;
  // Fast convergence (RFC 9438 §4.7).
  w_max_ = w < w_max_ ? w * (1.0 + kBeta) / 2.0 : w;
  cwnd_ = std::max<uint64_t>(static_cast<uint64_t>(static_cast<double>(cwnd_) * kBeta), kMinWindow);
  ssthresh_ = cwnd_;
  epoch_ = 0;
  acked_frac_ = 0;
  return true;
}

void Cubic::Restore(const State& s) {
  congestion_undone++;
  cwnd_ = std::max(cwnd_, s.cwnd);
  ssthresh_ = s.ssthresh;
  recovery_start_ = s.recovery_start;
  w_max_ = s.w_max;
  k_ = s.k;
  epoch_ = 0;
  acked_frac_ = 0;
}

void Cubic::OnPersistentCongestion() {
  // Slow start back up to the reduced window (set here unless a reduction just did).
  if (ssthresh_ == UINT64_MAX || ssthresh_ > cwnd_) {
    ssthresh_ = std::max<uint64_t>(static_cast<uint64_t>(static_cast<double>(cwnd_) * kBeta), kMinWindow);
  }
  cwnd_ = kMinWindow;
  epoch_ = 0;
  acked_frac_ = 0;
}

bool Pacer::CanSend(uint64_t now_ns, uint64_t cwnd, uint64_t srtt_us, bool slow_start) {
  const double srtt_s = static_cast<double>(std::max<uint64_t>(srtt_us, 1)) / 1e6;
  rate_ = (slow_start ? 2.0 : 1.25) * static_cast<double>(cwnd) / srtt_s;
  const double cap = static_cast<double>(kPacingBurst * kMaxPacketBytes);
  if (last_ns_ != 0 && now_ns > last_ns_) {
    tokens_ = std::min(cap, tokens_ + rate_ * static_cast<double>(now_ns - last_ns_) / 1e9);
  }
  last_ns_ = now_ns;
  if (tokens_ >= static_cast<double>(kMaxPacketBytes)) return true;
  const double wait_s = (static_cast<double>(kMaxPacketBytes) - tokens_) / rate_;
  next_ns_ = now_ns + static_cast<uint64_t>(wait_s * 1e9) + 1;
  return false;
}

}  // namespace hubless
