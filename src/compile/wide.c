/*
** compile/wide.c: 16-bit operands on an int8 MXU (`--precision high |
** highest` on int8 chips). The TPU v1 paper: the matrix unit "computes at
** half-speed for 8-bit/16-bit mixes and quarter-speed for 16-bit/16-bit"
** (REFERENCE.md). Here the extra passes are spelt out as one larger int8
** GEMM, so the lowering, the simulator and the cycle counts need nothing new:
**
**   a 16-bit value q (|q| <= 16256 = 127 x 128) is hi x 128 + lo, with
**   hi = round(q / 128) in [-127, 127] and lo = q - 128 hi in [-64, 64]:
**   both int8. With per-column weight scale s_w = max|w| / 16256 and the
**   per-tensor activation scale s_a (max|x| / 16256, or the calibrated int8
**   scale x 127 / 16256):
**
**   high    (16-bit weights, int8 activations: 2 passes, half speed):
**           x w = 128 (x w_hi) + (x w_lo): the GEMM has 2N columns [w_hi | w_lo];
**   highest (16-bit both: 4 passes, quarter speed):
**           a w = 2^14 (a_hi w_hi) + 2^7 (a_hi w_lo + a_lo w_hi) [+ a_lo w_lo]:
**           the GEMM takes [a_hi | a_lo] (2K) against [[w_hi, w_lo], [0, w_hi]]
**           (2N columns); the a_lo w_lo term (at most 2^-12 of the first,
**           mean zero, as the bf16 3-pass drops lo x lo) is left out, and the
**           zero block is the fourth pass's array time.
**
** Each column's dequantisation factor (ACTIVATE's per-column scale: 2^14,
** 2^7 or 1 times s_w of its output channel) is set after lowering, and the
** host adds the two column halves into the op's N outputs, then its bias
** and its Relu / Clip (neither can act on a half). int32 sums: |hi x hi| <=
** 2^14 per product, exact for K up to 2^17.
**
** In:  a struct tpu_mm_desc and its fp32 weights after tpu_mm_block_diagonal
**      (one group), from compile/mm_node.c; the op's fp32 input at run time.
** Out: the rewritten desc and integer weights, the per-column factors; the
**      split input (compile/run.c) and the combined output.
*/
#include "compile/compile.h"
#include <math.h>
#include <string.h>

#define WIDE_Q 16256.0f                       /* 127 x 128: hi stays in int8 */

int tpu_wide_mode(const struct tpu_chip *chip, int passes)
{
    if (chip->mxu_dtype != TPU_MXU_INT8) return 0;
    return passes == 3 ? TPU_WIDE_WEIGHTS : passes == 6 ? TPU_WIDE_BOTH : 0;
}

/* q = round(v / s) clamped to +-16256, as hi x 128 + lo with hi = round(q /
** 128) in [-127, 127] and lo in [-64, 64]: lo is signed and centred, so the
** lo x lo term highest leaves out has mean zero (a floor split's lo in [0, 127]
** would make it a bias growing with K). */
static void split16(float v, float s, float *hi, float *lo)
{
    float q = rintf(v / s);
    q = q < -WIDE_Q ? -WIDE_Q : q > WIDE_Q ? WIDE_Q : q;
    *hi = rintf(q / 128.0f);
    *lo = q - 128.0f * *hi;
}

/* w [K][N] or [N][K] (w_nk) -> the wide [K'][2N] / [2N][K'] integers. */
static void wide_weights(const struct tpu_mm_desc *d, int mode, const float *w, const float *sw, float *o)
{
    int64_t K = d->K, N = d->N, K2 = mode == TPU_WIDE_BOTH ? 2 * K : K;
    for (int64_t n = 0; n < N; n++)
        for (int64_t k = 0; k < K; k++) {
            float hi, lo;
            split16(d->w_nk ? w[n * K + k] : w[k * N + n], sw[n], &hi, &lo);
            /* (row k', column n') of the wide matrix, in either layout */
#define AT(kk, nn) (*(d->w_nk ? &o[(nn) * K2 + (kk)] : &o[(kk) * 2 * N + (nn)]))
            AT(k, n) = hi;
            AT(k, N + n) = lo;
            if (mode == TPU_WIDE_BOTH) AT(K + k, N + n) = hi;       /* a_lo x w_hi */
#undef AT
        }
}

