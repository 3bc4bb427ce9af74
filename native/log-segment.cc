#include "log-segment.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <string>

#include "byte-order.h"
#include "crc32c.h"

namespace spate {
namespace {

constexpr size_t kRecoveryWindow = 1 << 20;

// Sequential reader for recovery: a 1 MiB window refilled with pread.
class WindowReader {
 public:
  WindowReader(const OpenSegmentFile& open, const std::string& path, uint64_t file_size)
      : fd_(open.fd.get()), path_(path), file_size_(file_size),
        window_(static_cast<size_t>(std::max<uint64_t>(kBatchHeaderSize, std::min<uint64_t>(kRecoveryWindow, file_size)))) {}

  size_t capacity() const { return window_.size(); }

  // Points *out at `length` bytes at `position` (length <= capacity()), or nullptr if the
  // file ends first.
  Status Get(uint64_t position, size_t length, const uint8_t** out) {
    *out = nullptr;
    if (position >= start_ && position + length <= start_ + length_) {
      *out = window_.data() + (position - start_);
      return Status::Ok();
    }
    size_t want = static_cast<size_t>(std::min<uint64_t>(window_.size(), file_size_ - position));
    size_t got = 0;
    start_ = position;
    length_ = 0;
    SPATE_RETURN_IF_ERROR(PreadFully(fd_, window_.data(), want, position, &got, path_));
    length_ = got;
    if (got >= length) *out = window_.data();
    return Status::Ok();
  }

  // CRC-32C of [position, position + length) read through the window in chunks.
  Status Crc(uint64_t position, uint64_t length, uint32_t* crc, bool* complete) {
    *crc = 0;
    *complete = false;
    while (length > 0) {
      size_t chunk = static_cast<size_t>(std::min<uint64_t>(length, window_.size()));
      const uint8_t* p = nullptr;
      SPATE_RETURN_IF_ERROR(Get(position, chunk, &p));
      if (p == nullptr) return Status::Ok();
      *crc = Crc32c(*crc, p, chunk);
      position += chunk;
      length -= chunk;
    }
    *complete = true;
    return Status::Ok();
  }

 private:
  int fd_;
  const std::string& path_;
  uint64_t file_size_;
  std::vector<uint8_t> window_;
  uint64_t start_ = 0;
  size_t length_ = 0;
};

Status CopyPrefix(int from, int to, uint64_t length, const std::string& path) {
  loff_t in = 0, out = 0;
  while (static_cast<uint64_t>(in) < length) {
    ssize_t n = ::copy_file_range(from, &in, to, &out, length - in, 0);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return Status::Storage("copy " + path, EIO);
    if (errno != EXDEV && errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)
      return Status::Storage("copy " + path, errno);
    // No copy_file_range here: copy through a buffer.
    std::vector<uint8_t> buffer(1 << 20);
    while (static_cast<uint64_t>(in) < length) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(buffer.size(), length - in));
      size_t got = 0;
      SPATE_RETURN_IF_ERROR(PreadFully(from, buffer.data(), want, in, &got, path));
      if (got == 0) return Status::Storage("copy " + path, EIO);
      SPATE_RETURN_IF_ERROR(PwriteFully(to, buffer.data(), got, out, path));
      in += got;
      out += got;
    }
  }
  return Status::Ok();
}

}  // namespace

Status BatchScanner::Next(bool* found, uint64_t* position, BatchHeader* header) {
  *found = false;
  if (position_ >= end_) return Status::Ok();
  uint64_t remaining = end_ - position_;
  if (position_ < buffer_start_ || position_ + kBatchHeaderSize > buffer_start_ + buffer_length_) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buffer_, remaining));
    size_t got = 0;
    buffer_length_ = 0;
    SPATE_RETURN_IF_ERROR(PreadFully(fd_, buffer_, want, position_, &got, path_));
    buffer_start_ = position_;
    buffer_length_ = got;
  }
  const uint8_t* p = buffer_ + (position_ - buffer_start_);
  size_t buffered = static_cast<size_t>(buffer_start_ + buffer_length_ - position_);
  Status s = CheckBatchFraming(p, buffered < kBatchHeaderSize ? buffered : static_cast<size_t>(remaining));
  if (!s.ok()) {
    s.message = path_ + " at position " + std::to_string(position_) + ": " + s.message;
    return s;
  }
  *header = ParseBatchHeader(p);
  *position = position_;
  *found = true;
  position_ += header->size();
  return Status::Ok();
}

