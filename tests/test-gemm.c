/*
** tests/test-gemm.c: the chip kernels of sim/sim_gemm.c against naive loops
** written here, on every dispatch path this CPU can run (the others SKIP),
** and the cycle formulas of sim/sim_systolic.c on SCALE-Sim's published
** counts (/work/shared/REFERENCE.md §6).
*/
#include "sim/sim_gemm.h"
#include "sim/sim_systolic.h"
#include "testlib.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

/*---- Helpers ----*/

#define TEST_SEED 0
#include "testrng.h"

static const char *const impls[] = { "portable", "avx2", "avx512-vnni" };
#define N_IMPLS 3

static float bf16_val(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* A random finite bf16 with exponent in [-e, e] around 1.0 (sign random). */
static uint16_t rand_bf16(int e)
{
    uint16_t sign = (uint16_t)(next_u64() & 1) << 15;
    uint16_t exp = (uint16_t)(127 + (int)pick(-e, e));
    uint16_t mant = (uint16_t)(next_u64() & 0x7f);
    return sign | (uint16_t)(exp << 7) | mant;
}

/*---- int8 ----*/

/* C = A·B (+C0) the slow way: exact int64 sums, then reduced mod 2^32. */
static void naive_i8(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                     int32_t *C, int ldc, int accumulate)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            int64_t s = accumulate ? C[i * ldc + j] : 0;
            for (int k = 0; k < K; k++)
                s += (int64_t)A[i * lda + k] * B[k * ldb + j];
            C[i * ldc + j] = (int32_t)(uint32_t)(uint64_t)s;
        }
}

struct i8_shape { int M, N, K, accumulate; };

/* fill: 0 random, 1 all -128, 2 A=-128 B=127, 3 random in {-128, 127} */
static int8_t i8_value(int fill, int is_b)
{
    switch (fill) {
    case 1: return -128;
    case 2: return is_b ? 127 : -128;
    case 3: return (next_u64() & 1) ? 127 : -128;
    default: return (int8_t)(next_u64() & 0xff);
    }
}

/* Runs one shape on the current path and compares with naive_i8. Padded
** leading dimensions catch writes outside the M×N window. */
static int check_i8(const struct i8_shape *s, int fill, int32_t c_init, char *why, size_t n_why)
{
    int lda = s->K + (int)pick(0, 5), ldb = s->N + (int)pick(0, 70), ldc = s->N + (int)pick(0, 17);
    int8_t *A = malloc((size_t)s->M * lda + 1), *B = malloc((size_t)s->K * ldb + 1);
    int32_t *C = malloc((size_t)s->M * ldc * sizeof *C), *R = malloc((size_t)s->M * ldc * sizeof *R);
    int rc = 0;
    if (!A || !B || !C || !R) { snprintf(why, n_why, "out of memory"); rc = 1; goto done; }
    for (size_t i = 0; i < (size_t)s->M * lda; i++) A[i] = i8_value(fill, 0);
    for (size_t i = 0; i < (size_t)s->K * ldb; i++) B[i] = i8_value(fill, 1);
    for (size_t i = 0; i < (size_t)s->M * ldc; i++)
        C[i] = R[i] = c_init ? c_init + (int32_t)(next_u64() & 0xffff) : (int32_t)next_u64();
    tpu_gemm_i8(s->M, s->N, s->K, A, lda, B, ldb, C, ldc, s->accumulate);
    naive_i8(s->M, s->N, s->K, A, lda, B, ldb, R, ldc, s->accumulate);
    for (int i = 0; i < s->M && !rc; i++)
        for (int j = 0; j < ldc; j++)
            if (C[i * ldc + j] != R[i * ldc + j]) {
                snprintf(why, n_why, "%s M=%d N=%d K=%d acc=%d fill=%d: C[%d][%d] = %d, want %d%s",
                         tpu_gemm_impl_name(), s->M, s->N, s->K, s->accumulate, fill, i, j,
                         C[i * ldc + j], R[i * ldc + j], j >= s->N ? " (outside N)" : "");
                rc = 1;
                break;
            }
done:
    free(A); free(B); free(C); free(R);
    return rc;
}

