// Record batch (magic 2) header layout and validation; see the record batch section of
// shared/kafka-protocol/README.md. Plain C++: used by produce validation, segment
// recovery and the read path alike.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "status.h"

namespace spate {

constexpr size_t kLogOverhead = 12;        // baseOffset + batchLength, outside batchLength
constexpr size_t kBatchHeaderSize = 61;    // up to and including recordsCount
constexpr int32_t kMinBatchLength = 49;    // kBatchHeaderSize - kLogOverhead
constexpr size_t kCrcOffset = 17;
constexpr size_t kAttributesOffset = 21;   // CRC coverage starts here
constexpr int8_t kCurrentMagic = 2;

struct BatchHeader {
  int64_t base_offset;
  int32_t batch_length;
  int32_t partition_leader_epoch;
  int8_t magic;
  uint32_t crc;
  int16_t attributes;
  int32_t last_offset_delta;
  int64_t base_timestamp;
  int64_t max_timestamp;
  int64_t producer_id;
  int16_t producer_epoch;
  int32_t base_sequence;
  int32_t record_count;

  size_t size() const { return static_cast<size_t>(batch_length) + kLogOverhead; }
  int64_t last_offset() const { return base_offset + last_offset_delta; }
  int compression() const { return attributes & 0x7; }
  bool is_transactional() const { return (attributes & 0x10) != 0; }
  bool is_control() const { return (attributes & 0x20) != 0; }
};

// `p` must hold kBatchHeaderSize bytes.
BatchHeader ParseBatchHeader(const uint8_t* p);



enum class ValidationMode {
  // A producer's batches: Kafka's produce-time rules (LogValidator), records walked.
  kProduce,
  // A batch read back from our own segment: framing and CRC only (Kafka's
  // RecordBatch.ensureValid during log recovery); compaction may leave recordCount
  // below lastOffsetDelta + 1.
  kRecovery,
};

// Checks the framing fields of the header at `p` against the `available` bytes that
// follow (including the header itself). Needs only kBatchHeaderSize bytes at p.
Status CheckBatchFraming(const uint8_t* p, size_t available);

// The header rules of `mode` that need neither the CRC nor the records.
Status ValidateBatchFields(const BatchHeader& header, ValidationMode mode);

// What a walk over the records of an uncompressed batch learns and checks.
struct RecordWalk {
  bool require_keys = false;    // a compacted topic: a record without a key is refused
  int64_t min_timestamp = -1;   // the smallest record timestamp (CreateTime)
};

// Validates one whole batch of `size` bytes (framing already checked): CRC, header
// fields, and for produce the records of an uncompressed batch (filling `walk`, if given).
Status ValidateBatch(const uint8_t* batch, size_t size, ValidationMode mode,
                     RecordWalk* walk = nullptr);

// In a whole uncompressed batch, the first record with timestamp >= target and offset >=
// min_offset (ListOffsets by timestamp). Returns false if there is none or the batch is
// compressed or malformed.
bool FindRecordByTimestamp(const uint8_t* batch, size_t size, int64_t target, int64_t min_offset,
                           int64_t* offset, int64_t* timestamp);

struct BatchSummary {
  uint32_t position;  // within the validated buffer
  BatchHeader header;
  // The smallest record timestamp of an uncompressed batch; base_timestamp otherwise.
  int64_t min_timestamp;
};

struct BatchesSummary {
  std::vector<BatchSummary> batches;
  int64_t record_count = 0;
  int64_t max_timestamp = -1;
};

// Validates a produce request's records blob: whole batches back to back, nothing after.
// With `require_keys` (cleanup.policy=compact) a keyless record of an uncompressed batch is
// INVALID_RECORD; compressed batches are checked by the caller after decompression.
Status ValidateBatches(const uint8_t* data, size_t length, BatchesSummary* out,
                       bool require_keys = false);

}  // namespace spate
