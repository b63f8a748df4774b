#!/bin/sh
# bench/sgemm.sh [--repeat N] [--paths P1,P2] [--update]: builds bench/sgemm.c
# against build/libtpusim.a (run `make` first) and prints GFLOP/s of tpu_sgemm
# (base/sgemm.c) next to the system OpenBLAS cblas_sgemm, one thread
# (OPENBLAS_NUM_THREADS=1), on resnet18's convolutions as im2col GEMMs and
# 1024^3, in one run. --update replaces the "float32 GEMM" table of
# BENCHMARKS.md (between its sgemm_bench markers). Environment: BUILD, CC.
BUILD=${BUILD:-build}
CC=${CC:-cc}
REPEAT=5
PATHS=
UPDATE=no
while [ $# -gt 0 ]; do
    case "$1" in
        --repeat) REPEAT=$2; shift 2 ;;
        --paths) PATHS=$2; shift 2 ;;
        --update) UPDATE=yes; shift ;;
        *) echo "usage: bench/sgemm.sh [--repeat N] [--paths avx512,avx2,portable] [--update]" >&2; exit 2 ;;
    esac
done
die() { echo "sgemm.sh: $*" >&2; exit 1; }
[ -f "$BUILD/libtpusim.a" ] || die "$BUILD/libtpusim.a not built (make)"
$CC -O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Iinclude -Isrc bench/sgemm.c "$BUILD/libtpusim.a" \
    -lopenblas -lm -o "$BUILD/bench-sgemm" || die "build failed"
set -- --repeat "$REPEAT"
[ -n "$PATHS" ] && set -- "$@" --paths "$PATHS"
table=$(OPENBLAS_NUM_THREADS=1 "$BUILD/bench-sgemm" "$@") || die "bench-sgemm failed"
core=$(OPENBLAS_NUM_THREADS=1 OPENBLAS_VERBOSE=2 "$BUILD/bench-sgemm" --repeat 1 2>&1 >/dev/null |
       sed -n 's/^Core: *//p' | head -n 1)
cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
cmd="sh bench/sgemm.sh --repeat $REPEAT${PATHS:+ --paths $PATHS}"
section=$(cat <<EOF
<!-- sgemm_bench:begin (written by bench/sgemm.sh --update; do not edit by hand) -->
Command: \`$cmd\` (after \`make\`). Best of $REPEAT timed calls per
implementation after one warm-up, implementations interleaved, same inputs
(uniform [-1, 1)), C = A·B row-major, beta = 0; the fc row is A·B^T (Gemm transB).
cblas_sgemm: Debian's OpenBLAS, OPENBLAS_NUM_THREADS=1, kernel in use: ${core:-unknown}
(OPENBLAS_VERBOSE=2). Machine: ${cpu:-unknown}, $(nproc) cores, shared with other
jobs (load average $(cut -d' ' -f1-3 /proc/loadavg) at the end). Date: $(date -u +%Y-%m-%d).
Commit: $(git rev-parse --short HEAD 2>/dev/null).

$table
<!-- sgemm_bench:end -->
EOF
)
echo "$section"
if [ "$UPDATE" = yes ]; then
    grep -q '<!-- sgemm_bench:begin' BENCHMARKS.md || die "BENCHMARKS.md has no sgemm_bench markers"
    printf '%s\n' "$section" >"$BUILD/sgemm_section.md"
    awk -v f="$BUILD/sgemm_section.md" '
        /<!-- sgemm_bench:begin/ { while ((getline l < f) > 0) print l; skip = 1; next }
        /<!-- sgemm_bench:end/ { skip = 0; next }
        !skip { print }' BENCHMARKS.md >"$BUILD/BENCHMARKS.md.new" && mv "$BUILD/BENCHMARKS.md.new" BENCHMARKS.md
fi
