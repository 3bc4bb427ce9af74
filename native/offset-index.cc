#include "offset-index.h"

#include "byte-order.h"

namespace spate {

OffsetPosition OffsetIndex::EntryAt(size_t i) const {
  const uint8_t* p = file_.entry(i);
  return {base_offset_ + static_cast<int32_t>(ReadBe32(p)), ReadBe32(p + 4)};
}

void OffsetIndex::Append(int64_t offset, uint32_t position) {
  if (full()) return;
  if (entries() > 0 && EntryAt(entries() - 1).offset >= offset) return;
  uint8_t* slot = file_.AppendSlot();
  if (slot == nullptr) return;  // no space for the index page: the entry is skipped
  WriteBe32(slot, static_cast<uint32_t>(offset - base_offset_));
  WriteBe32(slot + 4, position);
}

OffsetPosition OffsetIndex::Lookup(int64_t target) const {
  size_t low = 0, high = entries();  // find the first entry with offset > target
  while (low < high) {
    size_t mid = low + (high - low) / 2;
    if (EntryAt(mid).offset <= target)
      low = mid + 1;
    else
      high = mid;
  }
  if (low == 0) return {base_offset_, 0};
  return EntryAt(low - 1);
}

OffsetPosition OffsetIndex::LastEntry() const {
  if (entries() == 0) return {base_offset_, 0};
  return EntryAt(entries() - 1);
}

uint32_t OffsetIndex::WholeBatchesBefore(uint64_t limit) const {
  size_t low = 0, high = entries();  // entries with position <= limit: [0, low)
  while (low < high) {
    size_t mid = low + (high - low) / 2;
    if (EntryAt(mid).position <= limit)
      low = mid + 1;
    else
      high = mid;
  }
  // The batch at entry low-2 ends at or before entry low-1's position, which is <= limit.
  return low >= 2 ? EntryAt(low - 2).position : 0;
}

void OffsetIndex::TruncateTo(int64_t offset) {
  size_t low = 0, high = entries();  // first entry with offset >= offset
  while (low < high) {
    size_t mid = low + (high - low) / 2;
    if (EntryAt(mid).offset < offset)
      low = mid + 1;
    else
      high = mid;
  }
  file_.TruncateEntries(low);
}

bool OffsetIndex::Sane(uint64_t log_size) const {
  size_t n = entries();
  if (n == 0) return true;
  OffsetPosition first = EntryAt(0), last = EntryAt(n - 1);
  // No entry ever points at position 0: the first batch of a segment is never indexed.
  if (first.offset < base_offset_ || first.position == 0) return false;
  if (n > 1 && (last.offset <= first.offset || last.position <= first.position)) return false;
  return last.position < log_size;
}

}  // namespace spate
