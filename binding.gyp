{
  "targets": [
    {
      "target_name": "spate",
      "sources": [
        "native/addon.cc",
        "native/binding-util.cc",
        "native/crc32c.cc",
        "native/crc32c-binding.cc",
        "native/record-batch.cc",
        "native/record-batch-binding.cc",
        "native/file-util.cc",
        "native/index-file.cc",
        "native/segment-file.cc",
        "native/offset-index.cc",
        "native/time-index.cc",
        "native/log-segment.cc",
        "native/segment-log.cc",
        "native/log-read.cc",
        "native/page-cache.cc",
        "native/segment-replace.cc",
        "native/segment-log-binding.cc",
        "native/read-binding.cc",
        "native/sendfile.cc",
        "native/sendfile-binding.cc",
        "native/log-dir-binding.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NODE_ADDON_API_DISABLE_DEPRECATED", "NAPI_CPP_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags": ["-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-O3", "-fvisibility=hidden", "-Wall", "-Wextra"]
    }
  ]
}
