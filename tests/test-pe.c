/*
** tests/test-pe.c: the PE-by-PE model (tests/pe_model.c) against the chip
** kernels: on random ragged tiles its outputs must equal tpu_gemm_i8 /
** tpu_gemm_bf16 (k_tile = R, one chunk) bit for bit on every dispatch path,
** and its cycle count must equal tpu_ws_fold_cycles. Then whole GEMMs fold by
** fold against tpu_scalesim_ws_cycles and the chunked bf16 order.
*/
#include "pe_model.c"
#include "sim/sim_gemm.h"
#include "sim/sim_systolic.h"
#include "testlib.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define TEST_SEED 0
#include "testrng.h"

static const char *const impls[] = { "portable", "avx2", "avx512-vnni" };
#define N_IMPLS 3

/* A random bf16: kind 0 normal range, 1 tiny (denormal products), 2 with
** zeros, -0 and infinities mixed in. */
static uint16_t rand_bf16(int kind)
{
    uint16_t sign = (uint16_t)((next_u64() & 1) << 15), mant = (uint16_t)(next_u64() & 0x7f);
    int e = kind == 1 ? (int)pick(-72, -66) : (int)pick(-10, 10);
    if (kind == 2) {
        int which = (int)pick(0, 9);
        if (which == 0) return sign;                     /* ±0 */
        if (which == 1) return sign | 0x7f80;            /* ±inf */
    }
    return sign | (uint16_t)((127 + e) << 7) | mant;
}

static int same_f32(float a, float b)
{
    return memcmp(&a, &b, sizeof a) == 0 || (isnan(a) && isnan(b));
}

/* Array shapes: the brief's squares and a few rectangles. */
static const int shapes[][2] = { { 4, 4 }, { 8, 8 }, { 16, 16 }, { 4, 8 }, { 8, 4 }, { 16, 5 } };

/* One random tile: PE model vs tpu_gemm_* on every path, and vs the formula. */
static int check_tile(int n, int dtype, int acc_mode)
{
    int R = shapes[n % 6][0], C = shapes[n % 6][1];
    struct pe_fold f = { (enum pe_dtype)dtype, R, C, (int)pick(1, R), (int)pick(1, C), (int)pick(1, 3 * R),
                         NULL, NULL, NULL, acc_mode, (int)(next_u64() & 1) };
    if ((int)pick(0, 3) == 0) f.k_used = R;                 /* full rows now and then */
    if ((int)pick(0, 3) == 0) f.n_used = C;
    int kind = (int)pick(0, 2), esz = dtype == PE_DTYPE_I8 ? 1 : 2;
    size_t n_w = (size_t)f.k_used * f.n_used, n_x = (size_t)f.T * f.k_used, n_o = (size_t)f.T * f.n_used;
    uint8_t W[16 * 16 * 2], X[48 * 16 * 2];
    uint32_t init[48 * 16], model[48 * 16], kern[48 * 16];
    for (size_t i = 0; i < n_w * esz; i += esz) {
        if (dtype == PE_DTYPE_I8) W[i] = (uint8_t)next_u64();
        else { uint16_t h = rand_bf16(kind); memcpy(W + i, &h, 2); }
    }
    for (size_t i = 0; i < n_x * esz; i += esz) {
        if (dtype == PE_DTYPE_I8) X[i] = (uint8_t)next_u64();
        else { uint16_t h = rand_bf16(kind); memcpy(X + i, &h, 2); }
    }
    for (size_t i = 0; i < n_o; i++) {
        float v = (float)(int)pick(-1000, 1000) / 8;        /* accumulators: exact, any sign */
        init[i] = (uint32_t)next_u64();
        if (dtype == PE_DTYPE_BF16) memcpy(&init[i], &v, 4);
    }
    memcpy(model, init, n_o * 4);
    f.W = W; f.X = X; f.out = model;
    int64_t cycles = pe_run_fold(&f);
    TEST_CHECK(cycles >= 0, "tile %d: model failed (R=%d C=%d k=%d n=%d T=%d)", n, R, C, f.k_used, f.n_used, f.T);
    int64_t want = tpu_ws_fold_cycles(R, C, f.k_used, f.n_used, f.T, f.weights_preloaded);
    TEST_CHECK(cycles == want, "tile %d R=%d C=%d k=%d n=%d T=%d pre=%d: model %lld cycles, formula %lld",
               n, R, C, f.k_used, f.n_used, f.T, f.weights_preloaded, (long long)cycles, (long long)want);
    for (int p = 0; p < N_IMPLS; p++) {
        if (tpu_gemm_force_impl(impls[p]) != 0) continue;
        memcpy(kern, init, n_o * 4);
        if (dtype == PE_DTYPE_I8)
            tpu_gemm_i8(f.T, f.n_used, f.k_used, (const int8_t *)X, f.k_used, (const int8_t *)W, f.n_used,
                        (int32_t *)kern, f.n_used, acc_mode);
        else
            tpu_gemm_bf16(f.T, f.n_used, f.k_used, (const uint16_t *)X, f.k_used, (const uint16_t *)W,
                          f.n_used, (float *)kern, f.n_used, acc_mode, R);
        for (size_t i = 0; i < n_o; i++) {
            float a, b;
            memcpy(&a, &model[i], 4); memcpy(&b, &kern[i], 4);
            int ok = dtype == PE_DTYPE_I8 ? model[i] == kern[i] : same_f32(a, b);
            TEST_CHECK(ok, "tile %d (%s, %s, R=%d C=%d k=%d n=%d T=%d acc=%d) out[%zu]: model 0x%08x, kernel 0x%08x",
                       n, dtype == PE_DTYPE_I8 ? "int8" : "bf16", impls[p], R, C, f.k_used, f.n_used, f.T,
                       acc_mode, i, model[i], kern[i]);
        }
    }
    tpu_gemm_force_impl(NULL);
    return 0;
}

