// The addon entry: registration only. Each concern lives in its own file; see binding.gyp.
#include <napi.h>

#include "binding-util.h"

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  env.SetInstanceData(new spate::js::AddonData());
  spate::js::InitErrors(env, exports);
  spate::js::InitCrc32c(env, exports);
  spate::js::InitRecordBatch(env, exports);
  spate::js::InitReadSlice(env, exports);
  spate::js::InitSegmentLog(env, exports);
  spate::js::InitSendFile(env, exports);
  spate::js::InitLogDir(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(spate, Init)
