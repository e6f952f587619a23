# Native backend (optional): built by scripts/build-native.mjs at install time.
# BLAS flags come from pkg-config when it knows OpenBLAS, else the usual locations
# (Debian/Ubuntu multiarch, Fedora, Homebrew); a missing cblas.h is caught before
# node-gyp runs, so a failure here means a real build problem. -fvisibility=hidden keeps
# the helpers the sources share (fail, begin, ...) internal: direct calls, nothing
# for the host process to interpose; NAPI_MODULE's entry points stay exported.
{
  "targets": [
    {
      "target_name": "rnnkit_native",
      "sources": [
        "native/module.c", "native/napi_args.c", "native/gemm.c", "native/rows.c",
        "native/cells.c", "native/sequence.c", "native/pool.c", "native/norm.c", "native/xent.c",
        "native/optim.c"
      ],
      "include_dirs": [
        "<!@(pkg-config --cflags-only-I openblas 2>/dev/null | sed -e 's/-I//g' || true)",
        "/usr/include/openblas",
        "/usr/local/opt/openblas/include",
        "/opt/homebrew/opt/openblas/include"
      ],
      "libraries": [
        "<!@(pkg-config --libs-only-L openblas 2>/dev/null || true)",
        "-lopenblas",
        "-lm"
      ],
      "cflags": ["-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-std=gnu11", "-fvisibility=hidden", "-pthread"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-O3", "-mcpu=native", "-fno-math-errno", "-fno-trapping-math", "-std=gnu11", "-fvisibility=hidden"],
        "OTHER_LDFLAGS": ["-L/usr/local/opt/openblas/lib", "-L/opt/homebrew/opt/openblas/lib"]
      }
    }
  ]
}