enum tpu_status tpu_mm_split_wide(struct tpu_ctx *ctx, struct tpu_mm_desc *d, float **w, int mode,
                                  float **col_scale)
{
    *col_scale = NULL;
    if (!mode) return TPU_STATUS_OK;
    if (d->groups != 1)
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "node '%s' (%s): 16-bit operands need one group (%lld "
                       "groups stay grouped)", d->name, d->op, (long long)d->groups);
    int64_t K = d->K, N = d->N, K2 = mode == TPU_WIDE_BOTH ? 2 * K : K;
    if (K2 > ((int64_t)1 << 17) || N > ((int64_t)1 << 24))
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "node '%s' (%s): K=%lld is too long for exact 16-bit "
                       "sums in 32-bit accumulators", d->name, d->op, (long long)K);
    if (w && *w) {
        float *sw = tpu_malloc(ctx, (size_t)N * sizeof *sw);
        float *o = sw ? tpu_calloc(ctx, (size_t)(K2 * 2 * N), sizeof *o) : NULL;
        float *cs = o ? tpu_malloc(ctx, (size_t)(2 * N) * sizeof *cs) : NULL;
        if (!cs) { free(sw); free(o); return TPU_ERR_NOMEM; }
        for (int64_t n = 0; n < N; n++) {
            float m = 0;
            for (int64_t k = 0; k < K; k++) {
                float v = fabsf(d->w_nk ? (*w)[n * K + k] : (*w)[k * N + n]);
                m = v > m ? v : m;
            }
            sw[n] = m > 0 ? m / WIDE_Q : 1.0f;
            cs[n] = (mode == TPU_WIDE_BOTH ? 16384.0f : 128.0f) * sw[n];
            cs[N + n] = (mode == TPU_WIDE_BOTH ? 128.0f : 1.0f) * sw[n];
        }
        wide_weights(d, mode, *w, sw, o);
        free(sw);
        free(*w);
        *w = o;
        *col_scale = cs;
    }
    if (!d->model_macs) d->model_macs = d->M * K * N;
    d->K = K2;
    d->N = 2 * N;
    if (d->is_conv) {
        if (mode == TPU_WIDE_BOTH) d->c_in *= 2;
        d->c_out *= 2;
    }
    d->raw_i8 = 1;                            /* the integers go into the tiles as they are */
    d->wide = mode;
    d->bias = 0;                              /* added by the host after the halves meet */
    d->act = TPU_ACT_NONE;
    return TPU_STATUS_OK;
}

float *tpu_mm_wide_input(struct tpu_ctx *ctx, const struct tpu_mm_desc *d, const float *x, float *in_scale)
{
    int64_t n = d->is_conv ? d->batch * tpu_mm_op_c_in(d) * d->h * d->w : d->M * (d->K / 2);
    float s = *in_scale > 0 ? *in_scale * 127.0f / WIDE_Q : tpu_max_abs_f32(x, n) / WIDE_Q;
    if (!(s > 0)) s = 1.0f;
    float *o = tpu_malloc(ctx, (size_t)(2 * n) * sizeof *o);
    if (!o) return NULL;
    /* hi and lo as values the driver's int8 rounding by s gives back exactly
    ** (|hi| <= 127: hi x s / s is within 2^-16 of hi). */
    int64_t rows = d->is_conv ? d->batch : d->M, len = n / rows;   /* conv: a row is one image's C x H x W */
    for (int64_t r = 0; r < rows; r++)
        for (int64_t i = 0; i < len; i++) {
            float hi, lo;
            split16(x[r * len + i], s, &hi, &lo);
            o[r * 2 * len + i] = hi * s;
            o[r * 2 * len + len + i] = lo * s;
        }
    *in_scale = s;
    return o;
}

void tpu_mm_wide_combine(const struct tpu_mm_desc *d, float *y)
{
    int64_t N = d->N / 2;
    if (!d->is_conv) {                                   /* [M][2N] -> [M][N] */
        for (int64_t m = 0; m < d->M; m++)
            for (int64_t n = 0; n < N; n++) y[m * N + n] = y[m * 2 * N + n] + y[m * 2 * N + N + n];
        return;
    }
    int64_t pix = d->oh * d->ow;                         /* [B][2N][P] -> [B][N][P] */
    for (int64_t b = 0; b < d->batch; b++)
        for (int64_t n = 0; n < N; n++) {
            const float *h = y + (b * 2 * N + n) * pix, *l = y + (b * 2 * N + N + n) * pix;
            float *o = y + (b * N + n) * pix;
            for (int64_t p = 0; p < pix; p++) o[p] = h[p] + l[p];
        }
}
