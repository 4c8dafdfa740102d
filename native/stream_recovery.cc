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
      Outcome(it->pn, false);
      cc->OnAck(it->bytes, it->time_us, now_us, rtt, false);
      l->OnPacketAcked(*it);
    }
    if (!lost_.empty() && lost_.back().p.pn >= lo) {
      auto jt = std::lower_bound(lost_.begin(), lost_.end(), lo,
                                 [](const Lost& x, uint64_t v) { return x.p.pn < v; });
      for (; jt != lost_.end() && jt->p.pn <= hi; ++jt) {
        if (!jt->p.acked) OnSpurious(*jt, std::max(f.largest, largest_acked_), now_us, l, cc);
      }
    }
  }
  if (!any_acked_ || f.largest > largest_acked_) {
    largest_acked_ = f.largest;
    any_acked_ = true;
    newly_largest = true;
  }
  if (largest_newly != nullptr && newly_largest && largest_newly_pn == f.largest && largest_newly_eliciting &&
      now_us >= largest_newly_time) {
    if (!rtt.has_sample) first_sample_us_ = now_us;
    rtt.Update(now_us - largest_newly_time, std::min<uint64_t>(f.delay_us, kMaxAckDelayUsForRtt));
  }
  if (largest_newly != nullptr) pto_count_ = 0;
  DetectLosses(now_us, l, cc);
  PopDone();
  return true;
}

uint64_t LossRecovery::ReorderDelay() const {
  const uint64_t base = std::max(rtt.srtt_or(kGranularityUs * 10), rtt.latest);
  return std::max({base * 9 / 8, kGranularityUs, reorder_us_});
}

void LossRecovery::DetectLosses(uint64_t now_us, RecoveryListener* l, Cubic* cc) {
  loss_time_ = UINT64_MAX;
  ExpireLost(now_us);
  if (!any_acked_) return;
  const uint64_t delay = ReorderDelay();
  const uint64_t lost_before = now_us > delay ? now_us - delay : 0;
  // Persistent congestion (RFC 9002 §7.6): every packet sent over 3 probe timeouts (without
  // backoff) was lost, and an RTT sample predates them: the path went dark, not noisy.
  const uint64_t persistent = 3 * PtoBase();
  uint64_t run_start = UINT64_MAX;
  bool persistent_found = false;
  for (auto& p : sent_) {
    if (p.pn > largest_acked_) break;
    if (p.acked) {
      run_start = UINT64_MAX;
      continue;
    }
    if (!p.lost) {
      if (p.time_us <= lost_before || largest_acked_ >= p.pn + reorder_packets_) {
        MarkLost(p, now_us, l, cc);
        if (run_start != UINT64_MAX && p.time_us >= run_start + persistent) persistent_found = true;
      } else {
        loss_time_ = std::min(loss_time_, p.time_us + delay);
        run_start = UINT64_MAX;
        continue;
      }
    }
    if (run_start == UINT64_MAX && p.time_us > first_sample_us_) run_start = p.time_us;
  }
  if (persistent_found) {
    persistent_congestion++;
    cc->OnPersistentCongestion();
  }
  PopDone();
}

void LossRecovery::MarkLost(SentPacket& p, uint64_t now_us, RecoveryListener* l, Cubic* cc) {
  p.lost = true;
  packets_lost++;
  bytes_in_flight -= p.bytes;
  eliciting_in_flight--;
  Outcome(p.pn, true);
  const Cubic::State before = cc->Save();
  const bool counted = cc->InRecovery(p.time_us) || Congestive();
  if (!counted) {
    random_losses++;
  } else if (cc->OnCongestion(p.time_us, now_us)) {
    events_.push_back(Event{cc->congestion_events, 0, before});
    if (events_.size() > kUndoEvents) events_.pop_front();
    if (++events_since_spurious_ >= kReorderPersist) {
      reorder_packets_ = kPacketThreshold;
      reorder_us_ = 0;
      events_since_spurious_ = 0;
    }
  }
  // A congestion loss belongs to the newest event still standing (a new one, or the recovery it
  // fell in); a random loss to none.
  uint64_t event = 0;
  if (counted && !events_.empty()) {
    event = events_.back().id;
    events_.back().pending++;
  }
  auto at = lost_.end();
  while (at != lost_.begin() && (at - 1)->p.pn > p.pn) --at;
  lost_.insert(at, Lost{p, event, now_us});
  if (lost_.size() > kMaxLostRecords) lost_.pop_front();
  l->OnPacketLost(p);
}

void LossRecovery::Outcome(uint64_t pn, bool lost) {
  OutcomeSlot& o = outcomes_[pn % kLossWindow];
  if (o.pn == pn && o.lost == lost) return;
  if (o.lost) outcome_losses_--;
  else if (o.pn == UINT64_MAX) outcome_count_++;
  o.pn = pn;
  o.lost = lost;
  if (lost) outcome_losses_++;
}

bool LossRecovery::Congestive() const {
  if (!rtt.has_sample) return true;
  if (rtt.smoothed > rtt.min + std::max(rtt.min, kQueueAllowanceUs)) return true;
  if (outcome_count_ < kLossWindow / 4) return false;
  return static_cast<double>(outcome_losses_) > kRandomLossMax * static_cast<double>(outcome_count_);
}

void LossRecovery::OnSpurious(Lost& x, uint64_t largest, uint64_t now_us, RecoveryListener* l, Cubic* cc) {
  x.p.acked = true;
  packets_spurious++;
  Outcome(x.p.pn, false);
  events_since_spurious_ = 0;
  // Tolerate the reordering just seen (capped: a stall must not make loss detection lazy for good).
  if (largest > x.p.pn) {
    reorder_packets_ = std::min(std::max(reorder_packets_, largest - x.p.pn + 1), kMaxReorderPackets);
  }
  if (now_us > x.p.time_us) {
    const uint64_t cap = std::max(kMaxReorderUs, 2 * rtt.srtt_or(0));
    reorder_us_ = std::min(std::max(reorder_us_, (now_us - x.p.time_us) * 9 / 8), cap);
  }
  l->OnPacketAcked(x.p);  // its data arrived after all
  for (auto& e : events_) {
    if (e.id == x.event && e.pending > 0) e.pending--;
  }
  while (!events_.empty() && events_.back().pending == 0) {
    cc->Restore(events_.back().before);
    events_.pop_back();
  }
}

void LossRecovery::ExpireLost(uint64_t now_us) {
  // A lost packet's ACK can only still come within a few round trips (and reorder windows).
  const uint64_t keep = 4 * std::max(PtoInterval(), reorder_us_);
  while (!lost_.empty() && (lost_.front().p.acked || lost_.front().declared + keep < now_us)) lost_.pop_front();
}

uint64_t LossRecovery::PtoBase() const {
  const uint64_t srtt = rtt.srtt_or(kMinPtoUs / 2);
  const uint64_t var = rtt.has_sample ? rtt.var : srtt / 2;
  const uint64_t pto = srtt + std::max<uint64_t>(4 * var, kGranularityUs) + kMaxAckDelayUsForRtt;
  return std::max(pto, kMinPtoUs);
}

uint64_t LossRecovery::PtoInterval() const { return PtoBase() << std::min<uint32_t>(pto_count_, 10); }

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
  lost_.clear();
  events_.clear();
  bytes_in_flight = 0;
  eliciting_in_flight = 0;
}

}  // namespace hubless
