// OffsetIndex (.index): sparse map from offset to file position in the segment's .log.
// Entries are 8 bytes, big-endian: int32 offset relative to the segment base, int32
// position. Like Kafka, an entry names a batch's *last* offset and the batch's position.
#pragma once

#include <cstdint>
#include <string>

#include "index-file.h"

namespace spate {

struct OffsetPosition {
  int64_t offset;
  uint32_t position;
};

class OffsetIndex {
 public:
  static constexpr size_t kEntrySize = 8;

  explicit OffsetIndex(int64_t base_offset) : base_offset_(base_offset), file_(kEntrySize) {}

  IndexFile& file() { return file_; }
  const IndexFile& file() const { return file_; }
  size_t entries() const { return file_.entries(); }
  bool full() const { return file_.entries() >= file_.capacity(); }

  // Adds an entry if there is room; a skipped entry only makes lookups scan further.
  void Append(int64_t offset, uint32_t position);
  // The last entry whose offset is <= target, or (base offset, 0).
  OffsetPosition Lookup(int64_t target) const;
  OffsetPosition LastEntry() const;
  // A batch position p such that the batches in [p, next batch after p) end at or before
  // `limit`: the entry before the last one positioned at or below limit. 0 if none.
  uint32_t WholeBatchesBefore(uint64_t limit) const;
  // Drops the entries whose offset is >= offset.
  void TruncateTo(int64_t offset);
  // Kafka's sanity check, plus ordering: after a crash the trimmed length of an older
  // index may not have reached the disk, leaving zeroed entries at its end.
  bool Sane(uint64_t log_size) const;

 private:
  OffsetPosition EntryAt(size_t i) const;

  int64_t base_offset_;
  IndexFile file_;
};

}  // namespace spate
