/*
** compile/run.c: runs a model on a simulated chip — every Gemm/MatMul/Conv/
** ConvTranspose/QLinearMatMul/QLinearConv node the MXU lowering takes is
** lowered (compile/mm_node.c, the sequence compile -o and bench share; narrow
** grouped convs as block-diagonal GEMMs), its input packed by the host driver
** (compile/driver.c) with calibrated or run-time int8 scales (compile/calib.c),
** simulated (sim/), unpacked and, where the reference executor implements the
** op, compared node by node with it (same inputs). The layer's bias and a
** Relu / Clip / Sigmoid / Tanh that alone reads its output run in the chip's
** ACTIVATE stage (fused: the activation has no row of its own). Other nodes
** run on the host with --host-ops. The graph outputs are verified by
** compile/verify.c.
**
** In:  a loaded tpu_graph (onnx/), a chip, options (include/tpusim.h).
** Out: struct tpu_chip_report (per-layer rows, counters, energy).
*/
#include "compile/mm_node.h"
#include "compile/driver.h"
#include "compile/lower_vec.h"
#include "sim/sim_systolic.h"
#include "ir/passes.h"
#include "report/gpu_model.h"
#include <math.h>
#include <string.h>
#include <sys/mman.h>

struct runner {
    struct tpu_ctx                  *ctx;
    struct tpu_graph                *g;
    const struct tpu_chip           *chip;
    const struct tpu_chip_run_opts  *o;
    struct tpu_sim                  *sim;
    struct tpu_chip_report          *r;
    uint64_t                         rng;
    float                           *scales;   /* int8 calibration, [n_nodes], or NULL */
    const struct tpu_chip_calib     *calib;    /* may be NULL                 */
    int                              no_layer_compare;
    uint8_t                         *fused;    /* [n_nodes]: 1 = run inside an MXU node */
    uint8_t                         *host;     /* host memory reused across layers (packing
                                                  clears the input part; the chip writes the
                                                  output part unpacking reads) */
    uint64_t                         host_cap;
    const int                       *last;     /* last reader of each tensor, or NULL */
};

/* The host buffer for l, grown when a layer needs more: no fresh pages to
** fault in and zero per layer. */
static uint8_t *host_buffer(struct runner *u, uint64_t bytes)
{
    if (bytes <= u->host_cap) return u->host;
    uint8_t *h = tpu_malloc_hot(u->ctx, (size_t)bytes);
    if (!h) return NULL;
    free(u->host);
    u->host = h;
    u->host_cap = bytes;
    return h;
}

static struct tpu_layer_row *add_row(struct runner *u, const char *name, const char *op,
                                     const char *unit, int64_t cycles, int64_t macs)
{
    return tpu_report_add_row(u->ctx, u->r, name, op, unit, cycles, macs);
}

