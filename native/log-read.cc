// The read path of SegmentLog, run on libuv worker threads: locate the segment and the
// index entry under the mutex, then scan batch headers with pread outside it, then (for
// mmap delivery) map and prefault the bytes so the JS thread never waits on the disk.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "crc32c.h"
#include "page-cache.h"
#include "segment-log.h"

namespace spate {
namespace {

// Where a read continues: one segment file and the byte range it may scan.
struct ScanTarget {
  std::shared_ptr<SegmentFile> file;
  std::shared_ptr<OpenSegmentFile> open;
  int64_t base_offset = 0;
  uint64_t start = 0;
  uint64_t end = 0;        // the segment size when the read started
  uint64_t map_hint = 0;   // mapping length for a new whole-segment mapping
  uint64_t jump = 0;       // a batch boundary the extension scan may skip to (0: none)
};

constexpr uint64_t kWillNeedThreshold = 256 * 1024;
// How often a read looks its segment up again when the segment was deleted or replaced
// between the lookup and the open (each retry sees the newer list of segments).
constexpr int kRetiredRetries = 8;

bool Retired(const Status& status) { return !status.ok() && std::string(status.code) == "SEGMENT_RETIRED"; }

void Prefault(const MappedRegion& region, uint64_t position, uint64_t length) {
  static const uint64_t page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  uint64_t first = position / page * page;
  uint64_t end = position + length;
  // Asks for readahead of the whole range at once: helps cold data, and costs a syscall
  // that small (usually hot) reads measured better without.
  if (length >= kWillNeedThreshold) ::madvise(region.address + first, end - first, MADV_WILLNEED);
  volatile uint8_t sink = 0;
  for (uint64_t at = first; at < end; at += page) sink = sink + region.address[at];
  (void)sink;
}

// Checks the CRC of every batch of [position, position + *length) that lies beyond the
// file's verified watermark, through the mapping when there is one. A bad first batch is
// CORRUPT_MESSAGE (naming the file and position); a bad later one ends the read before it.
Status VerifyBatches(SegmentFile& file, const OpenSegmentFile& open, const MappedRegion* mapping, uint64_t position,
                     uint64_t* length, int64_t* last_offset) {
  const uint64_t end = position + *length;
  const uint64_t verified = file.verified_end.load();
  if (end <= verified) return Status::Ok();
  std::vector<uint8_t> buffer;
  uint64_t at = position;
  int64_t previous_last = -1;
  while (at < end) {
    const uint8_t* header = nullptr;
    uint8_t header_copy[kBatchHeaderSize];
    if (mapping != nullptr) {
      header = mapping->address + at;
    } else {
      size_t got = 0;
      SPATE_RETURN_IF_ERROR(PreadFully(open.fd.get(), header_copy, sizeof header_copy, at, &got, file.path));
      if (got != sizeof header_copy) return Status::Corrupt(file.path + ": short batch header at position " + std::to_string(at));
      header = header_copy;
    }
    BatchHeader h = ParseBatchHeader(header);
    if (at + h.size() > verified) {
      const uint8_t* covered = nullptr;
      if (mapping != nullptr) {
        covered = mapping->address + at + kAttributesOffset;
      } else {
        buffer.resize(h.size() - kAttributesOffset);
        size_t got = 0;
        SPATE_RETURN_IF_ERROR(PreadFully(open.fd.get(), buffer.data(), buffer.size(), at + kAttributesOffset, &got, file.path));
        if (got != buffer.size()) return Status::Corrupt(file.path + ": short batch at position " + std::to_string(at));
        covered = buffer.data();
      }
      uint32_t crc = Crc32c(0, covered, h.size() - kAttributesOffset);
      if (crc != h.crc) {
        if (at == position)
          return Status::Corrupt(file.path + ": record batch at position " + std::to_string(at) + " (offsets " +
                                 std::to_string(h.base_offset) + "-" + std::to_string(h.last_offset()) +
                                 ") fails its CRC check: stored " + std::to_string(h.crc) + ", computed " +
                                 std::to_string(crc));
        *length = at - position;
        *last_offset = previous_last;
        break;
      }
    }
    previous_last = h.last_offset();
    at += h.size();
  }
  file.MarkVerified(position, position + *length);
  return Status::Ok();
}

}  // namespace

Status SegmentLog::Read(int64_t offset, int64_t max_bytes, bool min_one_batch, bool map,
                        ReadResult* out, bool no_wait) {
  for (int attempt = 0;; attempt++) {
    Status status = ReadOnce(offset, max_bytes, min_one_batch, map, out, no_wait);
    if (!Retired(status) || attempt == kRetiredRetries) return status;
  }
}

Status SegmentLog::ReadOnce(int64_t offset, int64_t max_bytes, bool min_one_batch, bool map,
                            ReadResult* out, bool no_wait) {
  *out = ReadResult();
  ScanTarget target;
  bool active = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return Status::Closed();
    if (offset < log_start_offset_ || offset > log_end_offset_)
      return Status::OutOfRange("offset " + std::to_string(offset) + " is outside the log [" +
                                std::to_string(log_start_offset_) + ", " +
                                std::to_string(log_end_offset_) + "]");
    if (offset == log_end_offset_) {
      out->at_end = true;
      return Status::Ok();
    }
    size_t index = SegmentIndexFor(offset);
    active = index + 1 == segments_.size();
    // The fast path serves the active segment only: its index and its tail were just
    // written, while an older segment's files may have to come from the disk.
    if (no_wait && !active) {
      out->would_block = true;
      return Status::Ok();
    }
    const LogSegment& segment = *segments_[index];
    target.file = segment.file();
    target.base_offset = segment.base_offset();
    target.start = segment.offset_index().Lookup(offset).position;
    target.end = segment.size();
    target.map_hint = index + 1 == segments_.size() ? static_cast<uint64_t>(config_.segment_bytes)
                                                    : segment.size();
    if (max_bytes > 0)
      target.jump = segment.offset_index().WholeBatchesBefore(target.start + static_cast<uint64_t>(max_bytes));
  }

