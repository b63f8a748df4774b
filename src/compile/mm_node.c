/*
** compile/mm_node.c: an MXU node of the IR to its lowered program, the one
** sequence `run`, `compile -o`, `bench` and `check --chip` share
** (compile/mm_node.h, tpu_mm_lower_node): reads a Gemm, MatMul or Conv node
** into the grouped-GEMM description lower.c tiles (compile/compile.h),
** checking the shapes and attributes it relies on, and gathers its weights
** as [g][K][N] (ConvTranspose: compile/mm_convt.c; QLinearMatMul /
** QLinearConv: compile/qlinear.c); then block-diagonal weights for narrow
** groups, the bf16 split, ACTIVATE's plan (compile/mm_act.c) and lower.c.
**
** In:  tpu_graph + node (ir/), shapes known, weights constant or valued.
** Out: struct tpu_mm_desc, fp32 weights; struct tpu_mm_node.
*/
#include "compile/mm_node.h"
#include <math.h>
#include <string.h>

static enum tpu_status need_rank(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *t,
                                 const char *what, int lo, int hi)
{
    if (!t) return tpu_node_err(g, n, TPU_ERR_SHAPE, "missing input %s", what);
    if (t->n_dims < lo || t->n_dims > hi)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "input %s has rank %d; the chip lowering "
                            "takes rank %d..%d", what, t->n_dims, lo, hi);
    for (int i = 0; i < t->n_dims; i++)
        if (t->dims[i] <= 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "input %s dimension %d is %lld (unknown or "
                                "empty)", what, i, (long long)t->dims[i]);
    if (t->dtype != TPU_DTYPE_F32)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "input %s is %s; the chip lowering takes "
                            "float32", what, tpu_dtype_name(t->dtype));
    return TPU_STATUS_OK;
}

/* *out: the weights as the op stores them, a copy (want 1, the caller's) or
** the tensor's own values (TPU_MM_BORROW: the op's layout is the lowering's). */
static enum tpu_status get_weights(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *w,
                                   int64_t count, float **out, int want)
{
    if (!w->data)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "weight input '%s' has no values (the chip "
                            "keeps weights in weight memory)", w->name);
    if (want == TPU_MM_BORROW) { *out = (float *)w->data; return TPU_STATUS_OK; }
    *out = tpu_malloc(g->ctx, (size_t)count * sizeof(float));
    if (*out) memcpy(*out, w->data, (size_t)count * sizeof(float));
    return *out ? TPU_STATUS_OK : TPU_ERR_NOMEM;
}

static void set_name(struct tpu_mm_desc *d, const struct tpu_node *n)
{
    snprintf(d->name, sizeof d->name, "%s", n->name);
    snprintf(d->op, sizeof d->op, "%s", n->op_type);
    d->groups = 1;
    d->kh = d->kw = d->sh = d->sw = d->dh = d->dw = d->oh = d->ow = d->h = d->w = 1;
}

/* ONNX Gemm: Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A. */
static enum tpu_status from_gemm(struct tpu_graph *g, struct tpu_node *n, struct tpu_mm_desc *d,
                                 float **weights, int want)
{
    struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1);
    enum tpu_status rc = need_rank(g, n, a, "A", 2, 2);
    if (!rc) rc = need_rank(g, n, b, "B", 2, 2);
    if (rc) return rc;
    int ta = tpu_attr_int(n, "transA", 0) != 0, tb = tpu_attr_int(n, "transB", 0) != 0;
    d->M = a->dims[ta ? 1 : 0];
    d->K = a->dims[ta ? 0 : 1];
    d->N = b->dims[tb ? 0 : 1];
    if (b->dims[tb ? 1 : 0] != d->K)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "A' is %lldx%lld but B' has %lld rows",
                            (long long)d->M, (long long)d->K, (long long)b->dims[tb ? 1 : 0]);
    d->batch = d->M;
    if (!want) return TPU_STATUS_OK;
    if ((rc = get_weights(g, n, b, d->K * d->N, weights, want))) return rc;
    d->w_nk = tb;                                       /* B^T is [N][K] as it is */
    return TPU_STATUS_OK;
}

