/*
** compile/mm_convt.c: ConvTranspose on the MXU, as the convolution it is
** equal to. A 2-D ConvTranspose with stride s, dilation d, pads (pb, pe) and
** output_padding op is, along each axis, a stride-1 Conv with the same
** dilation over the input with s - 1 zeros put between its pixels
** ((in - 1) * s + 1 pixels; "input dilation"), padded by (k - 1) * d - pb
** before and (k - 1) * d - pe + op after, with the kernel flipped in both
** axes and its two channel axes swapped (per group):
**   W_conv[g*opg + o][i][ky][kx] = W_t[g*cpg + i][o][kh-1-ky][kw-1-kx].
** The output size matches ONNX's: s * (in - 1) + op + (k - 1) * d + 1 - pb - pe.
** Only data moves here: the arithmetic is the Conv lowering's, so int8 and
** bf16 results follow its rules. The host driver makes the zero-inserted
** input (tpu_mm_convt_input) before packing.
**
** In:  a ConvTranspose node with constant float32 weights (ir/).
** Out: struct tpu_mm_desc (a Conv; up_h/up_w the input dilation) and weights
**      [g][K][N] as compile/mm_node.c gives them for a Conv.
*/
#include "compile/compile.h"
#include <string.h>

static int64_t ints_at(const struct tpu_node *n, const char *name, int i, int64_t dflt)
{
    const int64_t *v;
    return i < tpu_attr_ints(n, name, &v) ? v[i] : dflt;
}

/* One axis: conv input size (zero-inserted), begin pad, output size; 0 when
** the node asks for something this rewrite does not cover. */
static int axis(int64_t in, int64_t k, int64_t s, int64_t dil, int64_t pb, int64_t pe, int64_t op,
                int64_t *up, int64_t *pad, int64_t *out)
{
    int64_t dk = (k - 1) * dil;
    if (s < 1 || dil < 1 || pb < 0 || pe < 0 || op < 0 || pb > dk || pe > dk + op) return 0;
    *up = (in - 1) * s + 1;
    *pad = dk - pb;
    *out = s * (in - 1) + op + dk + 1 - pb - pe;
    return *out >= 1;
}

static enum tpu_status refuse(struct tpu_graph *g, struct tpu_node *n, const char *why)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "%s (the MXU lowering of ConvTranspose takes 2-D, "
                        "auto_pad NOTSET, no output_shape, pads <= (kernel - 1) x dilation)", why);
}

enum tpu_status tpu_mm_from_conv_transpose(struct tpu_graph *g, struct tpu_node *n, struct tpu_mm_desc *d,
                                           float **weights, int want)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0), *w = tpu_in(g, n, 1);
    if (!x || !w || x->n_dims != 4 || w->n_dims != 4) return refuse(g, n, "not a 2-D ConvTranspose");
    if (x->dtype != TPU_DTYPE_F32 || w->dtype != TPU_DTYPE_F32) return refuse(g, n, "not float32");
    for (int i = 0; i < 4; i++)
        if (x->dims[i] <= 0 || w->dims[i] <= 0) return refuse(g, n, "unknown or empty dimensions");
    if (strcmp(tpu_attr_str(n, "auto_pad", "NOTSET"), "NOTSET") != 0) return refuse(g, n, "auto_pad set");
    if (tpu_attr_find(n, "output_shape")) return refuse(g, n, "output_shape given");
    int64_t G = tpu_attr_int(n, "group", 1), c_in = x->dims[1];
    if (G < 1 || c_in % G || w->dims[0] != c_in) return refuse(g, n, "group does not fit the channels");
    int64_t cpg = c_in / G, opg = w->dims[1], kh = w->dims[2], kw = w->dims[3];
    d->is_conv = 1;
    d->groups = G;
    d->batch = x->dims[0]; d->c_in = c_in; d->c_out = G * opg; d->kh = kh; d->kw = kw;
    d->sh = d->sw = 1;
    d->dh = ints_at(n, "dilations", 0, 1); d->dw = ints_at(n, "dilations", 1, 1);
    d->up_h = ints_at(n, "strides", 0, 1); d->up_w = ints_at(n, "strides", 1, 1);
    if (!axis(x->dims[2], kh, d->up_h, d->dh, ints_at(n, "pads", 0, 0), ints_at(n, "pads", 2, 0),
              ints_at(n, "output_padding", 0, 0), &d->h, &d->pt, &d->oh) ||
        !axis(x->dims[3], kw, d->up_w, d->dw, ints_at(n, "pads", 1, 0), ints_at(n, "pads", 3, 0),
              ints_at(n, "output_padding", 1, 0), &d->w, &d->pl, &d->ow))
        return refuse(g, n, "strides/pads/dilations/output_padding outside the rewrite");
    d->M = d->batch * d->oh * d->ow;
    d->K = cpg * kh * kw;
    d->N = opg;
    d->model_macs = d->batch * c_in * x->dims[2] * x->dims[3] * opg * kh * kw;   /* without the inserted zeros */
    if (!want) return TPU_STATUS_OK;
    if (!w->data)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "weight input '%s' has no values (the chip keeps "
                            "weights in weight memory)", w->name);
    float *o = tpu_malloc(g->ctx, (size_t)(G * d->K * d->N) * sizeof *o);
    if (!o) return TPU_ERR_NOMEM;
    const float *wt = w->data;                         /* [c_in][opg][kh][kw] */
    for (int64_t gi = 0; gi < G; gi++)
        for (int64_t i = 0; i < cpg; i++)
            for (int64_t ky = 0; ky < kh; ky++)
                for (int64_t kx = 0; kx < kw; kx++)
                    for (int64_t j = 0; j < opg; j++)
                        o[(gi * d->K + (i * kh + ky) * kw + kx) * d->N + j] =
                            wt[(((gi * cpg + i) * opg + j) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)];
    *weights = o;
    return TPU_STATUS_OK;
}

float *tpu_mm_convt_input(struct tpu_ctx *ctx, const struct tpu_mm_desc *d, const float *x)
{
    int64_t ih = (d->h - 1) / d->up_h + 1, iw = (d->w - 1) / d->up_w + 1;
    int64_t planes = d->batch * tpu_mm_op_c_in(d);           /* before a bf16 or 16-bit split */
    float *u = tpu_calloc(ctx, (size_t)(planes * d->h * d->w), sizeof *u);
    if (!u) return NULL;
    for (int64_t p = 0; p < planes; p++)
        for (int64_t y = 0; y < ih; y++)
            for (int64_t xx = 0; xx < iw; xx++)
                u[(p * d->h + y * d->up_h) * d->w + xx * d->up_w] = x[(p * ih + y) * iw + xx];
    return u;
}
