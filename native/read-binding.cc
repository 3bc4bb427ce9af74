#include "read-binding.h"

#include <atomic>
#include <cstring>

#include "binding-util.h"

namespace spate {
namespace js {
namespace {

// Only native code may construct a ReadSlice: it passes this token as the argument.
int construction_token;

// The read queue, for the metrics (readQueue()): reads queued to libuv's thread pool and
// not yet completed, and of those the ones running on a pool thread now. Relaxed atomics:
// the counts are only ever read as a gauge, and every addon instance (worker threads load
// their own) shares the one thread pool.
std::atomic<int64_t> reads_in_flight{0};
std::atomic<int64_t> reads_running{0};

// Counts one read from construction (queued) to destruction (its promise settled).
struct ReadInFlight {
  ReadInFlight() { reads_in_flight.fetch_add(1, std::memory_order_relaxed); }
  ~ReadInFlight() { reads_in_flight.fetch_sub(1, std::memory_order_relaxed); }
  ReadInFlight(const ReadInFlight&) = delete;
  ReadInFlight& operator=(const ReadInFlight&) = delete;
};

struct Running {
  Running() { reads_running.fetch_add(1, std::memory_order_relaxed); }
  ~Running() { reads_running.fetch_sub(1, std::memory_order_relaxed); }
  Running(const Running&) = delete;
  Running& operator=(const Running&) = delete;
};

class ReadWorker : public Napi::AsyncWorker {
 public:
  ReadWorker(Napi::Env env, std::shared_ptr<SegmentLog> log, int64_t offset, int64_t max_bytes,
             bool min_one_batch, bool map)
      : Napi::AsyncWorker(env, "spate.read"),
        deferred_(Napi::Promise::Deferred::New(env)),
        log_(std::move(log)),
        offset_(offset),
        max_bytes_(max_bytes),
        min_one_batch_(min_one_batch),
        map_(map) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    Running running;
    status_ = log_->Read(offset_, max_bytes_, min_one_batch_, map_, &result_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.ok()) return deferred_.Reject(MakeError(env, status_));
    if (result_.at_end) return deferred_.Resolve(env.Null());
    deferred_.Resolve(ReadSliceWrap::Create(env, result_));
  }

 private:
  ReadInFlight in_flight_;
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<SegmentLog> log_;
  int64_t offset_, max_bytes_;
  bool min_one_batch_, map_;
  Status status_;
  ReadResult result_;
};

class TimestampWorker : public Napi::AsyncWorker {
 public:
  TimestampWorker(Napi::Env env, std::shared_ptr<SegmentLog> log, int64_t timestamp)
      : Napi::AsyncWorker(env, "spate.offsetForTimestamp"),
        deferred_(Napi::Promise::Deferred::New(env)),
        log_(std::move(log)),
        timestamp_(timestamp) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    Running running;
    status_ = log_->OffsetForTimestamp(timestamp_, &result_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.ok()) return deferred_.Reject(MakeError(env, status_));
    if (!result_.found) return deferred_.Resolve(env.Null());
    Napi::Object found = Napi::Object::New(env);
    found.Set("offset", Napi::BigInt::New(env, result_.offset));
    found.Set("timestamp", Napi::BigInt::New(env, result_.timestamp));
    deferred_.Resolve(found);
  }

 private:
  ReadInFlight in_flight_;
  Napi::Promise::Deferred deferred_;
  std::shared_ptr<SegmentLog> log_;
  int64_t timestamp_;
  Status status_;
  TimestampLookup result_;
};

void FinalizeMapping(Napi::Env, uint8_t*, std::shared_ptr<MappedRegion>* mapping) { delete mapping; }

}  // namespace

ReadSliceWrap::ReadSliceWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ReadSliceWrap>(info) {
  if (!info[0].IsExternal() || info[0].As<Napi::External<int>>().Data() != &construction_token)
    ThrowArgument(info.Env(), "ReadSlice", "created by SegmentLog.read, not by new");
}