/* 1200 tiles: int8 and bf16, each with and without accumulation. */
static int test_pe_tiles(void)
{
    rng = 0x5eed0001;
    for (int n = 0; n < 1200; n++)
        if (check_tile(n, n % 2 ? PE_DTYPE_BF16 : PE_DTYPE_I8, (n / 2) % 2))
            return 1;
    return 0;
}

/* Cycle counts worked out by hand from the dataflow (docs/systolic.md), so
** the model is pinned to the documented timing, not only to the formula:
** 4×4, T=1: weights in cycles 0-3, x enters row 0 at 4, reaches row 3 at 7,
** column 3 at 10: 11 cycles. */
static int test_pe_cycles_by_hand(void)
{
    int8_t W[256] = { 0 }, X[64 * 16] = { 0 };
    int32_t out[64 * 16];
    struct pe_fold f = { PE_DTYPE_I8, 4, 4, 4, 4, 1, W, X, out, 0, 0 };
    TEST_CHECK(pe_run_fold(&f) == 11, "4x4 T=1: %lld", (long long)pe_run_fold(&f));
    f.weights_preloaded = 1;
    TEST_CHECK(pe_run_fold(&f) == 7, "4x4 T=1 preloaded: %lld", (long long)pe_run_fold(&f));
    struct pe_fold g = { PE_DTYPE_I8, 8, 8, 3, 2, 5, W, X, out, 0, 1 };
    TEST_CHECK(pe_run_fold(&g) == 8 + 8 + 5 - 2, "8x8 partial T=5 preloaded: %lld", (long long)pe_run_fold(&g));
    struct pe_fold h = { PE_DTYPE_I8, 16, 16, 16, 16, 0, W, X, out, 0, 0 };
    TEST_CHECK(pe_run_fold(&h) == 16, "T=0: the load alone: %lld", (long long)pe_run_fold(&h));
    struct pe_fold bad = { PE_DTYPE_I8, 4, 4, 5, 4, 1, W, X, out, 0, 0 };
    TEST_CHECK(pe_run_fold(&bad) == -1, "k_used > R must be refused");
    return 0;
}

/* The values the model computes on a tiny case, by hand: w = [[1,2],[3,4]],
** x = [5,6] → [5+18, 10+24] = [23, 34] in a 4×4 array. */
static int test_pe_values_by_hand(void)
{
    int8_t W[4] = { 1, 2, 3, 4 }, X[2] = { 5, 6 };
    int32_t out[2] = { 100, 200 };
    struct pe_fold f = { PE_DTYPE_I8, 4, 4, 2, 2, 1, W, X, out, 0, 0 };
    TEST_CHECK(pe_run_fold(&f) == 11, "cycles");
    TEST_CHECK(out[0] == 23 && out[1] == 34, "%d %d", out[0], out[1]);
    f.accumulate = 1;
    pe_run_fold(&f);
    TEST_CHECK(out[0] == 46 && out[1] == 68, "accumulate: %d %d", out[0], out[1]);
    return 0;
}

