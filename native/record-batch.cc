#include "record-batch.h"

#include <string>

#include "byte-order.h"
#include "crc32c.h"

namespace spate {
namespace {

// A signed zig-zag varint of at most `max_bytes` bytes (5 for int32, 10 for int64).
inline bool ReadZigZag(const uint8_t*& p, const uint8_t* end, int max_bytes, int64_t* out) {
  uint64_t raw = 0;
  for (int i = 0; i < max_bytes; i++) {
    if (p >= end) return false;
    uint8_t byte = *p++;
    raw |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if ((byte & 0x80) == 0) {
      *out = static_cast<int64_t>(raw >> 1) ^ -static_cast<int64_t>(raw & 1);
      return true;
    }
  }
  return false;
}

inline bool ReadVarint(const uint8_t*& p, const uint8_t* end, int64_t* out) {
  return ReadZigZag(p, end, 5, out);
}

// Skips a length-prefixed field; lengths below `min_length` are invalid (-1 means null).
inline bool SkipBytes(const uint8_t*& p, const uint8_t* end, int64_t min_length) {
  int64_t length;
  if (!ReadVarint(p, end, &length) || length < min_length) return false;
  if (length > 0) {
    if (length > end - p) return false;
    p += length;
  }
  return true;
}

// Walks the records of an uncompressed batch without materialising them.
Status WalkRecords(const uint8_t* batch, size_t size, int32_t record_count, RecordWalk* walk) {
  const uint8_t* p = batch + kBatchHeaderSize;
  const uint8_t* const end = batch + size;
  const int64_t base_timestamp = static_cast<int64_t>(ReadBe64(batch + 27));
  for (int32_t i = 0; i < record_count; i++) {
    int64_t length;
    if (!ReadVarint(p, end, &length))
      return Status::InvalidRecord("record " + std::to_string(i) + ": unreadable length varint");
    if (length < 6 || length > end - p)
      return Status::InvalidRecord("record " + std::to_string(i) + ": length " +
                                   std::to_string(length) + " does not fit the batch");
    const uint8_t* const record_end = p + length;
    p++;  // attributes
    int64_t timestamp_delta, offset_delta, header_count, key_length = -1;
    bool ok = ReadZigZag(p, record_end, 10, &timestamp_delta) &&
              ReadVarint(p, record_end, &offset_delta);
    if (ok) {
      const uint8_t* key = p;
      ok = ReadVarint(key, record_end, &key_length) && SkipBytes(p, record_end, -1);
    }
    ok = ok && SkipBytes(p, record_end, -1) &&  // value
         ReadVarint(p, record_end, &header_count) && header_count >= 0;
    for (int64_t h = 0; ok && h < header_count; h++)
      ok = SkipBytes(p, record_end, 0) && SkipBytes(p, record_end, -1);
    if (!ok || p != record_end)
      return Status::InvalidRecord("record " + std::to_string(i) + ": invalid record structure");
    if (walk != nullptr) {
      // Kafka's LogValidator: "Compacted topic cannot accept message without key".
      if (walk->require_keys && key_length < 0)
        return Status::Make(kInvalidRecord, "KEYLESS_RECORD",
                            "Compacted topic cannot accept message without key in topic partition");
      int64_t timestamp = base_timestamp + timestamp_delta;
      if (i == 0 || timestamp < walk->min_timestamp) walk->min_timestamp = timestamp;
    }
  }
  if (p != end)
    return Status::InvalidRecord("batch declares " + std::to_string(record_count) +
                                 " records but " + std::to_string(end - p) +
                                 " bytes remain after them");
  return Status::Ok();
}

}  // namespace

BatchHeader ParseBatchHeader(const uint8_t* p) {
  BatchHeader h;
  h.base_offset = static_cast<int64_t>(ReadBe64(p));
  h.batch_length = static_cast<int32_t>(ReadBe32(p + 8));
  h.partition_leader_epoch = static_cast<int32_t>(ReadBe32(p + 12));
  h.magic = static_cast<int8_t>(p[16]);
  h.crc = ReadBe32(p + kCrcOffset);
  h.attributes = static_cast<int16_t>(ReadBe16(p + 21));
  h.last_offset_delta = static_cast<int32_t>(ReadBe32(p + 23));
  h.base_timestamp = static_cast<int64_t>(ReadBe64(p + 27));
  h.max_timestamp = static_cast<int64_t>(ReadBe64(p + 35));
  h.producer_id = static_cast<int64_t>(ReadBe64(p + 43));
  h.producer_epoch = static_cast<int16_t>(ReadBe16(p + 51));
  h.base_sequence = static_cast<int32_t>(ReadBe32(p + 53));
  h.record_count = static_cast<int32_t>(ReadBe32(p + 57));
  return h;
}

Status CheckBatchFraming(const uint8_t* p, size_t available) {
  if (available < kBatchHeaderSize)
    return Status::Corrupt("truncated batch header: " + std::to_string(available) +
                           " bytes left, a batch header needs " +
                           std::to_string(kBatchHeaderSize));
  int32_t batch_length = static_cast<int32_t>(ReadBe32(p + 8));
  if (batch_length < kMinBatchLength)
    return Status::Corrupt("batch length " + std::to_string(batch_length) +
                           " is below the minimum of " + std::to_string(kMinBatchLength));
  if (static_cast<size_t>(batch_length) + kLogOverhead > available)
    return Status::Corrupt("batch of " + std::to_string(batch_length + kLogOverhead) +
                           " bytes exceeds the " + std::to_string(available) + " bytes left");
  int8_t magic = static_cast<int8_t>(p[16]);
  if (magic == 0 || magic == 1)
    return Status::InvalidRecord("record batches must use magic 2, found magic " +
                                 std::to_string(magic));
  if (magic != kCurrentMagic)
    return Status::Corrupt("invalid magic " + std::to_string(magic));
  return Status::Ok();
}

Status ValidateBatch(const uint8_t* batch, size_t size, ValidationMode mode, RecordWalk* walk) {
  BatchHeader h = ParseBatchHeader(batch);
  uint32_t actual = Crc32c(0, batch + kAttributesOffset, size - kAttributesOffset);
  if (actual != h.crc)
    return Status::Corrupt("CRC32C mismatch: batch says " + std::to_string(h.crc) +
                           ", computed " + std::to_string(actual));
  SPATE_RETURN_IF_ERROR(ValidateBatchFields(h, mode));
  if (mode == ValidationMode::kProduce && h.compression() == 0)
    return WalkRecords(batch, size, h.record_count, walk);
  return Status::Ok();
}

Status ValidateBatchFields(const BatchHeader& h, ValidationMode mode) {
  if (h.compression() > 4)
    return Status::InvalidRecord("unknown compression codec " + std::to_string(h.compression()));
  if (h.record_count < 0)
    return Status::InvalidRecord("negative record count " + std::to_string(h.record_count));
  if (mode == ValidationMode::kRecovery) {
    if (h.last_offset_delta < 0)
      return Status::Corrupt("negative lastOffsetDelta " + std::to_string(h.last_offset_delta));
    return Status::Ok();
  }
  // Kafka's LogValidator: the offset range a batch claims must match its record count.
  if (h.record_count == 0)
    return Status::InvalidRecord("batch holds no records");
  if (h.last_offset_delta != h.record_count - 1)
    return Status::InvalidRecord("lastOffsetDelta " + std::to_string(h.last_offset_delta) +
                                 " does not match record count " + std::to_string(h.record_count));
  return Status::Ok();
}

bool FindRecordByTimestamp(const uint8_t* batch, size_t size, int64_t target, int64_t min_offset,
                           int64_t* offset, int64_t* timestamp) {
  BatchHeader h = ParseBatchHeader(batch);
  if (h.compression() != 0) return false;
  const bool log_append_time = (h.attributes & 0x8) != 0;  // every record has maxTimestamp
  const uint8_t* p = batch + kBatchHeaderSize;
  const uint8_t* const end = batch + size;
  for (int32_t i = 0; i < h.record_count; i++) {
    int64_t length, timestamp_delta, offset_delta;
    if (!ReadVarint(p, end, &length) || length < 6 || length > end - p) return false;
    const uint8_t* record_end = p + length;
    const uint8_t* q = p + 1;  // skip attributes
    if (!ReadZigZag(q, record_end, 10, &timestamp_delta) || !ReadVarint(q, record_end, &offset_delta))
      return false;
    int64_t record_offset = h.base_offset + offset_delta;
    int64_t record_timestamp = log_append_time ? h.max_timestamp : h.base_timestamp + timestamp_delta;
    if (record_timestamp >= target && record_offset >= min_offset) {
      *offset = record_offset;
      *timestamp = record_timestamp;
      return true;
    }
    p = record_end;
  }
  return false;
}

Status ValidateBatches(const uint8_t* data, size_t length, BatchesSummary* out, bool require_keys) {
  out->batches.clear();
  out->record_count = 0;
  out->max_timestamp = -1;
  if (length == 0) return Status::InvalidRecord("no record batches");
  size_t position = 0;
  while (position < length) {
    const uint8_t* batch = data + position;
    Status s = CheckBatchFraming(batch, length - position);
    RecordWalk walk;
    walk.require_keys = require_keys;
    if (s.ok()) s = ValidateBatch(batch, ParseBatchHeader(batch).size(), ValidationMode::kProduce, &walk);
    if (!s.ok()) {
      s.message = "batch " + std::to_string(out->batches.size()) + " at byte " +
                  std::to_string(position) + ": " + s.message;
      return s;
    }
    BatchSummary summary;
    summary.position = static_cast<uint32_t>(position);
    summary.header = ParseBatchHeader(batch);
    summary.min_timestamp = summary.header.compression() == 0 && summary.header.record_count > 0
                                ? walk.min_timestamp
                                : summary.header.base_timestamp;
    out->record_count += summary.header.record_count;
    if (summary.header.max_timestamp > out->max_timestamp)
      out->max_timestamp = summary.header.max_timestamp;
    position += summary.header.size();
    out->batches.push_back(summary);
  }
  return Status::Ok();
}

}  // namespace spate
