// Shared pieces of the JS bindings: per-addon data, Status -> LogError, and the one
// family of argument-check macros. Only files named *-binding.cc and addon.cc include this.
#pragma once

#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>

#include "status.h"

namespace spate {
namespace js {

struct AddonData {
  Napi::FunctionReference error_class;        // LogError, registered by src/log/native.ts
  Napi::FunctionReference read_slice_class;
  Napi::FunctionReference segment_log_class;
};

AddonData& Data(Napi::Env env);

// A LogError (or a plain Error until native.ts registers the class) for `status`.
Napi::Value MakeError(Napi::Env env, const Status& status);
[[noreturn]] void Throw(Napi::Env env, const Status& status);

// Argument parsing. Each returns false when the value has the wrong type or range.
bool ToBytes(Napi::Value value, uint8_t** data, size_t* length);
bool ToInt64(Napi::Value value, int64_t* out);

[[noreturn]] void ThrowArgument(Napi::Env env, const char* name, const char* expected);

// The argument checks: SPATE_ARG_<KIND>(info, index, name, out) declares nothing, fills
// `out`, and throws a TypeError naming the argument when it does not fit.
#define SPATE_ARG_BYTES(info, index, name, data, length)                                  \
  if (!::spate::js::ToBytes((info)[index], &(data), &(length)))                           \
  ::spate::js::ThrowArgument((info).Env(), name, "a Buffer or Uint8Array")
#define SPATE_ARG_INT64(info, index, name, out)                                           \
  if (!::spate::js::ToInt64((info)[index], &(out)))                                       \
  ::spate::js::ThrowArgument((info).Env(), name, "a bigint or a safe integer")
#define SPATE_ARG_NUMBER(info, index, name, out)                                          \
  if (!(info)[index].IsNumber()) ::spate::js::ThrowArgument((info).Env(), name, "a number"); \
  (out) = (info)[index].As<Napi::Number>().DoubleValue()
#define SPATE_ARG_BOOL(info, index, name, out)                                            \
  if (!(info)[index].IsBoolean()) ::spate::js::ThrowArgument((info).Env(), name, "a boolean"); \
  (out) = (info)[index].As<Napi::Boolean>().Value()
#define SPATE_ARG_STRING(info, index, name, out)                                          \
  if (!(info)[index].IsString()) ::spate::js::ThrowArgument((info).Env(), name, "a string"); \
  (out) = (info)[index].As<Napi::String>().Utf8Value()
#define SPATE_ARG_OBJECT(info, index, name, out)                                          \
  if (!(info)[index].IsObject()) ::spate::js::ThrowArgument((info).Env(), name, "an object"); \
  (out) = (info)[index].As<Napi::Object>()

// Registration entry points, one per concern.
void InitErrors(Napi::Env env, Napi::Object exports);
void InitCrc32c(Napi::Env env, Napi::Object exports);
void InitRecordBatch(Napi::Env env, Napi::Object exports);
void InitSegmentLog(Napi::Env env, Napi::Object exports);
void InitReadSlice(Napi::Env env, Napi::Object exports);
void InitSendFile(Napi::Env env, Napi::Object exports);
void InitLogDir(Napi::Env env, Napi::Object exports);

}  // namespace js
}  // namespace spate
