/*
** compile/driver.c: the host side of a lowered matrix op — what the TPU v1
** host driver does around the chip: im2col of convolution inputs, dynamic
** per-tensor int8 quantisation (or bf16 rounding) of activations into the
** packed row layout lower.c's RD_HOST reads, and after the run, dequantisation,
** alpha and bias on the 32-bit results WR_HOST wrote back.
**
** In:  struct tpu_lowered (compile/lower.c), fp32 input values.
** Out: host memory for sim/ (tpu_sim_run), fp32 outputs in ONNX layout.
*/
#include "compile/compile.h"
#include <math.h>
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
    for (int64_t i = 0; i < n; i++) mx = fmaxf(mx, fabsf(x[i]));
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

void tpu_mm_pack_input(const struct tpu_chip *c, struct tpu_lowered *l, const float *x,
                       uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, elem = tpu_chip_elem_bytes(c);
    uint64_t pass_bytes = (uint64_t)(l->k_tiles * l->mrows * R * elem);
    l->in_scale = c->mxu_dtype == TPU_MXU_INT8 ? input_scale(d, x) : 1.0f;
    memset(host, 0, (size_t)l->host_out_off);
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            uint8_t *base = host + (uint64_t)(g * l->n_chunks + mc) * pass_bytes;
            for (int64_t k = 0; k < d->K; k++) {
                int64_t kt = k / R, kk = k % R;
                for (int64_t r = 0; r < rows; r++)
                    put_elem(c, l->in_scale, tpu_mm_a_value(d, x, g, m0 + r, k),
                             base + ((kt * rows + r) * R + kk) * elem);
            }
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
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            const uint8_t *base = host + l->host_out_off + (uint64_t)(g * l->n_chunks + mc) * pass_bytes;
            for (int64_t r = 0; r < rows; r++)
                for (int64_t n = 0; n < d->N; n++) {
                    const uint8_t *src = base + (((n / C) * rows + r) * C + n % C) * 4;
                    double v;
                    if (c->mxu_dtype == TPU_MXU_BF16) { float f; memcpy(&f, src, 4); v = f; }
                    else {
                        int32_t i;
                        memcpy(&i, src, 4);
                        v = (double)i * l->in_scale * l->w_scale[g * d->N + n];
                    }
                    v *= alpha;
                    if (bias) v += bias[g * d->N + n];
                    y[y_index(d, g, m0 + r, n)] = (float)v;
                }
        }
}