/*---- Input values ----*/
static float next_uniform(uint64_t *s)             /* xorshift64*, in [-1, 1) */
{
    *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
    uint64_t v = *s * 0x2545F4914F6CDD1Dull;
    return (float)((double)(v >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Gives graph inputs without values seeded random values in [-1, 1). */
static enum tpu_status fill_input(struct runner *u, struct tpu_tensor *t)
{
    if (t->data || t->producer >= 0) return TPU_STATUS_OK;
    for (int i = 0; i < t->n_dims; i++) if (t->dims[i] < 0) t->dims[i] = 1;   /* symbolic → 1 */
    if (t->dtype != TPU_DTYPE_F32)
        return tpu_tensor_err(u->g, t, TPU_ERR_UNSUPPORTED, "chip runs take float32 inputs");
    enum tpu_status rc = tpu_tensor_alloc(u->ctx, t);
    if (rc) return rc;
    int64_t n = tpu_tensor_numel(t);
    for (int64_t i = 0; i < n; i++) ((float *)t->data)[i] = next_uniform(&u->rng);
    return TPU_STATUS_OK;
}

/* A as an M x K fp32 matrix (Gemm transA handled; K of the op before a
** multi-pass split, d->K / passes); NULL data for conv (used as is). */
static float *a_matrix(struct runner *u, struct tpu_node *n, const struct tpu_mm_desc *d, int passes)
{
    const float *a = tpu_in(u->g, n, 0)->data;
    int64_t K = d->K / passes;
    float *m = tpu_malloc(u->ctx, (size_t)(d->M * K) * sizeof(float));
    if (!m) return NULL;
    int ta = n->op == TPU_OP_GEMM && tpu_attr_int(n, "transA", 0);
    for (int64_t i = 0; i < d->M; i++)
        for (int64_t k = 0; k < K; k++) m[i * K + k] = ta ? a[k * d->M + i] : a[i * K + k];
    return m;
}

/* Output dims of the node as ONNX defines them. */
static void out_dims(struct tpu_graph *g, struct tpu_node *n, const struct tpu_mm_desc *d,
                     int *nd, int64_t *dims)
{
    if (d->is_conv) {
        *nd = 4; dims[0] = d->batch; dims[1] = d->c_out; dims[2] = d->oh; dims[3] = d->ow;
        return;
    }
    if (n->op == TPU_OP_MATMUL) {
        const struct tpu_tensor *a = tpu_in(g, n, 0);
        *nd = a->n_dims;
        memcpy(dims, a->dims, sizeof(int64_t) * (size_t)a->n_dims);
        dims[a->n_dims - 1] = d->N;
        return;
    }
    *nd = 2; dims[0] = d->M; dims[1] = d->N;
}

/* beta * C broadcast onto the M x N result (ONNX Gemm, unidirectional broadcast). */
static enum tpu_status add_gemm_c(struct runner *u, struct tpu_node *n, const struct tpu_mm_desc *d,
                                  float *y)
{
    const struct tpu_tensor *c = tpu_in(u->g, n, 2);
    if (!c) return TPU_STATUS_OK;
    float beta = tpu_attr_float(n, "beta", 1.0f);
    int64_t cm = c->n_dims >= 2 ? c->dims[c->n_dims - 2] : 1, cn = c->n_dims >= 1 ? c->dims[c->n_dims - 1] : 1;
    if (!c->data || c->dtype != TPU_DTYPE_F32 || c->n_dims > 2 || (cm != 1 && cm != d->M) ||
        (cn != 1 && cn != d->N))
        return tpu_node_err(u->g, n, TPU_ERR_UNSUPPORTED, "input C must be a float32 constant "
                            "broadcastable to %lldx%lld", (long long)d->M, (long long)d->N);
    const float *cv = c->data;
    for (int64_t i = 0; i < d->M; i++)
        for (int64_t j = 0; j < d->N; j++)
            y[i * d->N + j] += beta * cv[(cm == 1 ? 0 : i) * cn + (cn == 1 ? 0 : j)];
    return TPU_STATUS_OK;
}

/*---- One node ----*/
/* The layer's rows: "input" (host), the op (mxu), "output" (host), from the
** DEBUG marks the lowering put at section ends; the mxu row's Table-3 split
** is the difference of the counters at its two ends. */
static void add_layer_rows(struct runner *u, const struct tpu_lowered *l, int first_mark,
                           const struct tpu_sim_counters *c0, int64_t t0, int64_t t_end,
                           struct tpu_layer_row **mxu_row)
{
    const struct tpu_mm_desc *d = &l->d;
    struct tpu_sim_mark mark[4] = { { 0, t0, c0->array_active_cycles, c0->weight_stall_cycles,
                                      c0->weight_shift_cycles } };
    mark[1] = mark[0];
    for (int i = first_mark; i < u->sim->n_marks; i++)
        if (u->sim->marks[i].tag >= 1 && u->sim->marks[i].tag <= 3) mark[u->sim->marks[i].tag] = u->sim->marks[i];
    int64_t macs = tpu_mm_macs(d);
    char name[200];
    if (u->o->schedule_scalesim) {
        int64_t cyc = 0;
        for (int64_t g = 0; g < d->groups; g++)
            cyc += tpu_scalesim_ws_cycles((int)u->chip->array_rows, (int)u->chip->array_cols, d->M, d->K, d->N);
        *mxu_row = add_row(u, d->name, d->op, "mxu", cyc, macs);
        return;
    }
    if (l->single_chunk) {
        snprintf(name, sizeof name, "%s: input", d->name);
        add_row(u, name, "RD_HOST", "host", mark[1].cycle - t0, 0);
    }
    const struct tpu_sim_mark *a = l->single_chunk ? &mark[1] : &mark[0];
    struct tpu_layer_row *row = add_row(u, d->name, d->op, "mxu", mark[2].cycle - a->cycle, macs);
    *mxu_row = row;
    if (!row) return;
    row->active_cycles = mark[2].active_cycles - a->active_cycles;
    row->stall_cycles = mark[2].stall_cycles - a->stall_cycles;
    row->shift_cycles = mark[2].shift_cycles - a->shift_cycles;
    if (l->single_chunk) {
        int at = (int)(row - u->r->rows);
        snprintf(name, sizeof name, "%s: output", d->name);
        add_row(u, name, "WR_HOST", "host", t_end - mark[2].cycle, 0);
        *mxu_row = &u->r->rows[at];                 /* add_row may have moved the rows */
    }
}

/* Reference output of node n on the same inputs, when ref/ implements it;
** with f (the activation ACTIVATE applied on chip) the reference of f
** applied to n's reference, so the row compares what the chip computed. */
static void compare_ref(struct runner *u, struct tpu_node *n, struct tpu_node *f, const float *y,
                        int64_t count, struct tpu_layer_row *row)
{
    struct tpu_tensor *t = tpu_out(u->g, n, 0);
    enum tpu_status rc = tpu_op_shape_fn(n->op)(u->g, n);
    if (!rc && tpu_tensor_numel(t) == count) rc = tpu_tensor_alloc(u->ctx, t);
    else if (!rc) rc = TPU_ERR_SHAPE;
    if (!rc) rc = tpu_op_ref_fn(n->op)(u->g, n);
    if (!rc && f) {
        t = tpu_out(u->g, f, 0);
        rc = tpu_op_shape_fn(f->op)(u->g, f);
        if (!rc && tpu_tensor_numel(t) == count) rc = tpu_tensor_alloc(u->ctx, t);
        else if (!rc) rc = TPU_ERR_SHAPE;
        if (!rc) rc = tpu_op_ref_fn(f->op)(u->g, f);
    }
    if (rc) { tpu_err_clear(u->ctx); return; }           /* not comparable: row says n/a */
    double err2 = 0, ref2 = 0, mx = 0;
    const float *ref = t->data;
    for (int64_t i = 0; i < count; i++) {
        double e = (double)y[i] - ref[i];
        err2 += e * e;
        ref2 += (double)ref[i] * ref[i];
        mx = fmax(mx, fabs(e));
    }
    row->compared = 1;
    row->nmse = ref2 > 0 ? err2 / ref2 : err2;
    row->max_abs_err = mx;
}

/* The fp32 values the host driver packs for node n, each optional step on
** the previous one's result: A as a matrix (Gemm/MatMul), ConvTranspose's
** zero-inserted input, the bf16 parts of --precision, a depthwise conv's
** per-channel scaling (int8 run-time scales; l's scales adjusted). d0: the op
** before a block-diagonal rewrite. Buffers to free go to own[0..3]. */
static enum tpu_status mm_input(struct runner *u, struct tpu_node *n, struct tpu_lowered *l,
                                const struct tpu_mm_desc *d0, float *own[4], const float **x)
{
    const struct tpu_mm_desc *d = &l->d;
    if (d->is_conv) *x = tpu_in(u->g, n, 0)->data;
    else if (!(*x = own[0] = a_matrix(u, n, d, d->passes > 1 ? d->passes : d->wide == TPU_WIDE_BOTH ? 2 : 1)))
        return TPU_ERR_NOMEM;
    if ((d->up_h > 1 || d->up_w > 1) && !(*x = own[1] = tpu_mm_convt_input(u->ctx, d, *x))) return TPU_ERR_NOMEM;
    if (d->passes > 1 && !(*x = own[2] = tpu_mm_split_input(u->ctx, d, *x))) return TPU_ERR_NOMEM;
    if (d->wide == TPU_WIDE_BOTH && !(*x = own[2] = tpu_mm_wide_input(u->ctx, d, *x, &l->in_scale_fixed)))
        return TPU_ERR_NOMEM;
    if (l->in_scale_fixed <= 0 && tpu_dw_per_channel(u->chip, d0)) {
        float *chan_max = tpu_malloc(u->ctx, (size_t)d0->c_in * sizeof *chan_max);
        own[3] = chan_max ? tpu_dw_scale_input(u->ctx, d0, *x, chan_max) : NULL;
        if (own[3]) tpu_dw_fold_scales(l, d0, chan_max);
        free(chan_max);
        if (!(*x = own[3])) return TPU_ERR_NOMEM;
    }
    return TPU_STATUS_OK;
}

/* Conv's B on the op's [B][N][P] output (a 16-bit layer, compile/wide.c). */
static void wide_conv_bias(const struct tpu_mm_desc *d0, const float *bias, float *y)
{
    int64_t pix = d0->oh * d0->ow;
    for (int64_t b = 0; b < d0->batch; b++)
        for (int64_t c = 0; c < d0->c_out; c++)
            for (int64_t p = 0; p < pix; p++) y[(b * d0->c_out + c) * pix + p] += bias[c];
}

/* Functional run: values in, values out, output tensor set. bias: the
** per-column bias ACTIVATE adds (d->bias), else the host adds Conv's B /
** Gemm's beta*C after dequantisation. The driver works at the host link
** (tpu_mm_run_linked) when it can, else through the host buffer. */
static enum tpu_status run_values(struct runner *u, struct tpu_node *n, struct tpu_lowered *l,
                                  const struct tpu_mm_desc *d0, const struct tpu_mm_fusion *fz, const float *bias,
                                  float **y_out, int64_t *count)
{
    const struct tpu_mm_desc *d = &l->d;
    float *own[4] = { NULL, NULL, NULL, NULL };
    const float *x = NULL;
    *count = d->groups * d->M * d->N;
    const struct tpu_tensor *b = d->is_conv && !d->bias ? tpu_in(u->g, n, 2) : NULL;
    const float *out_bias = b && b->data && !d->wide ? b->data : NULL;
    float alpha = n->op == TPU_OP_GEMM ? tpu_attr_float(n, "alpha", 1.0f) : 1.0f;
    float *y = NULL;
    uint8_t *host = NULL;
    int linked = 0;
    enum tpu_status rc = mm_input(u, n, l, d0, own, &x);
    if (!rc && !(y = tpu_malloc_hot(u->ctx, (size_t)*count * sizeof(float)))) rc = TPU_ERR_NOMEM;   /* unpack writes every value */
    if (!rc) rc = tpu_mm_run_linked(u->sim, u->chip, l, x, bias, fz->lo, fz->hi, alpha, out_bias, y, &linked);
    if (!rc && !linked && !(host = host_buffer(u, (uint64_t)l->host_bytes))) rc = TPU_ERR_NOMEM;
    if (!rc && !linked) {
        tpu_mm_pack_input(u->chip, l, x, host);
        tpu_mm_pack_tables(u->chip, l, bias, fz->lo, fz->hi, host);
    }
    for (int i = 0; i < 4; i++) free(own[i]);
    if (!rc && !linked) rc = tpu_sim_run(u->sim, l->prog, host, l->host_bytes);
    if (!rc && !linked) tpu_mm_unpack_output(u->chip, l, host, alpha, out_bias, y);
    if (!rc && d->wide) {                                /* the halves, then Conv's B */
        tpu_mm_wide_combine(d, y);
        *count /= 2;
        if (b && b->data) wide_conv_bias(d0, b->data, y);
    }
    if (!rc && n->op == TPU_OP_GEMM && !d->bias) rc = add_gemm_c(u, n, d->wide ? d0 : d, y);
    if (rc) { free(y); return rc; }
    *y_out = y;
    return TPU_STATUS_OK;
}

/* Makes the heap block *y of count floats t's values: handed over (no copy)
** when the sizes agree, *y then NULL (t frees it); else copied. */
static enum tpu_status give_values(struct tpu_ctx *ctx, struct tpu_tensor *t, float **y, int64_t count)
{
    if (tpu_tensor_numel(t) == count) {
        tpu_tensor_drop_data(t);
        t->data = *y;
        t->owner = TPU_DATA_HEAP;
        *y = NULL;
        return TPU_STATUS_OK;
    }
    enum tpu_status rc = tpu_tensor_alloc(ctx, t);
    if (!rc) memcpy(t->data, *y, (size_t)tpu_tensor_numel(t) * sizeof(float));
    return rc;
}

/* Puts the node's output values (the chip's result) in place for the nodes
** downstream and for the caller: with take, the block *y itself (see
** give_values), else a copy (the fused activation takes *y after); no copy
** when dead values are dropped (free_dead): the fused activation is its one
** reader (not a graph output) and never runs itself, so nothing reads it. */
static enum tpu_status set_output(struct runner *u, struct tpu_node *n, const struct tpu_mm_desc *d,
                                  float **y, int64_t count, int take)
{
    struct tpu_tensor *t = tpu_out(u->g, n, 0);
    int nd;
    int64_t dims[TPU_MAX_DIMS];
    out_dims(u->g, n, d, &nd, dims);
    t->dtype = TPU_DTYPE_F32;
    tpu_tensor_set_shape(t, nd, dims);
    if (!*y) return TPU_STATUS_OK;
    if (take) return give_values(u->ctx, t, y, count);
    if (u->o->free_dead) { tpu_tensor_drop_data(t); return TPU_STATUS_OK; }   /* read by nobody */
    enum tpu_status rc = tpu_tensor_alloc(u->ctx, t);
    if (!rc) memcpy(t->data, *y, (size_t)tpu_tensor_numel(t) * sizeof(float));
    return rc;
}

/*---- Bias and activation in the ACTIVATE stage ----*/
/* f's output: the chip's y (on chip: already activated; host-driver fusion:
** y = min(max(y, lo), hi) here, as the reference Relu / Clip compute it). */
static enum tpu_status apply_act(struct runner *u, struct tpu_node *n, const struct tpu_mm_fusion *fz,
                                 float **yp, int64_t count)
{
    float *y = *yp;
    const struct tpu_tensor *src = tpu_out(u->g, n, 0);
    struct tpu_tensor *t = tpu_out(u->g, fz->f, 0);
    t->dtype = TPU_DTYPE_F32;
    tpu_tensor_set_shape(t, src->n_dims, src->dims);
    u->fused[fz->f - u->g->nodes] = 1;       /* done: the model loop skips it */
    if (!y) return TPU_STATUS_OK;
    for (int64_t i = 0; i < count && !fz->on_chip; i++) {
        float v = y[i] < fz->lo ? fz->lo : y[i];
        y[i] = v > fz->hi ? fz->hi : v;
    }
    return give_values(u->ctx, t, yp, count);
}

/* The MXU lowering's options for node n in this run (compile/mm_node.h): the
** run's --precision, or with --precision auto the node's own passes. */
static struct tpu_mm_node_opts mm_opts(const struct runner *u, const struct tpu_node *n, int values)
{
    int passes = u->o->prec_auto ? tpu_prec_node_passes(u->o->prec_auto, (int)(n - u->g->nodes), 1)
                                 : u->o->bf16_passes;
    struct tpu_mm_node_opts o = { values, passes, u->o->host_fallback, 0 };
    return o;
}

static int qlinear_op(enum tpu_op op)
{
    return op == TPU_OP_QLINEAR_MATMUL || op == TPU_OP_QLINEAR_CONV;
}

/* QLinearMatMul / QLinearConv (compile/qlinear.c): the model's own bytes,
** scales and zero points on the int8 MXU, the output bytes set. */
static enum tpu_status run_qvalues(struct runner *u, struct tpu_node *n, const struct tpu_mm_node *m,
                                   uint8_t *host)
{
    tpu_qlinear_pack(u->g, n, u->chip, &m->l, m->wq, host);
    enum tpu_status rc = tpu_sim_run(u->sim, m->l.prog, host, m->l.host_bytes);
    return rc ? rc : tpu_qlinear_unpack(u->g, n, u->chip, &m->l, host);
}

/* One MXU node, lowered by compile/mm_node.c as compile -o and bench lower
** it: its values through the chip (or timing only), its layer rows, the
** comparison with the reference kernel, the output and the fused activation. */
static enum tpu_status run_node(struct runner *u, struct tpu_node *n)
{
    int q = qlinear_op(n->op);
    for (int i = 0; i < n->n_inputs && !u->o->timing_only && !q; i++) {
        struct tpu_tensor *t = tpu_in(u->g, n, i);
        enum tpu_status rc = t ? fill_input(u, t) : TPU_STATUS_OK;
        if (rc) return rc;
    }
    struct tpu_mm_node m;
    struct tpu_mm_node_opts mo = mm_opts(u, n, !u->o->timing_only);
    float *y = NULL;
    enum tpu_status rc = tpu_mm_lower_node(u->ctx, u->g, n, u->chip, &mo, &m);
    if (!rc && u->scales && !q) m.l.in_scale_fixed = u->scales[n - u->g->nodes];
    int64_t t0 = u->sim->end, count = 0;
    struct tpu_sim_counters c0 = u->sim->ctr;
    int first_mark = u->sim->n_marks;
    if (!rc && !u->o->timing_only) {
        uint8_t *host = q ? host_buffer(u, (uint64_t)m.l.host_bytes) : NULL;
        if (q && !host) rc = TPU_ERR_NOMEM;
        else if (q) rc = run_qvalues(u, n, &m, host);
        else rc = run_values(u, n, &m.l, &m.d0, &m.fz, m.bias, &y, &count);
    } else if (!rc) rc = tpu_sim_run(u->sim, m.l.prog, NULL, m.l.host_bytes);
    struct tpu_layer_row *row = NULL;
    if (!rc) add_layer_rows(u, &m.l, first_mark, &c0, t0, u->sim->end, &row);
    if (!rc && !row) rc = TPU_ERR_NOMEM;
    if (!rc) row->energy_j += tpu_sim_dynamic_energy(u->chip, &u->sim->ctr, &c0);
    if (!rc) row->passes = mo.bf16_passes > 1 && !q ? mo.bf16_passes : 1;
    if (!rc && y && !u->no_layer_compare) compare_ref(u, n, m.fz.on_chip ? m.fz.f : NULL, y, count, row);
    if (!rc && !q) rc = set_output(u, n, m.l.d.wide ? &m.d0 : &m.l.d, &y, count, !m.fz.f);
    if (!rc && m.fz.f) {
        snprintf(row->op, sizeof row->op, "%s+%s", m.l.d.op, m.fz.f->op_type);
        rc = apply_act(u, n, &m.fz, &y, count);
    }
    free(y);
    tpu_mm_node_free(&m);
    return rc;
}

/*---- Ops the chip lowering does not cover ----*/
/* Host time of an op the chip lowering lacks (an ESTIMATE, docs/compiler.md
** "Host ops"): the kernel streams its operands through host memory once, so
** time = TPU_CPU_LAUNCH_S + bytes / (TPU_HOST_MEM_GB_PER_S x TPU_CPU_EFF_MEM),
** bytes = every input and output with a known shape (0 for the ops that only
** relabel dims: Flatten, Reshape, Squeeze, Unsqueeze, Identity). 51 GB/s is the TPU v1
** host's Haswell E5-2699 v3 (REFERENCE.md, TPU paper Table 2); dispatch and
** memory efficiency are the cpu roofline's (report/gpu_model.h). No host-link
** bytes are added: in this schedule every MXU layer's input and output cross
** the host link anyway (RD_HOST/WR_HOST, counted by sim/). */
#define TPU_HOST_MEM_GB_PER_S 51.0

static int64_t tensor_bytes(const struct tpu_tensor *t)
{
    if (!t || t->n_dims < 0) return 0;
    int64_t n = 1;
    for (int i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0) return 0;
        n *= t->dims[i];
    }
    return n * (int64_t)tpu_dtype_size(t->dtype);
}

int64_t tpu_host_op_cycles(const struct tpu_chip *chip, int64_t bytes)
{
    double s = TPU_CPU_LAUNCH_S + (double)bytes / (TPU_HOST_MEM_GB_PER_S * 1e9 * TPU_CPU_EFF_MEM);
    return (int64_t)ceil(s * chip->clock_mhz * 1e6);
}

/* An elementwise host op (tpu_op_maps_in_place) writes its output over an
** input of the same dtype and dims that no later node reads: a Relu after a
** residual Add, the Add over one of its operands. No buffer to allocate and
** clear, one stream less through memory; the values are the same. Returns
** that input (its data now y's), or NULL. */
static struct tpu_tensor *output_over_input(struct runner *u, struct tpu_node *n)
{
    struct tpu_tensor *y = tpu_out(u->g, n, 0);
    if (!u->last || n->n_outputs != 1 || !y || !tpu_op_maps_in_place(n->op)) return NULL;
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        struct tpu_tensor *x = t >= 0 ? u->g->tensors[t] : NULL;
        if (!x || u->last[t] != n - u->g->nodes || x->owner != TPU_DATA_HEAP || x->is_const ||
            x->is_input || x->is_output || x == y || x->dtype != y->dtype || x->n_dims != y->n_dims)
            continue;
        int same = 1;
        for (int d = 0; d < x->n_dims; d++) same &= x->dims[d] == y->dims[d];
        if (!same) continue;
        tpu_tensor_drop_data(y);
        y->data = x->data;
        y->owner = TPU_DATA_HEAP;
        x->owner = TPU_DATA_NONE;              /* still read by the kernel; dropped after */
        return x;
    }
    return NULL;
}

/* Runs node n with the reference kernel on the host CPU (values; timing-only
** runs infer shapes only). Not simulated: the row's cycles are the estimate
** above, counted in the total time (and so in static energy), not on chip. */
static enum tpu_status run_on_host(struct runner *u, struct tpu_node *n)
{
    enum tpu_status rc = tpu_op_shape_fn(n->op)(u->g, n);
    if (rc && u->o->timing_only) { tpu_err_clear(u->ctx); rc = TPU_STATUS_OK; }
    if (!u->o->timing_only) {
        for (int i = 0; i < n->n_inputs && !rc; i++)      /* unbound graph inputs: as run_node */
            if (tpu_in(u->g, n, i)) rc = fill_input(u, tpu_in(u->g, n, i));
        struct tpu_tensor *over = rc ? NULL : output_over_input(u, n);
        for (int i = 0; i < n->n_outputs && !rc && !over; i++) {
            struct tpu_tensor *t = tpu_out(u->g, n, i);
            if (t) rc = tpu_tensor_alloc(u->ctx, t);
        }
        if (!rc) rc = tpu_op_ref_fn(n->op)(u->g, n);
        if (over) tpu_tensor_drop_data(over);
    }
    if (rc) return rc;
    int64_t bytes = 0;
    int view = n->op == TPU_OP_FLATTEN || n->op == TPU_OP_RESHAPE || n->op == TPU_OP_SQUEEZE ||
               n->op == TPU_OP_UNSQUEEZE || n->op == TPU_OP_IDENTITY;
    for (int i = 0; i < n->n_inputs && !view; i++) bytes += tensor_bytes(tpu_in(u->g, n, i));
    for (int i = 0; i < n->n_outputs && !view; i++) bytes += tensor_bytes(tpu_out(u->g, n, i));
    struct tpu_layer_row *row = add_row(u, n->name, n->op_type, "host", tpu_host_op_cycles(u->chip, bytes), 0);
    if (!row) return TPU_ERR_NOMEM;
    row->untimed = 1;
    u->r->host_op_bytes += bytes;
    return TPU_STATUS_OK;
}

/* Whether the MXU takes node n: the lowering run_node does, timing only
** (compile/mm_node.c tpu_mm_node_check). With --host-ops a node it refuses
** (e.g. a batched MatMul) runs on the host instead, as `check --chip` and
** `bench` place it; without, a refused Gemm/MatMul/Conv stops the run with
** the lowering's reason (run_node). */
static int mxu_takes(struct runner *u, struct tpu_node *n)
{
    struct tpu_mm_node_opts mo = mm_opts(u, n, 0);
    if (tpu_mm_node_check(u->ctx, u->g, n, u->chip, &mo, NULL) == TPU_STATUS_OK) return 1;
    tpu_err_clear(u->ctx);
    return 0;
}

/*---- The model ----*/
/* last[t]: the last live node reading tensor t, -1 if none (tpu_malloc'd). */
static int *last_readers(struct tpu_graph *g)
{
    int *last = tpu_malloc(g->ctx, ((size_t)g->n_tensors + 1) * sizeof *last);
    if (!last) return NULL;
    for (int t = 0; t < g->n_tensors; t++) last[t] = -1;
    for (int k = 0; k < g->n_nodes; k++)
        for (int i = 0; !g->nodes[k].dead && i < g->nodes[k].n_inputs; i++)
            if (g->nodes[k].inputs[i] >= 0) last[g->nodes[k].inputs[i]] = k;
    return last;
}

/* Drops the values of node k's inputs that no later node reads (graph
** inputs, outputs and constants keep theirs). */
static void drop_dead_inputs(struct tpu_graph *g, const struct tpu_node *n, int k, const int *last)
{
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        if (t < 0 || last[t] != k) continue;
        struct tpu_tensor *x = g->tensors[t];
        if (!x->is_const && !x->is_input && !x->is_output) tpu_tensor_drop_data(x);
    }
}

