#include "binding-util.h"

#include <cmath>

namespace spate {
namespace js {

AddonData& Data(Napi::Env env) { return *env.GetInstanceData<AddonData>(); }

Napi::Value MakeError(Napi::Env env, const Status& status) {
  AddonData& data = Data(env);
  Napi::Object error;
  if (!data.error_class.IsEmpty()) {
    error = data.error_class.New({Napi::String::New(env, status.message),
                                  Napi::String::New(env, status.code ? status.code : "UNKNOWN"),
                                  Napi::Number::New(env, status.kafka_code)});
  } else {
    error = Napi::Error::New(env, status.message).Value();
    error.Set("code", status.code ? status.code : "UNKNOWN");
    error.Set("kafkaCode", status.kafka_code);
  }
  if (status.sys_errno != 0) error.Set("errno", status.sys_errno);
  return error;
}

void Throw(Napi::Env env, const Status& status) {
  throw Napi::Error(env, MakeError(env, status));
}

void ThrowArgument(Napi::Env env, const char* name, const char* expected) {
  Napi::Error error = Napi::TypeError::New(env, std::string(name) + " must be " + expected);
  error.Set("code", "ERR_INVALID_ARG_TYPE");
  throw error;
}

bool ToBytes(Napi::Value value, uint8_t** data, size_t* length) {
  if (!value.IsTypedArray()) return false;
  Napi::TypedArray array = value.As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) return false;
  Napi::Uint8Array bytes = value.As<Napi::Uint8Array>();
  *data = bytes.Data();
  *length = bytes.ByteLength();
  return true;
}

bool ToInt64(Napi::Value value, int64_t* out) {
  if (value.IsBigInt()) {
    bool lossless = false;
    *out = value.As<Napi::BigInt>().Int64Value(&lossless);
    return lossless;
  }
  if (value.IsNumber()) {
    double d = value.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > 9007199254740991.0) return false;
    *out = static_cast<int64_t>(d);
    return true;
  }
  return false;
}

void InitErrors(Napi::Env env, Napi::Object exports) {
  // native.ts hands its LogError class over once, so errors are born as LogError.
  exports.Set("setErrorClass", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    if (!info[0].IsFunction()) ThrowArgument(info.Env(), "errorClass", "a constructor");
    Data(info.Env()).error_class = Napi::Persistent(info[0].As<Napi::Function>());
  }));
}

}  // namespace js
}  // namespace spate
