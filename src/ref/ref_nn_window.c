/*
** ref/ref_nn_window.c: the sliding-window geometry of Conv, ConvTranspose,
** MaxPool and AveragePool (and their quantised forms) — attribute validation,
** auto_pad, ceil_mode and output sizes — plus the small float64 staging,
** MatMul-dims and float32 gemm (tpu_sgemm) helpers the dense kernels share.
**
** In:  a node, its data input x and (convolutions) weight w.
** Out: struct tpu_nn_window, read by ir/shape_nn.c (output dims), the conv and
**      pool kernels (ref/ref_nn_conv.c, ref/ref_quant.c) and ir/cost.c.
*/
#include "ref/ref_nn.h"
#include "base/sgemm.h"
#include <string.h>

/*---- Attribute helpers ----*/
/* Largest stride, dilation, pad, kernel, group or output size accepted: keeps
** the window arithmetic (s * in + d * k, with in below 2^35) far from overflow. */
#define NN_ATTR_MAX ((int64_t)1 << 24)

/* An INTS attribute of exactly `want` values, each >= lo, copied into out
** (left alone when the attribute is absent). */
static enum tpu_status ints_attr(const struct tpu_graph *g, const struct tpu_node *n,
                                 const char *name, int want, int64_t lo, int64_t *out)
{
    const struct tpu_attr *a = tpu_attr_find(n, name);
    if (!a) return TPU_STATUS_OK;
    if (a->type != TPU_ATTR_INTS)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute '%s' must be a list of ints", name);
    if (a->n != want)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute '%s' has %d values, expected %d",
                            name, a->n, want);
    for (int i = 0; i < want; i++) {
        if (a->ints[i] < lo)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute '%s' value %lld is below %lld",
                                name, (long long)a->ints[i], (long long)lo);
        if (a->ints[i] > NN_ATTR_MAX)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute '%s' value %lld is too large",
                                name, (long long)a->ints[i]);
        out[i] = a->ints[i];
    }
    return TPU_STATUS_OK;
}

enum auto_pad { PAD_NOTSET, PAD_SAME_UPPER, PAD_SAME_LOWER, PAD_VALID };

static int parse_auto_pad(const char *s)
{
    if (!s || !*s || strcmp(s, "NOTSET") == 0) return PAD_NOTSET;
    if (strcmp(s, "SAME_UPPER") == 0) return PAD_SAME_UPPER;
    if (strcmp(s, "SAME_LOWER") == 0) return PAD_SAME_LOWER;
    if (strcmp(s, "VALID") == 0) return PAD_VALID;
    return -1;
}

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }

/*---- Output sizes ----*/
/* ONNX Conv/MaxPool/AveragePool: out = floor((in + pads - dil*(k-1) - 1) / s) + 1
** (ceil with ceil_mode, dropping a last window that would start in the end
** padding); SAME_*: out = ceil(in / s) with the total padding split so the
** extra element goes at the end (UPPER) or the beginning (LOWER). */
static enum tpu_status fwd_dim(const struct tpu_graph *g, const struct tpu_node *n,
                               struct tpu_nn_window *win, int i, int pad_mode, bool ceil_mode)
{
    int64_t in = win->in[i], s = win->stride[i], dk = win->dil[i] * (win->k[i] - 1) + 1;
    if (pad_mode != PAD_NOTSET) win->pad0[i] = win->pad1[i] = 0;
    if (in < 0 || win->k[i] < 0) { win->out[i] = -1; return TPU_STATUS_OK; }
    if (pad_mode == PAD_SAME_UPPER || pad_mode == PAD_SAME_LOWER) {
        win->out[i] = ceil_div(in, s);
        int64_t total = (win->out[i] - 1) * s + dk - in;
        if (total < 0) total = 0;
        win->pad0[i] = pad_mode == PAD_SAME_UPPER ? total / 2 : total - total / 2;
        win->pad1[i] = total - win->pad0[i];
        return TPU_STATUS_OK;
    }
    int64_t span = in + win->pad0[i] + win->pad1[i] - dk;
    if (span < 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE,
                            "spatial dim %d: window of %lld (kernel %lld, dilation %lld) is larger "
                            "than the padded input %lld", i, (long long)dk, (long long)win->k[i],
                            (long long)win->dil[i], (long long)(in + win->pad0[i] + win->pad1[i]));
    win->out[i] = (ceil_mode ? ceil_div(span, s) : span / s) + 1;
    if (ceil_mode && (win->out[i] - 1) * s >= in + win->pad0[i]) win->out[i]--;
    return TPU_STATUS_OK;
}

