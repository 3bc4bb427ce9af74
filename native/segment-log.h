// SegmentLog: the segments of one partition directory, Kafka's UnifiedLog/LocalLog in
// miniature. Opening it is recovery; appends come from the JS thread (page-cache writes);
// reads and timestamp lookups run on libuv worker threads and hold the mutex only for
// in-memory lookups, never while reading the disk.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "file-util.h"
#include "log-config.h"
#include "log-segment.h"
#include "status.h"

namespace spate {

struct AppendResult {
  int64_t base_offset;
  int64_t last_offset;
  uint64_t position;  // of the first batch, in its segment's .log file
};

// A contiguous run of whole batches inside one segment file.
struct ReadResult {
  bool at_end = false;  // the offset was the log end offset: nothing to read yet
  bool would_block = false;  // a no_wait read that must go to a worker thread instead
  int64_t base_offset = 0;
  int64_t last_offset = -1;
  uint64_t position = 0;
  uint64_t length = 0;  // 0 when the first batch exceeds max_bytes and min_one_batch is off
  std::shared_ptr<SegmentFile> file;
  std::shared_ptr<OpenSegmentFile> open;  // the descriptor, held until the slice is released
  bool mapped = false;                    // mmap delivery was asked for
  // mmap delivery, when the read had to fault pages in: covers [position, +length). Empty
  // when every page was already in the page cache: the slice maps on first use of its Buffer.
  std::shared_ptr<MappedRegion> mapping;
  uint64_t map_hint = 0;                  // the length for a new whole-segment mapping
};

// What retention and the cleaner need to know about one segment.
struct SegmentInfo {
  int64_t base_offset = 0;
  int64_t next_offset = 0;  // one past the last offset in it (base_offset when empty)
  uint64_t size = 0;
  int64_t max_timestamp = -1;
  int64_t first_batch_timestamp = -1;
};

// One thing recovery repaired while opening the log, returned to JS to be logged.
struct Repair {
  std::string file;
  std::string action;  // "truncated", "deleted", "index-rebuilt", "missing"
  std::string reason;
  int64_t start_offset = -1;  // offsets dropped or rebuilt, [start, end]; -1 when unknown
  int64_t end_offset = -1;
  uint64_t position = 0;  // file position of the first byte dropped
  uint64_t bytes = 0;     // bytes dropped
};

// What Load found for the layers above: the files of the partition directory they read
// (from Load's listing, so that a broker of 10,000 partitions lists each directory once at
// start) and how many segments it recovered.
struct LoadInfo {
  bool has_partition_metadata = false;
  std::string partition_metadata;  // Kafka's partition.metadata, as read (a few dozen bytes)
  std::vector<std::string> snapshots;  // names ending in .snapshot (producer state)
  size_t recovered_segments = 0;
};

struct TimestampLookup {
  bool found = false;
  int64_t offset = -1;
  int64_t timestamp = -1;
};

// What the log directory knows about a partition before it opens (Kafka's LogManager
// passes the same to each log it loads).
struct LoadHints {
  // The log dir's .kafka_cleanshutdown marker was there: every log was flushed and closed.
  bool clean_shutdown = false;
  // The partition's entry in recovery-point-offset-checkpoint; without one, an unclean
  // start recovers every segment (Kafka uses 0).
  bool has_recovery_point = false;
  int64_t recovery_point = 0;
};

// The recovery point: offsets below it are known to be on disk, so recovery after a crash
// starts at the segment holding it. Advanced after the background flush of a rolled segment
// and by a flush of the whole log; lowered by truncation. The log directory's
// recovery-point-offset-checkpoint persists it (src/log/log-manager.ts).
class RecoveryPoint {
 public:
  explicit RecoveryPoint(int64_t value) : value_(value) {}
  int64_t value();
  // Replaces the value (at open, or lowered by a truncation); in-flight flushes started
  // before it can no longer advance it.
  void Set(int64_t to);
  void Lower(int64_t to);
  // A flush of everything below `to` completed (no background flush is in flight).
  void Advance(int64_t to);
  // Background flushes of rolled segments complete in roll order: a flush takes a ticket,
  // and Complete(ticket) advances the point only after all earlier tickets completed.
  uint64_t BeginFlush();
  void Complete(uint64_t ticket, int64_t to, bool flushed);
  void WaitForFlushes();

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int64_t value_;
  uint64_t generation_ = 0;
  uint64_t next_ticket_ = 0;
  uint64_t completed_tickets_ = 0;
  uint64_t first_ticket_of_generation_ = 0;
  bool flush_failed_ = false;
};

class SegmentLog {
 public:
  static constexpr const char* kLogStartOffsetFile = "log-start-offset";
  // Per-partition files of older Spate versions, read once and removed (the log dir's
  // .kafka_cleanshutdown and recovery-point-offset-checkpoint replace them).
  static constexpr const char* kLegacyCleanShutdownFile = ".spate-clean";
  static constexpr const char* kLegacyRecoveryPointFile = "recovery-point";

