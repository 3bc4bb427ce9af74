// The SegmentLog class as JS sees it: construction (sync) or SegmentLog.open (on a worker),
// append (sync page-cache write), read / offsetForTimestamp (promises, on workers), and
// the maintenance calls. Argument checking and Status -> LogError happen here only.
#include <limits>

#include "binding-util.h"
#include "parallel.h"
#include "read-binding.h"
#include "segment-log.h"

namespace spate {
namespace js {
namespace {

int64_t OptionInt64(Napi::Object options, const char* name, int64_t fallback, int64_t min,
                    int64_t max) {
  Napi::Value value = options.Get(name);
  if (value.IsUndefined() || value.IsNull()) return fallback;
  int64_t out = 0;
  // Number.MAX_SAFE_INTEGER and beyond (Kafka's Long.MAX_VALUE defaults) mean "never".
  if (value.IsNumber() && value.As<Napi::Number>().DoubleValue() >= 9007199254740991.0) return max;
  if (!ToInt64(value, &out) || out < min || out > max) {
    std::string expected = "an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]";
    ThrowArgument(options.Env(), (std::string("options.") + name).c_str(), expected.c_str());
  }
  return out;
}

LogConfig ParseOptions(Napi::Value value) {
  LogConfig config;
  if (value.IsUndefined()) return config;
  if (!value.IsObject()) ThrowArgument(value.Env(), "options", "an object");
  Napi::Object options = value.As<Napi::Object>();
  constexpr int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
  config.segment_bytes = OptionInt64(options, "segmentBytes", config.segment_bytes, 128, kInt32Max);
  config.segment_ms = OptionInt64(options, "segmentMs", config.segment_ms, 1, kInt64Max);
  config.index_interval_bytes = OptionInt64(options, "indexIntervalBytes", config.index_interval_bytes, 0, kInt32Max);
  config.segment_index_bytes = OptionInt64(options, "segmentIndexBytes", config.segment_index_bytes, 48, kInt32Max);
  config.flush_messages = OptionInt64(options, "flushMessages", config.flush_messages, 1, kInt64Max);
  config.flush_ms = OptionInt64(options, "flushMs", config.flush_ms, 0, kInt64Max);
  config.verify_on_open = options.Get("verifyOnOpen").ToBoolean().Value();
  config.compacted = options.Get("compacted").ToBoolean().Value();
  return config;
}

// What the log dir knows before a log opens: { cleanShutdown, recoveryPoint } in the options.
LoadHints ParseHints(Napi::Value value) {
  LoadHints hints;
  if (!value.IsObject()) return hints;
  Napi::Object options = value.As<Napi::Object>();
  hints.clean_shutdown = options.Get("cleanShutdown").ToBoolean().Value();
  Napi::Value point = options.Get("recoveryPoint");
  if (!point.IsUndefined() && !point.IsNull()) {
    if (!ToInt64(point, &hints.recovery_point)) ThrowArgument(options.Env(), "options.recoveryPoint", "an integer");
    hints.has_recovery_point = true;
  }
  return hints;
}

// The threads argument of openAll / closeAll.
size_t ParseThreads(const Napi::CallbackInfo& info, size_t index) {
  int64_t threads = 1;
  SPATE_ARG_INT64(info, index, "threads", threads);
  if (threads < 1 || threads > 256) ThrowArgument(info.Env(), "threads", "an integer in [1, 256]");
  return static_cast<size_t>(threads);
}

class SegmentLogWrap : public Napi::ObjectWrap<SegmentLogWrap> {
 public:
  explicit SegmentLogWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SegmentLogWrap>(info) {
    Napi::Env env = info.Env();
    if (info[0].IsExternal()) {  // from SegmentLog.open: already opened on a worker
      log_ = *info[0].As<Napi::External<std::shared_ptr<SegmentLog>>>().Data();
      return;
    }
    std::string dir;
    SPATE_ARG_STRING(info, 0, "dir", dir);
    LogConfig config = ParseOptions(info[1]);
    Status status = SegmentLog::Open(dir, config, ParseHints(info[1]), &log_);
    if (!status.ok()) Throw(env, status);
  }

