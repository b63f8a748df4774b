/*
** compile/precision.c: multi-pass bf16 matrix products (`--precision high |
** highest` on bf16 chips), as XLA offers on TPUs (jax.lax.Precision: DEFAULT
** is one bf16 pass; HIGH "performs float32 computations in 3 bfloat16 passes";
** HIGHEST is float32-equivalent, done here in 6 passes).
**
** Each fp32 operand is split into bf16 parts, x = x1 + x2 (+ x3): x1 = bf16(x),
** x2 = bf16(x - x1), x3 = bf16(x - x1 - x2) (the differences are exact in fp32).
** The product keeps the part pairs whose order is small enough:
**   high    (3 passes): x1 w1 + x1 w2 + x2 w1
**   highest (6 passes): those + x1 w3 + x2 w2 + x3 w1
** and becomes ONE GEMM with the reduction P times longer: A's row is
** [x_a(1) | x_a(2) | ...] and W's rows [w_b(1); w_b(2); ...] for the P pairs
** (a, b). The MXU accumulates all passes in fp32 in the same accumulators, so
** nothing else changes: the lowering tiles the longer K, the host packs the
** expanded input, the chip runs P times the MXU work and says so in cycles.
** For a convolution the parts are extra input channels (per group), so the
** im2col walk and the block-diagonal form work unchanged.
**
** In:  a struct tpu_mm_desc and its fp32 weights (compile/mm_node.c), after
**      tpu_mm_block_diagonal; the op's fp32 input at run time.
** Out: the rewritten desc and weights; the expanded input (compile/run.c).
*/
#include "compile/compile.h"
#include <math.h>
#include <string.h>

static const uint8_t pairs3[3][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 } };
static const uint8_t pairs6[6][2] = { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 0, 2 }, { 1, 1 }, { 2, 0 } };

static const uint8_t (*pairs(int passes))[2] { return passes == 3 ? pairs3 : pairs6; }

/* The three parts of x's bf16 split, as fp32 values. A zero (either sign:
** bf16(+-0) = +-0, and +-0 - +-0 = +0) is answered without converting: the
** block-diagonal weights of a depthwise conv are mostly zeros. */
static void parts(float x, float pv[3])
{
    if (x == 0) { pv[0] = x; pv[1] = pv[2] = 0.0f; return; }
    float p1 = tpu_bf16_to_f32(tpu_f32_to_bf16(x));
    float p2 = tpu_bf16_to_f32(tpu_f32_to_bf16(x - p1));
    pv[0] = p1;
    pv[1] = p2;
    pv[2] = tpu_bf16_to_f32(tpu_f32_to_bf16(x - p1 - p2));
}

/* Part i (0, 1, 2) of x's bf16 split. */
static float part(float x, int i)
{
    float pv[3];
    parts(x, pv);
    return pv[i];
}

int tpu_precision_passes(const char *name)
{
    if (!name || !strcmp(name, "default")) return 1;
    if (!strcmp(name, "high")) return 3;
    if (!strcmp(name, "highest")) return 6;
    return 0;
}

int tpu_chip_is_bf16(const struct tpu_chip *chip) { return chip->mxu_dtype == TPU_MXU_BF16; }

const char *tpu_passes_name(int passes)
{
    return passes == 3 ? "high" : passes == 6 ? "highest" : "default";
}

enum tpu_status tpu_mm_split_passes(struct tpu_ctx *ctx, struct tpu_mm_desc *d, float **w, int passes)
{
    if (passes != 3 && passes != 6) return TPU_STATUS_OK;
    int64_t G = d->groups, K = d->K, N = d->N;
    if (G * K > ((int64_t)1 << 30) / passes)
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "node '%s' (%s): %lld x %lld reduction is too long for "
                       "%d bf16 passes", d->name, d->op, (long long)G, (long long)K, passes);
    if (!d->model_macs) d->model_macs = G * d->M * K * N;
    if (w && *w) {
        float *s = tpu_calloc(ctx, (size_t)(G * passes * K * N), sizeof *s);
        if (!s) return TPU_ERR_NOMEM;
        const uint8_t (*pr)[2] = pairs(passes);
        /* each weight's parts once, then written to the passes that use them;
        ** a +0 weight's parts are all +0: calloc's (block-diagonal zeros) */
        float pv[3];
        if (d->w_nk)                                /* [g][N][K] stays [g][N][passes*K] */
            for (int64_t r = 0; r < G * N; r++)
                for (int64_t k = 0; k < K; k++) {
                    float x = (*w)[r * K + k];
                    if (x == 0 && !signbit(x)) continue;
                    parts(x, pv);
                    for (int p = 0; p < passes; p++) s[r * passes * K + p * K + k] = pv[pr[p][1]];
                }
        else
            for (int64_t g = 0; g < G; g++)
                for (int64_t k = 0; k < K; k++)
                    for (int64_t n = 0; n < N; n++) {
                        float x = (*w)[(g * K + k) * N + n];
                        if (x == 0 && !signbit(x)) continue;
                        parts(x, pv);
                        for (int p = 0; p < passes; p++) s[((g * passes + p) * K + k) * N + n] = pv[pr[p][1]];
                    }
        free(*w);
        *w = s;
    }
    d->K *= passes;
    if (d->is_conv) d->c_in *= passes;
    d->passes = passes;
    return TPU_STATUS_OK;
}

float *tpu_mm_split_input(struct tpu_ctx *ctx, const struct tpu_mm_desc *d, const float *x)
{
    int P = d->passes;
    const uint8_t (*pr)[2] = pairs(P);
    if (!d->is_conv) {                                   /* [g][M][K/P] -> [g][M][K] */
        int64_t K0 = d->K / P, rows = d->groups * d->M;
        float *s = tpu_malloc(ctx, (size_t)(rows * d->K) * sizeof *s);
        if (!s) return NULL;
        for (int64_t r = 0; r < rows; r++)
            for (int p = 0; p < P; p++)
                for (int64_t k = 0; k < K0; k++) s[(r * P + p) * K0 + k] = part(x[r * K0 + k], pr[p][0]);
        return s;
    }
    int64_t C0 = d->c_in / P, cg = C0 / d->groups, plane = d->h * d->w;   /* NCHW, channels per group x P */
    float *s = tpu_malloc(ctx, (size_t)(d->batch * d->c_in * plane) * sizeof *s);
    if (!s) return NULL;
    for (int64_t b = 0; b < d->batch; b++)
        for (int64_t g = 0; g < d->groups; g++)
            for (int p = 0; p < P; p++)
                for (int64_t c = 0; c < cg; c++) {
                    const float *src = x + (b * C0 + g * cg + c) * plane;
                    float *dst = s + (b * d->c_in + (g * P + p) * cg + c) * plane;
                    for (int64_t i = 0; i < plane; i++) dst[i] = part(src[i], pr[p][0]);
                }
    return s;
}