  static Status Open(const std::string& dir, const LogConfig& config, const LoadHints& hints,
                     std::shared_ptr<SegmentLog>* out);
  ~SegmentLog();
  SegmentLog(const SegmentLog&) = delete;
  SegmentLog& operator=(const SegmentLog&) = delete;

  // `data` holds `batch_count` validated batches; their baseOffset fields are patched in
  // place before the bytes are written (baseOffset is outside the CRC).
  Status Append(uint8_t* data, size_t length, size_t batch_count, int64_t now_ms,
                AppendResult* out);

  // Worker-thread entry points (log-read.cc). With `no_wait` (the event loop's fast path)
  // a read that might wait for the disk is not made: one outside the active segment, or
  // whose bytes are not all in the page cache, returns ok with out->would_block set.
  Status Read(int64_t offset, int64_t max_bytes, bool min_one_batch, bool map, ReadResult* out,
              bool no_wait = false);
  Status OffsetForTimestamp(int64_t timestamp, TimestampLookup* out);

  Status Flush();
  // Flushes (unless `flush` is false: a deleted partition), trims the indexes and closes;
  // the recovery point is then the log end offset.
  Status Close(bool flush = true);
  Status TruncateTo(int64_t offset);
  Status DeleteSegmentsBefore(int64_t offset, int* deleted);
  // Rolls the active segment if it holds anything, so retention can delete all of it.
  Status RollActive(int64_t now_ms, bool* rolled);
  // Applies changed topic configs to the log and its segments.
  Status Reconfigure(const LogConfig& config);
  std::vector<SegmentInfo> Segments();

  // The cleaner's swap (segment-replace.cc), on a worker thread: `B.log.cleaned`, written
  // and synced by the cleaner, replaces segment B if that segment still has
  // `expected_size` bytes (it was not deleted or truncated meanwhile). The cleaned file
  // is indexed, renamed to .swap, then to the real names; a crash at any point leaves
  // either the old segment or the new one (Load completes a .swap). *replaced is false
  // when the segment changed, and the cleaned file is removed.
  Status ReplaceSegment(int64_t base_offset, uint64_t expected_size, bool* replaced);
  static constexpr const char* kCleanedSuffix = ".cleaned";
  static constexpr const char* kSwapSuffix = ".swap";

  int64_t log_start_offset();
  int64_t log_end_offset();
  int64_t recovery_point();
  uint64_t size();
  size_t segment_count();
  TimestampOffset MaxTimestamp();  // (-1, -1) for an empty log
  bool closed();
  // Whether any segment holds writes not yet flushed (fdatasync) by this process.
  bool HasUnflushedData();
  // What Load repaired; taken once by the binding after open.
  std::vector<Repair> TakeRepairs();
  // What Load found of partition.metadata and the producer snapshots, and recovered; taken once.
  LoadInfo TakeLoadInfo();

 private:
  SegmentLog(std::string dir, const LogConfig& config);
  Status Load(const LoadHints& hints);
  Status LockDirectory();
  void UnlockDirectory();
  Status Roll(int64_t now_ms);
  Status SetLogStartOffset(int64_t offset);
  void RecomputeMaxTimestamp();
  void CloseLocked(bool clean);
  // One attempt of Read / OffsetForTimestamp; SEGMENT_RETIRED when the segment went away
  // between the lookup and opening its file.
  Status ReadOnce(int64_t offset, int64_t max_bytes, bool min_one_batch, bool map, ReadResult* out, bool no_wait);
  Status OffsetForTimestampOnce(int64_t timestamp, TimestampLookup* out);
  // Index of the segment holding `offset`: the last one whose base offset is <= offset.
  size_t SegmentIndexFor(int64_t offset) const;

  // Load's handling of a cleaner swap interrupted by a crash.
  Status CompleteInterruptedSwaps(const std::vector<std::string>& names);

  const std::string dir_;
  LogConfig config_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<LogSegment>> segments_;
  int64_t log_start_offset_ = 0;
  int64_t log_end_offset_ = 0;
  uint64_t total_bytes_ = 0;
  TimestampOffset max_timestamp_{-1, -1};
  int64_t unflushed_messages_ = 0;
  int64_t last_flush_ms_ = -1;
  bool closed_ = false;
  bool directory_locked_ = false;
  std::shared_ptr<RecoveryPoint> recovery_point_;
  std::vector<Repair> repairs_;
  LoadInfo load_info_;
};

}  // namespace spate
