// The log dir and the broker's file descriptors: raiseFileLimit() and openFileCount() (the
// soft RLIMIT_NOFILE is raised to the hard limit at start, and topic creation checks the
// descriptors it would need against what is left before touching the disk), the open-file
// cache of older segments (setOpenSegmentFileLimit, openSegmentFileStats), Kafka's `.lock`
// on the log dir (lockLogDir, unlockLogDir), and syncFileSystem (one syncfs(2) at shutdown).
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "binding-util.h"
#include "file-util.h"
#include "segment-file.h"

namespace spate {
namespace js {
namespace {

double LimitValue(rlim_t value) {
  return value == RLIM_INFINITY ? -1.0 : static_cast<double>(value);
}

// -> { soft, hard, raised, error? }; -1 means unlimited.
Napi::Value RaiseFileLimit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object out = Napi::Object::New(env);
  struct rlimit limit;
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
    out.Set("error", std::string("getrlimit: ") + ::strerror(errno));
    return out;
  }
  bool raised = false;
  if (limit.rlim_cur != limit.rlim_max) {
    struct rlimit wanted = limit;
    wanted.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &wanted) == 0) {
      limit = wanted;
      raised = true;
    } else {
      out.Set("error", std::string("setrlimit: ") + ::strerror(errno));
    }
  }
  out.Set("soft", Napi::Number::New(env, LimitValue(limit.rlim_cur)));
  out.Set("hard", Napi::Number::New(env, LimitValue(limit.rlim_max)));
  out.Set("raised", Napi::Boolean::New(env, raised));
  return out;
}

// The descriptors this process has open (entries of /proc/self/fd), -1 if unknown.
Napi::Value OpenFileCount(const Napi::CallbackInfo& info) {
  DIR* listing = ::opendir("/proc/self/fd");
  if (listing == nullptr) return Napi::Number::New(info.Env(), -1);
  double count = 0;
  while (struct dirent* entry = ::readdir(listing)) {
    if (entry->d_name[0] != '.') count++;
  }
  ::closedir(listing);
  return Napi::Number::New(info.Env(), count - 1);  // the listing's own descriptor
}

Napi::Value SetOpenSegmentFileLimit(const Napi::CallbackInfo& info) {
  int64_t limit = 0;
  SPATE_ARG_INT64(info, 0, "limit", limit);
  if (limit < 0) ThrowArgument(info.Env(), "limit", "a non-negative integer");
  OpenFileCache::Instance().SetLimit(static_cast<size_t>(limit));
  return info.Env().Undefined();
}

// -> { open, limit, opened, hits, evicted }
Napi::Value OpenSegmentFileStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  OpenFileCache::Stats stats = OpenFileCache::Instance().GetStats();
  Napi::Object out = Napi::Object::New(env);
  out.Set("open", Napi::Number::New(env, static_cast<double>(stats.open)));
  out.Set("limit", Napi::Number::New(env, static_cast<double>(stats.limit)));
  out.Set("opened", Napi::Number::New(env, static_cast<double>(stats.opened)));
  out.Set("hits", Napi::Number::New(env, static_cast<double>(stats.hits)));
  out.Set("evicted", Napi::Number::New(env, static_cast<double>(stats.evicted)));
  return out;
}

// lockLogDir(dir) -> fd: an exclusive flock on `<dir>/.lock`, as Kafka takes on each log dir,
// so that a second broker on the same directory refuses to start. Throws LOG_DIR_LOCKED.
Napi::Value LockLogDir(const Napi::CallbackInfo& info) {
  std::string dir;
  SPATE_ARG_STRING(info, 0, "dir", dir);
  std::string path = JoinPath(dir, ".lock");
  UniqueFd fd;
  Status status = OpenFile(path, O_RDWR | O_CREAT, &fd);
  if (!status.ok()) Throw(info.Env(), status);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err == EWOULDBLOCK)
      Throw(info.Env(), Status::Make(kKafkaStorageError, "LOG_DIR_LOCKED",
                                     path + " is locked: another broker uses the log dir " + dir, err));
    Throw(info.Env(), Status::Storage("flock " + path, err));
  }
  return Napi::Number::New(info.Env(), fd.release());
}

// syncFileSystem(dir) -> Promise: syncfs(2) of the file system holding `dir`, on a worker.
// At shutdown one call makes every log's writes durable, where an fdatasync per log would
// each wait for its own journal commit (5,000 partitions: one commit instead of 5,000).
class SyncWorker : public Napi::AsyncWorker {
 public:
  SyncWorker(Napi::Env env, std::string dir)
      : Napi::AsyncWorker(env, "spate.syncFileSystem"), deferred_(Napi::Promise::Deferred::New(env)), dir_(std::move(dir)) {}
  Napi::Promise promise() const { return deferred_.Promise(); }
  void Execute() override {
    UniqueFd fd;
    status_ = OpenFile(dir_, O_RDONLY | O_DIRECTORY, &fd);
    if (status_.ok() && ::syncfs(fd.get()) != 0) status_ = Status::Storage("syncfs " + dir_, errno);
  }
  void OnOK() override {
    if (!status_.ok()) return deferred_.Reject(MakeError(Env(), status_));
    deferred_.Resolve(Env().Undefined());
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::string dir_;
  Status status_;
};

Napi::Value SyncFileSystem(const Napi::CallbackInfo& info) {
  std::string dir;
  SPATE_ARG_STRING(info, 0, "dir", dir);
  auto* worker = new SyncWorker(info.Env(), dir);
  Napi::Promise promise = worker->promise();
  worker->Queue();
  return promise;
}

Napi::Value UnlockLogDir(const Napi::CallbackInfo& info) {
  int64_t fd = -1;
  SPATE_ARG_INT64(info, 0, "fd", fd);
  if (fd >= 0) ::close(static_cast<int>(fd));
  return info.Env().Undefined();
}

}  // namespace

void InitLogDir(Napi::Env env, Napi::Object exports) {
  exports.Set("raiseFileLimit", Napi::Function::New(env, RaiseFileLimit, "raiseFileLimit"));
  exports.Set("openFileCount", Napi::Function::New(env, OpenFileCount, "openFileCount"));
  exports.Set("setOpenSegmentFileLimit", Napi::Function::New(env, SetOpenSegmentFileLimit, "setOpenSegmentFileLimit"));
  exports.Set("openSegmentFileStats", Napi::Function::New(env, OpenSegmentFileStats, "openSegmentFileStats"));
  exports.Set("lockLogDir", Napi::Function::New(env, LockLogDir, "lockLogDir"));
  exports.Set("unlockLogDir", Napi::Function::New(env, UnlockLogDir, "unlockLogDir"));
  exports.Set("syncFileSystem", Napi::Function::New(env, SyncFileSystem, "syncFileSystem"));
}

}  // namespace js
}  // namespace spate
