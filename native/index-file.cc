#include "index-file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

namespace spate {

Status IndexFile::Open(const std::string& path) {
  path_ = path;
  SPATE_RETURN_IF_ERROR(OpenFile(path, O_RDWR | O_CREAT, &fd_));
  uint64_t size = 0;
  SPATE_RETURN_IF_ERROR(FileSize(fd_.get(), &size, path_));
  size_t whole = static_cast<size_t>(size) / entry_size_ * entry_size_;
  SPATE_RETURN_IF_ERROR(MapFile(fd_.get(), whole, true, path_, &map_));
  mapped_bytes_ = whole;
  entries_ = whole / entry_size_;
  return Status::Ok();
}

Status IndexFile::Resize(size_t bytes) {
  bytes = bytes / entry_size_ * entry_size_;
  map_.reset();
  mapped_bytes_ = 0;
  SPATE_RETURN_IF_ERROR(Truncate(fd_.get(), bytes, path_));
  SPATE_RETURN_IF_ERROR(MapFile(fd_.get(), bytes, true, path_, &map_));
  mapped_bytes_ = bytes;
  if (entries_ > bytes / entry_size_) entries_ = bytes / entry_size_;
  return Status::Ok();
}

Status IndexFile::Flush() {
  if (map_ && entries_ > 0 && ::msync(map_->address, entries_ * entry_size_, MS_SYNC) != 0)
    return Status::Storage("msync " + path_, errno);
  return Status::Ok();
}

void IndexFile::Close() {
  map_.reset();
  mapped_bytes_ = 0;
  fd_.reset();
}

}  // namespace spate