/* ONNX ConvTranspose: out = s*(in-1) + output_padding + dil*(k-1) + 1 - pads;
** with output_shape (or SAME_*: out = in*s) the total padding is derived and
** split, the odd element at the end for SAME_UPPER, else at the beginning.
** Pads may come out negative here (output larger than the full result). */
static enum tpu_status tr_dim(const struct tpu_graph *g, const struct tpu_node *n,
                              struct tpu_nn_window *win, int i, int pad_mode,
                              int64_t out_padding, int64_t out_shape)
{
    int64_t in = win->in[i], s = win->stride[i], dk = win->dil[i] * (win->k[i] - 1) + 1;
    if (pad_mode == PAD_VALID) win->pad0[i] = win->pad1[i] = 0;
    if (in < 0 || win->k[i] < 0) { win->out[i] = out_shape > 0 ? out_shape : -1; return TPU_STATUS_OK; }
    int64_t full = s * (in - 1) + out_padding + dk;
    if (out_shape <= 0 && (pad_mode == PAD_SAME_UPPER || pad_mode == PAD_SAME_LOWER))
        out_shape = in * s;
    if (out_shape > 0) {
        /* a negative total (output_shape past the full output) pads the end with
        ** bias-only values; halves round toward -inf as in the ONNX reference */
        int64_t total = full - out_shape, half = total >= 0 ? total / 2 : -((-total + 1) / 2);
        win->pad0[i] = pad_mode == PAD_SAME_UPPER ? half : total - half;
        win->pad1[i] = total - win->pad0[i];
    }
    win->out[i] = full - win->pad0[i] - win->pad1[i];
    if (win->out[i] <= 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "spatial dim %d: pads leave an output of %lld",
                            i, (long long)win->out[i]);
    return TPU_STATUS_OK;
}

/*---- Channels and kernel ----*/
static enum tpu_status conv_channels(const struct tpu_graph *g, const struct tpu_node *n,
                                     const struct tpu_tensor *w, enum tpu_nn_window_kind kind,
                                     struct tpu_nn_window *win)
{
    int r = win->n_sp + 2;
    if (!w || w->n_dims != r)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "weight has rank %d, expected %d (like the input)",
                            w ? w->n_dims : 0, r);
    win->group = tpu_attr_int(n, "group", 1);
    if (win->group < 1 || win->group > NN_ATTR_MAX)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'group' is %lld, must be in 1..%lld",
                            (long long)win->group, (long long)NN_ATTR_MAX);
    for (int i = 0; i < win->n_sp; i++) win->k[i] = w->dims[2 + i];
    int64_t w_in = kind == TPU_NN_WIN_CONV ? w->dims[1] * win->group : w->dims[0];
    if (w->dims[0] >= 0 && w->dims[1] >= 0 && win->c >= 0 && w_in != win->c)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input has %lld channels but the weight expects "
                            "%lld (group %lld)", (long long)win->c, (long long)w_in,
                            (long long)win->group);
    if (win->c >= 0 && win->c % win->group)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "%lld input channels do not split into %lld groups",
                            (long long)win->c, (long long)win->group);
    if (kind == TPU_NN_WIN_CONV) {
        win->m = w->dims[0];
        if (win->m >= 0 && win->m % win->group)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "%lld output channels do not split into %lld "
                                "groups", (long long)win->m, (long long)win->group);
    } else {
        win->m = w->dims[1] >= 0 ? w->dims[1] * win->group : -1;
    }
    return TPU_STATUS_OK;
}