static int64_t model_batch(struct tpu_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *t = g->tensors[g->inputs[i]];
        if (!t->is_const && t->n_dims >= 1) return t->dims[0] > 0 ? t->dims[0] : 1;
    }
    return 1;
}

static void bind_symbolic_dims(struct tpu_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *t = g->tensors[g->inputs[i]];
        for (int j = 0; j < t->n_dims; j++) if (t->dims[j] < 0) t->dims[j] = 1;
    }
}

static void finish_report(struct runner *u)
{
    struct tpu_chip_report *r = u->r;
    const struct tpu_chip *c = u->chip;
    snprintf(r->chip, sizeof r->chip, "%s", c->name);
    r->array_rows = c->array_rows;
    r->array_cols = c->array_cols;
    r->mxu_count = c->mxu_count;
    r->bf16 = c->mxu_dtype == TPU_MXU_BF16;
    r->clock_mhz = c->clock_mhz;
    r->timing_only = u->o->timing_only;
    r->scalesim = u->o->schedule_scalesim;
    r->ctr = u->sim->ctr;
    struct tpu_sim_counters k = r->ctr;
    k.cycles = r->cycles;                    /* static energy over the reported time */
    tpu_sim_energy(c, &k, &r->energy);
    for (int i = 0; i < r->n_rows; i++) {
        r->macs += r->rows[i].macs;
        r->rows[i].energy_j += c->static_watts * (double)r->rows[i].cycles / (c->clock_mhz * 1e6);
    }
}