  // The descriptor: the active segment's pinned one, or an older segment's through the
  // open-file cache (opened outside the mutex).
  SPATE_RETURN_IF_ERROR(target.file->Open(&target.open));
  // The headers the scan below reads must be in the page cache too.
  if (no_wait) {
    uint64_t scan_end = std::min<uint64_t>(target.end, target.start + static_cast<uint64_t>(std::max<int64_t>(max_bytes, 0)) + kBatchHeaderSize);
    if (scan_end > target.start &&
        PageCacheResidency(target.open->fd.get(), target.start, scan_end - target.start) != Residency::kAll) {
      out->would_block = true;
      return Status::Ok();
    }
  }

  // Find the batch holding `offset`: the first whose last offset is >= offset.
  uint64_t first_position = 0;
  BatchHeader first;
  for (;;) {
    if (!target.open) SPATE_RETURN_IF_ERROR(target.file->Open(&target.open));
    BatchScanner scanner(*target.open, target.file->path, target.start, target.end);
    bool found = false;
    for (;;) {
      uint64_t position = 0;
      SPATE_RETURN_IF_ERROR(scanner.Next(&found, &position, &first));
      if (!found || first.last_offset() >= offset) {
        first_position = position;
        break;
      }
    }
    if (found) break;
    if (no_wait) {
      out->would_block = true;
      return Status::Ok();
    }
    // Past this segment's last batch (an offset gap): the next segment starts the answer.
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return Status::Closed();
    auto next = std::find_if(segments_.begin(), segments_.end(), [&](const auto& segment) {
      return segment->base_offset() > target.base_offset;
    });
    if (next == segments_.end()) {
      out->at_end = true;
      return Status::Ok();
    }
    target.file = (*next)->file();
    target.open.reset();
    target.base_offset = (*next)->base_offset();
    target.start = 0;
    target.jump = 0;
    target.end = (*next)->size();
    target.map_hint = next + 1 == segments_.end() ? static_cast<uint64_t>(config_.segment_bytes)
                                                  : (*next)->size();
  }

