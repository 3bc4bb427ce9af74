#include "segment-log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdlib>
#include <limits>
#include <thread>
#include <unordered_set>

#include "byte-order.h"

namespace spate {
namespace {

bool EndsWith(const std::string& s, const char* suffix) {
  size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// "00000000000000000042.log" -> 42 for the given suffix; false for any other name.
bool ParseSegmentName(const std::string& name, const char* suffix, int64_t* base) {
  if (!EndsWith(name, suffix) || name.size() != 20 + std::char_traits<char>::length(suffix))
    return false;
  int64_t value = 0;
  for (size_t i = 0; i < 20; i++) {
    if (name[i] < '0' || name[i] > '9') return false;
    value = value * 10 + (name[i] - '0');
  }
  *base = value;
  return true;
}

Status ReadOffsetFile(const std::string& path, int64_t* value, bool* exists) {
  std::string content;
  SPATE_RETURN_IF_ERROR(ReadSmallFile(path, &content, exists));
  if (!*exists) return Status::Ok();
  char* end = nullptr;
  long long parsed = std::strtoll(content.c_str(), &end, 10);
  if (end == content.c_str()) {
    *exists = false;  // unreadable: treat as absent (both files are only hints)
    return Status::Ok();
  }
  *value = parsed;
  return Status::Ok();
}

bool FileExists(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

// The partition directories open in this process. A directory is opened by one SegmentLog
// at a time; the broker's log dir carries Kafka's `.lock` against other processes, so a
// partition needs no descriptor of its own for locking.
std::mutex open_directories_mutex;
std::unordered_set<std::string>& OpenDirectories() {
  static auto* directories = new std::unordered_set<std::string>();
  return *directories;
}

}  // namespace

// ---- RecoveryPoint -----------------------------------------------------------------

int64_t RecoveryPoint::value() {
  std::lock_guard<std::mutex> lock(mutex_);
  return value_;
}

void RecoveryPoint::Set(int64_t to) {
  std::lock_guard<std::mutex> lock(mutex_);
  generation_++;
  first_ticket_of_generation_ = next_ticket_;
  value_ = to;
}

void RecoveryPoint::Lower(int64_t to) {
  std::lock_guard<std::mutex> lock(mutex_);
  generation_++;
  first_ticket_of_generation_ = next_ticket_;
  if (to < value_) value_ = to;
}

void RecoveryPoint::Advance(int64_t to) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!flush_failed_ && completed_tickets_ == next_ticket_ && to > value_) value_ = to;
}

uint64_t RecoveryPoint::BeginFlush() {
  std::lock_guard<std::mutex> lock(mutex_);
  return next_ticket_++;
}

void RecoveryPoint::Complete(uint64_t ticket, int64_t to, bool flushed) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return completed_tickets_ == ticket; });
  if (!flushed) flush_failed_ = true;  // never claim durability past a failed flush
  if (!flush_failed_ && ticket >= first_ticket_of_generation_ && to > value_) value_ = to;
  completed_tickets_++;
  changed_.notify_all();
}

void RecoveryPoint::WaitForFlushes() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return completed_tickets_ == next_ticket_; });
}

// ---- SegmentLog: open and recovery -------------------------------------------------

SegmentLog::SegmentLog(std::string dir, const LogConfig& config)
    : dir_(std::move(dir)), config_(config) {}

SegmentLog::~SegmentLog() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!closed_) CloseLocked(false);
}

Status SegmentLog::Open(const std::string& dir, const LogConfig& config, const LoadHints& hints,
                        std::shared_ptr<SegmentLog>* out) {
  std::shared_ptr<SegmentLog> log(new SegmentLog(dir, config));
  Status s = log->Load(hints);
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(log->mutex_);
    log->CloseLocked(false);
    return s;
  }
  *out = std::move(log);
  return Status::Ok();
}

Status SegmentLog::LockDirectory() {
  std::lock_guard<std::mutex> lock(open_directories_mutex);
  if (!OpenDirectories().insert(dir_).second)
    return Status::Make(kKafkaStorageError, "LOG_DIR_LOCKED", dir_ + " is already open by another SegmentLog", EWOULDBLOCK);
  directory_locked_ = true;
  return Status::Ok();
}