static const struct i8_shape i8_shapes[] = {
    { 1, 1, 1, 0 }, { 1, 1, 3, 0 }, { 2, 3, 4, 0 }, { 7, 13, 5, 0 }, { 6, 64, 4, 0 },
    { 6, 64, 4, 1 }, { 13, 65, 9, 1 }, { 5, 17, 7, 0 }, { 37, 129, 67, 0 }, { 37, 129, 67, 1 },
    { 100, 200, 300, 0 }, { 12, 128, 512, 0 }, { 12, 128, 513, 1 }, { 7, 70, 1031, 0 },
    { 64, 64, 1, 1 }, { 130, 31, 2, 0 },
    { 300, 20, 4096, 1 },       /* more rows than one VNNI sweep (256 at K = 4096) */
    { 130, 70, 8195, 0 },       /* K past one VNNI panel (8192): a second pass over C */
    { 9, 65, 8195, 1 },
};

/* Every path the CPU runs, every shape: random values. */
static int test_i8_random(void)
{
    int n_run = 0;
    for (int p = 0; p < N_IMPLS; p++) {
        if (tpu_gemm_force_impl(impls[p]) != 0) continue;
        n_run++;
        rng = 0x1234567 + p;
        for (size_t s = 0; s < sizeof i8_shapes / sizeof i8_shapes[0]; s++)
            if (check_i8(&i8_shapes[s], 0, 0, test_why, sizeof test_why)) { tpu_gemm_force_impl(NULL); return 1; }
    }
    tpu_gemm_force_impl(NULL);
    TEST_CHECK(n_run >= 1, "no path ran");
    return 0;
}

/* Extreme values: -128·-128 summed over K up to 4096 (2^26), mixed signs,
** and accumulators near INT32_MAX that must wrap. */
static int test_i8_extreme(void)
{
    static const struct i8_shape shapes[] = {
        { 3, 70, 4096, 0 }, { 8, 16, 4096, 1 }, { 1, 1, 4096, 0 }, { 9, 33, 4095, 0 }, { 6, 64, 2048, 1 },
    };
    for (int p = 0; p < N_IMPLS; p++) {
        if (tpu_gemm_force_impl(impls[p]) != 0) continue;
        rng = 0xfeed + p;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int fill = 1; fill <= 3; fill++) {
                int32_t c_init = shapes[s].accumulate ? INT32_MAX - 100000 : 0;
                if (check_i8(&shapes[s], fill, c_init, test_why, sizeof test_why)) { tpu_gemm_force_impl(NULL); return 1; }
            }
    }
    tpu_gemm_force_impl(NULL);
    return 0;
}

/* The -128·-128·4096 sum is 2^26: a value the test knows without a loop. */
static int test_i8_known(void)
{
    int8_t A[4096], B[4096];
    for (int k = 0; k < 4096; k++) A[k] = B[k] = -128;
    for (int p = 0; p < N_IMPLS; p++) {
        if (tpu_gemm_force_impl(impls[p]) != 0) continue;
        int32_t C = 7;
        tpu_gemm_i8(1, 1, 4096, A, 4096, B, 1, &C, 1, 0);
        TEST_CHECK(C == (1 << 26), "%s: %d", impls[p], C);
        tpu_gemm_i8(1, 1, 4096, A, 4096, B, 1, &C, 1, 1);
        TEST_CHECK(C == (1 << 27), "%s accumulate: %d", impls[p], C);
        C = INT32_MAX;
        tpu_gemm_i8(1, 1, 1, A, 1, B, 1, &C, 1, 1);        /* 2^31 - 1 + 2^14 wraps */
        TEST_CHECK(C == INT32_MIN + 16383, "%s wrap: %d", impls[p], C);
    }
    tpu_gemm_force_impl(NULL);
    return 0;
}