LogSegment::LogSegment(const std::string& dir, int64_t base_offset, const LogConfig& config,
                       std::string suffix)
    : dir_(dir),
      base_offset_(base_offset),
      config_(config),
      offset_index_(base_offset),
      time_index_(base_offset),
      next_offset_(base_offset),
      offset_of_max_timestamp_(base_offset),
      suffix_(std::move(suffix)) {}

std::vector<std::string> LogSegment::FilePaths(const std::string& dir, int64_t base_offset,
                                               const std::string& suffix) {
  return {JoinPath(dir, SegmentFileName(base_offset, ".log") + suffix),
          JoinPath(dir, SegmentFileName(base_offset, ".index") + suffix),
          JoinPath(dir, SegmentFileName(base_offset, ".timeindex") + suffix)};
}

Status LogSegment::OpenFiles(bool create, bool* indexes_found) {
  std::vector<std::string> paths = FilePaths(dir_, base_offset_, suffix_);
  file_ = std::make_shared<SegmentFile>(paths[0]);
  const std::string& offset_path = paths[1];
  const std::string& time_path = paths[2];
  if (create) {
    SPATE_RETURN_IF_ERROR(RemoveFile(offset_path));
    SPATE_RETURN_IF_ERROR(RemoveFile(time_path));
  }
  if (indexes_found != nullptr)
    *indexes_found = ::access(offset_path.c_str(), F_OK) == 0 && ::access(time_path.c_str(), F_OK) == 0;
  // A new segment is the active one: its .log stays open. An existing one is only looked
  // at (its size); the descriptor is opened when something reads or recovers it.
  if (create)
    SPATE_RETURN_IF_ERROR(file_->Pin(true));
  else
    SPATE_RETURN_IF_ERROR(PathSize(file_->path, &size_));
  SPATE_RETURN_IF_ERROR(offset_index_.file().Open(offset_path));
  return time_index_.file().Open(time_path);
}

Status LogSegment::Create(const std::string& dir, int64_t base_offset, const LogConfig& config,
                          std::unique_ptr<LogSegment>* out) {
  std::unique_ptr<LogSegment> segment(new LogSegment(dir, base_offset, config));
  SPATE_RETURN_IF_ERROR(segment->OpenFiles(true, nullptr));
  *out = std::move(segment);
  return Status::Ok();
}

Status LogSegment::Load(const std::string& dir, int64_t base_offset, const LogConfig& config,
                        std::unique_ptr<LogSegment>* out, bool* indexes_found) {
  std::unique_ptr<LogSegment> segment(new LogSegment(dir, base_offset, config));
  SPATE_RETURN_IF_ERROR(segment->OpenFiles(false, indexes_found));
  *out = std::move(segment);
  return Status::Ok();
}

Status LogSegment::LoadWithSuffix(const std::string& dir, int64_t base_offset,
                                  const LogConfig& config, const std::string& suffix,
                                  std::unique_ptr<LogSegment>* out) {
  std::unique_ptr<LogSegment> segment(new LogSegment(dir, base_offset, config, suffix));
  SPATE_RETURN_IF_ERROR(segment->OpenFiles(false, nullptr));
  *out = std::move(segment);
  return Status::Ok();
}

