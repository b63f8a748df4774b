/*
** bench/sgemm.c: GFLOP/s of tpu_sgemm (base/sgemm.c) against cblas_sgemm (the
** system OpenBLAS; run with OPENBLAS_NUM_THREADS=1) in one run, on resnet18's
** convolutions as im2col GEMMs (M = out channels, N = output pixels, K =
** in channels x kernel area) and 1024^3. Built and run by bench/sgemm.sh.
**   bench-sgemm [--repeat N] [--paths avx512,avx2,portable]
** Each shape: one warm-up call per implementation, then N timed rounds with
** the implementations interleaved; best time per implementation. Prints a
** markdown table, one column per implementation, plus the largest relative
** difference between tpu_sgemm's and cblas_sgemm's C (a sanity check).
*/
#include "base/sgemm.h"
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct shape { const char *what; int M, N, K; };

static const struct shape shapes[] = {
    { "conv1 7x7/2, 3->64",       64, 12544, 147 },
    { "layer1 3x3, 64->64",       64, 3136,  576 },
    { "layer2 3x3, 128->128",     128, 784,  1152 },
    { "layer3 3x3, 256->256",     256, 196,  2304 },
    { "layer4 3x3, 512->512",     512, 49,   4608 },
    { "layer2 1x1/2, 64->128",    128, 784,  64 },
    { "fc 512->1000 (B^T)",       1,   1000, 512 },
    { "square",                   1024, 1024, 1024 },
};
#define N_SHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* impl < 0: cblas_sgemm; else tpu_sgemm on path paths[impl]. */
static double run_once(const char *path, const struct shape *s, const float *A, const float *B, float *C)
{
    int tb = s->M == 1;   /* the fc layer: Gemm with transB = 1 */
    double t0 = now_s();
    if (!path)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, tb ? CblasTrans : CblasNoTrans, s->M, s->N, s->K,
                    1.0f, A, s->K, B, tb ? s->K : s->N, 0.0f, C, s->N);
    else
        tpu_sgemm(0, tb, s->M, s->N, s->K, 1.0f, A, s->K, B, tb ? s->K : s->N, 0.0f, C, s->N);
    return now_s() - t0;
}

int main(int argc, char **argv)
{
    int repeat = 5;
    char paths_arg[128] = "";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--repeat") && i + 1 < argc) repeat = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--paths") && i + 1 < argc) snprintf(paths_arg, sizeof paths_arg, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench-sgemm [--repeat N] [--paths avx512,avx2,portable]\n");
            return 2;
        }
    }
    if (repeat < 1) repeat = 1;
    const char *paths[4];
    int n_paths = 0;
    if (!paths_arg[0]) snprintf(paths_arg, sizeof paths_arg, "%s", tpu_sgemm_impl_name());
    for (char *tok = strtok(paths_arg, ","); tok && n_paths < 4; tok = strtok(NULL, ",")) {
        if (tpu_sgemm_force_impl(tok) != 0) {
            fprintf(stderr, "bench-sgemm: path '%s' unknown or not supported by this CPU\n", tok);
            return 2;
        }
        paths[n_paths++] = tok;
    }
    tpu_sgemm_force_impl(NULL);

    printf("| M | N | K | what |");
    for (int p = 0; p < n_paths; p++) printf(" tpu_sgemm %s GFLOP/s |", paths[p]);
    printf(" cblas_sgemm GFLOP/s | tpu/cblas | max rel diff |\n|---:|---:|---:|---|");
    for (int p = 0; p <= n_paths; p++) printf("---:|");
    printf("---:|---:|\n");
    for (int si = 0; si < N_SHAPES; si++) {
        const struct shape *s = &shapes[si];
        size_t na = (size_t)s->M * s->K, nb = (size_t)s->K * s->N, nc = (size_t)s->M * s->N;
        float *A = malloc(na * sizeof *A), *B = malloc(nb * sizeof *B);
        float *C = malloc(nc * sizeof *C), *Cref = malloc(nc * sizeof *Cref);
        if (!A || !B || !C || !Cref) {
            fprintf(stderr, "bench-sgemm: out of memory\n");
            return 1;
        }
        unsigned x = 12345u;
        for (size_t i = 0; i < na; i++) A[i] = (float)((x = x * 1103515245u + 12345u) >> 9) / 8388608.0f - 1.0f;
        for (size_t i = 0; i < nb; i++) B[i] = (float)((x = x * 1103515245u + 12345u) >> 9) / 8388608.0f - 1.0f;
        double best[5];
        for (int p = 0; p <= n_paths; p++) best[p] = 1e30;
        run_once(NULL, s, A, B, Cref);
        for (int p = 0; p < n_paths; p++) {
            tpu_sgemm_force_impl(paths[p]);
            run_once(paths[p], s, A, B, C);
        }
        for (int r = 0; r < repeat; r++)
            for (int p = 0; p <= n_paths; p++) {
                tpu_sgemm_force_impl(p < n_paths ? paths[p] : NULL);
                double t = run_once(p < n_paths ? paths[p] : NULL, s, A, B, p < n_paths ? C : Cref);
                if (t < best[p]) best[p] = t;
            }
        tpu_sgemm_force_impl(paths[0]);
        run_once(paths[0], s, A, B, C);
        tpu_sgemm_force_impl(NULL);
        double cmax = 0, dmax = 0;
        for (size_t i = 0; i < nc; i++) {
            if (fabs(Cref[i]) > cmax) cmax = fabs(Cref[i]);
            if (fabs(C[i] - Cref[i]) > dmax) dmax = fabs(C[i] - Cref[i]);
        }
        double flop = 2.0 * s->M * s->N * s->K;
        printf("| %d | %d | %d | %s |", s->M, s->N, s->K, s->what);
        for (int p = 0; p <= n_paths; p++) printf(" %.1f |", flop / best[p] * 1e-9);
        printf(" %.2f | %.1e |\n", best[n_paths] / best[0], cmax > 0 ? dmax / cmax : dmax);
        fflush(stdout);
        free(A), free(B), free(C), free(Cref);
    }
    return 0;
}