static int test_i8_empty(void)
{
    int32_t C[4] = { 1, 2, 3, 4 };
    int8_t A[1] = { 0 }, B[1] = { 0 };
    tpu_gemm_i8(2, 2, 0, A, 1, B, 2, C, 2, 1);
    TEST_CHECK(C[0] == 1 && C[3] == 4, "K=0 with accumulate must leave C");
    tpu_gemm_i8(2, 2, 0, A, 1, B, 2, C, 2, 0);
    TEST_CHECK(C[0] == 0 && C[1] == 0 && C[2] == 0 && C[3] == 0, "K=0 must zero C");
    C[0] = 9;
    tpu_gemm_i8(0, 2, 3, A, 1, B, 2, C, 2, 0);
    TEST_CHECK(C[0] == 9, "M=0 must not write");
    return 0;
}

static int test_impl_names(void)
{
    TEST_CHECK(tpu_gemm_force_impl("portable") == 0, "portable always runs");
    TEST_CHECK(strcmp(tpu_gemm_impl_name(), "portable") == 0, "%s", tpu_gemm_impl_name());
    tpu_gemm_force_portable(0);
    const char *best = tpu_gemm_impl_name();
    int known = !strcmp(best, "portable") || !strcmp(best, "avx2") || !strcmp(best, "avx512-vnni");
    TEST_CHECK(known, "%s", best);
    tpu_gemm_force_portable(1);
    TEST_CHECK(strcmp(tpu_gemm_impl_name(), "portable") == 0, "force_portable(1)");
    TEST_CHECK(tpu_gemm_force_impl("no-such-path") == -1, "unknown name");
    TEST_CHECK(strcmp(tpu_gemm_impl_name(), "portable") == 0, "unknown name must not change the path");
    tpu_gemm_force_portable(0);
    TEST_CHECK(strcmp(tpu_gemm_impl_name(), best) == 0, "force_portable(0) restores %s", best);
    return 0;
}

/*---- bf16 ----*/

/* The documented order, element by element: chunks of k_tile, t = fl(t + fl(a·b)),
** C = fl(C + t). */
static void naive_bf16(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B, int ldb,
                       float *C, int ldc, int accumulate, int k_tile)
{
    if (k_tile <= 0 || k_tile > K) k_tile = K;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            float c = accumulate ? C[i * ldc + j] : 0.0f;
            for (int k0 = 0; k0 < K; k0 += k_tile) {
                float t = 0.0f;
                for (int k = k0; k < K && k < k0 + k_tile; k++) {
                    float p = bf16_val(A[i * lda + k]) * bf16_val(B[k * ldb + j]);
                    t = t + p;
                }
                c = c + t;
            }
            C[i * ldc + j] = c;
        }
}

struct bf16_shape { int M, N, K, accumulate, k_tile; };

/* gen: 0 random in [2^-8, 2^8]; 1 wide exponents with zeros, -0, inf, NaN and
** products that underflow; 2 all near 2^-70, so products are fp32 denormals
** that round (a fused multiply-add would give other bits). Equal means same
** bits, or both NaN. */
static uint16_t bf16_gen(int gen)
{
    if (gen == 0) return rand_bf16(8);
    if (gen == 2) return (uint16_t)(rand_bf16(6) - (70 << 7));
    switch ((int)pick(0, 19)) {
    case 0: return 0x0000;
    case 1: return 0x8000;
    case 2: return 0x7f80;                             /* +inf */
    case 3: return 0x7fc1;                             /* NaN */
    case 4: return (uint16_t)(next_u64() & 0x807f);    /* denormal or zero */
    default: return rand_bf16(70);                     /* products reach 2^±140 */
    }
}