  static Napi::Function Define(Napi::Env env) {
    return DefineClass(
        env, "SegmentLog",
        {StaticMethod<&SegmentLogWrap::Open>("open"),
         StaticMethod<&SegmentLogWrap::OpenAll>("openAll"),
         StaticMethod<&SegmentLogWrap::CloseAll>("closeAll"),
         InstanceMethod<&SegmentLogWrap::Append>("append"),
         InstanceMethod<&SegmentLogWrap::Read>("read"),
         InstanceMethod<&SegmentLogWrap::ReadNow>("readNow"),
         InstanceMethod<&SegmentLogWrap::OffsetForTimestamp>("offsetForTimestamp"),
         InstanceMethod<&SegmentLogWrap::MaxTimestamp>("maxTimestamp"),
         InstanceMethod<&SegmentLogWrap::Flush>("flush"),
         InstanceMethod<&SegmentLogWrap::Close>("close"),
         InstanceMethod<&SegmentLogWrap::TruncateTo>("truncateTo"),
         InstanceMethod<&SegmentLogWrap::DeleteSegmentsBefore>("deleteSegmentsBefore"),
         InstanceMethod<&SegmentLogWrap::RollActive>("roll"),
         InstanceMethod<&SegmentLogWrap::Configure>("configure"),
         InstanceMethod<&SegmentLogWrap::Segments>("segments"),
         InstanceMethod<&SegmentLogWrap::ReplaceSegment>("replaceSegment"),
         InstanceMethod<&SegmentLogWrap::TakeRepairs>("takeRepairs"),
         InstanceMethod<&SegmentLogWrap::TakeLoadInfo>("takeLoadInfo"),
         InstanceAccessor<&SegmentLogWrap::LogStartOffset>("logStartOffset"),
         InstanceAccessor<&SegmentLogWrap::LogEndOffset>("logEndOffset"),
         InstanceAccessor<&SegmentLogWrap::RecoveryPoint>("recoveryPoint"),
         InstanceAccessor<&SegmentLogWrap::Size>("size"),
         InstanceAccessor<&SegmentLogWrap::SegmentCount>("segmentCount"),
         InstanceAccessor<&SegmentLogWrap::Closed>("closed"),
         InstanceAccessor<&SegmentLogWrap::HasUnflushedData>("hasUnflushedData")});
  }

 private:
  class OpenWorker : public Napi::AsyncWorker {
   public:
    OpenWorker(Napi::Env env, std::string dir, LogConfig config, LoadHints hints)
        : Napi::AsyncWorker(env, "spate.open"),
          deferred_(Napi::Promise::Deferred::New(env)),
          dir_(std::move(dir)),
          config_(config),
          hints_(hints) {}
    Napi::Promise promise() const { return deferred_.Promise(); }
    void Execute() override { status_ = SegmentLog::Open(dir_, config_, hints_, &log_); }
    void OnOK() override {
      Napi::Env env = Env();
      if (!status_.ok()) return deferred_.Reject(MakeError(env, status_));
      auto external = Napi::External<std::shared_ptr<SegmentLog>>::New(env, &log_);
      deferred_.Resolve(Data(env).segment_log_class.New({external}));
    }

   private:
    Napi::Promise::Deferred deferred_;
    std::string dir_;
    LogConfig config_;
    LoadHints hints_;
    Status status_;
    std::shared_ptr<SegmentLog> log_;
  };

