// A segment's .log file and the bounded cache of open descriptors behind it.
//
// Kafka keeps every segment's files open. Spate keeps only the active segment's .log open
// (appends write to it from the JS thread); an older segment is opened when something reads
// it, and the OpenFileCache closes the least recently used of those once more than its limit
// (spate.log.max.open.segment.files) are open, so tens of thousands of partitions and
// segments fit under RLIMIT_NOFILE. Index files hold no descriptor at all: they are mapped
// and the descriptor closed (see IndexFile).
//
// Whoever uses a descriptor or a mapping holds it: a reader takes an OpenSegmentFile (a
// lease) and keeps it while it reads; a slice handed to JS keeps it until released; a
// Buffer over a mapping keeps the MappedRegion. The cache only drops its own reference, so
// a close never pulls a descriptor or a mapping from under anyone.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "file-util.h"
#include "status.h"

namespace spate {

// An open .log descriptor and the read mapping made over it.
struct OpenSegmentFile {
  UniqueFd fd;
  std::mutex mapping_mutex;
  std::shared_ptr<MappedRegion> mapping;  // the whole-segment read mapping, reused by reads

  // OpenFileCache bookkeeping, guarded by its mutex.
  bool cached = false;
  std::list<std::shared_ptr<OpenSegmentFile>>::iterator position;
};

// The process-wide LRU of open descriptors of inactive segments.
class OpenFileCache {
 public:
  static OpenFileCache& Instance();

  struct Stats {
    size_t open = 0;   // descriptors the cache holds now
    size_t limit = 0;  // how many it may hold
    uint64_t opened = 0;
    uint64_t hits = 0;
    uint64_t evicted = 0;
  };

  // Closes the least recently used descriptors beyond `limit` (those still leased stay open
  // until their users let go).
  void SetLimit(size_t limit);
  Stats GetStats();

  // Adds `file` as the most recently used (or moves it there).
  void Touch(const std::shared_ptr<OpenSegmentFile>& file, bool opened);
  // Takes `file` out of the cache (the active segment pins its descriptor itself).
  void Remove(const std::shared_ptr<OpenSegmentFile>& file);

 private:
  std::mutex mutex_;
  std::list<std::shared_ptr<OpenSegmentFile>> recent_;  // front: most recently used
  size_t limit_ = 1024;
  uint64_t opened_ = 0;
  uint64_t hits_ = 0;
  uint64_t evicted_ = 0;
};

// The .log of one segment, shared by the segment and by in-flight reads and read slices.
// It stays valid after the segment is rolled, truncated (the file is swapped out), replaced
// by the cleaner or deleted: a reader that already holds an OpenSegmentFile keeps reading the
// inode it opened.
class SegmentFile {
 public:
  explicit SegmentFile(std::string path) : path(std::move(path)) {}
  SegmentFile(const SegmentFile&) = delete;
  SegmentFile& operator=(const SegmentFile&) = delete;

  // Renamed only before the segment is visible to readers (the cleaner's new segment).
  std::string path;

  // Bytes from the start of the file whose batch CRCs are known good: recovered at open,
  // or appended by this process after validateBatches checked them. Reads verify the
  // batches beyond it before serving them (a clean start trusts the files unread).
  std::atomic<uint64_t> verified_end{0};
  void MarkVerified(uint64_t from, uint64_t to) {
    uint64_t current = verified_end.load();
    while (from <= current && to > current && !verified_end.compare_exchange_weak(current, to)) {
    }
  }

  // A descriptor for reading or writing: the pinned one, the cached one, or a new one (added
  // to the cache). Fails with SEGMENT_RETIRED once the segment was deleted or replaced and
  // no descriptor is left: the caller looks the segment up again.
  Status Open(std::shared_ptr<OpenSegmentFile>* out);
  // Keeps the descriptor open outside the cache: the active segment. `create` makes (or
  // empties) the file.
  Status Pin(bool create = false);
  // The segment became inactive: its descriptor goes to the cache as the most recent.
  void Unpin();
  // Takes over `fd` (a copy made by truncation), pinned or in the cache.
  void Adopt(UniqueFd fd, bool pin);
  // The segment is gone (deleted, replaced, its log closed): the cache lets go of the
  // descriptor, and Open no longer reopens the path (it may name another file by then).
  void Retire();

  // True when a reader or a Buffer may still look at bytes of this file, in which case
  // truncation must not shrink it in place (a mapped page past EOF raises SIGBUS).
  bool InUse(const std::shared_ptr<SegmentFile>& self);
  // A mapping covering [0, end), at least `hint` bytes long when it has to be created.
  Status MappingCovering(OpenSegmentFile& open, uint64_t end, uint64_t hint, std::shared_ptr<MappedRegion>* out);

 private:
  std::mutex mutex_;
  std::shared_ptr<OpenSegmentFile> pinned_;
  std::weak_ptr<OpenSegmentFile> open_;
  bool retired_ = false;
  // Every mapping of this file holds a copy, so the use count tells whether a Buffer (or a
  // mapping the cache no longer holds) still points into the file.
  const std::shared_ptr<const int> mapping_token_ = std::make_shared<const int>(0);
};

}  // namespace spate
