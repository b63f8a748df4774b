/*
** bench/sim_gemm.c: throughput of the chip kernels (sim/sim_gemm.c) against
** OpenBLAS cblas_sgemm in the same run, single thread.
**   usage: sim_gemm [M N K [reps [ldc [acc]]]]  (default 512 2048 2048, 5 reps)
** ldc: the int8 result's row pitch (default N; the simulator's accumulators
** have array_cols, 256 on tpu-v1); acc 1: the int8 calls add to C (zeroed
** before each call, outside the timing), as a MATMUL after the first k tile.
** Prints, per int8 path the CPU runs, the best time of `reps` calls and
** GOPS = 2·M·N·K / s (a multiply and an add per MAC, as for sgemm's FLOPs),
** then sgemm's GFLOPS and the ratio int8 GOPS / sgemm GFLOPS. Also times
** tpu_gemm_bf16. Built and run by bench/sim_gemm.sh; numbers go to
** BENCHMARKS.md ("Chip kernels"). Times are this thread's CPU time
** (CLOCK_THREAD_CPUTIME_ID): the machine is shared, and CPU time leaves out
** the slices other processes take (not their cache pollution). Every int8
** path's result is compared with the portable path's.
*/
#define _POSIX_C_SOURCE 199309L   /* clock_gettime */
#include "sim/sim_gemm.h"

#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int n_threads);
char *openblas_get_corename(void);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rng_next(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

struct bench_data {
    int M, N, K, reps, ldc, acc;
    int8_t *a8, *b8;
    int32_t *c32, *c32_ref;
    float *af, *bf, *cf;
    uint16_t *a16, *b16;
};

static double time_i8(struct bench_data *d)
{
    if (d->acc) memset(d->c32, 0, (size_t)d->M * d->ldc * 4);
    double t0 = now_s();
    tpu_gemm_i8(d->M, d->N, d->K, d->a8, d->K, d->b8, d->N, d->c32, d->ldc, d->acc);
    return now_s() - t0;
}

static double time_sgemm(struct bench_data *d)
{
    double t0 = now_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->M, d->N, d->K, 1.0f, d->af, d->K,
                d->bf, d->N, 0.0f, d->cf, d->N);
    return now_s() - t0;
}

static double time_bf16(struct bench_data *d)
{
    double t0 = now_s();
    tpu_gemm_bf16(d->M, d->N, d->K, d->a16, d->K, d->b16, d->N, d->cf, d->N, 0, 256);
    return now_s() - t0;
}

static double min_d(double a, double b) { return a < b ? a : b; }

static int alloc_data(struct bench_data *d)
{
    size_t mk = (size_t)d->M * d->K, kn = (size_t)d->K * d->N, mn = (size_t)d->M * d->N;
    size_t mc = (size_t)d->M * d->ldc;
    d->a8 = malloc(mk); d->b8 = malloc(kn);
    d->c32 = calloc(mc, 4); d->c32_ref = malloc(mc * 4);
    d->af = malloc(mk * 4); d->bf = malloc(kn * 4); d->cf = malloc(mn * 4);
    d->a16 = malloc(mk * 2); d->b16 = malloc(kn * 2);
    if (!d->a8 || !d->b8 || !d->c32 || !d->c32_ref || !d->af || !d->bf || !d->cf || !d->a16 || !d->b16)
        return -1;
    for (size_t i = 0; i < mk; i++) {
        d->a8[i] = (int8_t)rng_next(); d->af[i] = d->a8[i]; d->a16[i] = (uint16_t)(0x3f80 + (rng_next() & 0x7f));
    }
    for (size_t i = 0; i < kn; i++) {
        d->b8[i] = (int8_t)rng_next(); d->bf[i] = d->b8[i]; d->b16[i] = (uint16_t)(0x3f80 + (rng_next() & 0x7f));
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct bench_data d = { 512, 2048, 2048, 5, 0, 0, 0 };
    if (argc >= 4) { d.M = atoi(argv[1]); d.N = atoi(argv[2]); d.K = atoi(argv[3]); }
    if (argc >= 5) d.reps = atoi(argv[4]);
    d.ldc = argc >= 6 ? atoi(argv[5]) : d.N;
    if (argc >= 7) d.acc = atoi(argv[6]);
    if (d.M < 1 || d.N < 1 || d.K < 1 || d.reps < 1 || d.ldc < d.N || (d.acc != 0 && d.acc != 1) ||
        alloc_data(&d) != 0) {
        fprintf(stderr, "usage: sim_gemm [M N K [reps [ldc [acc]]]] (positive, ldc >= N, acc 0 or 1, "
                "memory permitting)\n");
        return 2;
    }
    openblas_set_num_threads(1);
    double ops = 2.0 * d.M * d.N * d.K;
    static const char *const paths[] = { "portable", "avx2", "avx512-vnni" };
    double t_path[3] = { 1e30, 1e30, 1e30 }, t_sgemm = 1e30, t_bf = 1e30;
    int runs[3] = { 0 };
    /* Interleaved, so that a busy machine slows every contender alike; the
    ** best of the reps is kept for each. The portable path runs once. */
    for (int r = 0; r < d.reps; r++) {
        t_sgemm = min_d(t_sgemm, time_sgemm(&d));
        for (int p = 0; p < 3; p++) {
            if ((p == 0 && r > 0) || tpu_gemm_force_impl(paths[p]) != 0) continue;
            t_path[p] = min_d(t_path[p], time_i8(&d));
            runs[p] = 1;
            if (p == 0) memcpy(d.c32_ref, d.c32, (size_t)d.M * d.ldc * 4);
            else if (memcmp(d.c32_ref, d.c32, (size_t)d.M * d.ldc * 4) != 0) {
                printf("tpu_gemm_i8 %s: RESULT DIFFERS FROM PORTABLE\n", paths[p]);
                return 1;
            }
        }
        tpu_gemm_force_impl(NULL);
        t_bf = min_d(t_bf, time_bf16(&d));
    }
    double sgemm_gflops = ops / t_sgemm * 1e-9, best_gops = 0;
    printf("M=%d N=%d K=%d (int8 ldc %d%s), best of %d interleaved reps, single thread\n", d.M, d.N, d.K,
           d.ldc, d.acc ? ", accumulating" : "", d.reps);
    printf("%-24s %8.3f ms %9.1f GFLOPS (OpenBLAS core: %s)\n", "openblas cblas_sgemm",
           1e3 * t_sgemm, sgemm_gflops, openblas_get_corename());
    for (int p = 0; p < 3; p++) {
        if (!runs[p]) continue;
        double gops = ops / t_path[p] * 1e-9;
        best_gops = gops > best_gops ? gops : best_gops;
        printf("tpu_gemm_i8 %-12s %8.3f ms %9.1f GOPS   x%.2f sgemm%s\n", paths[p], 1e3 * t_path[p],
               gops, gops / sgemm_gflops, p == 0 ? " (1 rep)" : "");
    }
    printf("tpu_gemm_bf16 %-10s %8.3f ms %9.1f GFLOPS (k_tile 256)\n", tpu_gemm_impl_name(),
           1e3 * t_bf, ops / t_bf * 1e-9);
    printf("ratio best int8 / sgemm: %.2f\n", best_gops / sgemm_gflops);
    return 0;
}
