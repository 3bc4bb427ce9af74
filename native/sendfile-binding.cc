// sendFile(socketFd, slice, timeoutMs = 30000) -> Promise<number>: sendfile(2) on a libuv
// worker thread, so the event loop never blocks on a slow socket.
// sendFileNow(socketFd, slice, skip, length) -> number: sendfile(2) of what the socket takes
// right now, on the calling thread (never waits); the bytes sent are returned and the
// caller writes the rest through Node.
#include "binding-util.h"
#include "read-binding.h"
#include "sendfile.h"

namespace spate {
namespace js {
namespace {

class SendFileWorker : public Napi::AsyncWorker {
 public:
  SendFileWorker(Napi::Env env, int socket_fd, std::shared_ptr<OpenSegmentFile> file, uint64_t position,
                 uint64_t length, int timeout_ms)
      : Napi::AsyncWorker(env, "spate.sendFile"),
        deferred_(Napi::Promise::Deferred::New(env)),
        socket_fd_(socket_fd),
        file_(std::move(file)),
        position_(position),
        length_(length),
        timeout_ms_(timeout_ms) {}

  Napi::Promise promise() const { return deferred_.Promise(); }

  void Execute() override {
    status_ = SendFileFully(socket_fd_, file_->fd.get(), position_, length_, timeout_ms_, &sent_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!status_.ok()) {
      Napi::Value error = MakeError(env, status_);
      error.As<Napi::Object>().Set("bytesSent", Napi::Number::New(env, static_cast<double>(sent_)));
      return deferred_.Reject(error);
    }
    deferred_.Resolve(Napi::Number::New(env, static_cast<double>(sent_)));
  }

 private:
  Napi::Promise::Deferred deferred_;
  int socket_fd_;
  std::shared_ptr<OpenSegmentFile> file_;  // keeps the fd open even if the slice is released
  uint64_t position_, length_;
  int timeout_ms_;
  Status status_;
  uint64_t sent_ = 0;
};

Napi::Value SendFileJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t socket_fd = -1, timeout_ms = 30000;
  SPATE_ARG_INT64(info, 0, "socketFd", socket_fd);
  if (socket_fd < 0 || socket_fd > INT32_MAX) ThrowArgument(env, "socketFd", "a file descriptor");
  if (!info[1].IsObject() || !info[1].As<Napi::Object>().InstanceOf(Data(env).read_slice_class.Value()))
    ThrowArgument(env, "slice", "a ReadSlice from SegmentLog.read");
  if (!info[2].IsUndefined()) SPATE_ARG_INT64(info, 2, "timeoutMs", timeout_ms);
  ReadSliceWrap* slice = ReadSliceWrap::Unwrap(info[1].As<Napi::Object>());
  if (!slice->file()) {  // a state error, not a bad argument: reject rather than throw
    Napi::Promise::Deferred released = Napi::Promise::Deferred::New(env);
    released.Reject(MakeError(env, Status::Make(-1, "SLICE_RELEASED", "the slice was released before sendFile")));
    return released.Promise();
  }
  auto* worker = new SendFileWorker(env, static_cast<int>(socket_fd), slice->open(), slice->position(),
                                    slice->length(), static_cast<int>(timeout_ms));
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value SendFileNowJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t socket_fd = -1, skip = 0, length = 0;
  SPATE_ARG_INT64(info, 0, "socketFd", socket_fd);
  if (socket_fd < 0 || socket_fd > INT32_MAX) ThrowArgument(env, "socketFd", "a file descriptor");
  if (!info[1].IsObject() || !info[1].As<Napi::Object>().InstanceOf(Data(env).read_slice_class.Value()))
    ThrowArgument(env, "slice", "a ReadSlice from SegmentLog.read");
  SPATE_ARG_INT64(info, 2, "skip", skip);
  SPATE_ARG_INT64(info, 3, "length", length);
  ReadSliceWrap* slice = ReadSliceWrap::Unwrap(info[1].As<Napi::Object>());
  if (skip < 0 || length < 0 || static_cast<uint64_t>(skip) + static_cast<uint64_t>(length) > slice->length())
    ThrowArgument(env, "length", "a range inside the slice");
  if (!slice->file()) Throw(env, Status::Make(-1, "SLICE_RELEASED", "the slice was released before sendFileNow"));
  uint64_t sent = 0;
  Status status = SendFileNow(static_cast<int>(socket_fd), slice->open()->fd.get(),
                              slice->position() + static_cast<uint64_t>(skip), static_cast<uint64_t>(length), &sent);
  // A socket error is Node's to report: the caller's write of the rest meets it too.
  if (!status.ok() && status.kafka_code == kKafkaStorageError) Throw(env, status);
  return Napi::Number::New(env, static_cast<double>(sent));
}

}  // namespace

void InitSendFile(Napi::Env env, Napi::Object exports) {
  exports.Set("sendFile", Napi::Function::New(env, SendFileJs, "sendFile"));
  exports.Set("sendFileNow", Napi::Function::New(env, SendFileNowJs, "sendFileNow"));
}

}  // namespace js
}  // namespace spate
