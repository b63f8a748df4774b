/*
** compile/mm_act.c: what the chip's ACTIVATE stage does after an MXU node —
** the per-column bias (Conv's B, Gemm's per-column beta*C) and the
** activation fused into it (a Relu / Clip / Sigmoid / Tanh that alone reads
** the node's output). Part of the one lowering sequence (compile/mm_node.c);
** `check --chip` (compile/place.c) and the vector lowering (run_vec.c) ask
** tpu_mm_activate_plan the same question.
**
** In:  an MXU node of the graph and its desc, a chip.
** Out: d->bias, d->act; the fusion plan (compile/mm_node.h); bias values.
*/
#include "compile/mm_node.h"
#include <math.h>
#include <string.h>

/* Clip with float32 scalar constant bounds: inputs 1 and 2 (opset 11+), or
** the min / max attributes (opset < 11); an absent bound is -inf / +inf. */
static int clip_bounds(struct tpu_graph *g, struct tpu_node *f, float *lo, float *hi)
{
    static const char *attr[2] = { "min", "max" };
    float v[2] = { -INFINITY, INFINITY };
    for (int k = 1; k <= 2; k++) {
        if (f->n_inputs < 2) {                                   /* attribute form */
            if (tpu_attr_find(f, attr[k - 1])) v[k - 1] = tpu_attr_float(f, attr[k - 1], 0);
            continue;
        }
        const struct tpu_tensor *t = f->n_inputs > k && f->inputs[k] >= 0 ? tpu_in(g, f, k) : NULL;
        if (!t) continue;
        if (!t->data || t->dtype != TPU_DTYPE_F32 || tpu_tensor_numel(t) != 1) return 0;
        v[k - 1] = ((const float *)t->data)[0];
    }
    *lo = v[0];
    *hi = v[1];
    return !isnan(*lo) && !isnan(*hi) && *lo <= *hi;
}

/* Gemm's input C: 0 absent, 1 a float32 constant [N] / [1, N] / [1] / [1, 1]
** (a per-column bias), -1 anything else (stays on the host: run.c add_gemm_c). */
static int gemm_c_kind(struct tpu_graph *g, struct tpu_node *n, const struct tpu_mm_desc *d)
{
    const struct tpu_tensor *c = n->n_inputs > 2 && n->inputs[2] >= 0 ? tpu_in(g, n, 2) : NULL;
    if (!c) return 0;
    int64_t cm = c->n_dims >= 2 ? c->dims[c->n_dims - 2] : 1, cn = c->n_dims >= 1 ? c->dims[c->n_dims - 1] : 1;
    return c->data && c->dtype == TPU_DTYPE_F32 && c->n_dims <= 2 && cm == 1 && (cn == 1 || cn == d->N) ? 1 : -1;
}

/* The activation after n (struct tpu_mm_fusion); chip_ok: nothing is added
** after the chip's output, so ACTIVATE may apply it. */
static void fused_act(struct tpu_graph *g, const struct tpu_chip *chip, int host_ops, struct tpu_node *n,
                      int chip_ok, struct tpu_mm_fusion *fz)
{
    memset(fz, 0, sizeof *fz);
    fz->lo = -INFINITY;
    fz->hi = INFINITY;
    if (n->n_outputs < 1 || n->outputs[0] < 0) return;
    int y = n->outputs[0], readers = 0;
    if (g->tensors[y]->is_output) return;
    struct tpu_node *f = NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        struct tpu_node *m = &g->nodes[i];
        if (m->dead) continue;
        for (int k = 0; k < m->n_inputs; k++)
            if (m->inputs[k] == y) { readers++; f = m; }
    }
    if (readers != 1 || f < n || f->n_outputs < 1 || f->outputs[0] < 0 || f->inputs[0] != y) return;
    int bf16 = chip->mxu_dtype == TPU_MXU_BF16;
    if (f->op == TPU_OP_RELU) { fz->act = TPU_ACT_RELU; fz->lo = 0; }
    else if (f->op == TPU_OP_CLIP && clip_bounds(g, f, &fz->lo, &fz->hi))
        fz->act = fz->lo == 0 && fz->hi == INFINITY ? TPU_ACT_RELU : TPU_ACT_CLIP;
    else if (f->op == TPU_OP_SIGMOID && bf16 && chip_ok) fz->act = TPU_ACT_SIGMOID;
    else if (f->op == TPU_OP_TANH && bf16 && chip_ok) fz->act = TPU_ACT_TANH;
    else return;
    fz->on_chip = chip_ok;
    if (fz->on_chip || host_ops) fz->f = f;
}

void tpu_mm_plan_activate(struct tpu_graph *g, const struct tpu_chip *chip, int host_ops, struct tpu_node *n,
                          struct tpu_mm_desc *d, struct tpu_mm_fusion *fz)
{
    int alpha1 = n->op != TPU_OP_GEMM || tpu_attr_float(n, "alpha", 1.0f) == 1.0f;
    int c = n->op == TPU_OP_GEMM ? gemm_c_kind(g, n, d) : 0;
    int conv_b = n->op == TPU_OP_CONV && n->n_inputs > 2 && n->inputs[2] >= 0;
    d->bias = alpha1 && (c == 1 || conv_b);
    fused_act(g, chip, host_ops, n, alpha1 && c >= 0, fz);
    d->act = fz->on_chip ? fz->act : TPU_ACT_NONE;
}

void tpu_mm_activate_plan(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                          struct tpu_mm_desc *d)
{
    struct tpu_mm_fusion fz;
    tpu_mm_plan_activate(g, chip, 0, n, d, &fz);
}

enum tpu_status tpu_mm_bias_values(struct tpu_graph *g, struct tpu_node *n, const struct tpu_mm_desc *d,
                                   const float **bias, float **owned)
{
    *bias = NULL;
    *owned = NULL;
    if (!d->bias) return TPU_STATUS_OK;
    if (n->op == TPU_OP_CONV) {
        const struct tpu_tensor *b = tpu_in(g, n, 2);
        if (b->data && (b->dtype != TPU_DTYPE_F32 || tpu_tensor_numel(b) != d->groups * d->N))
            return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "bias B must be float32 of %lld values",
                                (long long)(d->groups * d->N));
        *bias = b->data;
        return TPU_STATUS_OK;
    }
    const struct tpu_tensor *c = tpu_in(g, n, 2);          /* gemm_c_kind said per column */
    int64_t cn = c->n_dims >= 1 ? c->dims[c->n_dims - 1] : 1;
    float beta = tpu_attr_float(n, "beta", 1.0f);
    if (!(*owned = tpu_malloc(g->ctx, (size_t)d->N * sizeof(float)))) return TPU_ERR_NOMEM;
    const float *cv = c->data;
    for (int64_t j = 0; j < d->N; j++) (*owned)[j] = beta * cv[cn == 1 ? 0 : j];    /* as run.c add_gemm_c */
    *bias = *owned;
    return TPU_STATUS_OK;
}