void SegmentLog::UnlockDirectory() {
  if (!directory_locked_) return;
  std::lock_guard<std::mutex> lock(open_directories_mutex);
  OpenDirectories().erase(dir_);
  directory_locked_ = false;
}

Status SegmentLog::Load(const LoadHints& given) {
  SPATE_RETURN_IF_ERROR(MakeDirectories(dir_));
  SPATE_RETURN_IF_ERROR(LockDirectory());
  LoadHints hints = given;
  bool legacy_clean = false, legacy_recovery_point = false, has_start_offset_file = false;

  std::vector<int64_t> bases;
  std::vector<std::string> index_names;
  std::vector<std::string> swap_names;
  DIR* listing = ::opendir(dir_.c_str());
  if (listing == nullptr) return Status::Storage("opendir " + dir_, errno);
  while (struct dirent* entry = ::readdir(listing)) {
    std::string name = entry->d_name;
    int64_t base;
    if (EndsWith(name, kSwapSuffix)) {
      swap_names.push_back(name);
    } else if (name == kLegacyCleanShutdownFile) {
      legacy_clean = true;
    } else if (name == kLegacyRecoveryPointFile) {
      legacy_recovery_point = true;
    } else if (name == kLogStartOffsetFile) {
      has_start_offset_file = true;
    } else if (name == "partition.metadata") {
      load_info_.has_partition_metadata = true;
    } else if (EndsWith(name, ".snapshot")) {
      load_info_.snapshots.push_back(name);
    } else if (EndsWith(name, ".tmp") || EndsWith(name, ".truncating") ||
               EndsWith(name, kCleanedSuffix) || EndsWith(name, ".deleted")) {
      RemoveFile(JoinPath(dir_, name));  // an interrupted atomic write or truncation
    } else if (ParseSegmentName(name, ".log", &base)) {
      bases.push_back(base);
    } else if (ParseSegmentName(name, ".index", &base) || ParseSegmentName(name, ".timeindex", &base)) {
      index_names.push_back(name);
    }
  }
  ::closedir(listing);
  if (!swap_names.empty()) {
    SPATE_RETURN_IF_ERROR(CompleteInterruptedSwaps(swap_names));
    for (const auto& name : swap_names) {
      int64_t base = 0;
      std::string real = name.substr(0, name.size() - std::char_traits<char>::length(kSwapSuffix));
      if (ParseSegmentName(real, ".log", &base) &&
          std::find(bases.begin(), bases.end(), base) == bases.end())
        bases.push_back(base);
    }
    index_names.erase(std::remove_if(index_names.begin(), index_names.end(),
                                     [&](const std::string& name) { return !FileExists(JoinPath(dir_, name)); }),
                      index_names.end());
  }
  std::sort(bases.begin(), bases.end());
  for (const auto& name : index_names) {  // an index without its .log is an orphan
    int64_t base = 0;
    if (!ParseSegmentName(name, ".index", &base)) ParseSegmentName(name, ".timeindex", &base);
    if (!std::binary_search(bases.begin(), bases.end(), base)) {
      SPATE_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, name)));
      if (EndsWith(name, ".index")) {
        Repair repair;
        repair.file = JoinPath(dir_, SegmentFileName(base, ".log"));
        repair.action = "missing";
        repair.reason = "the segment file is gone but its index " + name +
                        " was there (removed); the records from offset " + std::to_string(base) +
                        " that it held are lost";
        repair.start_offset = base;
        repairs_.push_back(std::move(repair));
      }
    }
  }

  // A directory last closed by an older Spate carries its own marker and recovery point.
  if (legacy_recovery_point && !hints.has_recovery_point) {
    int64_t value = 0;
    bool exists = false;
    SPATE_RETURN_IF_ERROR(ReadOffsetFile(JoinPath(dir_, kLegacyRecoveryPointFile), &value, &exists));
    hints.has_recovery_point = exists;
    hints.recovery_point = value;
  }
  if (legacy_clean) hints.clean_shutdown = true;
  if (legacy_clean) SPATE_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, kLegacyCleanShutdownFile)));
  if (legacy_recovery_point) SPATE_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, kLegacyRecoveryPointFile)));
  const bool clean = hints.clean_shutdown;
  const int64_t recovery_point = hints.recovery_point;

  int64_t persisted_start = -1;
  bool exists = false;
  if (has_start_offset_file) SPATE_RETURN_IF_ERROR(ReadOffsetFile(JoinPath(dir_, kLogStartOffsetFile), &persisted_start, &exists));
  if (!exists) persisted_start = -1;
  if (load_info_.has_partition_metadata) {
    SPATE_RETURN_IF_ERROR(ReadSmallFile(JoinPath(dir_, "partition.metadata"), &load_info_.partition_metadata,
                                        &load_info_.has_partition_metadata));
  }
  // Both index files of each segment, as the listing found them (no access() per file).
  std::vector<int64_t> offset_indexes, time_indexes;
  for (const auto& name : index_names) {
    int64_t base = 0;
    if (ParseSegmentName(name, ".index", &base)) offset_indexes.push_back(base);
    if (ParseSegmentName(name, ".timeindex", &base)) time_indexes.push_back(base);
  }
  std::sort(offset_indexes.begin(), offset_indexes.end());
  std::sort(time_indexes.begin(), time_indexes.end());

  bool recovered_any = false;
  for (size_t i = 0; i < bases.size(); i++) {
    std::unique_ptr<LogSegment> segment;
    const bool indexes_found = std::binary_search(offset_indexes.begin(), offset_indexes.end(), bases[i]) &&
                               std::binary_search(time_indexes.begin(), time_indexes.end(), bases[i]);
    SPATE_RETURN_IF_ERROR(LogSegment::Load(dir_, bases[i], config_, &segment, nullptr));
    // After a crash, every segment holding offsets at or above the recovery point (Kafka:
    // logSegments(recoveryPoint, ...)); the last one always, its tail is where writes stopped.
    const bool unflushed =
        !clean && (!hints.has_recovery_point || i + 1 == bases.size() || bases[i + 1] > recovery_point);
    // The active one, when it has bytes to read now; an empty one is opened by its first append.
    if (i + 1 == bases.size() && segment->size() > 0) SPATE_RETURN_IF_ERROR(segment->file()->Pin());
    const bool indexes_missing = !indexes_found && segment->size() > 0;
    // Checked only where the answer matters: a segment recovered after a crash gets new
    // indexes anyway, and its preallocated index would be read from its far end (10 MiB of
    // sparse file faulted in per partition).
    const bool indexes_insane = !indexes_missing && !unflushed && !segment->IndexesSane();
    bool recover = unflushed || indexes_missing || indexes_insane || config_.verify_on_open;
    bool clean_state_failed = false;
    if (!recover && !segment->LoadCleanState().ok()) recover = clean_state_failed = true;
    if (recover) {
      RecoveryResult result;
      SPATE_RETURN_IF_ERROR(segment->Recover(&result));
      recovered_any = true;
      // The internal topics' check at every open (verify_on_open) is not a recovery.
      if ((unflushed || indexes_missing || indexes_insane || clean_state_failed) && result.batches + result.truncated_bytes > 0)
        load_info_.recovered_segments++;
      const std::string log_path = segment->file()->path;
      if (result.truncated_bytes > 0) {
        Repair repair;
        repair.file = log_path;
        repair.action = "truncated";
        repair.position = result.truncated_at;
        repair.bytes = result.truncated_bytes;
        repair.start_offset = result.dropped_base_offset >= 0 ? result.dropped_base_offset : result.next_offset;
        repair.end_offset = result.dropped_base_offset >= 0 ? result.dropped_last_offset : -1;
        repair.reason = result.stop_reason + (result.torn_tail ? " (a write interrupted by the stop)" : " (damage inside the segment: every batch after it is dropped too)");
        repairs_.push_back(std::move(repair));
      } else if ((indexes_missing || indexes_insane || clean_state_failed) && !unflushed) {
        // An unflushed segment's index is rebuilt anyway: after a crash it is the
        // preallocated file, whose zeroed tail never matches; nothing to report.
        Repair repair;
        repair.file = JoinPath(dir_, SegmentFileName(bases[i], ".index"));
        repair.action = "index-rebuilt";
        repair.reason = indexes_missing ? "an index file was missing"
                        : indexes_insane ? "the index did not match the segment"
                                         : "the batches after the last index entry could not be read";
        repair.start_offset = bases[i];
        repair.end_offset = result.next_offset - 1;
        repairs_.push_back(std::move(repair));
      }
      if (i + 1 < bases.size() && result.truncated_bytes > 0) {
        // Kafka: everything after a corrupted segment is unflushed and gets deleted.
        for (size_t j = i + 1; j < bases.size(); j++) {
          std::unique_ptr<LogSegment> later;
          SPATE_RETURN_IF_ERROR(LogSegment::Load(dir_, bases[j], config_, &later, nullptr));
          Repair repair;
          repair.file = later->file()->path;
          repair.action = "deleted";
          repair.reason = "it follows the damaged segment " + log_path;
          repair.start_offset = bases[j];
          repair.bytes = later->size();
          repairs_.push_back(std::move(repair));
          SPATE_RETURN_IF_ERROR(later->Delete());
        }
        bases.resize(i + 1);
      }
      if (i + 1 < bases.size()) {
        SPATE_RETURN_IF_ERROR(segment->MakeInactive());
        SPATE_RETURN_IF_ERROR(segment->Flush());
      }
    }
    if (!config_.compacted && !segments_.empty() && segments_.back()->next_offset() < segment->base_offset() &&
        segments_.back()->next_offset() >= persisted_start) {
      // Offsets no segment holds: a segment file was removed from the middle of the log.
      Repair repair;
      repair.file = JoinPath(dir_, SegmentFileName(segments_.back()->next_offset(), ".log"));
      repair.action = "missing";
      repair.reason = "no segment holds these offsets (a segment file was removed)";
      repair.start_offset = segments_.back()->next_offset();
      repair.end_offset = segment->base_offset() - 1;
      repairs_.push_back(std::move(repair));
    }
    segments_.push_back(std::move(segment));
  }
  const bool created = segments_.empty();
  if (created) {
    std::unique_ptr<LogSegment> segment;
    SPATE_RETURN_IF_ERROR(LogSegment::Create(dir_, std::max<int64_t>(0, persisted_start), config_, &segment));
    segments_.push_back(std::move(segment));
  }
  // An idle partition's empty active segment holds no descriptor until its first append.
  if (segments_.back()->size() > 0) SPATE_RETURN_IF_ERROR(segments_.back()->MakeActive());

  log_end_offset_ = segments_.back()->next_offset();
  log_start_offset_ = std::min(std::max(segments_.front()->base_offset(), persisted_start), log_end_offset_);
  if (hints.has_recovery_point && recovery_point > log_end_offset_ && repairs_.empty()) {
    Repair repair;
    repair.file = dir_;
    repair.action = "missing";
    repair.reason = "the recovery point " + std::to_string(recovery_point) +
                    " (recovery-point-offset-checkpoint) is beyond the log end: data that was on disk is gone";
    repair.start_offset = log_end_offset_;
    repair.end_offset = recovery_point - 1;
    repairs_.push_back(std::move(repair));
  }
  for (const auto& segment : segments_) total_bytes_ += segment->size();
  RecomputeMaxTimestamp();
  // After a clean stop everything is on disk. Otherwise what was recovered is on disk up to
  // the active segment (the older recovered segments were flushed above); its tail is not.
  recovery_point_ = std::make_shared<RecoveryPoint>(clean && !recovered_any ? log_end_offset_ : segments_.back()->base_offset());
  (void)created;
  return Status::Ok();
}