  out->file = target.file;
  out->open = target.open;
  out->mapped = map;
  out->position = first_position;
  out->base_offset = first.base_offset;
  if (static_cast<int64_t>(first.size()) > max_bytes && !min_one_batch) {
    // Without min_one_batch an oversized first batch gives an empty read, as in Kafka
    // (KIP-74 makes the first batch whole only for the first partition of a fetch).
    out->last_offset = first.base_offset - 1;
    return Status::Ok();
  }
  // Extend over whole batches while they fit (the first one always, per KIP-74).
  uint64_t length = 0;
  int64_t last_offset = 0;
  uint64_t scan_from = first_position + first.size();
  bool jumped = target.jump > scan_from && target.jump < target.end;
  for (;;) {
    length = first.size();
    last_offset = first.last_offset();
    if (jumped) {
      // Every batch before the index's boundary fits: skip their headers (a 1 MiB read of
      // 16 KiB batches would otherwise pread 64 of them). The batch at the boundary fits
      // too, and reading it below gives the exact last offset.
      length = target.jump - first_position;
      scan_from = target.jump;
    }
    BatchScanner scanner(*target.open, target.file->path, scan_from, target.end);
    bool took_any = false;
    for (;;) {
      bool found = false;
      uint64_t position = 0;
      BatchHeader h;
      if (static_cast<int64_t>(length + kBatchHeaderSize) > max_bytes) break;
      SPATE_RETURN_IF_ERROR(scanner.Next(&found, &position, &h));
      if (!found || static_cast<int64_t>(length + h.size()) > max_bytes) break;
      length += h.size();
      last_offset = h.last_offset();
      took_any = true;
    }
    if (!jumped || took_any) break;
    jumped = false;  // the index disagreed with the log: scan every header instead
    scan_from = first_position + first.size();
  }
  out->map_hint = target.map_hint;
  // Pages already in the page cache need nothing here: they go to the socket with sendfile
  // or, written through Node, are mapped then (minor faults only, never the disk). Faulting
  // them in anyway cost about a fifth of the broker's CPU per GiB fetched (one fault per 16
  // pages, bench/load/cost.mjs). Missing pages are read in now, on this worker thread.
  if (map && length > 0 && PageCacheResidency(target.open->fd.get(), first_position, length) != Residency::kAll) {
    if (no_wait) {
      *out = ReadResult();
      out->would_block = true;
      return Status::Ok();
    }
    SPATE_RETURN_IF_ERROR(target.file->MappingCovering(*target.open, first_position + length, target.map_hint, &out->mapping));
    Prefault(*out->mapping, first_position, length);
  }
  if (length > 0)
    SPATE_RETURN_IF_ERROR(VerifyBatches(*target.file, *target.open, map ? out->mapping.get() : nullptr, first_position, &length, &last_offset));
  out->length = length;
  out->last_offset = last_offset;
  return Status::Ok();
}

Status SegmentLog::OffsetForTimestamp(int64_t timestamp, TimestampLookup* out) {
  for (int attempt = 0;; attempt++) {
    Status status = OffsetForTimestampOnce(timestamp, out);
    if (!Retired(status) || attempt == kRetiredRetries) return status;
  }
}

Status SegmentLog::OffsetForTimestampOnce(int64_t timestamp, TimestampLookup* out) {
  *out = TimestampLookup();
  int64_t after_base = std::numeric_limits<int64_t>::min();
  for (;;) {
    ScanTarget target;
    int64_t log_start = 0;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) return Status::Closed();
      // Kafka: the first segment whose largest timestamp reaches the target.
      auto it = std::find_if(segments_.begin(), segments_.end(), [&](const auto& segment) {
        return segment->base_offset() > after_base && segment->max_timestamp() >= timestamp;
      });
      if (it == segments_.end()) return Status::Ok();
      const LogSegment& segment = **it;
      TimestampOffset before = segment.time_index().LookupBefore(timestamp);
      target.file = segment.file();
      target.base_offset = segment.base_offset();
      target.start = segment.offset_index().Lookup(before.offset).position;
      target.end = segment.size();
      log_start = log_start_offset_;
    }
    SPATE_RETURN_IF_ERROR(target.file->Open(&target.open));
    BatchScanner scanner(*target.open, target.file->path, target.start, target.end);
    for (;;) {
      bool found = false;
      uint64_t position = 0;
      BatchHeader h;
      SPATE_RETURN_IF_ERROR(scanner.Next(&found, &position, &h));
      if (!found) break;
      if (h.last_offset() < log_start || h.max_timestamp < timestamp) continue;
      out->found = true;
      out->offset = std::max(h.base_offset, log_start);
      out->timestamp = h.max_timestamp;
      if (h.compression() == 0) {
        // Uncompressed: find the exact record, as Kafka's ListOffsets does.
        std::vector<uint8_t> batch(h.size());
        size_t got = 0;
        SPATE_RETURN_IF_ERROR(PreadFully(target.open->fd.get(), batch.data(), batch.size(), position, &got, target.file->path));
        int64_t record_offset, record_timestamp;
        if (got == batch.size() &&
            FindRecordByTimestamp(batch.data(), batch.size(), timestamp, log_start, &record_offset, &record_timestamp)) {
          out->offset = record_offset;
          out->timestamp = record_timestamp;
        }
      }
      return Status::Ok();
    }
    after_base = target.base_offset;
  }
}

}  // namespace spate
