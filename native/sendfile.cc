#include "sendfile.h"

#include <errno.h>
#include <poll.h>
#include <sys/sendfile.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace spate {
namespace {

Status SocketError(int err) {
  const char* code = "SENDFILE_FAILED";
  if (err == EPIPE) code = "EPIPE";
  if (err == ECONNRESET) code = "ECONNRESET";
  if (err == ETIMEDOUT) code = "ETIMEDOUT";
  if (err == EBADF) code = "EBADF";
  // EIO comes from the file side: a storage error as far as Kafka is concerned.
  int kafka_code = err == EIO ? kKafkaStorageError : -1;  // -1: UNKNOWN_SERVER_ERROR
  return Status::Make(kafka_code, code, std::string("sendfile: ") + std::strerror(err), err);
}

}  // namespace

Status SendFileNow(int socket_fd, int file_fd, uint64_t position, uint64_t length, uint64_t* sent) {
  *sent = 0;
  off_t offset = static_cast<off_t>(position);
  while (*sent < length) {
    size_t chunk = static_cast<size_t>(std::min<uint64_t>(length - *sent, 1u << 30));
    ssize_t n = ::sendfile(socket_fd, file_fd, &offset, chunk);
    if (n > 0) {
      *sent += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0)  // the file ended before the slice did
      return Status::Make(kKafkaStorageError, "SHORT_FILE",
                          "sendfile: segment file ended " + std::to_string(length - *sent) +
                              " bytes before the slice");
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();  // the socket is full
    return SocketError(errno);
  }
  return Status::Ok();
}

Status SendFileFully(int socket_fd, int file_fd, uint64_t position, uint64_t length,
                     int timeout_ms, uint64_t* sent) {
  *sent = 0;
  for (;;) {
    uint64_t now = 0;
    Status status = SendFileNow(socket_fd, file_fd, position + *sent, length - *sent, &now);
    *sent += now;
    if (!status.ok() || *sent == length) return status;
    // The socket is full: wait until it drains.
    struct pollfd waiter = {socket_fd, POLLOUT, 0};
    int ready = ::poll(&waiter, 1, timeout_ms);
    if (ready < 0 && errno != EINTR) return SocketError(errno);
    if (ready == 0) return SocketError(ETIMEDOUT);
    // POLLERR/POLLHUP: the next sendfile reports the error itself.
  }
}

}  // namespace spate
