/*
** compile/driver.c: the host side of a lowered matrix op — what the TPU v1
** host driver does around the chip: im2col of convolution inputs, dynamic
** per-tensor int8 quantisation (or bf16 rounding) of activations into the
** packed row layout lower.c's RD_HOST reads, ACTIVATE's bias / clamp tables
** (quantised to the accumulator's scale on int8 chips), and after the run,
** dequantisation and alpha (and bias when the chip did not add it) on the
** 32-bit results WR_HOST wrote back.
**
** In:  struct tpu_lowered (compile/lower.c), fp32 input values.
** Out: host memory for sim/ (tpu_sim_run), fp32 outputs in ONNX layout.
*/
#include "compile/compile.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

float tpu_mm_a_value(const struct tpu_mm_desc *d, const float *x, int64_t g, int64_t m, int64_t k)
{
    if (!d->is_conv) return x[(g * d->M + m) * d->K + k];      /* groups stacked: [g][M][K] */
    int64_t ow = m % d->ow, oh = m / d->ow % d->oh, b = m / (d->ow * d->oh);
    int64_t kx = k % d->kw, ky = k / d->kw % d->kh, c = k / (d->kw * d->kh);
    int64_t iy = oh * d->sh - d->pt + ky * d->dh, ix = ow * d->sw - d->pl + kx * d->dw;
    if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) return 0.0f;     /* zero padding */
    int64_t ch = g * (d->c_in / d->groups) + c;
    return x[((b * d->c_in + ch) * d->h + iy) * d->w + ix];
}

/* Largest |x| over the op input, for the per-tensor int8 scale. */
static float input_scale(const struct tpu_mm_desc *d, const float *x)
{
    int64_t n = d->is_conv ? d->batch * d->c_in * d->h * d->w : d->groups * d->M * d->K;
    float mx = 0;
    for (int64_t i = 0; i < n; i++) {                  /* fmaxf(mx, |x|) without the call; */
        float v = fabsf(x[i]);                         /* a NaN is skipped as fmaxf skips it */
        if (v > mx) mx = v;
    }
    return mx > 0 ? mx / 127.0f : 1.0f;
}

static void put_elem(const struct tpu_chip *c, float scale, float v, uint8_t *dst)
{
    if (c->mxu_dtype == TPU_MXU_BF16) {
        uint16_t h = tpu_f32_to_bf16(v);
        memcpy(dst, &h, 2);
        return;
    }
    float q = rintf(v / scale);
    *dst = (uint8_t)(int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

/* Row m of group g's A into the packed layout: element k at
** ((k / R) * rows + r) * R + k % R (dst points at r's first slot). The
** convolution walk keeps (channel, ky, kx) as counters instead of dividing
** per element (same values as tpu_mm_a_value). */
static void pack_row(const struct tpu_chip *c, const struct tpu_lowered *l, const float *x, int64_t g,
                     int64_t m, int64_t rows, uint8_t *dst)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, elem = tpu_chip_elem_bytes(c), tile = rows * R * elem;
    if (!d->is_conv) {
        const float *a = x + (g * d->M + m) * d->K;
        for (int64_t k = 0; k < d->K; k++) put_elem(c, l->in_scale, a[k], dst + (k / R) * tile + (k % R) * elem);
        return;
    }
    int64_t ow = m % d->ow, oh = m / d->ow % d->oh, b = m / (d->ow * d->oh);
    int64_t y0 = oh * d->sh - d->pt, x0 = ow * d->sw - d->pl, k = 0;
    for (int64_t ch = 0; ch < d->c_in / d->groups; ch++) {
        const float *plane = x + ((b * d->c_in + g * (d->c_in / d->groups) + ch) * d->h) * d->w;
        for (int64_t ky = 0; ky < d->kh; ky++) {
            int64_t iy = y0 + ky * d->dh;
            for (int64_t kx = 0; kx < d->kw; kx++, k++) {
                int64_t ix = x0 + kx * d->dw;
                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;   /* zero padding: memset */
                put_elem(c, l->in_scale, plane[iy * d->w + ix], dst + (k / R) * tile + (k % R) * elem);
            }
        }
    }
}

/* The element by element packing: each element quantised where it lands.
** Kept as the fallback when the quantised copy cannot be allocated, and as
** the reference tests compare the fast path with (tpu_mm_pack_input_ref). */
void tpu_mm_pack_input_ref(const struct tpu_chip *c, struct tpu_lowered *l, const float *x,
                           uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, elem = tpu_chip_elem_bytes(c);
    uint64_t pass_bytes = (uint64_t)(l->k_tiles * l->mrows * R * elem);
    l->in_scale = c->mxu_dtype != TPU_MXU_INT8 ? 1.0f
                : l->in_scale_fixed > 0 ? l->in_scale_fixed : input_scale(d, x);
    memset(host, 0, (size_t)l->host_out_off);
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            uint8_t *base = host + (uint64_t)(g * l->n_chunks + mc) * pass_bytes;
            for (int64_t r = 0; r < rows; r++) pack_row(c, l, x, g, m0 + r, rows, base + r * R * elem);
        }
}

