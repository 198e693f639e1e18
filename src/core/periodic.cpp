#include "core/periodic.hpp"

namespace parley {

void PeriodicThread::start(std::chrono::milliseconds interval, std::function<void()> task) {
  stop();
  stopping_ = false;
  thread_ = std::thread([this, interval, task = std::move(task)] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      lock.unlock();
      task();
      lock.lock();
      cv_.wait_for(lock, interval, [this] { return stopping_; });
    }
  });
}

void PeriodicThread::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace parley
