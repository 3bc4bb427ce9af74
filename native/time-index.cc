#include "time-index.h"

#include "byte-order.h"

namespace spate {

TimestampOffset TimeIndex::EntryAt(size_t i) const {
  const uint8_t* p = file_.entry(i);
  return {static_cast<int64_t>(ReadBe64(p)), base_offset_ + static_cast<int32_t>(ReadBe32(p + 8))};
}

void TimeIndex::MaybeAppend(int64_t timestamp, int64_t offset, bool final) {
  size_t limit = final ? file_.capacity() : file_.capacity() - (file_.capacity() > 0 ? 1 : 0);
  if (entries() >= limit) return;
  TimestampOffset last = LastEntry();
  if (timestamp <= last.timestamp || offset < last.offset) return;
  uint8_t* slot = file_.AppendSlot();
  if (slot == nullptr) return;  // no space for the index page: the entry is skipped
  WriteBe64(slot, static_cast<uint64_t>(timestamp));
  WriteBe32(slot + 8, static_cast<uint32_t>(offset - base_offset_));
}

TimestampOffset TimeIndex::LookupBefore(int64_t target) const {
  size_t low = 0, high = entries();  // first entry with timestamp >= target
  while (low < high) {
    size_t mid = low + (high - low) / 2;
    if (EntryAt(mid).timestamp < target)
      low = mid + 1;
    else
      high = mid;
  }
  if (low == 0) return {-1, base_offset_};
  return EntryAt(low - 1);
}

TimestampOffset TimeIndex::LastEntry() const {
  if (entries() == 0) return {-1, base_offset_};
  return EntryAt(entries() - 1);
}

void TimeIndex::TruncateTo(int64_t offset) {
  size_t keep = entries();
  while (keep > 0 && EntryAt(keep - 1).offset >= offset) keep--;
  file_.TruncateEntries(keep);
}

bool TimeIndex::Sane() const {
  size_t n = entries();
  if (n == 0) return true;
  TimestampOffset first = EntryAt(0), last = EntryAt(n - 1);
  if (first.offset < base_offset_) return false;
  if (n > 1 && (last.timestamp <= first.timestamp || last.offset < first.offset)) return false;
  return true;
}

}  // namespace spate
