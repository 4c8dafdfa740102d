// RangeSet: a sorted set of disjoint half-open ranges [start, end) over 64-bit offsets or packet
// numbers. Used for received packet numbers (ACK ranges), received stream bytes (reassembly),
// acknowledged and lost stream bytes (send side). Sizes stay small in practice; callers that
// take ranges from the peer pass a bound so a hostile peer cannot grow one without limit.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace hubless {

class RangeSet {
 public:
  struct Range {
    uint64_t start, end;
  };

  // Adds [s, e). Returns false (and changes nothing) if the result would hold more than
  // `max_ranges` ranges.
  bool Add(uint64_t s, uint64_t e, size_t max_ranges = SIZE_MAX) {
    if (s >= e) return true;
    size_t i = 0;
    // first range whose end >= s (it touches or follows s)
    size_t lo = 0, hi = r_.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (r_[mid].end < s) lo = mid + 1;
      else hi = mid;
    }
    i = lo;
    size_t j = i;
    uint64_t ns = s, ne = e;
    while (j < r_.size() && r_[j].start <= e) {
      if (r_[j].start < ns) ns = r_[j].start;
      if (r_[j].end > ne) ne = r_[j].end;
      j++;
    }
    if (j == i) {
      if (r_.size() >= max_ranges) return false;
      r_.insert(r_.begin() + static_cast<std::ptrdiff_t>(i), Range{ns, ne});
      return true;
    }
    r_[i] = Range{ns, ne};
    r_.erase(r_.begin() + static_cast<std::ptrdiff_t>(i + 1), r_.begin() + static_cast<std::ptrdiff_t>(j));
    return true;
  }

  // Removes [s, e), in place (no allocation unless a range splits past the capacity).
  void Remove(uint64_t s, uint64_t e) {
    if (s >= e || r_.empty()) return;
    size_t lo = 0, hi = r_.size();
    while (lo < hi) {  // first range ending after s
      const size_t mid = (lo + hi) / 2;
      if (r_[mid].end <= s) lo = mid + 1;
      else hi = mid;
    }
    size_t i = lo;
    if (i == r_.size() || r_[i].start >= e) return;
    if (r_[i].start < s) {
      if (r_[i].end > e) {  // [s, e) lies inside one range: split it
        const Range tail{e, r_[i].end};
        r_[i].end = s;
        r_.insert(r_.begin() + static_cast<std::ptrdiff_t>(i + 1), tail);
        return;
      }
      r_[i].end = s;
      i++;
    }
    size_t k = i;
    while (k < r_.size() && r_[k].end <= e) k++;
    if (k < r_.size() && r_[k].start < e) r_[k].start = e;
    r_.erase(r_.begin() + static_cast<std::ptrdiff_t>(i), r_.begin() + static_cast<std::ptrdiff_t>(k));
  }

  // Drops everything below v.
  void RemoveBelow(uint64_t v) {
    size_t k = 0;
    while (k < r_.size() && r_[k].end <= v) k++;
    if (k > 0) r_.erase(r_.begin(), r_.begin() + static_cast<std::ptrdiff_t>(k));
    if (!r_.empty() && r_[0].start < v) r_[0].start = v;
  }

  bool Contains(uint64_t v) const {
    for (const Range& x : r_) {
      if (v < x.start) return false;
      if (v < x.end) return true;
    }
    return false;
  }

  // Whether all of [s, e) is in the set.
  bool Covers(uint64_t s, uint64_t e) const {
    for (const Range& x : r_) {
      if (x.start <= s && e <= x.end) return true;
      if (x.start > s) return false;
    }
    return false;
  }

  void PopFront() { r_.erase(r_.begin()); }
  void DropLowest() { if (!r_.empty()) r_.erase(r_.begin()); }
  void Clear() { r_.clear(); }
  // Frees the storage of an empty set (idle streams keep no allocation).
  void Trim() {
    if (r_.empty() && r_.capacity() > 0) std::vector<Range>().swap(r_);
  }
  bool empty() const { return r_.empty(); }
  size_t size() const { return r_.size(); }
  const Range& front() const { return r_.front(); }
  const Range& back() const { return r_.back(); }
  const std::vector<Range>& ranges() const { return r_; }

 private:
  std::vector<Range> r_;
};

}  // namespace hubless