Status LogSegment::RenameFiles(const std::string& suffix) {
  std::vector<std::string> from = FilePaths(dir_, base_offset_, suffix_);
  std::vector<std::string> to = FilePaths(dir_, base_offset_, suffix);
  // The .log first: once it has its new name the segment's data is in place, and a crash
  // before the indexes follow only costs an index rebuild (see SegmentLog::Load).
  for (size_t i = 0; i < from.size(); i++) {
    if (::rename(from[i].c_str(), to[i].c_str()) == 0) continue;
    // An empty segment may have no index files (they come with the first entry): then no
    // older index of that name may stay behind either.
    if (errno == ENOENT && i > 0) {
      SPATE_RETURN_IF_ERROR(RemoveFile(to[i]));
      continue;
    }
    return Status::Storage("rename " + from[i] + " to " + to[i], errno);
  }
  file_->path = to[0];
  offset_index_.file().set_path(to[1]);
  time_index_.file().set_path(to[2]);
  suffix_ = suffix;
  return FsyncDirectory(dir_);
}

int64_t LogSegment::FirstBatchTimestamp() {
  if (size_ == 0) return -1;
  if (first_batch_timestamp_ == kUnknownTimestamp) {
    uint8_t header[kBatchHeaderSize];
    size_t got = 0;
    std::shared_ptr<OpenSegmentFile> open;
    if (!OpenLog(&open).ok() || !PreadFully(open->fd.get(), header, sizeof header, 0, &got, file_->path).ok() ||
        got != sizeof header)
      return -1;
    first_batch_timestamp_ = ParseBatchHeader(header).max_timestamp;
  }
  return first_batch_timestamp_;
}

bool LogSegment::ShouldRoll(uint64_t bytes, int64_t last_offset, int64_t now_ms) const {
  if (size_ == 0) return false;
  return size_ + bytes > static_cast<uint64_t>(config_.segment_bytes) ||
         (roll_base_ms_ >= 0 && now_ms - roll_base_ms_ > config_.segment_ms) || (indexes_expanded_ && IndexesFull()) ||
         last_offset - base_offset_ > INT32_MAX;
}

void LogSegment::IndexBatch(uint64_t position, size_t batch_size, int64_t last_offset,
                            int64_t max_timestamp) {
  if (max_timestamp > max_timestamp_) {
    max_timestamp_ = max_timestamp;
    offset_of_max_timestamp_ = last_offset;
  }
  // Kafka's LogSegment.append: an entry once more than index.interval.bytes went by.
  if (bytes_since_last_index_entry_ > static_cast<uint64_t>(config_.index_interval_bytes)) {
    offset_index_.Append(last_offset, static_cast<uint32_t>(position));
    time_index_.MaybeAppend(max_timestamp_, offset_of_max_timestamp_);
    bytes_since_last_index_entry_ = 0;
  }
  bytes_since_last_index_entry_ += batch_size;
}

Status LogSegment::Append(const uint8_t* data, size_t length, int64_t now_ms) {
  SPATE_RETURN_IF_ERROR(PrepareAppend());
  const uint64_t start = size_;
  std::shared_ptr<OpenSegmentFile> open;  // the active segment's pinned descriptor
  SPATE_RETURN_IF_ERROR(OpenLog(&open));
  Status s = PwriteFully(open->fd.get(), data, length, start, file_->path);
  if (!s.ok()) {
    // Never leave part of a batch visible: cut back to where this append began.
    Truncate(open->fd.get(), start, file_->path);
    return s;
  }
  if (roll_base_ms_ < 0) roll_base_ms_ = now_ms;
  for (size_t position = 0; position < length;) {
    BatchHeader h = ParseBatchHeader(data + position);
    IndexBatch(start + position, h.size(), h.last_offset(), h.max_timestamp);
    next_offset_ = h.last_offset() + 1;
    position += h.size();
  }
  size_ += length;
  file_->MarkVerified(start, size_);
  dirty_ = true;
  return Status::Ok();
}

