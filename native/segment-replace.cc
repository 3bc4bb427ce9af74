// The log cleaner's segment swap, Kafka's replaceSegments in miniature. The cleaner (a JS
// worker, src/log/cleaner-worker.ts) writes the compacted copy of segment B as
// `B.log.cleaned` and syncs it; ReplaceSegment then, on a libuv worker thread:
//   1. opens it with fresh `.cleaned` indexes and rebuilds them (the same scan as recovery),
//      trims and syncs them;
//   2. renames the three files to `.swap`: from here a crash completes the swap at Load;
//   3. under the log's mutex, checks that B is still there with the size the cleaner read,
//      renames the `.swap` files over the real names and puts the new segment in B's place.
// Readers that hold B's old SegmentFile keep reading the old inode, which stays whole
// until they release it, so a fetch during compaction sees the old or the new segment,
// never a mix.
#include <errno.h>
#include <unistd.h>

#include <algorithm>

#include "segment-log.h"

namespace spate {
namespace {

void RemoveAll(const std::vector<std::string>& paths) {
  for (const auto& path : paths) RemoveFile(path);
}

}  // namespace

Status SegmentLog::CompleteInterruptedSwaps(const std::vector<std::string>& names) {
  // A `.swap` file is complete: it was synced before it got that name. Give every one its
  // real name, then drop the indexes of those segments: the old ones may describe the old
  // log file, so recovery rebuilds them from the swapped-in data.
  std::vector<std::string> bases;
  for (const auto& name : names) {
    std::string real = name.substr(0, name.size() - std::char_traits<char>::length(kSwapSuffix));
    if (::rename(JoinPath(dir_, name).c_str(), JoinPath(dir_, real).c_str()) != 0)
      return Status::Storage("rename " + name, errno);
    bases.push_back(real.substr(0, 20));
  }
  for (const auto& base : bases) {
    SPATE_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, base + ".index")));
    SPATE_RETURN_IF_ERROR(RemoveFile(JoinPath(dir_, base + ".timeindex")));
  }
  return FsyncDirectory(dir_);
}

Status SegmentLog::ReplaceSegment(int64_t base_offset, uint64_t expected_size, bool* replaced) {
  *replaced = false;
  LogConfig config;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return Status::Closed();
    config = config_;
  }
  const std::vector<std::string> cleaned = LogSegment::FilePaths(dir_, base_offset, kCleanedSuffix);
  const std::vector<std::string> swap = LogSegment::FilePaths(dir_, base_offset, kSwapSuffix);
  // The cleaner wrote only the .log; stale indexes of an earlier attempt must not be reused.
  SPATE_RETURN_IF_ERROR(RemoveFile(cleaned[1]));
  SPATE_RETURN_IF_ERROR(RemoveFile(cleaned[2]));

  std::unique_ptr<LogSegment> segment;
  Status s = LogSegment::LoadWithSuffix(dir_, base_offset, config, kCleanedSuffix, &segment);
  RecoveryResult recovered;
  if (s.ok()) s = segment->Recover(&recovered);
  if (s.ok() && recovered.truncated_bytes > 0)
    s = Status::Corrupt("the cleaned copy of segment " + std::to_string(base_offset) +
                        " has " + std::to_string(recovered.truncated_bytes) + " invalid bytes");
  if (s.ok()) s = segment->MakeInactive();
  if (s.ok()) s = segment->Flush();
  if (s.ok()) s = segment->RenameFiles(kSwapSuffix);
  if (!s.ok()) {
    if (segment) segment->Close();
    RemoveAll(cleaned);
    RemoveAll(swap);
    return s;
  }

  std::lock_guard<std::mutex> lock(mutex_);
  auto it = std::find_if(segments_.begin(), segments_.end(),
                         [&](const auto& existing) { return existing->base_offset() == base_offset; });
  // Never the active segment, and only the exact bytes the cleaner read.
  if (closed_ || it == segments_.end() || it + 1 == segments_.end() || (*it)->size() != expected_size) {
    segment->Close();
    RemoveAll(swap);
    return closed_ ? Status::Closed() : Status::Ok();
  }
  s = segment->RenameFiles("");
  if (!s.ok()) {
    // Some files may already carry the real names; Load completes the rest after a restart,
    // and until then the old segment object keeps serving its old inode.
    segment->Close();
    return s;
  }
  std::shared_ptr<LogSegment> old = *it;
  total_bytes_ = total_bytes_ - old->size() + segment->size();
  *it = std::move(segment);
  old->Close();  // its files were replaced by name: close, never Delete()
  RecomputeMaxTimestamp();
  *replaced = true;
  return Status::Ok();
}

}  // namespace spate