/* int8 activation scales: saved in a program file by `tpusim compile`, or
** calibrated (compile/calib.c) when asked, else each MXU input's own max |x|
** at run time except QDQ inputs, which keep the model's scale (compile/qdq.c);
** r->calib says which. */
static enum tpu_status calibrate(struct runner *u)
{
    const struct tpu_chip_run_opts *o = u->o;
    static const struct tpu_chip_calib none = { 0 };
    const struct tpu_chip_calib *k = u->calib ? u->calib : &none;
    char *s = u->r->calib;
    size_t n = sizeof u->r->calib;
    if (u->chip->mxu_dtype != TPU_MXU_INT8) {
        int p = o->bf16_passes > 1 && !o->prec_auto ? o->bf16_passes : 1;
        snprintf(s, n, "bf16: no calibration; %d pass%s per matrix product (--precision %s)", p, p > 1 ? "es" : "",
                 o->prec_auto ? "auto: the layers widened below" : tpu_passes_name(p));
        return TPU_STATUS_OK;
    }
    if (o->timing_only) { snprintf(s, n, "int8: timing only, no values"); return TPU_STATUS_OK; }
    if (k->saved) {
        /* the compile-time description, so run prog.tpu reports as run MODEL --calib */
        return tpu_calib_load_saved(u->ctx, u->g, k->saved, k->saved_len, &u->scales, s, n);
    }
    if (!k->dir && !k->n_random && !k->percentile) {
        int nq = tpu_mm_qdq_scales(u->ctx, u->g, &u->scales);
        if (nq < 0) return TPU_ERR_NOMEM;
        if (nq) snprintf(s, n, "int8 min/max on the run's own inputs (each MXU input's max |x|, at run time); "
                               "%d QDQ input(s) keep the model's scale", nq);
        else snprintf(s, n, "int8 min/max on the run's own inputs (each MXU input's max |x|, at run time)");
        return TPU_STATUS_OK;
    }
    struct tpu_calib_opts co = { k->dir, k->n_random, k->percentile, o->seed + 1 };
    int n_samples = 0;
    enum tpu_status rc = tpu_calibrate(u->ctx, u->g, &co, &u->scales, &n_samples);
    if (!rc) tpu_calib_describe(&co, n_samples, s, n);
    return rc;
}

