// RingQueue: a FIFO on a power-of-two ring buffer that keeps its capacity, so a busy
// pipeline pushes and pops without touching the allocator (std::deque frees and allocates
// a block every few dozen elements). Used for backend waiters and per-client reply slots.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

namespace pool {

template <typename T>
class RingQueue {
 public:
  // Capacity 0 allocates nothing until the first push (idle client connections are many).
  explicit RingQueue(size_t initialCapacity = 0)
      : slots_(initialCapacity == 0 ? 0 : roundUp(initialCapacity)) {}

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  T& front() { return slots_[head_]; }
  // i-th element from the front (0 = front).
  T& at(size_t i) { return slots_[(head_ + i) & (slots_.size() - 1)]; }

  // Returns the slot to fill; it keeps whatever the previous occupant left (capacity reuse).
  T& pushSlot() {
    if (size_ == slots_.size()) grow();
    T& slot = slots_[(head_ + size_) & (slots_.size() - 1)];
    ++size_;
    return slot;
  }
  void push(T value) { pushSlot() = std::move(value); }
  void pop() {
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
  }

 private:
  static size_t roundUp(size_t n) {
    size_t c = 1;
    while (c < n) c <<= 1;
    return c;
  }
  void grow() {
    std::vector<T> bigger(slots_.empty() ? 4 : slots_.size() * 2);
    for (size_t i = 0; i < size_; ++i) bigger[i] = std::move(at(i));
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<T> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
};

}  // namespace pool
