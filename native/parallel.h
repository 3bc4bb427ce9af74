// Runs work(0) .. work(count - 1) on up to `threads` threads (the calling one included), each
// taking the next index as it finishes one: Kafka's per-log-dir recovery pool
// (num.recovery.threads.per.data.dir) for opening logs at start and closing them at stop.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <thread>
#include <vector>

namespace spate {

template <typename Work>
void RunInParallel(size_t count, size_t threads, Work work) {
  std::atomic<size_t> next{0};
  auto run = [&] {
    for (size_t i = next++; i < count; i = next++) work(i);
  };
  std::vector<std::thread> helpers;
  size_t extra = std::min(threads, count) > 1 ? std::min(threads, count) - 1 : 0;
  helpers.reserve(extra);
  for (size_t i = 0; i < extra; i++) helpers.emplace_back(run);
  run();
  for (auto& helper : helpers) helper.join();
}

}  // namespace spate