std::vector<Repair> SegmentLog::TakeRepairs() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::move(repairs_);
}

LoadInfo SegmentLog::TakeLoadInfo() {
  std::lock_guard<std::mutex> lock(mutex_);
  return std::move(load_info_);
}

void SegmentLog::RecomputeMaxTimestamp() {
  max_timestamp_ = {-1, -1};
  for (const auto& segment : segments_) {
    if (segment->max_timestamp() > max_timestamp_.timestamp)
      max_timestamp_ = {segment->max_timestamp(), segment->offset_of_max_timestamp()};
  }
}

size_t SegmentLog::SegmentIndexFor(int64_t offset) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](int64_t value, const std::shared_ptr<LogSegment>& segment) {
                               return value < segment->base_offset();
                             });
  return it == segments_.begin() ? 0 : static_cast<size_t>(it - segments_.begin()) - 1;
}

// ---- append and roll ---------------------------------------------------------------

Status SegmentLog::Append(uint8_t* data, size_t length, size_t batch_count, int64_t now_ms,
                          AppendResult* out) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return Status::Closed();

  // The bytes were validated by validateBatches; re-walk the framing (cheap, no CRC) so
  // that a buffer changed since can never put a partial batch into the log.
  size_t batches = 0;
  int64_t offset_count = 0;
  for (size_t position = 0; position < length; batches++) {
    if (!CheckBatchFraming(data + position, length - position).ok())
      return Status::InvalidRecord("records do not match their BatchesInfo (batch " +
                                   std::to_string(batches) + ")");
    BatchHeader h = ParseBatchHeader(data + position);
    if (h.last_offset_delta < 0) return Status::InvalidRecord("negative lastOffsetDelta");
    offset_count += int64_t{h.last_offset_delta} + 1;
    position += h.size();
  }
  if (batches != batch_count || batches == 0)
    return Status::InvalidRecord("records hold " + std::to_string(batches) +
                                 " batches, BatchesInfo says " + std::to_string(batch_count));
  // Kafka's RecordBatchTooLargeException: one append must fit in one segment.
  if (length > static_cast<uint64_t>(config_.segment_bytes))
    return Status::Make(kRecordListTooLarge, "RECORD_LIST_TOO_LARGE",
                        "records of " + std::to_string(length) +
                            " bytes exceed segment.bytes " + std::to_string(config_.segment_bytes));

  const int64_t first_offset = log_end_offset_;
  const int64_t last_offset = first_offset + offset_count - 1;
  SPATE_RETURN_IF_ERROR(segments_.back()->PrepareAppend());
  if (segments_.back()->ShouldRoll(length, last_offset, now_ms)) SPATE_RETURN_IF_ERROR(Roll(now_ms));
  LogSegment& active = *segments_.back();
  if (last_offset - active.base_offset() > INT32_MAX)
    return Status::InvalidRecord("offset range of one append exceeds a segment");

  int64_t next = first_offset;
  for (size_t position = 0; position < length;) {
    WriteBe64(data + position, static_cast<uint64_t>(next));
    BatchHeader h = ParseBatchHeader(data + position);
    next += int64_t{h.last_offset_delta} + 1;
    position += h.size();
  }
  const uint64_t position = active.size();
  SPATE_RETURN_IF_ERROR(active.Append(data, length, now_ms));
  log_end_offset_ = last_offset + 1;
  total_bytes_ += length;
  if (active.max_timestamp() > max_timestamp_.timestamp)
    max_timestamp_ = {active.max_timestamp(), active.offset_of_max_timestamp()};

  // flush.messages / flush.ms, checked on append (Kafka checks flush.ms on a scheduler).
  unflushed_messages_ += offset_count;
  if (last_flush_ms_ < 0) last_flush_ms_ = now_ms;
  if (unflushed_messages_ >= config_.flush_messages ||
      (config_.flush_ms != std::numeric_limits<int64_t>::max() && now_ms - last_flush_ms_ >= config_.flush_ms)) {
    for (auto& segment : segments_) SPATE_RETURN_IF_ERROR(segment->Flush());
    unflushed_messages_ = 0;
    last_flush_ms_ = now_ms;
  }
  out->base_offset = first_offset;
  out->last_offset = last_offset;
  out->position = position;
  return Status::Ok();
}