Napi::Object ReadSliceWrap::Create(Napi::Env env, ReadResult& result) {
  Napi::Object slice = Data(env).read_slice_class.New({Napi::External<int>::New(env, &construction_token)});
  ReadSliceWrap* wrap = ReadSliceWrap::Unwrap(slice);
  wrap->file_ = std::move(result.file);
  wrap->position_ = result.position;
  wrap->length_ = result.length;
  slice.Set("baseOffset", Napi::BigInt::New(env, result.base_offset));
  slice.Set("lastOffset", Napi::BigInt::New(env, result.last_offset));
  slice.Set("length", Napi::Number::New(env, static_cast<double>(result.length)));
  slice.Set("position", Napi::Number::New(env, static_cast<double>(result.position)));
  slice.Set("fd", Napi::Number::New(env, wrap->file_->fd.get()));
  wrap->mapped_ = result.mapped;
  wrap->mapping_ = std::move(result.mapping);
  return slice;
}

Napi::Value ReadSliceWrap::Release(const Napi::CallbackInfo& info) {
  file_.reset();
  mapping_.reset();  // a Buffer made before keeps its own pin
  return info.Env().Undefined();
}

Napi::Value ReadSliceWrap::GetBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!buffer_.IsEmpty()) return buffer_.Value();
  if (!mapped_) return env.Undefined();
  Napi::Object buffer;
  if (mapping_ && length_ > 0) {
    uint8_t* bytes = mapping_->address + position_;
    auto* pin = new std::shared_ptr<MappedRegion>(std::move(mapping_));
    buffer = Napi::Buffer<uint8_t>::New(env, bytes, length_, FinalizeMapping, pin);
  } else {
    // Released before the first access, or an empty slice: nothing to map.
    mapping_.reset();
    buffer = Napi::Buffer<uint8_t>::New(env, 0);
  }
  buffer_ = Napi::Persistent(buffer);
  return buffer;
}

Napi::Value ReadSliceWrap::Released(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !file_);
}

Napi::Value StartRead(const Napi::CallbackInfo& info, const std::shared_ptr<SegmentLog>& log) {
  int64_t offset = 0, max_bytes = 0;
  bool min_one_batch = false;
  SPATE_ARG_INT64(info, 0, "offset", offset);
  SPATE_ARG_INT64(info, 1, "maxBytes", max_bytes);
  SPATE_ARG_BOOL(info, 2, "minOneBatch", min_one_batch);
  bool map = true;
  if (!info[3].IsUndefined()) {
    std::string delivery;
    SPATE_ARG_STRING(info, 3, "delivery", delivery);
    if (delivery == "sendfile")
      map = false;
    else if (delivery != "mmap")
      ThrowArgument(info.Env(), "delivery", "'mmap' or 'sendfile'");
  }
  auto* worker = new ReadWorker(info.Env(), log, offset, max_bytes, min_one_batch, map);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value StartOffsetForTimestamp(const Napi::CallbackInfo& info,
                                    const std::shared_ptr<SegmentLog>& log) {
  int64_t timestamp = 0;
  SPATE_ARG_INT64(info, 0, "timestamp", timestamp);
  auto* worker = new TimestampWorker(info.Env(), log, timestamp);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

// readQueue(): { queued, running } reads of every log (queued counts the running ones too).
static Napi::Value ReadQueue(const Napi::CallbackInfo& info) {
  Napi::Object counts = Napi::Object::New(info.Env());
  counts.Set("queued", Napi::Number::New(info.Env(), static_cast<double>(reads_in_flight.load(std::memory_order_relaxed))));
  counts.Set("running", Napi::Number::New(info.Env(), static_cast<double>(reads_running.load(std::memory_order_relaxed))));
  return counts;
}

void InitReadSlice(Napi::Env env, Napi::Object exports) {
  Napi::Function slice_class = ReadSliceWrap::DefineClass(
      env, "ReadSlice",
      {ReadSliceWrap::InstanceMethod<&ReadSliceWrap::Release>("release"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::Released>("released"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::GetBuffer>("buffer")});
  Data(env).read_slice_class = Napi::Persistent(slice_class);
  exports.Set("ReadSlice", slice_class);
  exports.Set("readQueue", Napi::Function::New(env, ReadQueue, "readQueue"));
}

}  // namespace js
}  // namespace spate