/* ONNX MatMul (numpy semantics) with a 2-D second operand: leading dims of A fold into M. */
static enum tpu_status from_matmul(struct tpu_graph *g, struct tpu_node *n, struct tpu_mm_desc *d,
                                   float **weights, int want)
{
    struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1);
    enum tpu_status rc = need_rank(g, n, a, "A", 1, TPU_MAX_DIMS);
    if (!rc) rc = need_rank(g, n, b, "B", 2, 2);
    if (rc) return rc;
    d->K = a->dims[a->n_dims - 1];
    d->M = 1;
    for (int i = 0; i < a->n_dims - 1; i++) d->M *= a->dims[i];
    d->N = b->dims[1];
    if (b->dims[0] != d->K)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "A has K=%lld but B has %lld rows",
                            (long long)d->K, (long long)b->dims[0]);
    d->batch = a->n_dims > 1 ? a->dims[0] : 1;
    if (!want) return TPU_STATUS_OK;
    return get_weights(g, n, b, d->K * d->N, weights, want);
}

static int64_t ints_at(const struct tpu_node *n, const char *name, int i, int64_t def)
{
    const int64_t *v;
    int cnt = tpu_attr_ints(n, name, &v);
    return i < cnt ? v[i] : def;
}

/* Output size and begin padding along one axis (ONNX Conv, auto_pad included). */
static int conv_axis(const char *auto_pad, int64_t in, int64_t k, int64_t s, int64_t dil,
                     int64_t pb, int64_t pe, int64_t *out, int64_t *pad_begin)
{
    int64_t ke = (k - 1) * dil + 1;
    if (strcmp(auto_pad, "NOTSET") == 0) {
        *pad_begin = pb;
        *out = (in + pb + pe - ke) / s + 1;
    } else if (strcmp(auto_pad, "VALID") == 0) {
        *pad_begin = 0;
        *out = (in - ke) / s + 1;
    } else {                                   /* SAME_UPPER / SAME_LOWER */
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + ke - in;
        if (total < 0) total = 0;
        *pad_begin = strcmp(auto_pad, "SAME_LOWER") == 0 ? (total + 1) / 2 : total / 2;
    }
    return *out >= 1 && s >= 1 && dil >= 1 && pb >= 0 && pe >= 0;
}

enum tpu_status tpu_mm_conv_geometry(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *x,
                                     const struct tpu_tensor *w, struct tpu_mm_desc *d)
{
    d->is_conv = 1;
    d->groups = tpu_attr_int(n, "group", 1);
    d->batch = x->dims[0]; d->c_in = x->dims[1]; d->h = x->dims[2]; d->w = x->dims[3];
    d->c_out = w->dims[0]; d->kh = w->dims[2]; d->kw = w->dims[3];
    if (d->groups < 1 || d->c_in % d->groups || d->c_out % d->groups || w->dims[1] != d->c_in / d->groups)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "group %lld does not fit X channels %lld, W %lldx%lld",
                            (long long)d->groups, (long long)d->c_in, (long long)w->dims[0],
                            (long long)w->dims[1]);
    const char *ap = tpu_attr_str(n, "auto_pad", "NOTSET");
    d->sh = ints_at(n, "strides", 0, 1); d->sw = ints_at(n, "strides", 1, 1);
    d->dh = ints_at(n, "dilations", 0, 1); d->dw = ints_at(n, "dilations", 1, 1);
    if (!conv_axis(ap, d->h, d->kh, d->sh, d->dh, ints_at(n, "pads", 0, 0), ints_at(n, "pads", 2, 0),
                   &d->oh, &d->pt) ||
        !conv_axis(ap, d->w, d->kw, d->sw, d->dw, ints_at(n, "pads", 1, 0), ints_at(n, "pads", 3, 0),
                   &d->ow, &d->pl))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "strides/pads/dilations give an empty output");
    d->M = d->batch * d->oh * d->ow;
    d->K = d->c_in / d->groups * d->kh * d->kw;
    d->N = d->c_out / d->groups;
    return TPU_STATUS_OK;
}