Status SegmentLog::Roll(int64_t now_ms) {
  (void)now_ms;
  std::shared_ptr<LogSegment> previous = segments_.back();
  std::unique_ptr<LogSegment> next;
  SPATE_RETURN_IF_ERROR(LogSegment::Create(dir_, log_end_offset_, config_, &next));
  SPATE_RETURN_IF_ERROR(next->MakeActive());
  // Taken before MakeInactive hands the descriptor to the cache, so the flush below never
  // has to reopen it.
  std::shared_ptr<OpenSegmentFile> rolled;
  SPATE_RETURN_IF_ERROR(previous->file()->Open(&rolled));
  SPATE_RETURN_IF_ERROR(previous->MakeInactive());
  segments_.push_back(std::move(next));

  // Like Kafka, flush the rolled segment off the request path, then move the recovery
  // point past it so a crash never rescans it. The flush holds the descriptor it syncs.
  std::shared_ptr<SegmentFile> file = previous->file();
  std::vector<std::string> index_paths = previous->IndexPaths();
  std::shared_ptr<RecoveryPoint> recovery_point = recovery_point_;
  const int64_t new_point = log_end_offset_;
  const uint64_t ticket = recovery_point->BeginFlush();
  std::thread([file, rolled, index_paths, recovery_point, new_point, ticket] {
    bool flushed = DataSync(rolled->fd.get(), file->path).ok();
    for (const auto& path : index_paths) {
      int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) continue;  // deleted meanwhile
      if (::fsync(fd) != 0) flushed = false;
      ::close(fd);
    }
    recovery_point->Complete(ticket, new_point, flushed);
  }).detach();
  return Status::Ok();
}

