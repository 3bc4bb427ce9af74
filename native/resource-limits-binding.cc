// raiseFileLimit() and openFileCount(): the broker raises its soft RLIMIT_NOFILE to the
// hard limit at start (each partition holds a few descriptors), and topic creation checks
// the descriptors it would need against what is left before touching the disk.
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "binding-util.h"

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

}  // namespace

void InitResourceLimits(Napi::Env env, Napi::Object exports) {
  exports.Set("raiseFileLimit", Napi::Function::New(env, RaiseFileLimit, "raiseFileLimit"));
  exports.Set("openFileCount", Napi::Function::New(env, OpenFileCount, "openFileCount"));
}

}  // namespace js
}  // namespace spate
