// Zero-copy delivery of a log slice to a socket with sendfile(2).
#pragma once

#include <cstdint>

#include "status.h"

namespace spate {

// Sends [position, position + length) of file_fd to socket_fd. Node's sockets are
// non-blocking: on EAGAIN this waits for POLLOUT (at most timeout_ms per wait, < 0 for no
// limit). *sent counts the bytes that went out, also on failure.
Status SendFileFully(int socket_fd, int file_fd, uint64_t position, uint64_t length,
                     int timeout_ms, uint64_t* sent);

}  // namespace spate
