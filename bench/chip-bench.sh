#!/bin/sh
# bench/chip-bench.sh [REPS]: builds bench/chip_bench.c against build/libtpusim.a
# and prints a Markdown table of simulated cycles and timing-only simulation
# speed (GEMM 256x2048x2048; ResNet-50's 54 conv/FC layers) for every chip
# preset. Run from the repository root after `make`. Results: BENCHMARKS.md,
# section "Chip simulator".
set -e
BUILD=${BUILD:-build}
cc -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I"$BUILD/gen" bench/chip_bench.c "$BUILD/libtpusim.a" \
   -lprotobuf-c -lopenblas -lm -lpthread -o "$BUILD/chip_bench"
"$BUILD/chip_bench" "${1:-20}"
echo
echo "Acceptance counts from the CLI (tpu-v1, timing-only):"
M=tests/models/chip/gemm_256x2048x2048.onnx
for a in 256x256 128x128; do
    printf '  --schedule scalesim --array %s: ' "$a"
    "$BUILD/tpusim" run $M --chip tpu-v1 --timing-only --schedule scalesim --array "$a" | sed -n 's/^total: \([0-9]*\) cycles.*/\1 cycles/p'
done
printf '  --schedule tpu, Gemm layer: '
"$BUILD/tpusim" run $M --chip tpu-v1 --timing-only | awk '$3 == "mxu" { print $4 " cycles" }'