/* int8 quantisation of n values, the same bytes put_elem writes: rintf(v /
** scale) clamped to ±127. For |q| < 128 adding and subtracting 1.5 * 2^23
** rounds to the nearest integer, ties to even, exactly as rintf does in the
** default rounding mode (the sum is exact below 2^22); anything else (large,
** NaN) takes put_elem's own expression. The division stays a division. */
static void quantise_i8(const float *x, int64_t n, float scale, int8_t *q)
{
    const volatile float magic_v = 12582912.0f;       /* volatile: not folded away */
    const float magic = magic_v;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] / scale;
        if (fabsf(v) < 128.0f) {
            float r = (v + magic) - magic;
            q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
        } else {
            float r = rintf(v);
            q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
        }
    }
}

/* Row m of group g from the already quantised input q (elem bytes per value)
** into the packed layout, walking (tile, slot) as counters. */
static void pack_row_q(const struct tpu_lowered *l, int64_t R, int64_t elem, const uint8_t *q, int64_t g,
                       int64_t m, int64_t rows, uint8_t *dst)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t tile = rows * R * elem;
    if (!d->is_conv) {
        const uint8_t *a = q + (uint64_t)((g * d->M + m) * d->K) * elem;
        for (int64_t k0 = 0; k0 < d->K; k0 += R)
            memcpy(dst + (k0 / R) * tile, a + k0 * elem, (size_t)((d->K - k0 < R ? d->K - k0 : R) * elem));
        return;
    }
    /* locals: the byte stores below may alias anything, so fields read in
    ** the loops would be reloaded every element */
    const int64_t H = d->h, Wd = d->w, kh = d->kh, kw = d->kw, dh = d->dh, dw = d->dw;
    int64_t ow = m % d->ow, oh = m / d->ow % d->oh, b = m / (d->ow * d->oh);
    int64_t y0 = oh * d->sh - d->pt, x0 = ow * d->sw - d->pl, cg = d->c_in / d->groups;
    uint8_t *t = dst;
    int64_t kr = 0;
    int inside = x0 >= 0 && x0 + (kw - 1) * dw < Wd;           /* every kx lands in the row */
    for (int64_t ch = 0; ch < cg; ch++) {
        const uint8_t *plane = q + (uint64_t)(((b * d->c_in + g * cg + ch) * H) * Wd) * elem;
        for (int64_t ky = 0; ky < kh; ky++) {
            int64_t iy = y0 + ky * dh;
            if (iy < 0 || iy >= H) {                          /* whole kernel row is padding */
                kr += kw;
                while (kr >= R) { kr -= R; t += tile; }
                continue;
            }
            const uint8_t *line = plane + iy * Wd * elem;
            if (elem == 1 && inside && kr + kw < R) {         /* common case: no checks */
                for (int64_t kx = 0; kx < kw; kx++) t[kr + kx] = line[x0 + kx * dw];
                kr += kw;
                continue;
            }
            for (int64_t kx = 0, ix = x0; kx < kw; kx++, ix += dw) {
                if (ix >= 0 && ix < Wd) {
                    if (elem == 1) t[kr] = line[ix];
                    else memcpy(t + kr * elem, line + ix * elem, (size_t)elem);
                }
                if (++kr == R) { kr = 0; t += tile; }
            }
        }
    }
}

void tpu_mm_pack_input(const struct tpu_chip *c, struct tpu_lowered *l, const float *x,
                       uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, elem = tpu_chip_elem_bytes(c);
    int64_t n = d->is_conv ? d->batch * d->c_in * d->h * d->w : d->groups * d->M * d->K;
    int fast = (c->mxu_dtype == TPU_MXU_INT8 && elem == 1) || (c->mxu_dtype == TPU_MXU_BF16 && elem == 2);
    uint8_t *q = fast && n > 0 && (uint64_t)n <= SIZE_MAX / 2 ? malloc((size_t)n * (size_t)elem) : NULL;
    if (!q) { tpu_mm_pack_input_ref(c, l, x, host); return; }
    l->in_scale = c->mxu_dtype != TPU_MXU_INT8 ? 1.0f
                : l->in_scale_fixed > 0 ? l->in_scale_fixed : input_scale(d, x);
    if (c->mxu_dtype == TPU_MXU_INT8) quantise_i8(x, n, l->in_scale, (int8_t *)q);
    else
        for (int64_t i = 0; i < n; i++) {
            uint16_t h = tpu_f32_to_bf16(x[i]);
            memcpy(q + 2 * i, &h, 2);
        }
    uint64_t pass_bytes = (uint64_t)(l->k_tiles * l->mrows * R * elem);
    memset(host, 0, (size_t)l->host_out_off);
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            uint8_t *base = host + (uint64_t)(g * l->n_chunks + mc) * pass_bytes;
            for (int64_t r = 0; r < rows; r++) pack_row_q(l, R, elem, q, g, m0 + r, rows, base + r * R * elem);
        }
    free(q);
}