/* A whole M×K by K×N GEMM on an R×C array, fold by fold (column folds outer,
** row folds inner, accumulating), weights loaded in each fold: the summed
** model cycles equal SCALE-Sim's count, the values tpu_gemm_* (bf16 with
** k_tile = R, one chunk per row fold). */
static int run_gemm_folds(int R, int C, int M, int K, int N, int dtype, char *why, size_t n_why)
{
    int esz = dtype == PE_DTYPE_I8 ? 1 : 2;
    uint8_t *A = malloc((size_t)M * K * esz), *B = malloc((size_t)K * N * esz);
    uint8_t *Wt = malloc((size_t)R * C * esz), *Xt = malloc((size_t)M * R * esz);
    uint32_t *out = calloc((size_t)M * N, 4), *ref = calloc((size_t)M * N, 4), *part = malloc((size_t)M * C * 4);
    int rc = 0;
    int64_t cycles = 0;
    if (!A || !B || !Wt || !Xt || !out || !ref || !part) { snprintf(why, n_why, "no memory"); rc = 1; goto done; }
    for (size_t i = 0; i < (size_t)M * K * esz; i += esz) {
        uint16_t h = rand_bf16(0);
        if (dtype == PE_DTYPE_I8) A[i] = (uint8_t)next_u64(); else memcpy(A + i, &h, 2);
    }
    for (size_t i = 0; i < (size_t)K * N * esz; i += esz) {
        uint16_t h = rand_bf16(0);
        if (dtype == PE_DTYPE_I8) B[i] = (uint8_t)next_u64(); else memcpy(B + i, &h, 2);
    }
    for (int n0 = 0; n0 < N; n0 += C)
        for (int k0 = 0; k0 < K; k0 += R) {
            int ku = K - k0 < R ? K - k0 : R, nu = N - n0 < C ? N - n0 : C;
            for (int k = 0; k < ku; k++)
                memcpy(Wt + (size_t)k * nu * esz, B + ((size_t)(k0 + k) * N + n0) * esz, (size_t)nu * esz);
            for (int t = 0; t < M; t++)
                memcpy(Xt + (size_t)t * ku * esz, A + ((size_t)t * K + k0) * esz, (size_t)ku * esz);
            for (int t = 0; t < M; t++)
                memcpy(part + (size_t)t * nu, out + (size_t)t * N + n0, (size_t)nu * 4);
            struct pe_fold f = { (enum pe_dtype)dtype, R, C, ku, nu, M, Wt, Xt, part, k0 > 0, 0 };
            int64_t c = pe_run_fold(&f);
            if (c < 0) { snprintf(why, n_why, "model failed"); rc = 1; goto done; }
            cycles += c;
            for (int t = 0; t < M; t++)
                memcpy(out + (size_t)t * N + n0, part + (size_t)t * nu, (size_t)nu * 4);
        }
    if (cycles != tpu_scalesim_ws_cycles(R, C, M, K, N)) {
        snprintf(why, n_why, "%dx%d M=%d K=%d N=%d: model %lld cycles, SCALE-Sim formula %lld", R, C, M, K, N,
                 (long long)cycles, (long long)tpu_scalesim_ws_cycles(R, C, M, K, N));
        rc = 1;
        goto done;
    }
    if (dtype == PE_DTYPE_I8)
        tpu_gemm_i8(M, N, K, (int8_t *)A, K, (int8_t *)B, N, (int32_t *)ref, N, 0);
    else
        tpu_gemm_bf16(M, N, K, (uint16_t *)A, K, (uint16_t *)B, N, (float *)ref, N, 0, R);
    for (size_t i = 0; i < (size_t)M * N; i++)
        if (out[i] != ref[i]) {
            snprintf(why, n_why, "%s %dx%d M=%d K=%d N=%d: out[%zu] model 0x%08x, kernel 0x%08x",
                     dtype == PE_DTYPE_I8 ? "int8" : "bf16", R, C, M, K, N, i, out[i], ref[i]);
            rc = 1;
            break;
        }
done:
    free(A); free(B); free(Wt); free(Xt); free(out); free(ref); free(part);
    return rc;
}

static int test_pe_gemm_folds(void)
{
    static const int cases[][5] = {   /* R, C, M, K, N */
        { 4, 4, 8, 8, 8 }, { 4, 4, 10, 6, 7 }, { 8, 8, 3, 20, 17 }, { 4, 8, 12, 9, 9 }, { 16, 16, 20, 40, 33 },
    };
    rng = 0x5eed0002;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        for (int dtype = 0; dtype < 2; dtype++)
            if (run_gemm_folds(cases[i][0], cases[i][1], cases[i][2], cases[i][3], cases[i][4], dtype,
                               test_why, sizeof test_why))
                return 1;
    return 0;
}

static const struct test_case cases[] = {
    { "pe-tiles-1.1", test_pe_tiles },
    { "pe-cycles-1.1", test_pe_cycles_by_hand },
    { "pe-values-1.1", test_pe_values_by_hand },
    { "pe-gemm-1.1", test_pe_gemm_folds },
};
TEST_MAIN(cases)
