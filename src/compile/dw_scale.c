/*
** compile/dw_scale.c: per-channel int8 activation scales for depthwise
** convolutions. A per-tensor input scale serves a depthwise Conv badly: each
** output channel reads one input channel, and trained networks give those
** channels ranges that differ by 100x (PaddleOCR's detector: 134 down to 1.8
** before one depthwise Conv, so per-tensor int8 keeps 2 levels of the small
** channels and their outputs are noise). Since a channel meets only its own
** weights, its scale can be its own at no cost on the chip: the host driver
** quantises channel c by its max |x_c| (x_c / m_c on the unit scale 1/127)
** and the per-column dequantisation multiplies column n by m of n's channel,
** the factor a chip's requantisation stage folds into its per-column
** multiplier. The MXU's integer work is unchanged.
**
** Used at run time when the run scales activations by their own max |x| (no
** calibration); calibrated runs keep their per-tensor scale.
**
** In:  the op's desc before any block-diagonal rewrite, its fp32 input, the
**      lowered op (compile/lower.c). Out: the scaled input for the driver's
**      packing, l->w_scale and l->in_scale_fixed adjusted.
*/
#include "compile/compile.h"
#include <math.h>

int tpu_dw_per_channel(const struct tpu_chip *c, const struct tpu_mm_desc *d)
{
    return c->mxu_dtype == TPU_MXU_INT8 && d->is_conv && d->groups > 1 && d->c_in == d->groups;
}

float *tpu_dw_scale_input(struct tpu_ctx *ctx, const struct tpu_mm_desc *d, const float *x, float *chan_max)
{
    int64_t C = d->c_in, plane = d->h * d->w;
    float *s = tpu_malloc(ctx, (size_t)(d->batch * C * plane) * sizeof *s);
    if (!s) return NULL;
    for (int64_t c = 0; c < C; c++) {
        float m = 0;
        for (int64_t b = 0; b < d->batch; b++) {
            const float *p = x + (b * C + c) * plane;
            for (int64_t i = 0; i < plane; i++) {
                float v = fabsf(p[i]);
                if (v > m) m = v;                        /* a NaN is skipped */
            }
        }
        chan_max[c] = m > 0 ? m : 1.0f;
        for (int64_t b = 0; b < d->batch; b++) {
            const float *p = x + (b * C + c) * plane;
            float *q = s + (b * C + c) * plane;
            for (int64_t i = 0; i < plane; i++) q[i] = p[i] / chan_max[c];
        }
    }
    return s;
}

void tpu_dw_fold_scales(struct tpu_lowered *l, const struct tpu_mm_desc *d, const float *chan_max)
{
    int64_t opg = d->c_out / d->groups, cols = l->d.groups * l->d.N;     /* l->d: maybe block-diagonal */
    for (int64_t col = 0; col < cols; col++) l->w_scale[col] *= chan_max[(col % d->c_out) / opg];   /* wide: 2 halves */
    l->in_scale_fixed = 1.0f / 127.0f;
}