void LogSegment::ResetIndexState() {
  offset_index_.file().TruncateEntries(0);
  time_index_.file().TruncateEntries(0);
  max_timestamp_ = -1;
  offset_of_max_timestamp_ = base_offset_;
  bytes_since_last_index_entry_ = 0;
  next_offset_ = base_offset_;
}

Status LogSegment::Recover(RecoveryResult* result) {
  SPATE_RETURN_IF_ERROR(MakeActive());
  std::shared_ptr<OpenSegmentFile> open;
  SPATE_RETURN_IF_ERROR(OpenLog(&open));
  uint64_t file_size = 0;
  SPATE_RETURN_IF_ERROR(FileSize(open->fd.get(), &file_size, file_->path));
  // An empty segment (an idle partition's, after a crash) has nothing to scan and needs no
  // index room: the first append preallocates it.
  if (file_size > 0) SPATE_RETURN_IF_ERROR(ExpandIndexes());
  ResetIndexState();
  WindowReader reader(*open, file_->path, file_size);
  uint64_t position = 0;
  size_t batches = 0;
  int64_t first_batch_timestamp = -1;
  std::string reason;
  while (position < file_size) {
    uint64_t remaining = file_size - position;
    const uint8_t* p = nullptr;
    result->dropped_base_offset = result->dropped_last_offset = -1;
    if (remaining < kBatchHeaderSize) {
      reason = "an incomplete batch header of " + std::to_string(remaining) + " bytes at the end";
      result->torn_tail = true;
      break;
    }
    SPATE_RETURN_IF_ERROR(reader.Get(position, kBatchHeaderSize, &p));
    if (p == nullptr) {
      reason = "a short read";
      break;
    }
    Status framing = CheckBatchFraming(p, static_cast<size_t>(remaining));
    if (!framing.ok()) {
      reason = "a malformed batch header (" + framing.message + ")";
      // A length running past the end of the file is the torn tail of an interrupted write.
      int32_t length = static_cast<int32_t>(ReadBe32(p + 8));
      result->torn_tail = length > 0 && static_cast<uint64_t>(length) + 12 > remaining;
      if (result->torn_tail) reason = "an incomplete batch at the end (" + framing.message + ")";
      break;
    }
    BatchHeader h = ParseBatchHeader(p);
    result->dropped_base_offset = h.base_offset;
    result->dropped_last_offset = h.last_offset();
    if (h.base_offset < next_offset_) {
      reason = "a batch at offset " + std::to_string(h.base_offset) + " below the previous batch's end " +
               std::to_string(next_offset_);
      break;
    }
    Status fields = ValidateBatchFields(h, ValidationMode::kRecovery);
    if (!fields.ok()) {
      reason = "an invalid batch (" + fields.message + ")";
      break;
    }
    if (h.last_offset() - base_offset_ > INT32_MAX) {
      reason = "a batch whose offsets do not fit the segment";
      break;
    }
    uint32_t crc = 0;
    bool complete = false;
    SPATE_RETURN_IF_ERROR(reader.Crc(position + kAttributesOffset, h.size() - kAttributesOffset, &crc, &complete));
    if (!complete) {
      reason = "an incomplete batch at the end";
      result->torn_tail = true;
      break;
    }
    if (crc != h.crc) {
      reason = "a CRC mismatch (stored " + std::to_string(h.crc) + ", computed " + std::to_string(crc) + ")";
      break;
    }
    IndexBatch(position, h.size(), h.last_offset(), h.max_timestamp);
    if (batches == 0) first_batch_timestamp = h.max_timestamp;
    next_offset_ = h.last_offset() + 1;
    position += h.size();
    batches++;
  }
  if (position >= file_size) result->dropped_base_offset = result->dropped_last_offset = -1;
  result->truncated_bytes = file_size - position;
  result->truncated_at = position;
  result->stop_reason = position < file_size ? reason : "";
  if (position < file_size) SPATE_RETURN_IF_ERROR(Truncate(open->fd.get(), position, file_->path));
  size_ = position;
  file_->verified_end.store(position);
  roll_base_ms_ = batches > 0 ? first_batch_timestamp : -1;
  result->next_offset = next_offset_;
  result->batches = batches;
  dirty_ = true;
  return Status::Ok();
}

