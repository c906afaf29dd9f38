// HotKeyCounter (Space-Saving with an indexed min-heap) and mergeHotKeys (see the header).
// Called by: workers (record), the hot-key collector (top, decay, merge).
#include "proxy/cache/hot_keys.h"

#include <algorithm>
#include <map>

namespace cache {

HotKeyCounter::HotKeyCounter(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {
  slots_.reserve(capacity_);
  heap_.reserve(capacity_);
  index_.reserve(capacity_);
}

void HotKeyCounter::record(std::string_view key, double weight) {
  if (weight <= 0) return;
  total_ += weight;
  auto it = index_.find(key);
  if (it != index_.end()) {
    Slot& slot = slots_[it->second];
    slot.count += weight;
    siftDown(slot.heapPos);
    return;
  }
  if (slots_.size() < capacity_) {
    uint32_t id = static_cast<uint32_t>(slots_.size());
    slots_.push_back(Slot{std::string(key), weight, 0, static_cast<uint32_t>(heap_.size())});
    heap_.push_back(id);
    index_.emplace(slots_[id].key, id);
    siftUp(slots_[id].heapPos);
    return;
  }
  // The minimum's weight is handed to the newcomer as both count and error: it might have
  // been the newcomer's all along, and Space-Saving must never under-count.
  uint32_t id = heap_[0];
  Slot& slot = slots_[id];
  index_.erase(std::string_view(slot.key));
  slot.key.assign(key);
  slot.error = slot.count;
  slot.count += weight;
  index_.emplace(slot.key, id);
  siftDown(0);
}

void HotKeyCounter::decay(double factor) {
  if (factor <= 0) {
    index_.clear();
    heap_.clear();
    slots_.clear();  // keeps capacity, so views taken later stay valid
    total_ = 0;
    return;
  }
  // Scaling every count by one positive factor keeps the heap order: no re-heapify.
  for (Slot& slot : slots_) {
    slot.count *= factor;
    slot.error *= factor;
  }
  total_ *= factor;
}

std::vector<HotKeyCount> HotKeyCounter::top() const {
  std::vector<HotKeyCount> out;
  out.reserve(slots_.size());
  for (const Slot& slot : slots_) out.push_back(HotKeyCount{slot.key, slot.count, slot.error});
  std::sort(out.begin(), out.end(), [](const HotKeyCount& a, const HotKeyCount& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  return out;
}

void HotKeyCounter::swapHeap(uint32_t a, uint32_t b) {
  std::swap(heap_[a], heap_[b]);
  slots_[heap_[a]].heapPos = a;
  slots_[heap_[b]].heapPos = b;
}

void HotKeyCounter::siftUp(uint32_t pos) {
  while (pos > 0) {
    uint32_t parent = (pos - 1) / 2;
    if (countAt(parent) <= countAt(pos)) return;
    swapHeap(parent, pos);
    pos = parent;
  }
}

void HotKeyCounter::siftDown(uint32_t pos) {
  const uint32_t n = static_cast<uint32_t>(heap_.size());
  for (;;) {
    uint32_t smallest = pos;
    for (uint32_t child = 2 * pos + 1; child <= 2 * pos + 2 && child < n; ++child) {
      if (countAt(child) < countAt(smallest)) smallest = child;
    }
    if (smallest == pos) return;
    swapHeap(pos, smallest);
    pos = smallest;
  }
}

double effectiveWindowSeconds(double windowSeconds, double decayFactor) {
  if (decayFactor <= 0 || decayFactor >= 1) return windowSeconds;
  return windowSeconds / (1 - decayFactor);
}

std::vector<HotKey> mergeHotKeys(const std::vector<std::vector<HotKeyCount>>& perWorkerTops,
                                 double minRate, double windowSeconds, size_t topK) {
  if (windowSeconds <= 0) return {};
  std::map<std::string_view, double> merged;  // ordered: summation order is deterministic
  for (const auto& tops : perWorkerTops) {
    for (const HotKeyCount& entry : tops) {
      if (entry.lowerBound() > 0) merged[entry.key] += entry.lowerBound();
    }
  }
  std::vector<HotKey> hot;
  for (const auto& [key, weight] : merged) {
    double rate = weight / windowSeconds;
    if (rate >= minRate) hot.push_back(HotKey{std::string(key), rate});
  }
  std::sort(hot.begin(), hot.end(), [](const HotKey& a, const HotKey& b) {
    return a.rate != b.rate ? a.rate > b.rate : a.key < b.key;
  });
  if (hot.size() > topK) hot.resize(topK);
  return hot;
}

}  // namespace cache
