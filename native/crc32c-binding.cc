// crc32c(bytes, initial = 0) and crc32cPortable(bytes, initial = 0) -> uint32.
#include "binding-util.h"
#include "crc32c.h"

namespace spate {
namespace js {
namespace {

template <uint32_t (*Function)(uint32_t, const void*, size_t)>
Napi::Value Checksum(const Napi::CallbackInfo& info) {
  uint8_t* data = nullptr;
  size_t length = 0;
  SPATE_ARG_BYTES(info, 0, "bytes", data, length);
  int64_t initial = 0;
  if (!info[1].IsUndefined()) {
    SPATE_ARG_INT64(info, 1, "initial", initial);
    if (initial < 0 || initial > 0xffffffffLL) ThrowArgument(info.Env(), "initial", "a uint32");
  }
  return Napi::Number::New(info.Env(), Function(static_cast<uint32_t>(initial), data, length));
}

}  // namespace

void InitCrc32c(Napi::Env env, Napi::Object exports) {
  exports.Set("crc32c", Napi::Function::New(env, Checksum<Crc32c>, "crc32c"));
  exports.Set("crc32cPortable", Napi::Function::New(env, Checksum<Crc32cPortable>, "crc32cPortable"));
  exports.Set("crc32cHardware", Napi::Boolean::New(env, Crc32cHardwareAccelerated()));
}

}  // namespace js
}  // namespace spate
