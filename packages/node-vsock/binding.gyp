{
  "targets": [
    {
      "target_name": "node_vsock",
      "sources": [
        "native/addon.c",
        "native/common.c",
        "native/io.c",
        "native/poll.c",
        "native/vsock.c",
        "native/fdpass.c",
        "native/peercred.c"
      ],
      "defines": ["NAPI_VERSION=8", "_GNU_SOURCE"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "conditions": [
        ["OS!='linux'", { "type": "none" }]
      ]
    }
  ]
}