static int check_bf16(const struct bf16_shape *s, int gen, char *why, size_t n_why)
{
    int lda = s->K + (int)pick(0, 3), ldb = s->N + (int)pick(0, 40), ldc = s->N + (int)pick(0, 9);
    uint16_t *A = malloc(((size_t)s->M * lda + 1) * 2), *B = malloc(((size_t)s->K * ldb + 1) * 2);
    float *C = malloc((size_t)s->M * ldc * sizeof *C), *R = malloc((size_t)s->M * ldc * sizeof *R);
    int rc = 0;
    if (!A || !B || !C || !R) { snprintf(why, n_why, "out of memory"); rc = 1; goto done; }
    for (size_t i = 0; i < (size_t)s->M * lda; i++) A[i] = bf16_gen(gen);
    for (size_t i = 0; i < (size_t)s->K * ldb; i++) B[i] = bf16_gen(gen);
    for (size_t i = 0; i < (size_t)s->M * ldc; i++)
        C[i] = R[i] = (next_u64() & 7) == 0 ? -0.0f : bf16_val(rand_bf16(6));
    tpu_gemm_bf16(s->M, s->N, s->K, A, lda, B, ldb, C, ldc, s->accumulate, s->k_tile);
    naive_bf16(s->M, s->N, s->K, A, lda, B, ldb, R, ldc, s->accumulate, s->k_tile);
    for (int i = 0; i < s->M && !rc; i++)
        for (int j = 0; j < ldc; j++) {
            float c = C[i * ldc + j], r = R[i * ldc + j];
            if (f32_bits(c) == f32_bits(r) || (isnan(c) && isnan(r))) continue;
            snprintf(why, n_why, "%s M=%d N=%d K=%d acc=%d k_tile=%d gen=%d: C[%d][%d] = %a, want %a%s",
                     tpu_gemm_impl_name(), s->M, s->N, s->K, s->accumulate, s->k_tile, gen, i, j,
                     (double)c, (double)r, j >= s->N ? " (outside N)" : "");
            rc = 1;
            break;
        }
done:
    free(A); free(B); free(C); free(R);
    return rc;
}

static const struct bf16_shape bf16_shapes[] = {
    { 1, 1, 1, 0, 0 }, { 3, 5, 7, 0, 2 }, { 4, 16, 16, 0, 16 }, { 4, 64, 33, 1, 8 },
    { 5, 17, 40, 0, 1 }, { 9, 65, 100, 1, 3 }, { 13, 129, 257, 0, 128 }, { 13, 129, 257, 1, 256 },
    { 2, 200, 64, 0, 64 }, { 33, 40, 300, 1, 0 }, { 8, 8, 1000, 0, 999 }, { 70, 3, 9, 1, 4 },
};

static int test_bf16_paths(int gen)
{
    for (int p = 0; p < N_IMPLS; p++) {
        if (tpu_gemm_force_impl(impls[p]) != 0) continue;
        rng = 0xbf16 + 31 * p + gen;
        for (size_t s = 0; s < sizeof bf16_shapes / sizeof bf16_shapes[0]; s++)
            if (check_bf16(&bf16_shapes[s], gen, test_why, sizeof test_why)) { tpu_gemm_force_impl(NULL); return 1; }
    }
    tpu_gemm_force_impl(NULL);
    return 0;
}
static int test_bf16_random(void) { return test_bf16_paths(0); }
static int test_bf16_special(void) { return test_bf16_paths(1); }
static int test_bf16_denormal(void) { return test_bf16_paths(2); }

/* The order is visible: 1 + 2^-8 + 2^-8 ... in fp32 versus chunked sums. */
static int test_bf16_order(void)
{
    /* a = 1, b = [2^24, 1, 1]: sequential t = 2^24 + 1 → 2^24 (tie to even),
    ** + 1 → 2^24 again; in chunks of 1 the same. Reversed order would give
    ** 2^24 + 2. Chunks of 2 then 1: t0 = 2^24, C = 2^24 + 1 → 2^24. */
    uint16_t A[3] = { 0x3f80, 0x3f80, 0x3f80 };            /* 1.0 */
    uint16_t B[3] = { 0x4b80, 0x3f80, 0x3f80 };            /* 2^24, 1, 1 */
    uint16_t B2[3] = { 0x3f80, 0x3f80, 0x4b80 };           /* 1, 1, 2^24 */
    for (int p = 0; p < N_IMPLS; p++) {
        if (tpu_gemm_force_impl(impls[p]) != 0) continue;
        float C = 5.0f;
        tpu_gemm_bf16(1, 1, 3, A, 3, B, 1, &C, 1, 0, 0);
        TEST_CHECK(C == 16777216.0f, "%s: %a", impls[p], (double)C);
        tpu_gemm_bf16(1, 1, 3, A, 3, B2, 1, &C, 1, 0, 0);   /* 1 + 1 = 2 first: exact */
        TEST_CHECK(C == 16777218.0f, "%s: %a", impls[p], (double)C);
        tpu_gemm_bf16(1, 1, 3, A, 3, B2, 1, &C, 1, 0, 1);   /* chunks of 1: C = 2, then 2 + 2^24 */
        TEST_CHECK(C == 16777218.0f, "%s k_tile=1: %a", impls[p], (double)C);
    }
    tpu_gemm_force_impl(NULL);
    return 0;
}