/* ONNX Conv, 2-D: X [N,C,H,W], W [M, C/group, kH, kW]. */
static enum tpu_status from_conv(struct tpu_graph *g, struct tpu_node *n, struct tpu_mm_desc *d,
                                 float **weights, int want)
{
    struct tpu_tensor *x = tpu_in(g, n, 0), *w = tpu_in(g, n, 1);
    enum tpu_status rc = need_rank(g, n, x, "X", 4, 4);
    if (!rc) rc = need_rank(g, n, w, "W", 4, 4);
    if (!rc) rc = tpu_mm_conv_geometry(g, n, x, w, d);
    if (rc) return rc;
    if (!want) return TPU_STATUS_OK;
    if ((rc = get_weights(g, n, w, d->groups * d->K * d->N, weights, want))) return rc;
    d->w_nk = 1;                                        /* W[g*N + j][k]: [g][N][K] as it is */
    return TPU_STATUS_OK;
}

enum tpu_status tpu_mm_from_node(struct tpu_graph *g, struct tpu_node *n, struct tpu_mm_desc *d,
                                 float **weights, int want_weights)
{
    memset(d, 0, sizeof *d);
    if (weights) *weights = NULL;
    set_name(d, n);
    switch (n->op) {
    case TPU_OP_GEMM:   return from_gemm(g, n, d, weights, want_weights);
    case TPU_OP_MATMUL: return from_matmul(g, n, d, weights, want_weights);
    case TPU_OP_CONV:   return from_conv(g, n, d, weights, want_weights);
    case TPU_OP_CONV_TRANSPOSE: return tpu_mm_from_conv_transpose(g, n, d, weights, want_weights);
    default:
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "not supported on the chip yet (the chip "
                            "lowering covers Gemm, MatMul and Conv)");
    }
}

/* A grouped Conv whose groups are narrower than the array (depthwise: K =
** kh x kw, N = 1) would pad every group to a full tile; as one GEMM with
** block-diagonal weights (zeros between groups) it streams each input row
** once. Same results: the zeros add nothing (int8 sums stay exact, the
** per-column scales are the groups' own). w is replaced (freed). */
enum tpu_status tpu_mm_block_diagonal(struct tpu_ctx *ctx, const struct tpu_chip *chip, struct tpu_mm_desc *d,
                                      float **w)
{
    int64_t G = d->groups, K = d->K, N = d->N;
    if (G == 1 || !d->is_conv || (K >= chip->array_rows && N >= chip->array_cols)) return TPU_STATUS_OK;
    if (G * K > (1 << 20) || G * N > (1 << 16)) return TPU_STATUS_OK;        /* keep it grouped */
    float *bw = NULL;
    if (*w) {
        bw = tpu_calloc(ctx, (size_t)(G * K * G * N), sizeof *bw);
        if (!bw) return TPU_ERR_NOMEM;
        if (d->w_nk)                                    /* [G*N][G*K]: row g*N + n, columns g*K.. */
            for (int64_t g = 0; g < G; g++)
                for (int64_t n = 0; n < N; n++)
                    memcpy(bw + (g * N + n) * G * K + g * K, *w + (g * N + n) * K, (size_t)K * sizeof *bw);
        else
            for (int64_t g = 0; g < G; g++)
                for (int64_t k = 0; k < K; k++)
                    memcpy(bw + (g * K + k) * G * N + g * N, *w + (g * K + k) * N, (size_t)N * sizeof *bw);
        free(*w);
        *w = bw;
    }
    if (!d->model_macs) d->model_macs = G * d->M * K * N;
    d->groups = 1; d->K = G * K; d->N = G * N;
    return TPU_STATUS_OK;
}

/*---- The one lowering sequence ----*/
int tpu_mm_node_op(enum tpu_op op)
{
    return op == TPU_OP_GEMM || op == TPU_OP_MATMUL || op == TPU_OP_CONV || op == TPU_OP_CONV_TRANSPOSE ||
           op == TPU_OP_QLINEAR_MATMUL || op == TPU_OP_QLINEAR_CONV;
}