Status LogSegment::LoadCleanState() {
  TimestampOffset last_time = time_index_.LastEntry();
  max_timestamp_ = last_time.timestamp;
  offset_of_max_timestamp_ = last_time.offset;
  next_offset_ = base_offset_;
  std::shared_ptr<OpenSegmentFile> open;
  SPATE_RETURN_IF_ERROR(OpenLog(&open));
  BatchScanner scanner(*open, file_->path, offset_index_.LastEntry().position, size_);
  for (;;) {
    bool found = false;
    uint64_t position = 0;
    BatchHeader h;
    SPATE_RETURN_IF_ERROR(scanner.Next(&found, &position, &h));
    if (!found) break;
    if (h.max_timestamp > max_timestamp_) {
      max_timestamp_ = h.max_timestamp;
      offset_of_max_timestamp_ = h.last_offset();
    }
    next_offset_ = h.last_offset() + 1;
  }
  bytes_since_last_index_entry_ = 0;
  return Status::Ok();
}

bool LogSegment::IndexesSane() const {
  return offset_index_.Sane(size_) && time_index_.Sane();
}

Status LogSegment::MakeActive() { return file_->Pin(); }

Status LogSegment::ExpandIndexes() {
  if (indexes_expanded_) return Status::Ok();
  SPATE_RETURN_IF_ERROR(offset_index_.file().Resize(static_cast<size_t>(config_.segment_index_bytes)));
  SPATE_RETURN_IF_ERROR(time_index_.file().Resize(static_cast<size_t>(config_.segment_index_bytes)));
  indexes_expanded_ = true;
  return Status::Ok();
}

Status LogSegment::PrepareAppend() {
  SPATE_RETURN_IF_ERROR(file_->Pin());  // no-op once open
  SPATE_RETURN_IF_ERROR(ExpandIndexes());
  if (size_ >= kBatchHeaderSize && roll_base_ms_ < 0) {
    // Kafka rolls by the first batch's timestamp after a restart.
    uint8_t header[kBatchHeaderSize];
    size_t got = 0;
    std::shared_ptr<OpenSegmentFile> open;
    SPATE_RETURN_IF_ERROR(OpenLog(&open));
    SPATE_RETURN_IF_ERROR(PreadFully(open->fd.get(), header, sizeof header, 0, &got, file_->path));
    if (got == sizeof header) roll_base_ms_ = ParseBatchHeader(header).max_timestamp;
  }
  return Status::Ok();
}

Status LogSegment::MakeInactive() {
  time_index_.MaybeAppend(max_timestamp_, offset_of_max_timestamp_, true);
  SPATE_RETURN_IF_ERROR(offset_index_.file().Trim());
  SPATE_RETURN_IF_ERROR(time_index_.file().Trim());
  indexes_expanded_ = false;
  file_->Unpin();
  return Status::Ok();
}

Status LogSegment::SwapInTruncatedCopy(const OpenSegmentFile& open, uint64_t length, bool active) {
  std::string temp_path = file_->path + ".truncating";
  UniqueFd fd;
  SPATE_RETURN_IF_ERROR(OpenFile(temp_path, O_RDWR | O_CREAT | O_TRUNC, &fd));
  SPATE_RETURN_IF_ERROR(CopyPrefix(open.fd.get(), fd.get(), length, file_->path));
  if (::rename(temp_path.c_str(), file_->path.c_str()) != 0)
    return Status::Storage("rename " + temp_path, errno);
  SPATE_RETURN_IF_ERROR(FsyncDirectory(dir_));
  auto copy = std::make_shared<SegmentFile>(file_->path);
  copy->Adopt(std::move(fd), active);
  copy->verified_end.store(std::min<uint64_t>(file_->verified_end.load(), length));
  file_->Retire();  // readers keep the old inode, unchanged
  file_ = std::move(copy);
  return Status::Ok();
}

