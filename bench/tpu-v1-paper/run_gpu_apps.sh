#!/bin/sh
# bench/tpu-v1-paper/run_gpu_apps.sh: builds the six Table 1 apps (if missing),
# compiles gpu_apps.c against build/libtpusim.a and prices every app on the GPU
# and CPU targets with the analytical model; charts go to build/tpu-v1-paper/charts/.
# Run from the repository root after `make`.
set -e
BUILD=${BUILD:-build}
OUT="$BUILD/tpu-v1-paper"
[ -f "$BUILD/libtpusim.a" ] || { echo "run make first" >&2; exit 2; }
[ -f "$OUT/cnn1.onnx" ] || /usr/bin/python3 bench/tpu-v1-paper/make_apps.py -o "$OUT" >/dev/null
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I"$BUILD/gen" bench/tpu-v1-paper/gpu_apps.c \
    "$BUILD/libtpusim.a" -lprotobuf-c -lopenblas -lm -lpthread -o "$BUILD/gpu_apps"
"$BUILD/gpu_apps" "$OUT" data/targets.txt