/* tpu_bf16_products_exact, the guard of the AVX-512 path's fused
** multiply-adds: exponent sums at the normal range's edges, odd values, the
** padding past cols ignored; generator 0's matrices pass it (so gemm-bf16-1.1
** compares the fused kernel), generator 2's do not (1.4 the unfused one). */
static int bf16_exact_guard(void)
{
    uint16_t one[2] = { 0x3f80, 0x3f80 }, z[2] = { 0x0000, 0x8000 };
    struct { uint16_t a, b; int want; } c[] = {
        { 0x3f80, 0xbf80, 1 },                  /* 1 x -1 */
        { 0x2000, 0x2000, 1 },                  /* 2^-63 x 2^-63 = 2^-126: normal */
        { 0x2000, 0x1f80, 0 },                  /* 2^-63 x 2^-64: below it */
        { 0x5f7f, 0x5eff, 1 },                  /* exponent fields 190 + 189: < 2^127 */
        { 0x5f00, 0x5f00, 0 },                  /* 190 + 190 */
        { 0x0001, 0x3f80, 0 },                  /* subnormal */
        { 0x7f80, 0x3e00, 0 },                  /* inf (x 2^-3: inside the exponent sums) */
        { 0x3e00, 0x7fc1, 0 },                  /* NaN */
        { 0x0000, 0x7f7f, 1 },                  /* 0 x max: a zero product */
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        TEST_CHECK(tpu_bf16_products_exact(1, 1, 1, &c[i].a, 1, &c[i].b, 1) == c[i].want,
                   "%04x x %04x: want %d", c[i].a, c[i].b, c[i].want);
    TEST_CHECK(tpu_bf16_products_exact(1, 1, 2, z, 2, one, 1), "zeros");
    uint16_t pad[4] = { 0x3f80, 0x0001, 0x3f80, 0x7f80 };  /* 2 x 1 with ld 2: 0x0001, 0x7f80 padding */
    TEST_CHECK(tpu_bf16_products_exact(2, 1, 1, pad, 2, one, 1), "padding read");
    TEST_CHECK(!tpu_bf16_products_exact(1, 1, 2, pad, 2, one, 1), "subnormal in A missed");
    uint16_t A[64 * 40], B[40 * 64];
    for (int gen = 0; gen <= 2; gen += 2) {
        rng = 0xe8 + (uint64_t)gen;
        for (int i = 0; i < 64 * 40; i++) { A[i] = bf16_gen(gen); B[i] = bf16_gen(gen); }
        TEST_CHECK(tpu_bf16_products_exact(64, 64, 40, A, 40, B, 64) == (gen == 0), "generator %d", gen);
    }
    return 0;
}

static int test_bf16_exact_guard(void)                /* each path's exponent scan */
{
    for (int p = 0; p < N_IMPLS; p++) {
        if (tpu_gemm_force_impl(impls[p]) != 0) continue;
        if (bf16_exact_guard()) { fprintf(stderr, "(path %s)\n", impls[p]); tpu_gemm_force_impl(NULL); return 1; }
    }
    tpu_gemm_force_impl(NULL);
    return 0;
}

/*---- Cycle formulas ----*/

static int test_scalesim_published(void)
{
    /* REFERENCE.md §6: SCALE-Sim v3 printed 65,407 and 163,327 (last-cycle
    ** indices); as counts they are one more. */
    TEST_CHECK(tpu_scalesim_ws_cycles(256, 256, 256, 2048, 2048) == 65408, "%lld",
               (long long)tpu_scalesim_ws_cycles(256, 256, 256, 2048, 2048));
    TEST_CHECK(tpu_scalesim_ws_cycles(128, 128, 256, 2048, 2048) == 163328, "%lld",
               (long long)tpu_scalesim_ws_cycles(128, 128, 256, 2048, 2048));
    /* 8×8×8 on 4×4: 4 folds of 2·4 + 4 + 8 - 2 = 18 */
    TEST_CHECK(tpu_scalesim_ws_cycles(4, 4, 8, 8, 8) == 72, "8x8x8 on 4x4");
    /* ragged: K=5 → 2 row folds, N=9 → 3 column folds, each 2·4 + 4 + 3 - 2 */
    TEST_CHECK(tpu_scalesim_ws_cycles(4, 4, 3, 5, 9) == 6 * 13, "ragged");
    TEST_CHECK(tpu_scalesim_ws_cycles(4, 4, 0, 5, 9) == 0, "empty");
    TEST_CHECK(tpu_scalesim_ws_cycles(0, 4, 1, 1, 1) == -1, "R=0");
    TEST_CHECK(tpu_scalesim_ws_cycles(4, 4, -1, 1, 1) == -1, "M<0");
    TEST_CHECK(tpu_scalesim_ws_cycles(1, 1, INT64_MAX, 1, 1) == -1, "overflow");
    TEST_CHECK(tpu_scalesim_ws_cycles(1, 1, INT64_MAX / 4, INT64_MAX / 4, 1) == -1, "overflow");
    return 0;
}

/* One SCALE-Sim fold is one of our folds with weights loaded in the fold. */
static int test_fold_vs_scalesim(void)
{
    rng = 77;
    for (int n = 0; n < 500; n++) {
        int R = (int)pick(1, 300), C = (int)pick(1, 300);
        int64_t M = (int)pick(1, 1000), K = (int)pick(1, 3000), N = (int)pick(1, 3000);
        int64_t folds = ((K + R - 1) / R) * ((N + C - 1) / C);
        int64_t fold = tpu_ws_fold_cycles(R, C, R, C, M, 0);
        TEST_CHECK(tpu_scalesim_ws_cycles(R, C, M, K, N) == folds * fold, "R=%d C=%d", R, C);
    }
    TEST_CHECK(tpu_ws_fold_cycles(256, 256, 256, 256, 256, 0) == 1022, "full tile");
    TEST_CHECK(tpu_ws_fold_cycles(256, 256, 256, 256, 256, 1) == 766, "preloaded");
    TEST_CHECK(tpu_ws_fold_cycles(4, 4, 1, 1, 0, 0) == 4, "T=0 loads only");
    TEST_CHECK(tpu_ws_fold_cycles(4, 4, 1, 1, 0, 1) == 0, "T=0 preloaded");
    TEST_CHECK(tpu_ws_fold_cycles(4, 4, 5, 1, 1, 0) == -1, "k_used > R");
    TEST_CHECK(tpu_ws_fold_cycles(4, 4, 1, -1, 1, 0) == -1, "n_used < 0");
    TEST_CHECK(tpu_ws_fold_cycles(4, 0, 1, 0, 1, 0) == -1, "C = 0");
    TEST_CHECK(tpu_ws_fold_cycles(4, 4, 1, 1, INT64_MAX - 2, 0) == -1, "overflow");
    return 0;
}

static const struct test_case cases[] = {
    { "gemm-i8-1.1", test_i8_random },
    { "gemm-i8-1.2", test_i8_extreme },
    { "gemm-i8-1.3", test_i8_known },
    { "gemm-i8-1.4", test_i8_empty },
    { "gemm-impl-1.1", test_impl_names },
    { "gemm-bf16-1.1", test_bf16_random },
    { "gemm-bf16-1.2", test_bf16_special },
    { "gemm-bf16-1.3", test_bf16_order },
    { "gemm-bf16-1.4", test_bf16_denormal },
    { "gemm-bf16-1.5 when products are exact (the fused path's guard)", test_bf16_exact_guard },
    { "systolic-scalesim-1.1", test_scalesim_published },
    { "systolic-fold-1.1", test_fold_vs_scalesim },
};
TEST_MAIN(cases)