Status LogSegment::TruncateTo(int64_t offset) {
  std::shared_ptr<OpenSegmentFile> open;
  SPATE_RETURN_IF_ERROR(OpenLog(&open));
  BatchScanner scanner(*open, file_->path, offset_index_.Lookup(offset).position, size_);
  uint64_t cut = size_;
  for (;;) {
    bool found = false;
    uint64_t position = 0;
    BatchHeader h;
    SPATE_RETURN_IF_ERROR(scanner.Next(&found, &position, &h));
    if (!found) break;
    if (h.last_offset() >= offset) {
      cut = position;
      break;
    }
  }
  if (cut < size_) {
    // Our own lease is not a reader: InUse counts the SegmentFile's owners and mappings.
    if (file_->InUse(file_)) {
      SPATE_RETURN_IF_ERROR(SwapInTruncatedCopy(*open, cut, true));
      SPATE_RETURN_IF_ERROR(OpenLog(&open));
    } else {
      SPATE_RETURN_IF_ERROR(Truncate(open->fd.get(), cut, file_->path));
    }
    size_ = cut;
    if (file_->verified_end.load() > cut) file_->verified_end.store(cut);
  }
  offset_index_.TruncateTo(offset);
  time_index_.TruncateTo(offset);
  // Rebuild the tail state from the last index entries and the batches after them.
  TimestampOffset last_time = time_index_.LastEntry();
  uint64_t rescan_from = std::min(offset_index_.LastEntry().position,
                                  offset_index_.Lookup(last_time.offset).position);
  max_timestamp_ = last_time.timestamp;
  offset_of_max_timestamp_ = last_time.offset;
  next_offset_ = base_offset_;
  BatchScanner rescan(*open, file_->path, rescan_from, size_);
  for (;;) {
    bool found = false;
    uint64_t position = 0;
    BatchHeader h;
    SPATE_RETURN_IF_ERROR(rescan.Next(&found, &position, &h));
    if (!found) break;
    if (h.max_timestamp > max_timestamp_) {
      max_timestamp_ = h.max_timestamp;
      offset_of_max_timestamp_ = h.last_offset();
    }
    next_offset_ = h.last_offset() + 1;
  }
  bytes_since_last_index_entry_ = 0;
  if (size_ == 0) roll_base_ms_ = -1;
  first_batch_timestamp_ = kUnknownTimestamp;
  dirty_ = true;
  return Status::Ok();
}

Status LogSegment::Flush() {
  if (!dirty_) return Status::Ok();
  std::shared_ptr<OpenSegmentFile> open;
  SPATE_RETURN_IF_ERROR(OpenLog(&open));
  SPATE_RETURN_IF_ERROR(DataSync(open->fd.get(), file_->path));
  SPATE_RETURN_IF_ERROR(offset_index_.file().Flush());
  SPATE_RETURN_IF_ERROR(time_index_.file().Flush());
  dirty_ = false;
  return Status::Ok();
}

std::vector<std::string> LogSegment::IndexPaths() const {
  return {offset_index_.file().path(), time_index_.file().path()};
}

void LogSegment::Close() {
  offset_index_.file().Close();
  time_index_.file().Close();
  if (file_) file_->Retire();
}

Status LogSegment::Delete() {
  std::string log_path = file_->path;
  std::vector<std::string> index_paths = IndexPaths();
  Close();
  SPATE_RETURN_IF_ERROR(RemoveFile(log_path));
  for (const auto& path : index_paths) SPATE_RETURN_IF_ERROR(RemoveFile(path));
  return Status::Ok();
}

}  // namespace spate