// ---- flush, close, truncation, deletion --------------------------------------------

Status SegmentLog::Flush() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return Status::Closed();
  for (auto& segment : segments_) SPATE_RETURN_IF_ERROR(segment->Flush());
  unflushed_messages_ = 0;
  recovery_point_->Advance(log_end_offset_);
  return Status::Ok();
}

void SegmentLog::CloseLocked(bool clean) {
  if (recovery_point_) recovery_point_->WaitForFlushes();
  for (auto& segment : segments_) segment->Close();
  segments_.clear();
  UnlockDirectory();
  closed_ = true;
  (void)clean;
}

Status SegmentLog::Close(bool flush) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return Status::Ok();
  Status s = segments_.back()->MakeInactive();  // final time index entry, trimmed indexes
  for (auto& segment : segments_) {
    if (!s.ok() || !flush) break;
    s = segment->Flush();
  }
  if (recovery_point_) recovery_point_->WaitForFlushes();
  // Kafka's close: flushed up to the log end, which the checkpoint then records.
  if (s.ok() && flush) recovery_point_->Advance(log_end_offset_);
  CloseLocked(s.ok());
  return s;
}

Status SegmentLog::RollActive(int64_t now_ms, bool* rolled) {
  std::lock_guard<std::mutex> lock(mutex_);
  *rolled = false;
  if (closed_) return Status::Closed();
  if (segments_.back()->size() == 0) return Status::Ok();
  SPATE_RETURN_IF_ERROR(Roll(now_ms));
  *rolled = true;
  return Status::Ok();
}

