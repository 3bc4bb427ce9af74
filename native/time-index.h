// TimeIndex (.timeindex): sparse map from timestamp to offset. Entries are 12 bytes,
// big-endian: int64 timestamp, int32 offset relative to the segment base. An entry (T, o)
// says T is the largest timestamp in the segment up to offset o; timestamps strictly grow.
#pragma once

#include <cstdint>

#include "index-file.h"

namespace spate {

struct TimestampOffset {
  int64_t timestamp;
  int64_t offset;
};

class TimeIndex {
 public:
  static constexpr size_t kEntrySize = 12;

  explicit TimeIndex(int64_t base_offset) : base_offset_(base_offset), file_(kEntrySize) {}

  IndexFile& file() { return file_; }
  const IndexFile& file() const { return file_; }
  size_t entries() const { return file_.entries(); }
  // One slot stays free for the final entry written when the segment becomes inactive.
  bool full() const { return file_.entries() + 1 >= file_.capacity(); }

  // Adds (timestamp, offset) if timestamp is larger than the last entry's. `final` may
  // use the reserved last slot (Kafka's onBecomeInactiveSegment / close).
  void MaybeAppend(int64_t timestamp, int64_t offset, bool final = false);
  // The last entry whose timestamp is < target, or (-1, base offset): every record at or
  // before that entry's offset is older than target.
  TimestampOffset LookupBefore(int64_t target) const;
  // (-1, base offset) when empty, like Kafka's TimeIndex.lastEntry.
  TimestampOffset LastEntry() const;
  void TruncateTo(int64_t offset);
  bool Sane() const;

 private:
  TimestampOffset EntryAt(size_t i) const;

  int64_t base_offset_;
  IndexFile file_;
};

}  // namespace spate