  static Napi::Value Open(const Napi::CallbackInfo& info) {
    std::string dir;
    SPATE_ARG_STRING(info, 0, "dir", dir);
    auto* worker = new OpenWorker(info.Env(), dir, ParseOptions(info[1]), ParseHints(info[1]));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  // openAll([{ dir, options }], threads): opens (and recovers) many logs on `threads`
  // native threads, off the event loop; resolves with one SegmentLog or LogError per entry.
  struct OpenRequest {
    std::string dir;
    LogConfig config;
    LoadHints hints;
    Status status;
    std::shared_ptr<SegmentLog> log;
  };

  class OpenAllWorker : public Napi::AsyncWorker {
   public:
    OpenAllWorker(Napi::Env env, std::vector<OpenRequest> requests, size_t threads)
        : Napi::AsyncWorker(env, "spate.openAll"),
          deferred_(Napi::Promise::Deferred::New(env)),
          requests_(std::move(requests)),
          threads_(threads) {}
    Napi::Promise promise() const { return deferred_.Promise(); }
    void Execute() override {
      RunInParallel(requests_.size(), threads_, [this](size_t i) {
        OpenRequest& request = requests_[i];
        request.status = SegmentLog::Open(request.dir, request.config, request.hints, &request.log);
      });
    }
    void OnOK() override {
      Napi::Env env = Env();
      Napi::Array out = Napi::Array::New(env, requests_.size());
      for (size_t i = 0; i < requests_.size(); i++) {
        OpenRequest& request = requests_[i];
        if (!request.status.ok()) {
          out.Set(static_cast<uint32_t>(i), MakeError(env, request.status));
          continue;
        }
        auto external = Napi::External<std::shared_ptr<SegmentLog>>::New(env, &request.log);
        out.Set(static_cast<uint32_t>(i), Data(env).segment_log_class.New({external}));
      }
      deferred_.Resolve(out);
    }

   private:
    Napi::Promise::Deferred deferred_;
    std::vector<OpenRequest> requests_;
    size_t threads_;
  };

  static Napi::Value OpenAll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) ThrowArgument(env, "specs", "an array of { dir, options }");
    Napi::Array specs = info[0].As<Napi::Array>();
    size_t threads = ParseThreads(info, 1);
    std::vector<OpenRequest> requests(specs.Length());
    for (uint32_t i = 0; i < specs.Length(); i++) {
      Napi::Value spec = specs.Get(i);
      if (!spec.IsObject() || !spec.As<Napi::Object>().Get("dir").IsString())
        ThrowArgument(env, "specs", "an array of { dir, options }");
      requests[i].dir = spec.As<Napi::Object>().Get("dir").As<Napi::String>().Utf8Value();
      Napi::Value options = spec.As<Napi::Object>().Get("options");
      requests[i].config = ParseOptions(options);
      requests[i].hints = ParseHints(options);
    }
    auto* worker = new OpenAllWorker(env, std::move(requests), threads);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  // closeAll(logs, threads, flush = true): closes many logs on `threads` native threads
  // (Kafka flushes at shutdown with the same pool); resolves with a LogError or null each.
  class CloseAllWorker : public Napi::AsyncWorker {
   public:
    CloseAllWorker(Napi::Env env, std::vector<std::shared_ptr<SegmentLog>> logs, size_t threads, bool flush)
        : Napi::AsyncWorker(env, "spate.closeAll"),
          deferred_(Napi::Promise::Deferred::New(env)),
          logs_(std::move(logs)),
          statuses_(logs_.size()),
          threads_(threads),
          flush_(flush) {}
    Napi::Promise promise() const { return deferred_.Promise(); }
    void Execute() override {
      RunInParallel(logs_.size(), threads_, [this](size_t i) { statuses_[i] = logs_[i]->Close(flush_); });
    }
    void OnOK() override {
      Napi::Env env = Env();
      Napi::Array out = Napi::Array::New(env, statuses_.size());
      for (size_t i = 0; i < statuses_.size(); i++)
        out.Set(static_cast<uint32_t>(i), statuses_[i].ok() ? env.Null() : MakeError(env, statuses_[i]));
      deferred_.Resolve(out);
    }

   private:
    Napi::Promise::Deferred deferred_;
    std::vector<std::shared_ptr<SegmentLog>> logs_;
    std::vector<Status> statuses_;
    size_t threads_;
    bool flush_;
  };

  static Napi::Value CloseAll(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsArray()) ThrowArgument(env, "logs", "an array of SegmentLog");
    Napi::Array array = info[0].As<Napi::Array>();
    size_t threads = ParseThreads(info, 1);
    bool flush = info[2].IsUndefined() || info[2].ToBoolean().Value();
    std::vector<std::shared_ptr<SegmentLog>> logs;
    logs.reserve(array.Length());
    for (uint32_t i = 0; i < array.Length(); i++) {
      Napi::Value item = array.Get(i);
      if (!item.IsObject() || !item.As<Napi::Object>().InstanceOf(Data(env).segment_log_class.Value()))
        ThrowArgument(env, "logs", "an array of SegmentLog");
      logs.push_back(SegmentLogWrap::Unwrap(item.As<Napi::Object>())->log_);
    }
    auto* worker = new CloseAllWorker(env, std::move(logs), threads, flush);
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  Napi::Value Append(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint8_t* data = nullptr;
    size_t length = 0;
    Napi::Object batches_info;
    double now_ms = 0;
    SPATE_ARG_BYTES(info, 0, "records", data, length);
    SPATE_ARG_OBJECT(info, 1, "info", batches_info);
    SPATE_ARG_NUMBER(info, 2, "nowMs", now_ms);
    Napi::Value batch_count = batches_info.Get("batchCount");
    if (!batch_count.IsNumber()) ThrowArgument(env, "info.batchCount", "a number");
    AppendResult result;
    Status status = log_->Append(data, length, static_cast<size_t>(batch_count.As<Napi::Number>().Int64Value()),
                                 static_cast<int64_t>(now_ms), &result);
    if (!status.ok()) Throw(env, status);
    Napi::Object out = Napi::Object::New(env);
    out.Set("baseOffset", Napi::BigInt::New(env, result.base_offset));
    out.Set("lastOffset", Napi::BigInt::New(env, result.last_offset));
    out.Set("logAppendTime", Napi::BigInt::New(env, int64_t{-1}));
    out.Set("position", Napi::Number::New(env, static_cast<double>(result.position)));
    return out;
  }

