#include "segment-file.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

namespace spate {
namespace {

uint64_t RoundUpToPage(uint64_t n) {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  return (n + page - 1) / page * page;
}

}  // namespace

// ---- OpenFileCache --------------------------------------------------------------------

OpenFileCache& OpenFileCache::Instance() {
  static OpenFileCache* cache = new OpenFileCache();  // never destroyed: used until exit
  return *cache;
}

void OpenFileCache::SetLimit(size_t limit) {
  std::vector<std::shared_ptr<OpenSegmentFile>> closing;  // closed outside the mutex
  {
    std::lock_guard<std::mutex> lock(mutex_);
    limit_ = limit;
    while (recent_.size() > limit_) {
      closing.push_back(std::move(recent_.back()));
      closing.back()->cached = false;
      recent_.pop_back();
      evicted_++;
    }
  }
}

OpenFileCache::Stats OpenFileCache::GetStats() {
  std::lock_guard<std::mutex> lock(mutex_);
  Stats stats;
  stats.open = recent_.size();
  stats.limit = limit_;
  stats.opened = opened_;
  stats.hits = hits_;
  stats.evicted = evicted_;
  return stats;
}

void OpenFileCache::Touch(const std::shared_ptr<OpenSegmentFile>& file, bool opened) {
  std::vector<std::shared_ptr<OpenSegmentFile>> closing;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (opened)
      opened_++;
    else
      hits_++;
    if (file->cached) {
      recent_.splice(recent_.begin(), recent_, file->position);
    } else {
      recent_.push_front(file);
      file->position = recent_.begin();
      file->cached = true;
    }
    while (recent_.size() > limit_) {
      closing.push_back(std::move(recent_.back()));
      closing.back()->cached = false;
      recent_.pop_back();
      evicted_++;
    }
  }
}

void OpenFileCache::Remove(const std::shared_ptr<OpenSegmentFile>& file) {
  std::shared_ptr<OpenSegmentFile> closing;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!file->cached) return;
  closing = std::move(*file->position);
  recent_.erase(file->position);
  file->cached = false;
}

// ---- SegmentFile ----------------------------------------------------------------------

Status SegmentFile::Open(std::shared_ptr<OpenSegmentFile>* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (pinned_) {
    *out = pinned_;
    return Status::Ok();
  }
  if (std::shared_ptr<OpenSegmentFile> open = open_.lock()) {
    OpenFileCache::Instance().Touch(open, false);
    *out = std::move(open);
    return Status::Ok();
  }
  if (retired_) return Status::Make(kKafkaStorageError, "SEGMENT_RETIRED", path + " was deleted or replaced");
  auto open = std::make_shared<OpenSegmentFile>();
  SPATE_RETURN_IF_ERROR(OpenFile(path, O_RDWR, &open->fd));
  open_ = open;
  OpenFileCache::Instance().Touch(open, true);
  *out = std::move(open);
  return Status::Ok();
}

Status SegmentFile::Pin(bool create) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (retired_) return Status::Make(kKafkaStorageError, "SEGMENT_RETIRED", path + " was deleted or replaced");
  if (pinned_ && !create) return Status::Ok();
  std::shared_ptr<OpenSegmentFile> open = create ? nullptr : open_.lock();
  if (open) {
    OpenFileCache::Instance().Remove(open);
  } else {
    open = std::make_shared<OpenSegmentFile>();
    SPATE_RETURN_IF_ERROR(OpenFile(path, create ? (O_RDWR | O_CREAT | O_TRUNC) : O_RDWR, &open->fd));
  }
  pinned_ = open;
  open_ = open;
  return Status::Ok();
}

void SegmentFile::Unpin() {
  std::shared_ptr<OpenSegmentFile> open;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!pinned_) return;
  open = std::move(pinned_);
  OpenFileCache::Instance().Touch(open, false);
}

void SegmentFile::Adopt(UniqueFd fd, bool pin) {
  auto open = std::make_shared<OpenSegmentFile>();
  open->fd = std::move(fd);
  std::lock_guard<std::mutex> lock(mutex_);
  open_ = open;
  if (pin)
    pinned_ = open;
  else
    OpenFileCache::Instance().Touch(open, true);
}

void SegmentFile::Retire() {
  std::shared_ptr<OpenSegmentFile> open;  // released after the mutex
  std::lock_guard<std::mutex> lock(mutex_);
  retired_ = true;
  open = pinned_ ? std::move(pinned_) : open_.lock();
  open_.reset();
  if (open) OpenFileCache::Instance().Remove(open);
}

bool SegmentFile::InUse(const std::shared_ptr<SegmentFile>& self) {
  if (self.use_count() > 1) return true;  // a reader, a slice or a background flush holds it
  std::shared_ptr<OpenSegmentFile> open;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    open = pinned_ ? pinned_ : open_.lock();
  }
  long cached_mappings = 0;
  if (open) {
    std::lock_guard<std::mutex> lock(open->mapping_mutex);
    if (open->mapping && open->mapping.use_count() > 1) return true;  // a Buffer over the current mapping
    cached_mappings = open->mapping ? 1 : 0;
  }
  // Token copies beyond our own and the current mapping's: older mappings a Buffer keeps
  // (grown past, or dropped by the cache).
  return mapping_token_.use_count() > 1 + cached_mappings;
}

Status SegmentFile::MappingCovering(OpenSegmentFile& open, uint64_t end, uint64_t hint, std::shared_ptr<MappedRegion>* out) {
  std::lock_guard<std::mutex> lock(open.mapping_mutex);
  if (!open.mapping || open.mapping->length < end) {
    // Mapping past EOF is allowed; only touching such pages faults, and readers never go
    // beyond the size they saw. An active segment maps segment.bytes once, so later reads
    // of its growing tail reuse the same mapping.
    std::shared_ptr<MappedRegion> region;
    SPATE_RETURN_IF_ERROR(MapFile(open.fd.get(), RoundUpToPage(std::max(end, hint)), false, path, &region));
    region->keep = mapping_token_;
    open.mapping = std::move(region);
  }
  *out = open.mapping;
  return Status::Ok();
}

}  // namespace spate
