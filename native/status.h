// Errors as values for the plain C++ layer. Nothing below the bindings throws or touches
// JS: a failed operation returns a Status, and the binding turns it into a LogError
// carrying both the internal code and the Kafka error code.
#pragma once

#include <string>
#include <utility>

namespace spate {

// Kafka protocol error codes that the data plane can produce.
enum KafkaCode : int {
  kNone = 0,
  kOffsetOutOfRange = 1,
  kCorruptMessage = 2,
  kRecordListTooLarge = 18,
  kKafkaStorageError = 56,
  kInvalidRecord = 87,
};

struct Status {
  int kafka_code = kNone;
  const char* code = nullptr;  // internal code, a string literal; nullptr when ok
  std::string message;
  int sys_errno = 0;

  bool ok() const { return code == nullptr; }

  static Status Ok() { return Status(); }
  static Status Make(int kafka_code, const char* code, std::string message, int sys_errno = 0) {
    Status s;
    s.kafka_code = kafka_code;
    s.code = code;
    s.message = std::move(message);
    s.sys_errno = sys_errno;
    return s;
  }
  static Status Corrupt(std::string message) {
    return Make(kCorruptMessage, "CORRUPT_MESSAGE", std::move(message));
  }
  static Status InvalidRecord(std::string message) {
    return Make(kInvalidRecord, "INVALID_RECORD", std::move(message));
  }
  static Status OutOfRange(std::string message) {
    return Make(kOffsetOutOfRange, "OFFSET_OUT_OF_RANGE", std::move(message));
  }
  // An I/O failure; `what` names the operation and file, errno is appended.
  static Status Storage(const std::string& what, int err);
  static Status Closed() { return Make(kKafkaStorageError, "LOG_CLOSED", "the log is closed"); }
};

#define SPATE_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::spate::Status spate_status_ = (expr); \
    if (!spate_status_.ok()) return spate_status_; \
  } while (0)

}  // namespace spate
