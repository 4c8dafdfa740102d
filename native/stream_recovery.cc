#include "stream_recovery.h"

#include <algorithm>

namespace hubless {

SentPacket& LossRecovery::Begin(uint64_t pn, uint64_t now_us) {
  sent_.emplace_back();
  SentPacket& p = sent_.back();
  p.pn = pn;
  p.time_us = now_us;
  p.bytes = 0;
  p.eliciting = p.acked = p.lost = p.max_data = p.data_blocked = false;
  p.n = 0;
  return p;
}

void LossRecovery::Commit() {
  SentPacket& p = sent_.back();
  largest_sent = p.pn;
  any_sent_ = true;
  if (p.eliciting) {
    bytes_in_flight += p.bytes;
    eliciting_in_flight++;
    last_eliciting_sent_us = p.time_us;
  } else {
    // Non-eliciting packets (pure ACKs) need no record: nothing to retransmit, no CC accounting.
    sent_.pop_back();
  }
}

void LossRecovery::PopDone() {
  while (!sent_.empty() && (sent_.front().acked || sent_.front().lost)) sent_.pop_front();
}

bool LossRecovery::OnAck(const AckFrame& f, uint64_t now_us, RecoveryListener* l, Cubic* cc) {
  if (!any_sent_ || f.largest > largest_sent) return false;
  // Validate all ranges before acting on any.
  uint64_t lo = f.largest - f.first;
  const uint8_t* r = f.rest;
  for (uint8_t i = 0; i < f.count; i++) {
    const uint64_t gap = LoadBE32(r + i * kAckRangeSize), len = LoadBE32(r + i * kAckRangeSize + 4);
    if (lo < gap + 2 + len) return false;
    lo = lo - gap - 2 - len;
  }
  bool newly_largest = false;
  const SentPacket* largest_newly = nullptr;
  uint64_t hi = f.largest;
  lo = f.largest - f.first;
  uint64_t largest_newly_pn = 0, largest_newly_time = 0;
  bool largest_newly_eliciting = false;
  for (int i = -1; i < static_cast<int>(f.count); i++) {
    if (i >= 0) {
      const uint64_t gap = LoadBE32(r + i * kAckRangeSize), len = LoadBE32(r + i * kAckRangeSize + 4);
      hi = lo - gap - 2;
      lo = hi - len;
    }
    auto it = std::lower_bound(sent_.begin(), sent_.end(), lo,
                               [](const SentPacket& p, uint64_t v) { return p.pn < v; });
    for (; it != sent_.end() && it->pn <= hi; ++it) {
      if (it->acked || it->lost) continue;
      it->acked = true;
      bytes_in_flight -= it->bytes;
      eliciting_in_flight--;
      if (!largest_newly || it->pn > largest_newly_pn) {
        largest_newly = &*it;
        largest_newly_pn = it->pn;
        largest_newly_time = it->time_us;
        largest_newly_eliciting = it->eliciting;
      }
      cc->OnAck(it->bytes, it->time_us, now_us, rtt, false);
      l->OnPacketAcked(*it);
    }
  }
  if (!any_acked_ || f.largest > largest_acked_) {
    largest_acked_ = f.largest;
    any_acked_ = true;
    newly_largest = true;
  }
  if (largest_newly != nullptr && newly_largest && largest_newly_pn == f.largest && largest_newly_eliciting &&
      now_us >= largest_newly_time) {
    rtt.Update(now_us - largest_newly_time, std::min<uint64_t>(f.delay_us, kMaxAckDelayUsForRtt));
  }
  if (largest_newly != nullptr) pto_count_ = 0;
  DetectLosses(now_us, l, cc);
  PopDone();
  return true;
}

void LossRecovery::DetectLosses(uint64_t now_us, RecoveryListener* l, Cubic* cc) {
  loss_time_ = UINT64_MAX;
  if (!any_acked_) return;
  const uint64_t base = std::max(rtt.srtt_or(kGranularityUs * 10), rtt.latest);
  const uint64_t delay = std::max<uint64_t>(base * 9 / 8, kGranularityUs);
  const uint64_t lost_before = now_us > delay ? now_us - delay : 0;
  for (auto& p : sent_) {
    if (p.pn > largest_acked_) break;
    if (p.acked || p.lost) continue;
    if (p.time_us <= lost_before || largest_acked_ >= p.pn + kPacketThreshold) {
      p.lost = true;
      packets_lost++;
      bytes_in_flight -= p.bytes;
      eliciting_in_flight--;
      cc->OnCongestion(p.time_us, now_us);
      l->OnPacketLost(p);
    } else {
      loss_time_ = std::min(loss_time_, p.time_us + delay);
    }
  }
  PopDone();
}

uint64_t LossRecovery::PtoInterval() const {
  const uint64_t srtt = rtt.srtt_or(kMinPtoUs / 2);
  const uint64_t var = rtt.has_sample ? rtt.var : srtt / 2;
  uint64_t pto = srtt + std::max<uint64_t>(4 * var, kGranularityUs) + kMaxAckDelayUsForRtt;
  pto = std::max(pto, kMinPtoUs);
  return pto << std::min<uint32_t>(pto_count_, 10);
}

uint64_t LossRecovery::PtoDeadline() const {
  if (eliciting_in_flight == 0) return UINT64_MAX;
  return last_eliciting_sent_us + PtoInterval();
}

uint64_t LossRecovery::Deadline() const {
  if (loss_time_ != UINT64_MAX) return loss_time_;
  return PtoDeadline();
}

const SentPacket* LossRecovery::OldestInFlight() const {
  for (const auto& p : sent_) {
    if (!p.acked && !p.lost) return &p;
  }
  return nullptr;
}

void LossRecovery::Clear() {
  sent_.clear();
  bytes_in_flight = 0;
  eliciting_in_flight = 0;
}

}  // namespace hubless
