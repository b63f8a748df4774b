/*
** compile/driver_vec.c: the host driver of the vector-unit lowering
** (compile/lower_vec.h): gathers a node's input values into the plan's row
** streams in host memory (broadcast operands expanded, strided lines for
** Softmax / reductions along an inner axis, pool windows as im2col does with
** -inf / 0 padding and per-row tap counts, BatchNormalization's folded
** per-channel scale and shift, LayerNormalization's scale / bias over the
** normalised dims) and scatters the result rows back to the ONNX layout.
**
** In:  a node with input values, its plan. Out: host memory / output values.
*/
#include "compile/compile.h"
#include "compile/lower_vec.h"
#include "ref/ref_nn.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* t's values broadcast to the output shape (rank, od) into dst. */
static void expand(const struct tpu_tensor *t, int rank, const int64_t *od, float *dst)
{
    const float *v = t->data;
    int64_t numel = 1, st[TPU_MAX_DIMS], idx[TPU_MAX_DIMS] = { 0 }, s = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int j = i - (rank - t->n_dims);
        int64_t d = j >= 0 ? t->dims[j] : 1;
        st[i] = d == 1 ? 0 : s;
        s *= d;
        numel *= od[i];
    }
    if (numel == tpu_tensor_numel(t)) { memcpy(dst, v, (size_t)numel * 4); return; }
    int64_t off = 0;
    for (int64_t e = 0; e < numel; e++) {
        dst[e] = v[off];
        for (int i = rank - 1; i >= 0; i--) {
            off += st[i];
            if (++idx[i] < od[i]) break;
            off -= st[i] * od[i];
            idx[i] = 0;
        }
    }
}

static void out_shape(const struct tpu_tensor *a, const struct tpu_tensor *b, int *rank, int64_t *od)
{
    *rank = a->n_dims > b->n_dims ? a->n_dims : b->n_dims;
    for (int i = 0; i < *rank; i++) {
        int ia = i - (*rank - a->n_dims), ib = i - (*rank - b->n_dims);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        od[i] = da == 1 ? db : da;
    }
}

/* Rows of x: row r is (r / stride, r % stride), element j of it strided. */
static void gather(const struct tpu_vec_plan *p, const float *x, float *dst)
{
    if (p->stride == 1) { memcpy(dst, x, (size_t)(p->rows * p->len) * 4); return; }
    for (int64_t r = 0; r < p->rows; r++) {
        const float *s = x + (r / p->stride) * p->len * p->stride + r % p->stride;
        for (int64_t j = 0; j < p->len; j++) dst[r * p->len + j] = s[j * p->stride];
    }
}

/* LayerNormalization's scale / bias broadcast over the normalised dims (as
** ref/ref_nn.c indexes them), len values. */
static void ln_param(const struct tpu_tensor *x, int axis, const struct tpu_tensor *t, int64_t len, float *dst)
{
    const float *v = t->data;
    for (int64_t j = 0; j < len; j++) {
        int64_t idx = 0, mul = 1, jj = j;
        for (int i = x->n_dims - 1, k = t->n_dims - 1; i >= axis; i--, k--) {
            int64_t coord = jj % x->dims[i];
            jj /= x->dims[i];
            if (k < 0) continue;
            idx += (t->dims[k] == 1 ? 0 : coord) * mul;
            mul *= t->dims[k];
        }
        dst[j] = v[idx];
    }
}

static void pack_binary(struct tpu_graph *g, struct tpu_node *n, const struct tpu_vec_plan *p, float *h0,
                        float *h1, float *k0)
{
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1);
    const struct tpu_tensor *full = p->operand ? b : a, *other = p->operand ? a : b;
    int rank;
    int64_t od[TPU_MAX_DIMS];
    out_shape(a, b, &rank, od);
    if (p->expand_both) { expand(a, rank, od, h0); expand(b, rank, od, h1); return; }
    expand(full, rank, od, h0);
    if (p->n_const) memcpy(k0, other->data, (size_t)p->len * 4);
    if (p->n_in == 2)
        for (int64_t r = 0; r < p->rows; r++) h1[r] = ((const float *)other->data)[r / p->sub];
}

static void pack_batch_norm(struct tpu_graph *g, struct tpu_node *n, const struct tpu_vec_plan *p, float *mul,
                            float *add)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    const float *s = tpu_in(g, n, 1)->data, *b = tpu_in(g, n, 2)->data;
    const float *mean = tpu_in(g, n, 3)->data, *var = tpu_in(g, n, 4)->data;
    double eps = tpu_attr_float(n, "epsilon", 1e-5f);
    int64_t c = x->dims[1];
    for (int64_t r = 0; r < p->rows; r++) {
        int64_t ch = (r / p->sub) % c;
        double m = s[ch] / sqrt((double)var[ch] + eps);       /* folded per channel, as ref/ */
        mul[r] = (float)m;
        add[r] = (float)(b[ch] - mean[ch] * m);
    }
}

/* Taps of a window starting at st (k taps, dilation d) inside [lo, hi). */
static int64_t taps_in(int64_t st, int64_t k, int64_t d, int64_t lo, int64_t hi)
{
    int64_t c = 0;
    for (int64_t i = 0; i < k; i++) c += st + i * d >= lo && st + i * d < hi;
    return c;
}

