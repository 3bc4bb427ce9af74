#include "file-util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace spate {

Status Status::Storage(const std::string& what, int err) {
  return Make(kKafkaStorageError, "KAFKA_STORAGE_ERROR", what + ": " + std::strerror(err), err);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) reset(other.release());
  return *this;
}

void UniqueFd::reset(int fd) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
}

MappedRegion::~MappedRegion() {
  if (address != nullptr) ::munmap(address, length);
}

Status MapFile(int fd, size_t length, bool writable, const std::string& path,
               std::shared_ptr<MappedRegion>* out) {
  out->reset();
  if (length == 0) return Status::Ok();
  int prot = writable ? (PROT_READ | PROT_WRITE) : PROT_READ;
  void* address = ::mmap(nullptr, length, prot, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) return Status::Storage("mmap " + path, errno);
  auto region = std::make_shared<MappedRegion>();
  region->address = static_cast<uint8_t*>(address);
  region->length = length;
  *out = std::move(region);
  return Status::Ok();
}

Status PreadFully(int fd, void* buffer, size_t length, uint64_t offset, size_t* read_bytes,
                  const std::string& path) {
  size_t done = 0;
  auto* out = static_cast<uint8_t*>(buffer);
  while (done < length) {
    ssize_t n = ::pread(fd, out + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Storage("read " + path, errno);
    }
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  *read_bytes = done;
  return Status::Ok();
}

Status PwriteFully(int fd, const void* buffer, size_t length, uint64_t offset,
                   const std::string& path) {
  size_t done = 0;
  const auto* in = static_cast<const uint8_t*>(buffer);
  while (done < length) {
    ssize_t n = ::pwrite(fd, in + done, length - done, static_cast<off_t>(offset + done));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::Storage("write " + path, errno);
    }
    if (n == 0) return Status::Storage("write " + path, EIO);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

Status FileSize(int fd, uint64_t* size, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::Storage("stat " + path, errno);
  *size = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

Status PathSize(const std::string& path, uint64_t* size) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return Status::Storage("stat " + path, errno);
  *size = static_cast<uint64_t>(st.st_size);
  return Status::Ok();
}

Status Truncate(int fd, uint64_t size, const std::string& path) {
  while (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
    if (errno != EINTR) return Status::Storage("truncate " + path, errno);
  }
  return Status::Ok();
}

Status DataSync(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return Status::Storage("fdatasync " + path, errno);
  return Status::Ok();
}

Status OpenFile(const std::string& path, int flags, UniqueFd* out) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Storage("open " + path, errno);
  out->reset(fd);
  return Status::Ok();
}

Status MakeDirectories(const std::string& path) {
  // Usually the directory exists, or only its last component is missing: one call.
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return Status::Ok();
  for (size_t slash = 1; slash != std::string::npos;) {
    slash = path.find('/', slash + 1);
    std::string prefix = path.substr(0, slash);
    if (prefix.empty()) continue;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::Storage("mkdir " + prefix, errno);
  }
  return Status::Ok();
}

Status FsyncDirectory(const std::string& dir) {
  UniqueFd fd;
  SPATE_RETURN_IF_ERROR(OpenFile(dir, O_RDONLY | O_DIRECTORY, &fd));
  if (::fsync(fd.get()) != 0) return Status::Storage("fsync " + dir, errno);
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& dir, const std::string& name,
                       const std::string& content) {
  std::string final_path = JoinPath(dir, name);
  std::string temp_path = final_path + ".tmp";
  {
    UniqueFd fd;
    SPATE_RETURN_IF_ERROR(OpenFile(temp_path, O_WRONLY | O_CREAT | O_TRUNC, &fd));
    SPATE_RETURN_IF_ERROR(PwriteFully(fd.get(), content.data(), content.size(), 0, temp_path));
    SPATE_RETURN_IF_ERROR(DataSync(fd.get(), temp_path));
  }
  if (::rename(temp_path.c_str(), final_path.c_str()) != 0)
    return Status::Storage("rename " + temp_path, errno);
  return FsyncDirectory(dir);
}

Status ReadSmallFile(const std::string& path, std::string* content, bool* exists) {
  content->clear();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *exists = false;
    if (errno == ENOENT) return Status::Ok();
    return Status::Storage("open " + path, errno);
  }
  UniqueFd owned(fd);
  *exists = true;
  char buffer[256];
  size_t got = 0;
  SPATE_RETURN_IF_ERROR(PreadFully(fd, buffer, sizeof buffer, 0, &got, path));
  content->assign(buffer, got);
  return Status::Ok();
}

Status RemoveFile(const std::string& path, bool missing_ok) {
  if (::unlink(path.c_str()) != 0 && !(missing_ok && errno == ENOENT))
    return Status::Storage("unlink " + path, errno);
  return Status::Ok();
}

std::string SegmentFileName(int64_t base_offset, const char* suffix) {
  char name[32];
  std::snprintf(name, sizeof name, "%020" PRId64, base_offset);
  return std::string(name) + suffix;
}

std::string JoinPath(const std::string& dir, const std::string& name) {
  if (!dir.empty() && dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

}  // namespace spate
