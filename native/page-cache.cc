#include "page-cache.h"

#include <errno.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>

namespace spate {
namespace {

#if defined(__linux__)
// The syscall number is the same on every architecture that uses the generic table
// (x86_64 and aarch64 included); older C library headers do not name it.
#ifndef __NR_cachestat
#define __NR_cachestat 451
#endif

struct CachestatRange {
  uint64_t off;
  uint64_t len;
};

struct Cachestat {
  uint64_t nr_cache;
  uint64_t nr_dirty;
  uint64_t nr_writeback;
  uint64_t nr_evicted;
  uint64_t nr_recently_evicted;
};

std::atomic<bool> unavailable{false};
#endif

}  // namespace

Residency PageCacheResidency(int fd, uint64_t position, uint64_t length) {
#if defined(__linux__)
  if (length == 0) return Residency::kAll;
  if (unavailable.load(std::memory_order_relaxed)) return Residency::kUnknown;
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  const uint64_t first = position / page * page;
  const uint64_t end = (position + length + page - 1) / page * page;
  CachestatRange range{first, end - first};
  Cachestat stat{};
  if (::syscall(__NR_cachestat, fd, &range, &stat, 0) != 0) {
    // ENOSYS (kernel before 6.5) or EPERM (a seccomp filter): never ask again.
    if (errno == ENOSYS || errno == EPERM) unavailable.store(true, std::memory_order_relaxed);
    return Residency::kUnknown;
  }
  return stat.nr_cache >= (end - first) / page ? Residency::kAll : Residency::kNotAll;
#else
  (void)fd;
  (void)position;
  (void)length;
  return Residency::kUnknown;
#endif
}

}  // namespace spate