static enum tpu_status window_kernel(const struct tpu_graph *g, const struct tpu_node *n,
                                     const struct tpu_tensor *w, enum tpu_nn_window_kind kind,
                                     struct tpu_nn_window *win)
{
    int64_t ks[3] = { -1, -1, -1 };
    bool has_ks = tpu_attr_find(n, "kernel_shape") != NULL;
    enum tpu_status rc = ints_attr(g, n, "kernel_shape", win->n_sp, 1, ks);
    if (rc) return rc;
    if (kind == TPU_NN_WIN_POOL) {
        win->group = 1;
        win->m = win->c;
        if (!has_ks) return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'kernel_shape' is required");
        for (int i = 0; i < win->n_sp; i++) win->k[i] = ks[i];
        return TPU_STATUS_OK;
    }
    if ((rc = conv_channels(g, n, w, kind, win))) return rc;
    for (int i = 0; i < win->n_sp && has_ks; i++) {
        if (win->k[i] >= 0 && win->k[i] != ks[i])
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'kernel_shape'[%d] is %lld but the "
                                "weight's is %lld", i, (long long)ks[i], (long long)win->k[i]);
        win->k[i] = ks[i];
    }
    for (int i = 0; i < win->n_sp; i++)
        if (win->k[i] == 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "weight has an empty spatial dim %d", i);
    return TPU_STATUS_OK;
}

/*---- The whole window ----*/
static enum tpu_status window_attrs(const struct tpu_graph *g, const struct tpu_node *n,
                                    struct tpu_nn_window *win)
{
    int64_t pads[6] = { 0 };
    enum tpu_status rc;
    if ((rc = ints_attr(g, n, "strides", win->n_sp, 1, win->stride))) return rc;
    if ((rc = ints_attr(g, n, "dilations", win->n_sp, 1, win->dil))) return rc;
    if ((rc = ints_attr(g, n, "pads", 2 * win->n_sp, 0, pads))) return rc;
    for (int i = 0; i < win->n_sp; i++) {
        win->pad0[i] = pads[i];
        win->pad1[i] = pads[win->n_sp + i];
    }
    return TPU_STATUS_OK;
}

static enum tpu_status window_out(const struct tpu_graph *g, const struct tpu_node *n,
                                  enum tpu_nn_window_kind kind, int pad_mode,
                                  struct tpu_nn_window *win)
{
    enum tpu_status rc = TPU_STATUS_OK;
    if (kind != TPU_NN_WIN_CONV_TRANSPOSE) {
        int64_t ceil_mode = kind == TPU_NN_WIN_POOL ? tpu_attr_int(n, "ceil_mode", 0) : 0;
        for (int i = 0; i < win->n_sp && !rc; i++) rc = fwd_dim(g, n, win, i, pad_mode, ceil_mode != 0);
        return rc;
    }
    int64_t op[3] = { 0, 0, 0 }, os[5] = { 0, 0, 0, 0, 0 };
    if ((rc = ints_attr(g, n, "output_padding", win->n_sp, 0, op))) return rc;
    const int64_t *osv;
    int n_os = tpu_attr_ints(n, "output_shape", &osv);
    if (n_os && n_os != win->n_sp && n_os != win->n_sp + 2)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'output_shape' has %d values, expected %d",
                            n_os, win->n_sp);
    for (int i = 0; i < win->n_sp && n_os; i++) {
        os[i] = osv[n_os - win->n_sp + i];
        if (os[i] < 1 || os[i] > NN_ATTR_MAX)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'output_shape' value %lld is out of "
                                "range 1..%lld", (long long)os[i], (long long)NN_ATTR_MAX);
    }
    for (int i = 0; i < win->n_sp && !rc; i++) rc = tr_dim(g, n, win, i, pad_mode, op[i], os[i]);
    return rc;
}

/* Moves the n_sp spatial entries (computed in slots 0..n_sp-1) to the last
** slots, so the innermost loop of every kernel runs over the last ONNX dim. */
static void right_align(struct tpu_nn_window *win)
{
    int64_t *arrays[7] = { win->in, win->k, win->out, win->stride, win->dil, win->pad0, win->pad1 };
    int shift = 3 - win->n_sp;
    for (int a = 0; a < 7 && shift; a++) {
        int64_t fill = a >= 5 ? 0 : 1;
        for (int i = 2; i >= 0; i--) arrays[a][i] = i >= shift ? arrays[a][i - shift] : fill;
    }
}

