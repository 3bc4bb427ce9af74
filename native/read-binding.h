// JS side of the read path: the ReadSlice object and the promise-returning workers.
#pragma once

#include <napi.h>

#include <memory>

#include "segment-log.h"

namespace spate {
namespace js {

// A slice of a segment returned by SegmentLog.read. It pins the segment file and its open
// descriptor until release() or garbage collection (the open-file cache may drop the
// descriptor meanwhile; it stays open for the slice); its `buffer` (mmap delivery) pins the
// mapping on its own.
// The Buffer is made on first access: a slice that only goes to sendFileNow never creates
// one, and so adds nothing to V8's external memory (which drives major GCs).
class ReadSliceWrap : public Napi::ObjectWrap<ReadSliceWrap> {
 public:
  explicit ReadSliceWrap(const Napi::CallbackInfo& info);
  static Napi::Object Create(Napi::Env env, ReadResult& result);

  // The pinned file and descriptor, empty after release().
  const std::shared_ptr<SegmentFile>& file() const { return file_; }
  const std::shared_ptr<OpenSegmentFile>& open() const { return open_; }
  uint64_t position() const { return position_; }
  uint64_t length() const { return length_; }

  Napi::Value Release(const Napi::CallbackInfo& info);
  Napi::Value Released(const Napi::CallbackInfo& info);
  Napi::Value GetBuffer(const Napi::CallbackInfo& info);
  Napi::Value CopyTo(const Napi::CallbackInfo& info);
  // The slice's fields, read on access: setting them as properties on every slice cost a
  // string lookup and an allocation each (a fetch makes a slice per partition).
  Napi::Value BaseOffset(const Napi::CallbackInfo& info);
  Napi::Value LastOffset(const Napi::CallbackInfo& info);
  Napi::Value Length(const Napi::CallbackInfo& info);
  Napi::Value Position(const Napi::CallbackInfo& info);
  Napi::Value Fd(const Napi::CallbackInfo& info);

 private:
  std::shared_ptr<MappedRegion> mapping_;  // until the buffer is made or release()
  bool mapped_ = false;                    // mmap delivery was asked for
  uint64_t map_hint_ = 0;                  // for a mapping made on first use of the buffer
  Napi::ObjectReference buffer_;           // the Buffer once made

  std::shared_ptr<SegmentFile> file_;
  std::shared_ptr<OpenSegmentFile> open_;
  uint64_t position_ = 0;
  uint64_t length_ = 0;
  int64_t base_offset_ = 0;
  int64_t last_offset_ = -1;
  int fd_ = -1;  // the segment's descriptor as it was at the read (reported after release too)
};

Napi::Value StartRead(const Napi::CallbackInfo& info, const std::shared_ptr<SegmentLog>& log);
Napi::Value ReadNow(const Napi::CallbackInfo& info, const std::shared_ptr<SegmentLog>& log);
Napi::Value StartOffsetForTimestamp(const Napi::CallbackInfo& info,
                                    const std::shared_ptr<SegmentLog>& log);

}  // namespace js
}  // namespace spate