/* The node's desc (m->d0) and, with values, its weights. */
static enum tpu_status describe(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                                int values, struct tpu_mm_node *m, float **w)
{
    m->qlinear = n->op == TPU_OP_QLINEAR_MATMUL || n->op == TPU_OP_QLINEAR_CONV;
    if (m->qlinear) return tpu_qlinear_desc(g, n, chip, &m->d0, values ? w : NULL);
    return tpu_mm_from_node(g, n, &m->d0, w, values);
}

enum tpu_status tpu_mm_lower_node(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_node *n,
                                  const struct tpu_chip *chip, const struct tpu_mm_node_opts *o,
                                  struct tpu_mm_node *m)
{
    memset(m, 0, sizeof *m);
    m->fz.lo = -INFINITY;
    m->fz.hi = INFINITY;
    float *w = NULL;
    int borrowed = o->values && (n->op == TPU_OP_GEMM || n->op == TPU_OP_MATMUL || n->op == TPU_OP_CONV);
    enum tpu_status rc = describe(g, n, chip, borrowed ? TPU_MM_BORROW : o->values, m, &w);
    if (rc) { if (!borrowed) free(w); return rc; }
    m->described = 1;
    struct tpu_mm_desc d = m->d0;
    d.resident = o->resident;
    int passes = o->bf16_passes, bf16 = chip->mxu_dtype == TPU_MXU_BF16;
    if (borrowed && (d.groups > 1 || (bf16 && passes > 1) || tpu_wide_mode(chip, passes))) {
        float *own = tpu_malloc(ctx, (size_t)(d.groups * d.K * d.N) * sizeof *own);   /* rewritten below */
        if (!own) return TPU_ERR_NOMEM;
        memcpy(own, w, (size_t)(d.groups * d.K * d.N) * sizeof *own);
        w = own;
        borrowed = 0;
    }
    rc = tpu_mm_block_diagonal(ctx, chip, &d, &w);     /* QLinearConv too (compile/qlinear.c geom) */
    if (!rc && !m->qlinear && bf16) rc = tpu_mm_split_passes(ctx, &d, &w, passes);
    float *wide_scale = NULL;
    if (!rc && !m->qlinear) rc = tpu_mm_split_wide(ctx, &d, &w, tpu_wide_mode(chip, passes), &wide_scale);
    if (!rc && !m->qlinear) {
        tpu_mm_plan_activate(g, chip, o->host_ops, n, &d, &m->fz);
        if (d.wide) {                         /* bias and Relu / Clip after the halves meet */
            d.bias = 0;
            d.act = TPU_ACT_NONE;
            m->fz.on_chip = 0;
        }
        rc = tpu_mm_bias_values(g, n, &d, &m->bias, &m->bias_owned);
    }
    if (!rc) rc = tpu_lower_mm(ctx, chip, &d, w, &m->l);
    if (!rc && wide_scale && m->l.w_scale)
        memcpy(m->l.w_scale, wide_scale, (size_t)d.N * sizeof *wide_scale);
    free(wide_scale);
    if (!rc && m->qlinear && o->values) m->wq = w;       /* tpu_qlinear_pack's column sums */
    else if (!borrowed) free(w);
    return rc;
}

void tpu_mm_node_free(struct tpu_mm_node *m)
{
    if (!m) return;
    tpu_lowered_free(&m->l);
    free(m->bias_owned);
    free(m->wq);
    m->bias_owned = m->wq = NULL;
    m->bias = NULL;
}

enum tpu_status tpu_mm_node_check(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_node *n,
                                  const struct tpu_chip *chip, const struct tpu_mm_node_opts *o,
                                  struct tpu_mm_desc *d0)
{
    struct tpu_mm_node_opts t = *o;
    struct tpu_mm_node m;
    t.values = 0;
    enum tpu_status rc = tpu_mm_lower_node(ctx, g, n, chip, &t, &m);
    if (!rc && d0) *d0 = m.d0;
    tpu_mm_node_free(&m);
    return rc;
}
