{
  "targets": [
    {
      "target_name": "hubless",
      "sources": [
        "native/addon.cc",
        "native/errors.cc",
        "native/sockaddr.cc",
        "native/aead.cc",
        "native/frame.cc",
        "native/replay.cc",
        "native/session.cc",
        "native/udp_socket.cc",
        "native/stream_wire.cc",
        "native/stream_ack.cc",
        "native/stream_send.cc",
        "native/stream_recv.cc",
        "native/stream_cc.cc",
        "native/stream_recovery.cc",
        "native/stream_faults.cc",
        "native/stream_engine.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node scripts/sodium-config.cjs --include)"
      ],
      "libraries": [
        "<!(node scripts/sodium-config.cjs --libs)"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED"
      ],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17", "-O2"],
      "cflags": ["-O3", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "cflags_cc": ["-O3", "-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "ldflags": ["-Wl,--exclude-libs,ALL"]
    }
  ]
}
