/*
** bench/sim_gemm.c: throughput of the chip kernels (sim/sim_gemm.c) against
** OpenBLAS cblas_sgemm in the same run, single thread.
**   usage: sim_gemm [M N K [reps]]      (default 512 2048 2048, 5 reps)
** Prints, per int8 path the CPU runs, the best time of `reps` calls and
** GOPS = 2·M·N·K / s (a multiply and an add per MAC, as for sgemm's FLOPs),
** then sgemm's GFLOPS and the ratio int8 GOPS / sgemm GFLOPS. Also times
** tpu_gemm_bf16. Built and run by bench/sim_gemm.sh; numbers go to
** BENCHMARKS.md ("Chip kernels"). Timing uses CLOCK_MONOTONIC; results of the
** kernels themselves are checked against each other, not timed.
*/
#include "sim/sim_gemm.h"

#include <cblas.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int n_threads);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t rng_next(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return rng;
}

struct bench_data {
    int M, N, K, reps;
    int8_t *a8, *b8;
    int32_t *c32, *c32_ref;
    float *af, *bf, *cf;
    uint16_t *a16, *b16;
};

static double best_i8(struct bench_data *d)
{
    double best = 1e30;
    for (int r = 0; r < d->reps; r++) {
        double t0 = now_s();
        tpu_gemm_i8(d->M, d->N, d->K, d->a8, d->K, d->b8, d->N, d->c32, d->N, 0);
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static double best_sgemm(struct bench_data *d)
{
    double best = 1e30;
    for (int r = 0; r < d->reps; r++) {
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, d->M, d->N, d->K, 1.0f, d->af, d->K,
                    d->bf, d->N, 0.0f, d->cf, d->N);
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static double best_bf16(struct bench_data *d)
{
    double best = 1e30;
    for (int r = 0; r < d->reps; r++) {
        double t0 = now_s();
        tpu_gemm_bf16(d->M, d->N, d->K, d->a16, d->K, d->b16, d->N, d->cf, d->N, 0, 256);
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static int alloc_data(struct bench_data *d)
{
    size_t mk = (size_t)d->M * d->K, kn = (size_t)d->K * d->N, mn = (size_t)d->M * d->N;
    d->a8 = malloc(mk); d->b8 = malloc(kn);
    d->c32 = malloc(mn * 4); d->c32_ref = malloc(mn * 4);
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
    struct bench_data d = { 512, 2048, 2048, 5, 0 };
    if (argc >= 4) { d.M = atoi(argv[1]); d.N = atoi(argv[2]); d.K = atoi(argv[3]); }
    if (argc >= 5) d.reps = atoi(argv[4]);
    if (d.M < 1 || d.N < 1 || d.K < 1 || d.reps < 1 || alloc_data(&d) != 0) {
        fprintf(stderr, "usage: sim_gemm [M N K [reps]] (positive, memory permitting)\n");
        return 2;
    }
    openblas_set_num_threads(1);
    double ops = 2.0 * d.M * d.N * d.K;
    printf("M=%d N=%d K=%d, best of %d, single thread\n", d.M, d.N, d.K, d.reps);
    double t_sgemm = best_sgemm(&d);
    printf("%-24s %8.3f ms %9.1f GFLOPS\n", "openblas cblas_sgemm", 1e3 * t_sgemm, ops / t_sgemm * 1e-9);
    static const char *const paths[] = { "portable", "avx2", "avx512-vnni" };
    double best_gops = 0;
    for (int p = 0; p < 3; p++) {
        if (tpu_gemm_force_impl(paths[p]) != 0) continue;
        double t = best_i8(&d);
        if (p == 0) memcpy(d.c32_ref, d.c32, (size_t)d.M * d.N * 4);
        int same = memcmp(d.c32_ref, d.c32, (size_t)d.M * d.N * 4) == 0;
        double gops = ops / t * 1e-9;
        best_gops = gops > best_gops ? gops : best_gops;
        printf("tpu_gemm_i8 %-12s %8.3f ms %9.1f GOPS   x%.2f sgemm%s\n", paths[p], 1e3 * t, gops,
               gops / (ops / t_sgemm * 1e-9), same ? "" : "   RESULT DIFFERS FROM PORTABLE");
        if (!same) return 1;
    }
    tpu_gemm_force_impl(NULL);
    double t_bf = best_bf16(&d);
    printf("tpu_gemm_bf16 %-10s %8.3f ms %9.1f GFLOPS (k_tile 256)\n", tpu_gemm_impl_name(), 1e3 * t_bf, ops / t_bf * 1e-9);
    printf("ratio best int8 / sgemm: %.2f\n", best_gops / (ops / t_sgemm * 1e-9));
    return 0;
}
