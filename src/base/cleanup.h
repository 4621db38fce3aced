// Runs a callable at scope exit unless cancel()ed: the undo of a step that
// succeeded, kept only while a later step may still fail.
#pragma once

#include <utility>

namespace husk {

template <class F>
class [[nodiscard]] Cleanup {
 public:
  explicit Cleanup(F f) : f_(std::move(f)) {}
  Cleanup(Cleanup&& o) noexcept : f_(std::move(o.f_)), armed_(std::exchange(o.armed_, false)) {}
  Cleanup(const Cleanup&) = delete;
  Cleanup& operator=(const Cleanup&) = delete;
  ~Cleanup() {
    if (armed_) f_();
  }
  void cancel() { armed_ = false; }

 private:
  F f_;
  bool armed_ = true;
};

}  // namespace husk