Status SegmentLog::Reconfigure(const LogConfig& config) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return Status::Closed();
  config_ = config;
  for (auto& segment : segments_) segment->set_config(config);
  return Status::Ok();
}

std::vector<SegmentInfo> SegmentLog::Segments() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<SegmentInfo> out;
  if (closed_) return out;
  out.reserve(segments_.size());
  for (const auto& segment : segments_) {
    SegmentInfo info;
    info.base_offset = segment->base_offset();
    info.next_offset = segment->next_offset();
    info.size = segment->size();
    info.max_timestamp = segment->max_timestamp();
    info.first_batch_timestamp = segment->FirstBatchTimestamp();
    out.push_back(info);
  }
  return out;
}

Status SegmentLog::SetLogStartOffset(int64_t offset) {
  SPATE_RETURN_IF_ERROR(WriteFileAtomic(dir_, kLogStartOffsetFile, std::to_string(offset) + "\n"));
  log_start_offset_ = offset;
  return Status::Ok();
}

Status SegmentLog::TruncateTo(int64_t offset) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return Status::Closed();
  if (offset >= log_end_offset_) return Status::Ok();
  if (offset < log_start_offset_ || offset < 0) {
    // Kafka's truncateFullyAndStartAt.
    for (auto& segment : segments_) SPATE_RETURN_IF_ERROR(segment->Delete());
    segments_.clear();
    total_bytes_ = 0;
    std::unique_ptr<LogSegment> segment;
    int64_t start = std::max<int64_t>(0, offset);
    SPATE_RETURN_IF_ERROR(LogSegment::Create(dir_, start, config_, &segment));
    SPATE_RETURN_IF_ERROR(segment->MakeActive());
    segments_.push_back(std::move(segment));
    log_end_offset_ = start;
    recovery_point_->Lower(start);
    SPATE_RETURN_IF_ERROR(SetLogStartOffset(start));
    RecomputeMaxTimestamp();
    return Status::Ok();
  }
  bool reactivate = false;
  while (segments_.size() > 1 && segments_.back()->base_offset() > offset) {
    total_bytes_ -= segments_.back()->size();
    SPATE_RETURN_IF_ERROR(segments_.back()->Delete());
    segments_.pop_back();
    reactivate = true;
  }
  LogSegment& last = *segments_.back();
  if (reactivate) SPATE_RETURN_IF_ERROR(last.MakeActive());
  recovery_point_->Lower(last.base_offset());
  uint64_t before = last.size();
  SPATE_RETURN_IF_ERROR(last.TruncateTo(offset));
  total_bytes_ -= before - last.size();
  log_end_offset_ = last.next_offset();
  if (log_start_offset_ > log_end_offset_) SPATE_RETURN_IF_ERROR(SetLogStartOffset(log_end_offset_));
  RecomputeMaxTimestamp();
  return Status::Ok();
}

