#!/bin/sh
# bench/sim_gemm.sh [M N K [reps [ldc [acc]]]]: builds the library and bench/sim_gemm.c,
# then prints int8 GEMM GOPS per path, OpenBLAS sgemm GFLOPS (one thread) and
# their ratio, with the machine and date for BENCHMARKS.md.
set -e
cd "$(dirname "$0")/.."
make -s build/libtpusim.a
${CC:-cc} -O2 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc bench/sim_gemm.c build/libtpusim.a \
    -lopenblas -lm -lpthread -o build/bench-sim_gemm
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cpus; $(date -u '+%Y-%m-%d %H:%M UTC')"
OPENBLAS_NUM_THREADS=1 build/bench-sim_gemm "$@"
