// Whether a byte range of a file is in the page cache, asked without touching it.
#pragma once

#include <cstdint>

namespace spate {

enum class Residency { kAll, kNotAll, kUnknown };

// cachestat(2) (Linux 6.5+) over the pages of [position, position + length): no mapping,
// no page faults, no readahead. kUnknown where the call is not available (older kernels,
// other systems); the caller then falls back to faulting the pages in itself.
Residency PageCacheResidency(int fd, uint64_t position, uint64_t length);

}  // namespace spate
