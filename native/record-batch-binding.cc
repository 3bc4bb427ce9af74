// validateBatches(records, fields, wide): validates and packs the batch fields into the
// caller's typed arrays, or throws a LogError (CORRUPT_MESSAGE / INVALID_RECORD).
// src/log/native.ts turns them into BatchesInfo.
#include "binding-util.h"
#include "record-batch.h"

namespace spate {
namespace js {
namespace {

// The batches of the last validation on this (the JS) thread; reused, so validating
// allocates nothing per record and nothing per call once it has grown.
thread_local BatchesSummary last_summary;

Napi::Int32Array FieldsArgument(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsTypedArray() || info[index].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
    ThrowArgument(info.Env(), "fields", "an Int32Array");
  return info[index].As<Napi::Int32Array>();
}

Napi::BigInt64Array WideArgument(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsTypedArray() || info[index].As<Napi::TypedArray>().TypedArrayType() != napi_bigint64_array)
    ThrowArgument(info.Env(), "wide", "a BigInt64Array");
  return info[index].As<Napi::BigInt64Array>();
}

// Writes the last summary into `fields` (7 int32 per batch: position, size,
// lastOffsetDelta, attributes, producerEpoch, baseSequence, recordCount) and `wide` (4 int64
// per batch: baseTimestamp, maxTimestamp, producerId, minTimestamp; then the overall
// maxTimestamp) if they are large enough. Returns the batch count either way.
Napi::Value FillBatchFields(Napi::Env env, Napi::Int32Array fields, Napi::BigInt64Array wide) {
  const size_t count = last_summary.batches.size();
  if (fields.ElementLength() < count * 7 || wide.ElementLength() < count * 4 + 1)
    return Napi::Number::New(env, static_cast<double>(count));
  int32_t* f = fields.Data();
  int64_t* w = wide.Data();
  for (const BatchSummary& b : last_summary.batches) {
    const BatchHeader& h = b.header;
    *f++ = static_cast<int32_t>(b.position);
    *f++ = static_cast<int32_t>(h.size());
    *f++ = h.last_offset_delta;
    *f++ = h.attributes;
    *f++ = h.producer_epoch;
    *f++ = h.base_sequence;
    *f++ = h.record_count;
    *w++ = h.base_timestamp;
    *w++ = h.max_timestamp;
    *w++ = h.producer_id;
    *w++ = b.min_timestamp;
  }
  *w = last_summary.max_timestamp;
  return Napi::Number::New(env, static_cast<double>(count));
}

// validateBatches(records, fields, wide, requireKeys?) -> batch count. Building the BatchInfo objects in
// JS (src/log/native.ts) from these arrays is several times faster than setting their
// properties one by one through N-API.
Napi::Value ValidateBatchesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data = nullptr;
  size_t length = 0;
  SPATE_ARG_BYTES(info, 0, "records", data, length);
  Napi::Int32Array fields = FieldsArgument(info, 1);
  Napi::BigInt64Array wide = WideArgument(info, 2);
  bool require_keys = info.Length() > 3 && info[3].IsBoolean() && info[3].As<Napi::Boolean>().Value();
  if (length > static_cast<size_t>(INT32_MAX))
    Throw(env, Status::Make(kRecordListTooLarge, "RECORD_LIST_TOO_LARGE", "records of 2 GiB or more"));
  Status status = ValidateBatches(data, length, &last_summary, require_keys);
  if (!status.ok()) Throw(env, status);
  return FillBatchFields(env, fields, wide);
}

// lastBatchFields(fields, wide): the same fields again, after the caller grew its arrays.
Napi::Value LastBatchFieldsJs(const Napi::CallbackInfo& info) {
  return FillBatchFields(info.Env(), FieldsArgument(info, 0), WideArgument(info, 1));
}

}  // namespace

void InitRecordBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("validateBatches", Napi::Function::New(env, ValidateBatchesJs, "validateBatches"));
  exports.Set("lastBatchFields", Napi::Function::New(env, LastBatchFieldsJs, "lastBatchFields"));
}

}  // namespace js
}  // namespace spate
