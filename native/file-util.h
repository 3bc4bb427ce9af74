// Small POSIX helpers shared by the storage code: whole-buffer pread/pwrite, atomic file
// replacement, directory fsync, and an owned memory mapping.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "status.h"

namespace spate {

// Owns a file descriptor.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  void reset(int fd = -1);

 private:
  int fd_ = -1;
};

// A read-only or read-write shared mapping, unmapped when the last owner lets go.
struct MappedRegion {
  uint8_t* address = nullptr;
  size_t length = 0;
  // Whatever must live as long as the mapping (a segment's usage token, see SegmentFile).
  std::shared_ptr<const void> keep;
  MappedRegion() = default;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion();
};

Status MapFile(int fd, size_t length, bool writable, const std::string& path,
               std::shared_ptr<MappedRegion>* out);

// Reads up to `length` bytes at `offset`, stopping early only at end of file.
Status PreadFully(int fd, void* buffer, size_t length, uint64_t offset, size_t* read_bytes,
                  const std::string& path);
Status PwriteFully(int fd, const void* buffer, size_t length, uint64_t offset,
                   const std::string& path);
Status FileSize(int fd, uint64_t* size, const std::string& path);
// The size of the file at `path`, without opening it.
Status PathSize(const std::string& path, uint64_t* size);
Status Truncate(int fd, uint64_t size, const std::string& path);
Status DataSync(int fd, const std::string& path);

Status OpenFile(const std::string& path, int flags, UniqueFd* out);
Status MakeDirectories(const std::string& path);
Status FsyncDirectory(const std::string& dir);
// Replaces dir/name with `content` so a crash leaves the old or the new file, never a mix.
Status WriteFileAtomic(const std::string& dir, const std::string& name,
                       const std::string& content);
// Reads a small file; `exists` is false (and the status ok) when it does not exist.
Status ReadSmallFile(const std::string& path, std::string* content, bool* exists);
Status RemoveFile(const std::string& path, bool missing_ok = true);

// "00000000000000000042.log": the Kafka name of a segment file.
std::string SegmentFileName(int64_t base_offset, const char* suffix);
std::string JoinPath(const std::string& dir, const std::string& name);

}  // namespace spate
