#!/bin/sh
# bench/tpu-v1-paper/run_tpu_apps.sh: builds the six Table 1 apps with a
# symbolic batch (if missing), compiles tpu_apps.c against build/libtpusim.a and
# prints the apps on the simulated tpu-v1 beside the paper's Table 3 and Table 4.
# Run from the repository root after `make`.
set -e
BUILD=${BUILD:-build}
OUT="$BUILD/tpu-v1-paper-sym"
[ -f "$BUILD/libtpusim.a" ] || { echo "run make first" >&2; exit 2; }
[ -f "$OUT/cnn1.onnx" ] || /usr/bin/python3 bench/tpu-v1-paper/make_apps.py --symbolic-batch -o "$OUT" >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I"$BUILD/gen" bench/tpu-v1-paper/tpu_apps.c \
    "$BUILD/libtpusim.a" -lprotobuf-c -lopenblas -lm -lpthread -o "$BUILD/tpu_apps"
"$BUILD/tpu_apps" "$OUT"