  Napi::Value Read(const Napi::CallbackInfo& info) { return StartRead(info, log_); }
  Napi::Value ReadNow(const Napi::CallbackInfo& info) { return js::ReadNow(info, log_); }

  Napi::Value OffsetForTimestamp(const Napi::CallbackInfo& info) {
    return StartOffsetForTimestamp(info, log_);
  }

  Napi::Value MaxTimestamp(const Napi::CallbackInfo& info) {
    TimestampOffset max = log_->MaxTimestamp();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("offset", Napi::BigInt::New(info.Env(), max.offset));
    out.Set("timestamp", Napi::BigInt::New(info.Env(), max.timestamp));
    return out;
  }

  Napi::Value Flush(const Napi::CallbackInfo& info) {
    Status status = log_->Flush();
    if (!status.ok()) Throw(info.Env(), status);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Status status = log_->Close(info[0].IsUndefined() || info[0].ToBoolean().Value());
    if (!status.ok()) Throw(info.Env(), status);
    return info.Env().Undefined();
  }

  Napi::Value TruncateTo(const Napi::CallbackInfo& info) {
    int64_t offset = 0;
    SPATE_ARG_INT64(info, 0, "offset", offset);
    Status status = log_->TruncateTo(offset);
    if (!status.ok()) Throw(info.Env(), status);
    return info.Env().Undefined();
  }

  Napi::Value DeleteSegmentsBefore(const Napi::CallbackInfo& info) {
    int64_t offset = 0;
    SPATE_ARG_INT64(info, 0, "offset", offset);
    int deleted = 0;
    Status status = log_->DeleteSegmentsBefore(offset, &deleted);
    if (!status.ok()) Throw(info.Env(), status);
    return Napi::Number::New(info.Env(), deleted);
  }

  Napi::Value RollActive(const Napi::CallbackInfo& info) {
    double now_ms = 0;
    SPATE_ARG_NUMBER(info, 0, "nowMs", now_ms);
    bool rolled = false;
    Status status = log_->RollActive(static_cast<int64_t>(now_ms), &rolled);
    if (!status.ok()) Throw(info.Env(), status);
    return Napi::Boolean::New(info.Env(), rolled);
  }

  Napi::Value Configure(const Napi::CallbackInfo& info) {
    Napi::Object options;
    SPATE_ARG_OBJECT(info, 0, "options", options);
    Status status = log_->Reconfigure(ParseOptions(options));
    if (!status.ok()) Throw(info.Env(), status);
    return info.Env().Undefined();
  }

  Napi::Value Segments(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<SegmentInfo> segments = log_->Segments();
    Napi::Array out = Napi::Array::New(env, segments.size());
    for (size_t i = 0; i < segments.size(); i++) {
      Napi::Object item = Napi::Object::New(env);
      item.Set("baseOffset", Napi::BigInt::New(env, segments[i].base_offset));
      item.Set("nextOffset", Napi::BigInt::New(env, segments[i].next_offset));
      item.Set("size", Napi::Number::New(env, static_cast<double>(segments[i].size)));
      item.Set("maxTimestamp", Napi::Number::New(env, static_cast<double>(segments[i].max_timestamp)));
      item.Set("firstBatchTimestamp", Napi::Number::New(env, static_cast<double>(segments[i].first_batch_timestamp)));
      out.Set(static_cast<uint32_t>(i), item);
    }
    return out;
  }