enum tpu_status tpu_nn_window(const struct tpu_graph *g, const struct tpu_node *n,
                              const struct tpu_tensor *x, const struct tpu_tensor *w,
                              enum tpu_nn_window_kind kind, struct tpu_nn_window *win)
{
    memset(win, 0, sizeof *win);
    for (int i = 0; i < 3; i++) win->in[i] = win->k[i] = win->out[i] = win->stride[i] = win->dil[i] = 1;
    if (x->n_dims < 3)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input has rank %d, expected N x C x spatial (>= 3)",
                            x->n_dims);
    if (x->n_dims > 5)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "%d spatial dims (only 1 to 3 are supported)",
                            x->n_dims - 2);
    win->n_sp = x->n_dims - 2;
    win->n = x->dims[0];
    win->c = x->dims[1];
    for (int i = 0; i < win->n_sp; i++) win->in[i] = x->dims[2 + i];
    int pad_mode = parse_auto_pad(tpu_attr_str(n, "auto_pad", "NOTSET"));
    if (pad_mode < 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'auto_pad' is '%s', expected NOTSET, "
                            "SAME_UPPER, SAME_LOWER or VALID", tpu_attr_str(n, "auto_pad", ""));
    enum tpu_status rc = window_kernel(g, n, w, kind, win);
    if (!rc) rc = window_attrs(g, n, win);
    if (!rc) rc = window_out(g, n, kind, pad_mode, win);
    if (!rc) right_align(win);
    return rc;
}

int64_t tpu_nn_window_k(const struct tpu_nn_window *win)   { return win->k[0] * win->k[1] * win->k[2]; }
int64_t tpu_nn_window_in(const struct tpu_nn_window *win)  { return win->in[0] * win->in[1] * win->in[2]; }
int64_t tpu_nn_window_out(const struct tpu_nn_window *win) { return win->out[0] * win->out[1] * win->out[2]; }

/*---- float64 staging ----*/
double *tpu_nn_to_f64(struct tpu_ctx *ctx, const struct tpu_tensor *t)
{
    if (!t) return NULL;
    int64_t numel = tpu_tensor_numel(t);
    TPU_ASSERT(numel >= 0 && t->data);
    double *buf = tpu_malloc(ctx, (size_t)(numel ? numel : 1) * sizeof *buf);
    if (!buf) return NULL;
    if (t->dtype == TPU_DTYPE_F32) {
        const float *p = t->data;
        for (int64_t i = 0; i < numel; i++) buf[i] = p[i];
    } else {
        for (int64_t i = 0; i < numel; i++) buf[i] = tpu_get_f64(t->data, t->dtype, (size_t)i);
    }
    return buf;
}

void tpu_nn_from_f64(struct tpu_tensor *t, const double *buf, int64_t n)
{
    if (t->dtype == TPU_DTYPE_F32) {
        float *p = t->data;
        for (int64_t i = 0; i < n; i++) p[i] = (float)buf[i];
        return;
    }
    for (int64_t i = 0; i < n; i++) tpu_set_f64(t->data, t->dtype, (size_t)i, buf[i]);
}

/*---- MatMul dims (numpy matmul rules) ----*/
int tpu_nn_matmul_dims(const struct tpu_tensor *a, const struct tpu_tensor *b,
                       struct tpu_nn_matmul_dims *d, const char **why)
{
    int64_t da[TPU_MAX_DIMS + 1], db[TPU_MAX_DIMS + 1];
    int ra = a->n_dims, rb = b->n_dims;
    if (ra < 1 || rb < 1) { *why = "operands must have rank >= 1"; return -1; }
    memcpy(da, a->dims, (size_t)ra * sizeof *da);
    memcpy(db, b->dims, (size_t)rb * sizeof *db);
    d->a_vec = ra == 1;
    d->b_vec = rb == 1;
    if (d->a_vec) { da[1] = da[0]; da[0] = 1; ra = 2; }
    if (d->b_vec) { db[1] = 1; rb = 2; }
    d->m = da[ra - 2];
    d->k = da[ra - 1];
    d->n = db[rb - 1];
    if (d->k >= 0 && db[rb - 2] >= 0 && d->k != db[rb - 2]) { *why = "inner dimensions differ"; return -1; }
    if (d->k < 0) d->k = db[rb - 2];
    d->n_batch = tpu_broadcast_dims(ra - 2, da, rb - 2, db, d->batch);
    if (d->n_batch < 0) { *why = "batch dimensions do not broadcast"; return -1; }
    return 0;
}

/*---- float32 products ----*/
void tpu_nn_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n,
                  int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc)
{
    TPU_ASSERT(order == CblasRowMajor);
    tpu_sgemm(ta == CblasTrans, tb == CblasTrans, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
