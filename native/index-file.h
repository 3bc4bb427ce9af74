// A memory-mapped file of fixed-size entries: the storage under OffsetIndex and TimeIndex.
// The active segment's index is preallocated (sparse) to segment.index.bytes and trimmed to
// the entries it holds when the segment rolls or the log closes, as Kafka does.
//
// The file is open only while it is mapped or resized: the mapping outlives the descriptor,
// so an index costs no file descriptor (10,000 partitions would otherwise need 20,000 more).
// Each page of the preallocated tail is made writable (MADV_POPULATE_WRITE) before the first
// entry goes into it: on a full disk that fails with an error, where a plain store into an
// unallocated page of a shared mapping would raise SIGBUS; the entry is then skipped (an
// index is sparse anyway: a missing entry only makes lookups scan further).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "file-util.h"
#include "status.h"

namespace spate {

class IndexFile {
 public:
  explicit IndexFile(size_t entry_size) : entry_size_(entry_size) {}
  IndexFile(const IndexFile&) = delete;
  IndexFile& operator=(const IndexFile&) = delete;

  // Opens and maps the file; its entries are the whole entries in it. A missing file is an
  // empty index, created by the first Resize.
  Status Open(const std::string& path);
  // Sets the file length to `bytes` rounded down to whole entries and remaps it. Entries
  // beyond the new length are dropped.
  Status Resize(size_t bytes);
  Status Trim() { return Resize(entries_ * entry_size_); }
  Status Flush();
  void Close();

  const std::string& path() const { return path_; }
  // After the file was renamed: later messages and deletions use the new name.
  void set_path(const std::string& path) { path_ = path; }
  size_t entry_size() const { return entry_size_; }
  size_t entries() const { return entries_; }
  size_t capacity() const { return mapped_bytes_ / entry_size_; }
  size_t file_bytes() const { return mapped_bytes_; }
  const uint8_t* entry(size_t i) const { return map_->address + i * entry_size_; }

  // The slot for one more entry, or nullptr when its page cannot be made writable (a full
  // disk). The caller checks capacity first.
  uint8_t* AppendSlot();
  void TruncateEntries(size_t count) {
    if (count < entries_) entries_ = count;
  }

 private:
  Status Map(int fd, size_t bytes);

  size_t entry_size_;
  std::string path_;
  std::shared_ptr<MappedRegion> map_;
  size_t mapped_bytes_ = 0;
  size_t entries_ = 0;
  size_t writable_bytes_ = 0;  // the prefix whose pages are known to be backed
};

}  // namespace spate
