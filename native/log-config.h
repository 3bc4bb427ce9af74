// Per-log settings, named after the Kafka topic configs they mirror.
#pragma once

#include <cstdint>
#include <limits>

namespace spate {

struct LogConfig {
  int64_t segment_bytes = int64_t{1} << 30;              // segment.bytes
  int64_t segment_ms = int64_t{7} * 24 * 3600 * 1000;    // segment.ms
  int64_t index_interval_bytes = 4096;                   // index.interval.bytes
  int64_t segment_index_bytes = int64_t{10} << 20;       // segment.index.bytes
  int64_t flush_messages = std::numeric_limits<int64_t>::max();  // flush.messages: never
  int64_t flush_ms = std::numeric_limits<int64_t>::max();        // flush.ms: never
  // Recover (CRC-check) every segment at open, also after a clean shutdown: for the
  // internal topics, whose every batch the coordinators replay at start.
  bool verify_on_open = false;
  // cleanup.policy includes compact: offset gaps between segments are the cleaner's doing.
  bool compacted = false;
};

}  // namespace spate
