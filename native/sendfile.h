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

// Sends what the socket takes now of [position, position + length) of file_fd, on the
// calling thread, without waiting: stops at EAGAIN (not an error) or when all is sent. Meant
// for pages already in the page cache (a slice whose pages the read worker faulted in), so
// the call costs a copy into the socket buffer and no disk wait. *sent counts what went out.
Status SendFileNow(int socket_fd, int file_fd, uint64_t position, uint64_t length, uint64_t* sent);

}  // namespace spate