/* --precision high / highest on an int8 chip (compile/wide.c), in the report. */
static void wide_note(struct runner *u)
{
    int mode = u->o->prec_auto ? 0 : tpu_wide_mode(u->chip, u->o->bf16_passes);
    size_t len = strlen(u->r->calib);
    if (!mode || len >= sizeof u->r->calib) return;
    snprintf(u->r->calib + len, sizeof u->r->calib - len, "; %s", mode == TPU_WIDE_BOTH
             ? "16-bit weights and activations (16b x 16b: 4 passes, quarter speed; --precision highest)"
             : "16-bit weights (8b x 16b: 2 passes, half speed; --precision high)");
}

enum tpu_status tpu_chip_run_model(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                   const struct tpu_chip_run_opts *opts, struct tpu_chip_report **out)
{
    return tpu_chip_run_model_calib(ctx, g, chip, opts, NULL, out);
}

enum tpu_status tpu_chip_run_model_calib(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                         const struct tpu_chip_run_opts *opts,
                                         const struct tpu_chip_calib *calib, struct tpu_chip_report **out)
{
    return tpu_chip_run_model_ex(ctx, g, chip, opts, calib, 0, out);
}

enum tpu_status tpu_chip_run_model_ex(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                      const struct tpu_chip_run_opts *opts, const struct tpu_chip_calib *calib,
                                      int flags, struct tpu_chip_report **out)
{
    *out = NULL;
    struct tpu_chip_report *r = tpu_calloc(ctx, 1, sizeof *r);
    struct tpu_sim *sim = r ? tpu_sim_new(ctx, chip, opts->timing_only) : NULL;
    if (!sim) { free(r); return ctx->status ? ctx->status : TPU_ERR_NOMEM; }
    struct runner u = { ctx, g, chip, opts, sim, r, opts->seed ? opts->seed : 0x9E3779B97F4A7C15ull,
                        NULL, calib, (flags & TPU_RUN_NO_LAYER_COMPARE) != 0, NULL, NULL, 0, NULL };
    bind_symbolic_dims(g);
    r->batch = model_batch(g);
    enum tpu_status rc = tpu_graph_prep(g) ? TPU_STATUS_OK : tpu_chip_prepare(ctx, g);
    if (!rc && !g->n_nodes) rc = tpu_err(ctx, TPU_ERR_UNSUPPORTED, "%s: no nodes to run", g->path);
    if (!rc) rc = calibrate(&u);
    if (!rc) wide_note(&u);
    if (!rc && !(u.fused = tpu_calloc(ctx, (size_t)g->n_nodes + 1, 1))) rc = TPU_ERR_NOMEM;
    struct tpu_vec_run vr = { ctx, g, chip, sim, r, opts->timing_only, !u.no_layer_compare };
    int *last = !rc && opts->free_dead ? last_readers(g) : NULL;
    if (!rc && opts->free_dead && !last) rc = TPU_ERR_NOMEM;
    u.last = last;
    for (int i = 0; i < g->n_nodes && !rc; i++) {
        struct tpu_node *n = &g->nodes[i];
        if (n->dead) continue;
        if (u.fused[i]) { /* ran inside the MXU node before it */ }
        else if (tpu_mm_node_op(n->op) && (mxu_takes(&u, n) || (!opts->host_fallback && !qlinear_op(n->op))))
            rc = run_node(&u, n);
        else if (chip->vector_unit && tpu_vec_takes(g, n, chip)) rc = tpu_run_vec_node(&vr, n);
        else if (opts->host_fallback) rc = run_on_host(&u, n);
        else rc = tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "not supported on the chip yet (the chip "
                               "lowering covers Gemm, MatMul and Conv%s; --host-ops runs the rest on "
                               "the host CPU, untimed)", chip->vector_unit ? ", and elementwise, "
                               "normalisation, reduction and pooling ops on the vector unit" : "");
        if (!rc && last) drop_dead_inputs(g, n, i, last);
    }
    free(last);
    u.last = NULL;
    if (!rc) finish_report(&u);
    if (!rc && opts->onchip && !opts->schedule_scalesim)
        rc = tpu_chip_onchip_estimate_auto(ctx, g, chip, opts->prec_auto ? 1 : opts->bf16_passes, opts->prec_auto,
                                           &r->onchip);
    r->prec_auto = opts->prec_auto;
    tpu_sim_free(sim);
    free(u.scales);
    free(u.fused);
    free(u.host);
    if (rc) { tpu_chip_report_free(r); return rc; }
    *out = r;
    return TPU_STATUS_OK;
}

void tpu_chip_report_free(struct tpu_chip_report *r)
{
    if (!r) return;
    free(r->rows);
    free(r->verify);
    free(r);
}
