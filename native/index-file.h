// A memory-mapped file of fixed-size entries: the storage under OffsetIndex and TimeIndex.
// The active segment's index is preallocated (sparse) to segment.index.bytes and trimmed to
// the entries it holds when the segment rolls or the log closes, as Kafka does.
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

  // Opens (creating if missing) and maps the file; its entries are the whole entries in it.
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

  // The caller checks capacity first.
  uint8_t* AppendSlot() { return map_->address + entries_++ * entry_size_; }
  void TruncateEntries(size_t count) {
    if (count < entries_) entries_ = count;
  }

 private:
  size_t entry_size_;
  std::string path_;
  UniqueFd fd_;
  std::shared_ptr<MappedRegion> map_;
  size_t mapped_bytes_ = 0;
  size_t entries_ = 0;
};

}  // namespace spate