Status SegmentLog::DeleteSegmentsBefore(int64_t offset, int* deleted) {
  std::lock_guard<std::mutex> lock(mutex_);
  *deleted = 0;
  if (closed_) return Status::Closed();
  int64_t target = std::min(offset, log_end_offset_);
  if (target > log_start_offset_) SPATE_RETURN_IF_ERROR(SetLogStartOffset(target));
  while (segments_.size() > 1 && segments_[1]->base_offset() <= log_start_offset_) {
    total_bytes_ -= segments_.front()->size();
    SPATE_RETURN_IF_ERROR(segments_.front()->Delete());
    segments_.erase(segments_.begin());
    (*deleted)++;
  }
  if (*deleted > 0) RecomputeMaxTimestamp();
  return Status::Ok();
}

// ---- getters -------------------------------------------------------------------------

int64_t SegmentLog::log_start_offset() {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_start_offset_;
}

int64_t SegmentLog::log_end_offset() {
  std::lock_guard<std::mutex> lock(mutex_);
  return log_end_offset_;
}

int64_t SegmentLog::recovery_point() {
  std::lock_guard<std::mutex> lock(mutex_);
  return recovery_point_ ? recovery_point_->value() : 0;
}

uint64_t SegmentLog::size() {
  std::lock_guard<std::mutex> lock(mutex_);
  return total_bytes_;
}

size_t SegmentLog::segment_count() {
  std::lock_guard<std::mutex> lock(mutex_);
  return segments_.size();
}

TimestampOffset SegmentLog::MaxTimestamp() {
  std::lock_guard<std::mutex> lock(mutex_);
  return max_timestamp_;
}

bool SegmentLog::HasUnflushedData() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& segment : segments_)
    if (segment->dirty()) return true;
  return false;
}

bool SegmentLog::closed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

}  // namespace spate