  class ReplaceWorker : public Napi::AsyncWorker {
   public:
    ReplaceWorker(Napi::Env env, std::shared_ptr<SegmentLog> log, int64_t base_offset, uint64_t size)
        : Napi::AsyncWorker(env, "spate.replaceSegment"),
          deferred_(Napi::Promise::Deferred::New(env)),
          log_(std::move(log)),
          base_offset_(base_offset),
          size_(size) {}
    Napi::Promise promise() const { return deferred_.Promise(); }
    void Execute() override { status_ = log_->ReplaceSegment(base_offset_, size_, &replaced_); }
    void OnOK() override {
      Napi::Env env = Env();
      if (!status_.ok()) return deferred_.Reject(MakeError(env, status_));
      deferred_.Resolve(Napi::Boolean::New(env, replaced_));
    }

   private:
    Napi::Promise::Deferred deferred_;
    std::shared_ptr<SegmentLog> log_;
    int64_t base_offset_;
    uint64_t size_;
    Status status_;
    bool replaced_ = false;
  };

  Napi::Value ReplaceSegment(const Napi::CallbackInfo& info) {
    int64_t base_offset = 0, size = 0;
    SPATE_ARG_INT64(info, 0, "baseOffset", base_offset);
    SPATE_ARG_INT64(info, 1, "expectedSize", size);
    if (size < 0) ThrowArgument(info.Env(), "expectedSize", "a non-negative integer");
    auto* worker = new ReplaceWorker(info.Env(), log_, base_offset, static_cast<uint64_t>(size));
    Napi::Promise promise = worker->promise();
    worker->Queue();
    return promise;
  }

  Napi::Value TakeRepairs(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::vector<Repair> repairs = log_->TakeRepairs();
    Napi::Array out = Napi::Array::New(env, repairs.size());
    for (size_t i = 0; i < repairs.size(); i++) {
      Napi::Object item = Napi::Object::New(env);
      item.Set("file", repairs[i].file);
      item.Set("action", repairs[i].action);
      item.Set("reason", repairs[i].reason);
      item.Set("startOffset", Napi::BigInt::New(env, repairs[i].start_offset));
      item.Set("endOffset", Napi::BigInt::New(env, repairs[i].end_offset));
      item.Set("position", Napi::Number::New(env, static_cast<double>(repairs[i].position)));
      item.Set("bytes", Napi::Number::New(env, static_cast<double>(repairs[i].bytes)));
      out.Set(static_cast<uint32_t>(i), item);
    }
    return out;
  }

  Napi::Value TakeLoadInfo(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    LoadInfo files = log_->TakeLoadInfo();
    Napi::Object out = Napi::Object::New(env);
    out.Set("partitionMetadata", files.has_partition_metadata ? Napi::Value(Napi::String::New(env, files.partition_metadata)) : env.Null());
    Napi::Array snapshots = Napi::Array::New(env, files.snapshots.size());
    for (size_t i = 0; i < files.snapshots.size(); i++) snapshots.Set(static_cast<uint32_t>(i), files.snapshots[i]);
    out.Set("snapshots", snapshots);
    out.Set("recoveredSegments", Napi::Number::New(env, static_cast<double>(files.recovered_segments)));
    return out;
  }

  Napi::Value LogStartOffset(const Napi::CallbackInfo& info) {
    return Napi::BigInt::New(info.Env(), log_->log_start_offset());
  }
  Napi::Value LogEndOffset(const Napi::CallbackInfo& info) {
    return Napi::BigInt::New(info.Env(), log_->log_end_offset());
  }
  Napi::Value RecoveryPoint(const Napi::CallbackInfo& info) {
    return Napi::BigInt::New(info.Env(), log_->recovery_point());
  }
  Napi::Value Size(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(log_->size()));
  }
  Napi::Value SegmentCount(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(log_->segment_count()));
  }
  Napi::Value HasUnflushedData(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), log_->HasUnflushedData());
  }
  Napi::Value Closed(const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), log_->closed());
  }

  std::shared_ptr<SegmentLog> log_;
};

}  // namespace

void InitSegmentLog(Napi::Env env, Napi::Object exports) {
  Napi::Function log_class = SegmentLogWrap::Define(env);
  Data(env).segment_log_class = Napi::Persistent(log_class);
  exports.Set("SegmentLog", log_class);
}

}  // namespace js
}  // namespace spate
