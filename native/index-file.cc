#include "index-file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23  // Linux 5.14
#endif

namespace spate {
namespace {

const size_t kPage = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
// Cleared when the kernel does not know MADV_POPULATE_WRITE: then stores fault pages in
// themselves, as before.
std::atomic<bool> populate_supported{true};

}  // namespace

Status IndexFile::Map(int fd, size_t bytes) {
  map_.reset();
  mapped_bytes_ = 0;
  SPATE_RETURN_IF_ERROR(MapFile(fd, bytes, true, path_, &map_));
  mapped_bytes_ = bytes;
  writable_bytes_ = 0;
  // Lookups are binary searches and appends touch one page: no readahead. Without this,
  // the first touch of the preallocated (sparse) file read ahead and zero-filled hundreds of
  // KiB of it: closing 1,000 freshly written partitions took 10 s on this machine.
  if (map_) ::madvise(map_->address, bytes, MADV_RANDOM);
  return Status::Ok();
}

Status IndexFile::Open(const std::string& path) {
  path_ = path;
  map_.reset();
  mapped_bytes_ = entries_ = writable_bytes_ = 0;
  UniqueFd fd;
  Status opened = OpenFile(path, O_RDWR, &fd);
  // A missing file is an empty index: the first Resize creates it (a new partition's
  // segment gets its index files with its first append, not two file creations earlier).
  if (!opened.ok()) return opened.sys_errno == ENOENT ? Status::Ok() : opened;
  uint64_t size = 0;
  SPATE_RETURN_IF_ERROR(FileSize(fd.get(), &size, path_));
  size_t whole = static_cast<size_t>(size) / entry_size_ * entry_size_;
  SPATE_RETURN_IF_ERROR(Map(fd.get(), whole));
  entries_ = whole / entry_size_;
  return Status::Ok();
}

Status IndexFile::Resize(size_t bytes) {
  bytes = bytes / entry_size_ * entry_size_;
  if (bytes == mapped_bytes_ && (map_ || bytes == 0)) return Status::Ok();
  map_.reset();
  mapped_bytes_ = 0;
  UniqueFd fd;
  SPATE_RETURN_IF_ERROR(OpenFile(path_, O_RDWR | O_CREAT, &fd));
  SPATE_RETURN_IF_ERROR(Truncate(fd.get(), bytes, path_));
  SPATE_RETURN_IF_ERROR(Map(fd.get(), bytes));
  if (entries_ > bytes / entry_size_) entries_ = bytes / entry_size_;
  return Status::Ok();
}

uint8_t* IndexFile::AppendSlot() {
  size_t at = entries_ * entry_size_;
  if (at + entry_size_ > writable_bytes_ && populate_supported) {
    size_t first = at / kPage * kPage;
    size_t end = (at + entry_size_ + kPage - 1) / kPage * kPage;
    if (end > mapped_bytes_) end = mapped_bytes_;
    if (::madvise(map_->address + first, end - first, MADV_POPULATE_WRITE) != 0) {
      if (errno != EINVAL) return nullptr;
      populate_supported = false;
    }
    writable_bytes_ = end;
  }
  entries_++;
  return map_->address + at;
}

Status IndexFile::Flush() {
  if (map_ && entries_ > 0 && ::msync(map_->address, entries_ * entry_size_, MS_SYNC) != 0)
    return Status::Storage("msync " + path_, errno);
  return Status::Ok();
}

void IndexFile::Close() {
  map_.reset();
  mapped_bytes_ = 0;
  writable_bytes_ = 0;
}

}  // namespace spate