/* One int8 table entry: v / (in_scale x w_scale) rounded (round: rint, to
** nearest even in the default mode; ceil / floor for the clamp bounds, so
** the clamped values stay inside [lo, hi]), saturated to int32 (+-inf: the
** limits). */
static int32_t q_acc(double v, double scale, double (*round)(double))
{
    double q = round(v / scale);
    if (!(q > INT32_MIN)) return isnan(q) ? 0 : INT32_MIN;
    return q >= INT32_MAX ? INT32_MAX : (int32_t)q;
}

static void put_word(const struct tpu_chip *c, const struct tpu_lowered *l, int64_t g, int64_t n, float v,
                     double (*round)(double), uint8_t *dst)
{
    if (c->mxu_dtype == TPU_MXU_BF16) { memcpy(dst, &v, 4); return; }
    int32_t q = q_acc(v, (double)l->in_scale * l->w_scale[g * l->d.N + n], round);
    memcpy(dst, &q, 4);
}

void tpu_mm_pack_tables(const struct tpu_chip *c, const struct tpu_lowered *l, const float *bias,
                        float lo, float hi, uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    if (!l->tab_bytes) return;
    int64_t C = c->array_cols, words = tpu_mm_tab_words(d, C);
    uint8_t *t = host + l->host_tab_off;
    memset(t, 0, (size_t)(d->groups * l->tab_bytes));     /* padding columns: 0 */
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t n = 0; n < d->N; n++) {
            uint8_t *w = t + g * l->tab_bytes + (uint64_t)((n / C) * words + n % C) * 4;
            if (d->bias) { put_word(c, l, g, n, bias ? bias[g * d->N + n] : 0.0f, rint, w); w += C * 4; }
            if (d->act != TPU_ACT_CLIP) continue;
            put_word(c, l, g, n, lo, ceil, w);
            put_word(c, l, g, n, hi, floor, w + C * 4);
        }
}

/* Index in y (ONNX layout) of GEMM result (group g, row m, column n). */
static int64_t y_index(const struct tpu_mm_desc *d, int64_t g, int64_t m, int64_t n)
{
    if (!d->is_conv) return (g * d->M + m) * d->N + n;         /* [g][M][N] */
    int64_t pix = d->oh * d->ow, b = m / pix, p = m % pix;
    return (b * d->c_out + g * d->N + n) * pix + p;
}

void tpu_mm_unpack_output(const struct tpu_chip *c, const struct tpu_lowered *l,
                          const uint8_t *host, float alpha, const float *bias, float *y)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t C = c->array_cols;
    uint64_t pass_bytes = (uint64_t)(l->n_tiles * l->mrows * C * 4);
    int64_t ystride = d->is_conv ? d->oh * d->ow : 1;       /* y step from column n to n + 1 */
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            const uint8_t *base = host + l->host_out_off + (uint64_t)(g * l->n_chunks + mc) * pass_bytes;
            for (int64_t r = 0; r < rows; r++) {
                float *yr = y + y_index(d, g, m0 + r, 0);
                for (int64_t n0 = 0; n0 < d->N; n0 += C) {
                    const uint8_t *src = base + ((n0 / C) * rows + r) * C * 4;
                    int64_t cn = d->N - n0 < C ? d->N - n0 : C;
                    for (int64_t j = 0; j < cn; j++) {
                        int64_t n = n0 + j;
                        double v;
                        if (c->mxu_dtype == TPU_MXU_BF16) { float f; memcpy(&f, src + j * 4, 4); v = f; }
                        else {
                            int32_t i;
                            memcpy(&i, src + j * 4, 4);
                            v = (double)i * l->in_scale * l->w_scale[g * d->N + n];
                        }
                        v *= alpha;
                        if (bias) v += bias[g * d->N + n];
                        yr[n * ystride] = (float)v;
                    }
                }
            }
        }
}
