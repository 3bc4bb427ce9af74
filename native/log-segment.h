// LogSegment: one .log file with its OffsetIndex and TimeIndex, named by base offset.
// All mutation happens under SegmentLog's mutex; readers on worker threads use only the
// SegmentFile they were handed and the descriptor they opened through it, which stay valid
// after the segment is rolled, truncated (the file is swapped out) or deleted. Only the
// active segment keeps its .log open (see segment-file.h).
#pragma once

#include <atomic>
#include <climits>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "file-util.h"
#include "log-config.h"
#include "offset-index.h"
#include "record-batch.h"
#include "segment-file.h"
#include "status.h"
#include "time-index.h"

namespace spate {

// Walks batch headers of a segment file in [start, end) with small buffered preads.
// Thread-safe on a shared descriptor: it only preads. The caller keeps the file open.
class BatchScanner {
 public:
  BatchScanner(const OpenSegmentFile& open, const std::string& path, uint64_t start, uint64_t end)
      : fd_(open.fd.get()), path_(path), position_(start), end_(end) {}
  // The next batch header, or *found = false at `end`. A torn or malformed header inside
  // the range is an error.
  Status Next(bool* found, uint64_t* position, BatchHeader* header);
  uint64_t position() const { return position_; }

 private:
  int fd_;
  const std::string& path_;
  uint64_t position_;
  uint64_t end_;
  uint8_t buffer_[4096];
  uint64_t buffer_start_ = 0;
  size_t buffer_length_ = 0;
};

struct RecoveryResult {
  int64_t next_offset = 0;
  uint64_t truncated_bytes = 0;
  uint64_t truncated_at = 0;  // file position of the first byte cut
  size_t batches = 0;
  // Why recovery stopped before the end of the file ("" when it did not), and the offsets
  // of the first dropped batch when its header was readable (-1 otherwise).
  std::string stop_reason;
  int64_t dropped_base_offset = -1;
  int64_t dropped_last_offset = -1;
  bool torn_tail = false;  // the dropped bytes are one incomplete batch at the end
};

class LogSegment {
 public:
  // A new, empty segment (an existing file of that name is emptied).
  static Status Create(const std::string& dir, int64_t base_offset, const LogConfig& config,
                       std::unique_ptr<LogSegment>* out);
  // An existing segment as found on disk; indexes as they are (trimmed if cleanly closed).
  // *indexes_found tells whether both index files existed.
  static Status Load(const std::string& dir, int64_t base_offset, const LogConfig& config,
                     std::unique_ptr<LogSegment>* out, bool* indexes_found);
  // A segment whose three files carry an extra suffix (".cleaned" while the cleaner's
  // output is indexed); RenameFiles moves them to another suffix ("" for the real names).
  static Status LoadWithSuffix(const std::string& dir, int64_t base_offset, const LogConfig& config,
                               const std::string& suffix, std::unique_ptr<LogSegment>* out);
  Status RenameFiles(const std::string& suffix);
  // The file names of segment `base_offset` with `suffix`: .log, .index, .timeindex.
  static std::vector<std::string> FilePaths(const std::string& dir, int64_t base_offset,
                                            const std::string& suffix);

  int64_t base_offset() const { return base_offset_; }
  uint64_t size() const { return size_; }
  const std::shared_ptr<SegmentFile>& file() const { return file_; }
  const OffsetIndex& offset_index() const { return offset_index_; }
  const TimeIndex& time_index() const { return time_index_; }
  int64_t max_timestamp() const { return max_timestamp_; }
  int64_t offset_of_max_timestamp() const { return offset_of_max_timestamp_; }
  int64_t next_offset() const { return next_offset_; }
  bool dirty() const { return dirty_; }
  // The max timestamp of the first batch (Kafka's getFirstBatchTimestamp), -1 when empty.
  int64_t FirstBatchTimestamp();
  // Applies changed topic configs (segment.bytes, segment.ms, index.interval.bytes...).
  void set_config(const LogConfig& config) { config_ = config; }

  bool IndexesFull() const { return offset_index_.full() || time_index_.full(); }
  // Whether the next append of `bytes` must go to a new segment (Kafka's shouldRoll).
  bool ShouldRoll(uint64_t bytes, int64_t last_offset, int64_t now_ms) const;

  // Writes `length` bytes of whole batches (offsets already assigned) at the end of the
  // file, straight from `data`. On failure the file is cut back to its previous size.
  Status Append(const uint8_t* data, size_t length, int64_t now_ms);

  // Rescans the whole file: validates each batch (length, CRC, offsets), cuts the file at
  // the first invalid one and rebuilds both indexes.
  Status Recover(RecoveryResult* result);
  // After a clean shutdown: the next offset from the last index entry and a header scan,
  // and the max timestamp from the last time index entry.
  Status LoadCleanState();
  // Sanity of the on-disk indexes against the log (Kafka's sanityCheck).
  bool IndexesSane() const;

  // Keeps the .log open: the segment receives appends. The indexes are preallocated by the
  // first append (PrepareAppend), so opening 10,000 idle partitions resizes nothing; an empty
  // active segment is not even opened until then.
  Status MakeActive();
  // Before an append (and before ShouldRoll asks): preallocates the indexes to
  // segment.index.bytes and, after a restart, reads the first batch's timestamp that
  // segment.ms counts from (Kafka rolls by it).
  Status PrepareAppend();
  // Adds the final time index entry and trims both indexes to their entries; the .log
  // descriptor goes to the open-file cache.
  Status MakeInactive();

  // Removes every batch with an offset >= `offset` (the whole batch that holds it).
  Status TruncateTo(int64_t offset);

  Status Flush();
  // Index file paths, for a background flush after roll.
  std::vector<std::string> IndexPaths() const;
  // Unmaps the indexes and lets go of the .log (readers keep what they hold).
  void Close();
  Status Delete();

 private:
  LogSegment(const std::string& dir, int64_t base_offset, const LogConfig& config,
             std::string suffix = "");
  Status OpenFiles(bool create, bool* indexes_found);
  Status ExpandIndexes();
  Status OpenLog(std::shared_ptr<OpenSegmentFile>* out) { return file_->Open(out); }
  void IndexBatch(uint64_t position, size_t batch_size, int64_t last_offset,
                  int64_t max_timestamp);
  void ResetIndexState();
  Status SwapInTruncatedCopy(const OpenSegmentFile& open, uint64_t length, bool active);

  std::string dir_;
  int64_t base_offset_;
  LogConfig config_;
  std::shared_ptr<SegmentFile> file_;
  OffsetIndex offset_index_;
  TimeIndex time_index_;
  uint64_t size_ = 0;
  int64_t next_offset_;
  int64_t max_timestamp_ = -1;
  int64_t offset_of_max_timestamp_;
  uint64_t bytes_since_last_index_entry_ = 0;
  int64_t roll_base_ms_ = -1;  // when the first batch arrived; -1 while empty
  bool dirty_ = false;
  bool indexes_expanded_ = false;  // preallocated to segment.index.bytes
  int64_t first_batch_timestamp_ = kUnknownTimestamp;
  std::string suffix_;

  static constexpr int64_t kUnknownTimestamp = INT64_MIN;
};

}  // namespace spate
