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
  wrap->open_ = std::move(result.open);
  wrap->position_ = result.position;
  wrap->length_ = result.length;
  wrap->base_offset_ = result.base_offset;
  wrap->last_offset_ = result.last_offset;
  wrap->fd_ = wrap->open_->fd.get();
  wrap->mapped_ = result.mapped;
  wrap->mapping_ = std::move(result.mapping);
  wrap->map_hint_ = result.map_hint;
  return slice;
}

Napi::Value ReadSliceWrap::Release(const Napi::CallbackInfo& info) {
  file_.reset();
  open_.reset();
  mapping_.reset();  // a Buffer made before keeps its own pin
  return info.Env().Undefined();
}

Napi::Value ReadSliceWrap::GetBuffer(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!buffer_.IsEmpty()) return buffer_.Value();
  if (!mapped_) return env.Undefined();
  Napi::Object buffer;
  if (!mapping_ && file_ && open_ && length_ > 0) {
    // The read found every page in the page cache and mapped nothing: map now (the pages
    // fault in as Node copies them, from memory).
    Status status = file_->MappingCovering(*open_, position_ + length_, map_hint_, &mapping_);
    if (!status.ok()) Throw(env, status);
  }
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

// copyTo(target, targetOffset, length): the slice's first `length` bytes into `target` with
// pread, on the calling thread. For small chunks of a fetch answer: the read found their
// pages in the page cache (or faulted them in), so this copies from memory, and no mapping
// and no Buffer over one is made (V8 counts those as external memory).
Napi::Value ReadSliceWrap::CopyTo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint8_t* target = nullptr;
  size_t target_length = 0;
  int64_t target_offset = 0, length = 0;
  SPATE_ARG_BYTES(info, 0, "target", target, target_length);
  SPATE_ARG_INT64(info, 1, "targetOffset", target_offset);
  SPATE_ARG_INT64(info, 2, "length", length);
  if (target_offset < 0 || length < 0 || static_cast<uint64_t>(length) > length_ ||
      static_cast<uint64_t>(target_offset) + static_cast<uint64_t>(length) > target_length)
    ThrowArgument(env, "length", "a range inside both the slice and the target");
  if (!file_) Throw(env, Status::Make(-1, "SLICE_RELEASED", "the slice was released before copyTo"));
  size_t got = 0;
  Status status = PreadFully(open_->fd.get(), target + target_offset, static_cast<size_t>(length), position_, &got, file_->path);
  if (status.ok() && got != static_cast<size_t>(length))
    status = Status::Make(kKafkaStorageError, "SHORT_FILE", file_->path + ": ended " + std::to_string(static_cast<size_t>(length) - got) + " bytes before the slice");
  if (!status.ok()) Throw(env, status);
  return env.Undefined();
}

Napi::Value ReadSliceWrap::BaseOffset(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), base_offset_); }
Napi::Value ReadSliceWrap::LastOffset(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), last_offset_); }
Napi::Value ReadSliceWrap::Length(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(length_)); }
Napi::Value ReadSliceWrap::Position(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(position_)); }
Napi::Value ReadSliceWrap::Fd(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), fd_); }

Napi::Value ReadSliceWrap::Released(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), !file_);
}

namespace {

struct ReadArgs {
  int64_t offset = 0, max_bytes = 0;
  bool min_one_batch = false;
  bool map = true;
};

ReadArgs ParseReadArgs(const Napi::CallbackInfo& info) {
  ReadArgs args;
  SPATE_ARG_INT64(info, 0, "offset", args.offset);
  SPATE_ARG_INT64(info, 1, "maxBytes", args.max_bytes);
  SPATE_ARG_BOOL(info, 2, "minOneBatch", args.min_one_batch);
  if (!info[3].IsUndefined()) {
    std::string delivery;
    SPATE_ARG_STRING(info, 3, "delivery", delivery);
    if (delivery == "sendfile")
      args.map = false;
    else if (delivery != "mmap")
      ThrowArgument(info.Env(), "delivery", "'mmap' or 'sendfile'");
  }
  return args;
}

}  // namespace

// readNow(...): the read on the calling thread when it cannot wait for the disk (the active
// segment, every page in the page cache); undefined when it could, and the caller then uses
// read(), which runs on a worker thread. Saves the two thread switches of a worker read,
// which on a broker pinned to one core cost more than the read itself.
Napi::Value ReadNow(const Napi::CallbackInfo& info, const std::shared_ptr<SegmentLog>& log) {
  Napi::Env env = info.Env();
  ReadArgs args = ParseReadArgs(info);
  ReadResult result;
  Status status = log->Read(args.offset, args.max_bytes, args.min_one_batch, args.map, &result, true);
  if (!status.ok()) Throw(env, status);
  if (result.would_block) return env.Undefined();
  if (result.at_end) return env.Null();
  return ReadSliceWrap::Create(env, result);
}

Napi::Value StartRead(const Napi::CallbackInfo& info, const std::shared_ptr<SegmentLog>& log) {
  ReadArgs args = ParseReadArgs(info);
  int64_t offset = args.offset, max_bytes = args.max_bytes;
  bool min_one_batch = args.min_one_batch, map = args.map;
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
       ReadSliceWrap::InstanceMethod<&ReadSliceWrap::CopyTo>("copyTo"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::Released>("released"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::BaseOffset>("baseOffset"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::LastOffset>("lastOffset"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::Length>("length"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::Position>("position"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::Fd>("fd"),
       ReadSliceWrap::InstanceAccessor<&ReadSliceWrap::GetBuffer>("buffer")});
  Data(env).read_slice_class = Napi::Persistent(slice_class);
  exports.Set("ReadSlice", slice_class);
  exports.Set("readQueue", Napi::Function::New(env, ReadQueue, "readQueue"));
}

}  // namespace js
}  // namespace spate