/* Window rows of a pool (and each row's tap count for AveragePool). */
static void pack_pool(struct tpu_graph *g, struct tpu_node *n, const struct tpu_vec_plan *p, float *rows, float *count)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    struct tpu_nn_window w;
    if (tpu_nn_window(g, n, x, NULL, TPU_NN_WIN_POOL, &w)) { tpu_err_clear(g->ctx); return; }  /* planned: cannot fail */
    int is_max = n->op == TPU_OP_MAX_POOL, incl = tpu_attr_int(n, "count_include_pad", 0) != 0;
    float pad = is_max ? -INFINITY : 0.0f;
    const float *xv = x->data;
    int64_t in_sp = tpu_nn_window_in(&w), r = 0;
    float *d = rows;
    for (int64_t nc = 0; nc < w.n * w.c; nc++) {
        const float *xc = xv + nc * in_sp;
        for (int64_t o0 = 0; o0 < w.out[0]; o0++)
        for (int64_t o1 = 0; o1 < w.out[1]; o1++)
        for (int64_t o2 = 0; o2 < w.out[2]; o2++, r++) {
            int64_t st[3] = { o0 * w.stride[0] - w.pad0[0], o1 * w.stride[1] - w.pad0[1], o2 * w.stride[2] - w.pad0[2] };
            for (int64_t k0 = 0; k0 < w.k[0]; k0++)
            for (int64_t k1 = 0; k1 < w.k[1]; k1++)
            for (int64_t k2 = 0; k2 < w.k[2]; k2++) {
                int64_t i0 = st[0] + k0 * w.dil[0], i1 = st[1] + k1 * w.dil[1], i2 = st[2] + k2 * w.dil[2];
                int in = i0 >= 0 && i0 < w.in[0] && i1 >= 0 && i1 < w.in[1] && i2 >= 0 && i2 < w.in[2];
                *d++ = in ? xc[(i0 * w.in[1] + i1) * w.in[2] + i2] : pad;
            }
            if (is_max) continue;
            int64_t c = 1;
            for (int i = 0; i < 3; i++)
                c *= incl ? taps_in(st[i], w.k[i], w.dil[i], -w.pad0[i], w.in[i] + w.pad1[i])
                          : taps_in(st[i], w.k[i], w.dil[i], 0, w.in[i]);
            count[r] = c ? (float)c : 1.0f;          /* no taps: the sum is 0, as ref/'s 0 */
        }
    }
    (void)p;
}

/* Where's three operands at the output shape; the bool condition as 0 / 1. */
static void pack_where(struct tpu_graph *g, struct tpu_node *n, float *c, float *x, float *y)
{
    const struct tpu_tensor *t[3] = { tpu_in(g, n, 0), tpu_in(g, n, 1), tpu_in(g, n, 2) };
    int rank = 0;
    int64_t od[TPU_MAX_DIMS];
    for (int k = 0; k < 3; k++) rank = t[k]->n_dims > rank ? t[k]->n_dims : rank;
    for (int i = 0; i < rank; i++) {
        od[i] = 1;
        for (int k = 0; k < 3; k++) {
            int j = i - (rank - t[k]->n_dims);
            if (j >= 0 && t[k]->dims[j] != 1) od[i] = t[k]->dims[j];
        }
    }
    struct tpu_tensor cf = *t[0];
    int64_t nc = tpu_tensor_numel(t[0]);
    float *cv = malloc((size_t)(nc ? nc : 1) * sizeof *cv);
    if (!cv) return;                                   /* the caller's check (plan sizes) keeps this small */
    for (int64_t i = 0; i < nc; i++) cv[i] = ((const uint8_t *)t[0]->data)[i] ? 1.0f : 0.0f;
    cf.data = cv;
    cf.dtype = TPU_DTYPE_F32;
    expand(&cf, rank, od, c);
    expand(t[1], rank, od, x);
    expand(t[2], rank, od, y);
    free(cv);
}

void tpu_vec_pack(struct tpu_graph *g, struct tpu_node *n, const struct tpu_vec_plan *p, uint8_t *host)
{
    float *in[TPU_VEC_MAX_INPUTS] = { 0 }, *k[TPU_VEC_MAX_CONSTS] = { 0 };
    for (int i = 0; i < p->n_in; i++) in[i] = (float *)(void *)(host + p->host_in_off[i]);
    for (int i = 0; i < p->n_const; i++) k[i] = (float *)(void *)(host + p->host_k_off[i]);
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    switch (p->kind) {
    case VK_BINARY:
        pack_binary(g, n, p, in[0], in[1], k[0]);
        return;
    case VK_POOL:
        pack_pool(g, n, p, in[0], in[1]);
        return;
    case VK_WHERE:
        pack_where(g, n, in[0], in[1], in[2]);
        return;
    case VK_LAYER_NORM: {
        int axis = (int)tpu_attr_int(n, "axis", -1);
        if (axis < 0) axis += x->n_dims;
        ln_param(x, axis, tpu_in(g, n, 1), p->len, k[0]);
        if (p->n_const > 1) ln_param(x, axis, tpu_in(g, n, 2), p->len, k[1]);
        break;
    }
    case VK_BATCH_NORM:
        pack_batch_norm(g, n, p, in[1], in[2]);
        break;
    default:
        break;
    }
    if (p->kind == VK_UNARY || p->kind == VK_BATCH_NORM) memcpy(in[0], x->data, (size_t)(p->rows * p->len) * 4);
    else gather(p, x->data, in[0]);
}

void tpu_vec_unpack(const struct tpu_vec_plan *p, const uint8_t *host, float *y)
{
    const float *o = (const float *)(const void *)(host + p->host_out_off);
    if (p->stride == 1 || p->out_w == 1) { memcpy(y, o, (size_t)(p->rows * p->out_w) * 4); return; }
    for (int64_t r = 0; r < p->rows; r++) {
        float *d = y + (r / p->stride) * p->out_w * p->stride + r % p->stride;
        for (int64_t j = 0; j < p->out_w; j++) d[j * p->stride] = o[r * p->out_w + j];
    }
}
