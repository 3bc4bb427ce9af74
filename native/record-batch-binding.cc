// validateBatches(bytes) -> BatchesInfo, or throws a LogError (CORRUPT_MESSAGE / INVALID_RECORD).
#include "binding-util.h"
#include "record-batch.h"

namespace spate {
namespace js {
namespace {

Napi::Value ValidateBatchesJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* data = nullptr;
  size_t length = 0;
  SPATE_ARG_BYTES(info, 0, "records", data, length);
  // One summary vector per call, reused across calls on this (the JS) thread.
  static thread_local BatchesSummary summary;
  Status status = ValidateBatches(data, length, &summary);
  if (!status.ok()) Throw(env, status);

  Napi::Array batches = Napi::Array::New(env, summary.batches.size());
  for (size_t i = 0; i < summary.batches.size(); i++) {
    const BatchSummary& b = summary.batches[i];
    const BatchHeader& h = b.header;
    Napi::Object batch = Napi::Object::New(env);
    batch.Set("position", Napi::Number::New(env, b.position));
    batch.Set("size", Napi::Number::New(env, static_cast<double>(h.size())));
    batch.Set("lastOffsetDelta", Napi::Number::New(env, h.last_offset_delta));
    batch.Set("attributes", Napi::Number::New(env, h.attributes));
    batch.Set("baseTimestamp", Napi::BigInt::New(env, h.base_timestamp));
    batch.Set("maxTimestamp", Napi::BigInt::New(env, h.max_timestamp));
    batch.Set("producerId", Napi::BigInt::New(env, h.producer_id));
    batch.Set("producerEpoch", Napi::Number::New(env, h.producer_epoch));
    batch.Set("baseSequence", Napi::Number::New(env, h.base_sequence));
    batch.Set("recordCount", Napi::Number::New(env, h.record_count));
    batch.Set("isTransactional", Napi::Boolean::New(env, h.is_transactional()));
    batch.Set("isControl", Napi::Boolean::New(env, h.is_control()));
    batch.Set("compression", Napi::Number::New(env, h.compression()));
    batches.Set(static_cast<uint32_t>(i), batch);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("batchCount", Napi::Number::New(env, static_cast<double>(summary.batches.size())));
  result.Set("recordCount", Napi::Number::New(env, static_cast<double>(summary.record_count)));
  result.Set("maxTimestamp", Napi::BigInt::New(env, summary.max_timestamp));
  result.Set("batches", batches);
  return result;
}

}  // namespace

void InitRecordBatch(Napi::Env env, Napi::Object exports) {
  exports.Set("validateBatches", Napi::Function::New(env, ValidateBatchesJs, "validateBatches"));
}

}  // namespace js
}  // namespace spate
