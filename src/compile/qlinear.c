/*
** compile/qlinear.c: QLinearMatMul and QLinearConv of an already quantised
** model on the int8 MXU with the model's own scales and zero points
** (docs/compiler.md "Quantised models (QLinearMatMul, QLinearConv)").
**
** The array multiplies signed bytes. The weight tiles hold b' = b - zb
** (per tensor or per column) when every b' fits int8. A's bytes
** go to the chip as they are for int8 A, and as a - 128 (the byte with its
** top bit flipped) for uint8 A, so every operand is a signed byte. Then
**   sum_k (a_k - za) b'_kn = sum_k a'_k b'_kn + (s - za) sum_k b'_kn,
** s = 128 for uint8 A, 0 for int8 A: the second term is a per-column int32
** constant ACTIVATE adds as its bias (+raw: the exact int32 accumulator goes
** back to the host). The host requantises with the float expression and
** rounding of the reference kernel (ref/ref_quant.c), so the output bytes are
** the reference's. When some b' leaves int8 the tiles hold b - 128 (uint8
** B) or b (int8 B) plus a column of ones whose result is each row's sum of
** a', and the host adds the zb correction times that sum (tpu_qlinear_desc).
**
** A 3-D B (with a 3-D A of the same batch) is one GEMM per batch: the
** lowering's groups.
**
** QLinearConv takes the same two forms over the im2col rows (see conv_desc).
** Its groups, when narrower than the array, are one block-diagonal GEMM
** (compile/mm_node.c, as a Conv's): geom() says where each group's rows and
** columns (and its ones column) are.
**
** In:  a QLinearMatMul / QLinearConv node (ir/) with constant B (w), scales
**      and zero points.
** Out: a lowered program (compile/lower.c, raw int8 weights), the packed host
**      memory, and the node's uint8/int8 output after the run (compile/run.c).
*/
#include "compile/compile.h"
#include "ref/ref.h"
#include <math.h>
#include <string.h>

/* Inputs of QLinearMatMul. */
enum { QA, QA_S, QA_Z, QB, QB_S, QB_Z, QY_S, QY_Z };

static int is_q8(const struct tpu_tensor *t)
{
    return t && (t->dtype == TPU_DTYPE_U8 || t->dtype == TPU_DTYPE_I8);
}

/* Parameter input i: constant, numel 1 (or `per` when per > 1), of a dtype in `ok`. */
static enum tpu_status need_param(struct tpu_graph *g, struct tpu_node *n, int i, const char *what,
                                  int64_t per, int is_scale)
{
    const struct tpu_tensor *t = tpu_in(g, n, i);
    if (!t) return is_scale ? tpu_node_err(g, n, TPU_ERR_SHAPE, "missing input %s", what) : TPU_STATUS_OK;
    if (!t->data)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "%s has no constant value (the chip lowering "
                            "takes constant scales and zero points)", what);
    int64_t cnt = tpu_tensor_numel(t);
    if (cnt != 1 && !(per > 1 && cnt == per))
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "%s has %lld values; the chip lowering takes "
                            "one%s", what, (long long)cnt, per > 1 ? " or one per column" : "");
    if (is_scale && t->dtype != TPU_DTYPE_F32)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "%s is %s, not float32", what, tpu_dtype_name(t->dtype));
    if (!is_scale && !is_q8(t))
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "%s is %s, not uint8/int8", what, tpu_dtype_name(t->dtype));
    return TPU_STATUS_OK;
}

/* Where the lowered GEMM keeps the op's groups (G0: QLinearConv's group
** attribute, QLinearMatMul's batch): one GEMM per group, or one
** block-diagonal GEMM (bd; compile/mm_node.c) whose group gi owns rows
** gi x Kg.. and columns gi x Nq.. (Nq: N, or N + 1 with the ones column). */
struct qgeom { int64_t G0, Kg, Nq; int bd; };

static struct qgeom geom(const struct tpu_node *n, const struct tpu_lowered *l)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t G0 = n->op == TPU_OP_QLINEAR_CONV ? tpu_attr_int(n, "group", 1) : d->groups;
    int bd = G0 > 1 && d->groups == 1;
    struct qgeom q = { G0, bd ? d->K / G0 : d->K, bd ? d->N / G0 : d->N, bd };
    return q;
}

/* ACTIVATE's int32 bias table (compile/driver.c's layout): column j of group
** gi gets (sa - za) x sum_k b'[k][j], plus Kg (sa - za)(sb - zb) in the
** row-sum form (a ones column past N) and QLinearConv's B. The zero point (and
** B) of column j is channel gi x N + j when per_group (a conv's output
** channels), else j. |values| are bounded by the desc functions' K checks. */
static void pack_bias_table(const struct tpu_node *n, const struct tpu_lowered *l, int64_t C, const float *wq,
                            int64_t N, int64_t sa, int64_t za, int64_t sb, const struct tpu_tensor *bz,
                            int per_group, const struct tpu_tensor *bias, uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    struct qgeom q = geom(n, l);
    int64_t rowsum = q.Nq > N, words = tpu_mm_tab_words(d, C);
    memset(host + l->host_tab_off, 0, (size_t)(d->groups * l->tab_bytes));
    for (int64_t gi = 0; gi < q.G0; gi++)
        for (int64_t j = 0; j < N; j++) {            /* the ones column keeps bias 0 */
            int64_t lg = q.bd ? 0 : gi, col = (q.bd ? gi * q.Nq : 0) + j, k0 = q.bd ? gi * q.Kg : 0;
            uint8_t *t = host + l->host_tab_off + lg * l->tab_bytes;
            const float *wg = wq + lg * d->K * d->N;
            int64_t sum = 0, m = per_group ? gi * N + j : j;
            for (int64_t k = k0; k < k0 + q.Kg; k++) sum += (int64_t)wg[k * d->N + col];
            int64_t v = (sa - za) * sum + (bias ? (int64_t)tpu_get_f64(bias->data, bias->dtype, (size_t)m) : 0);
            if (rowsum) v += q.Kg * (sa - za) * (sb - (int64_t)tpu_quant_param(bz, m));
            int32_t v32 = (int32_t)v;
            memcpy(t + ((col / C) * words + col % C) * 4, &v32, 4);
        }
}

/* The int32 results WR_HOST wrote back, row-sum corrected and requantised as
** ref/ref_quant.c does (tpu_quant_requant) into y: QLinearConv's NCHW when
** conv (channel gi x N + j), else QLinearMatMul's [groups][M][N] (channel j). */
static void unpack_rows(struct tpu_graph *g, struct tpu_node *n, const struct tpu_lowered *l, int64_t C,
                        const uint8_t *host, int64_t N, int conv, struct tpu_tensor *y)
{
    const struct tpu_mm_desc *d = &l->d;
    const struct tpu_tensor *as = tpu_in(g, n, QA_S), *bs = tpu_in(g, n, QB_S), *ys = tpu_in(g, n, QY_S);
    const struct tpu_tensor *yz = tpu_in(g, n, QY_Z), *b = tpu_in(g, n, QB), *bz = tpu_in(g, n, QB_Z);
    struct qgeom q = geom(n, l);
    int64_t sb = b->dtype == TPU_DTYPE_U8 ? 128 : 0, rowsum = q.Nq > N, pix = d->oh * d->ow;
    uint64_t pass_bytes = (uint64_t)(l->n_tiles * l->mrows * C * 4);
    for (int64_t gi = 0; gi < q.G0; gi++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            int64_t lg = q.bd ? 0 : gi, cb = q.bd ? gi * q.Nq : 0;      /* the group's first column */
            const uint8_t *base = host + l->host_out_off + (uint64_t)(lg * l->n_chunks + mc) * pass_bytes;
            for (int64_t r = 0; r < rows; r++) {
                int32_t rs = 0, a32;                  /* sum_k (a_k - sa): the ones column */
                if (rowsum) memcpy(&rs, base + ((((cb + N) / C) * rows + r) * C + (cb + N) % C) * 4, 4);
                int64_t row = m0 + r;
                for (int64_t j = 0; j < N; j++) {
                    int64_t m = conv ? gi * N + j : j, col = cb + j;
                    memcpy(&a32, base + (((col / C) * rows + r) * C + col % C) * 4, 4);
                    int64_t acc = a32 + (rowsum ? (sb - (int64_t)tpu_quant_param(bz, m)) * rs : 0);
                    size_t at = conv ? (size_t)((row / pix * d->c_out + m) * pix + row % pix)
                                     : (size_t)((gi * d->M + row) * N + j);
                    tpu_quant_requant(y, at, (double)acc, tpu_quant_param(as, 0), tpu_quant_param(bs, m), ys, yz);
                }
            }
        }
}

/*---- QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B ----*/
/* The same two forms as QLinearMatMul with the conv's im2col: K runs as the
** int8 packing runs it (l->k_hwc), padded pixels hold x_zero_point (their
** x - zx is 0, so the uniform correction holds), w's zero point is per
** output channel, and the int32 B joins ACTIVATE's bias. */
static enum tpu_status conv_desc(struct tpu_graph *g, struct tpu_node *n, struct tpu_mm_desc *d, float **weights)
{
    const struct tpu_tensor *x = tpu_in(g, n, QA), *w = tpu_in(g, n, QB), *y = tpu_out(g, n, 0);
    const struct tpu_tensor *bias = n->n_inputs > 8 ? tpu_in(g, n, 8) : NULL;
    if (!x || !w || !y || n->n_inputs < 8)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "QLinearConv needs 8 or 9 inputs and an output");
    if (!is_q8(x) || !is_q8(w) || !is_q8(y))
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "x, w and y must be uint8 or int8 (%s, %s, %s)",
                            tpu_dtype_name(x->dtype), tpu_dtype_name(w->dtype), tpu_dtype_name(y->dtype));
    if (x->n_dims != 4 || w->n_dims != 4)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "x has rank %d, w rank %d; the chip lowering "
                            "takes 2-D convolutions", x->n_dims, w->n_dims);
    for (int i = 0; i < 4; i++)
        if (x->dims[i] <= 0 || w->dims[i] <= 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "x or w dimension %d unknown or empty", i);
    if (!w->data)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "w '%s' has no constant value (the chip keeps "
                            "weights in weight memory)", w->name);
    enum tpu_status rc = tpu_mm_conv_geometry(g, n, x, w, d);
    if (rc) return rc;
    int64_t C = d->c_out, G = d->groups, K = d->K, N = d->N;
    rc = need_param(g, n, QA_S, "x_scale", 1, 1);
    if (!rc) rc = need_param(g, n, QA_Z, "x_zero_point", 1, 0);
    if (!rc) rc = need_param(g, n, QB_S, "w_scale", C, 1);
    if (!rc) rc = need_param(g, n, QB_Z, "w_zero_point", C, 0);
    if (!rc) rc = need_param(g, n, QY_S, "y_scale", 1, 1);
    if (!rc) rc = need_param(g, n, QY_Z, "y_zero_point", 1, 0);
    if (rc) return rc;
    double bmax = 0;
    if (bias) {
        if (!bias->data || bias->dtype != TPU_DTYPE_I32 || tpu_tensor_numel(bias) != C)
            return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "B must be constant int32 of %lld values",
                                (long long)C);
        for (int64_t i = 0; i < C; i++) bmax = fmax(bmax, fabs(tpu_get_f64(bias->data, bias->dtype, (size_t)i)));
    }
    const struct tpu_tensor *wz = tpu_in(g, n, QB_Z);
    int fits = 1;
    for (int64_t i = 0, len = C * K; i < len && fits; i++) {
        double v = tpu_get_f64(w->data, w->dtype, (size_t)i) - tpu_quant_param(wz, i / K);
        fits = v >= -128 && v <= 127;
    }
    if ((double)K * (fits ? 32640 : 114049) + bmax >= 2147483647.0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "K=%lld (and B up to %g) can leave int32 "
                            "(the accumulators)", (long long)K, bmax);
    if (!fits) {                                     /* + a column of ones: row sums */
        d->N = N + 1;
        d->model_macs = G * d->M * K * N;            /* the op's MACs, not the ones column's */
    }
    snprintf(d->name, sizeof d->name, "%s", n->name);
    snprintf(d->op, sizeof d->op, "%s", n->op_type);
    d->raw_i8 = 1;
    d->bias = 1;
    if (!weights) return TPU_STATUS_OK;
    *weights = tpu_malloc(g->ctx, (size_t)(G * K * d->N) * sizeof(float));
    if (!*weights) return TPU_ERR_NOMEM;
    double sb = w->dtype == TPU_DTYPE_U8 ? 128 : 0;
    for (int64_t gi = 0; gi < G; gi++)                /* [G][K][N'] from w [G*N][K] */
        for (int64_t k = 0; k < K; k++) {
            float *row = *weights + (gi * K + k) * d->N;
            for (int64_t j = 0; j < N; j++) {
                int64_t m = gi * N + j;
                double v = tpu_get_f64(w->data, w->dtype, (size_t)(m * K + k));
                row[j] = (float)(v - (fits ? tpu_quant_param(wz, m) : sb));
            }
            if (!fits) row[N] = 1.0f;
        }
    return TPU_STATUS_OK;
}

static void conv_pack(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *c,
                      const struct tpu_lowered *l, const float *wq, uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    const struct tpu_tensor *x = tpu_in(g, n, QA), *w = tpu_in(g, n, QB), *wz = tpu_in(g, n, QB_Z);
    const struct tpu_tensor *bias = n->n_inputs > 8 ? tpu_in(g, n, 8) : NULL;
    const uint8_t *xb = x->data;
    const uint8_t flip = x->dtype == TPU_DTYPE_U8 ? 0x80 : 0;
    int64_t za = (int64_t)tpu_quant_param(tpu_in(g, n, QA_Z), 0), sa = flip ? 128 : 0;
    const uint8_t pad = (uint8_t)((uint8_t)za ^ flip);              /* x_zero_point's byte */
    int64_t R = c->array_rows, C = c->array_cols, cg = d->c_in / d->groups, N = d->c_out / geom(n, l).G0;
    uint64_t pass_bytes = (uint64_t)(l->k_tiles * l->mrows * R);
    memset(host, 0, (size_t)l->host_out_off);
    for (int64_t gi = 0; gi < d->groups; gi++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            uint8_t *base = host + (uint64_t)(gi * l->n_chunks + mc) * pass_bytes;
            for (int64_t r = 0; r < rows; r++) {
                int64_t m = m0 + r, ow = m % d->ow, oh = m / d->ow % d->oh, b = m / (d->ow * d->oh);
                for (int64_t k = 0; k < d->K; k++) {
                    int64_t ch, ky, kx;
                    if (l->k_hwc) { ch = k % cg; kx = k / cg % d->kw; ky = k / (cg * d->kw); }
                    else { kx = k % d->kw; ky = k / d->kw % d->kh; ch = k / (d->kw * d->kh); }
                    int64_t iy = oh * d->sh - d->pt + ky * d->dh, ix = ow * d->sw - d->pl + kx * d->dw;
                    uint8_t v = pad;
                    if (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w)
                        v = (uint8_t)(xb[((b * d->c_in + gi * cg + ch) * d->h + iy) * d->w + ix] ^ flip);
                    base[((k / R) * rows + r) * R + k % R] = v;
                }
            }
        }
    pack_bias_table(n, l, C, wq, N, sa, za, w->dtype == TPU_DTYPE_U8 ? 128 : 0, wz, 1, bias, host);
}

enum tpu_status tpu_qlinear_desc(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                                 struct tpu_mm_desc *d, float **weights)
{
    memset(d, 0, sizeof *d);
    if (weights) *weights = NULL;
    if (n->op != TPU_OP_QLINEAR_MATMUL && n->op != TPU_OP_QLINEAR_CONV)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "not a QLinearMatMul or QLinearConv");
    if (chip->mxu_dtype != TPU_MXU_INT8)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "int8 MXU only (%s multiplies bf16)", chip->name);
    if (n->op == TPU_OP_QLINEAR_CONV) return conv_desc(g, n, d, weights);
    const struct tpu_tensor *a = tpu_in(g, n, QA), *b = tpu_in(g, n, QB), *y = tpu_out(g, n, 0);
    if (!a || !b || !y || n->n_inputs < 8)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "QLinearMatMul needs 8 inputs and an output");
    if (!is_q8(a) || !is_q8(b) || !is_q8(y))
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "A, B and Y must be uint8 or int8 (%s, %s, %s)",
                            tpu_dtype_name(a->dtype), tpu_dtype_name(b->dtype), tpu_dtype_name(y->dtype));
    if (a->n_dims < 1 || (b->n_dims != 2 && !(b->n_dims == 3 && a->n_dims == 3)))
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "A has rank %d, B rank %d; the chip lowering "
                            "takes a 2-D B, or 3-D A and B (one GEMM per batch)", a->n_dims, b->n_dims);
    for (int i = 0; i < a->n_dims; i++)
        if (a->dims[i] <= 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "A dimension %d is %lld (unknown or empty)", i,
                                (long long)a->dims[i]);
    if (!b->data)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "B '%s' has no constant value (the chip keeps "
                            "weights in weight memory)", b->name);
    int bd = b->n_dims - 2;                          /* B's K axis */
    d->groups = bd ? b->dims[0] : 1;
    if (bd && a->dims[0] != d->groups)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "A's batch %lld differs from B's %lld (no "
                            "broadcasting on the chip)", (long long)a->dims[0], (long long)d->groups);
    d->K = a->dims[a->n_dims - 1];
    d->N = b->dims[bd + 1];
    d->M = 1;
    for (int i = bd; i < a->n_dims - 1; i++) d->M *= a->dims[i];
    if (b->dims[bd] != d->K || d->N <= 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "A has K=%lld but B has %lld rows", (long long)d->K,
                            (long long)b->dims[bd]);
    if (d->K > 65535)                    /* |sum (a - za) b'| <= K x 255 x 128 fits int32 */
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "K=%lld exceeds 65535 (int32 accumulators)",
                            (long long)d->K);
    enum tpu_status rc = need_param(g, n, QA_S, "a_scale", 1, 1);
    if (!rc) rc = need_param(g, n, QA_Z, "a_zero_point", 1, 0);
    if (!rc) rc = need_param(g, n, QB_S, "b_scale", d->N, 1);
    if (!rc) rc = need_param(g, n, QB_Z, "b_zero_point", d->N, 0);
    if (!rc) rc = need_param(g, n, QY_S, "y_scale", 1, 1);
    if (!rc) rc = need_param(g, n, QY_Z, "y_zero_point", 1, 0);
    if (rc) return rc;
    const struct tpu_tensor *bz = tpu_in(g, n, QB_Z);
    int fits = 1;                                    /* every b - zb in int8 */
    for (int64_t i = 0, len = d->groups * d->K * d->N; i < len && fits; i++) {
        double v = tpu_get_f64(b->data, b->dtype, (size_t)i) - tpu_quant_param(bz, i % d->N);
        fits = v >= -128 && v <= 127;
    }
    if (!fits && d->K > 16384)           /* the row-sum form: |acc + bias| <= K x 114049 */
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "K=%lld exceeds 16384 with b - b_zero_point "
                            "outside int8 (int32 accumulators)", (long long)d->K);
    int64_t N = d->N;
    if (!fits) {                                     /* + a column of ones: A's row sums */
        d->N = N + 1;
        d->model_macs = d->groups * d->M * d->K * N; /* the op's MACs, not the ones column's */
    }
    snprintf(d->name, sizeof d->name, "%s", n->name);
    snprintf(d->op, sizeof d->op, "%s", n->op_type);
    d->kh = d->kw = d->sh = d->sw = d->dh = d->dw = d->oh = d->ow = d->h = d->w = 1;
    d->batch = a->n_dims > 1 ? a->dims[0] : 1;
    d->raw_i8 = 1;
    d->bias = 1;                                      /* the za correction */
    if (!weights) return TPU_STATUS_OK;
    *weights = tpu_malloc(g->ctx, (size_t)(d->groups * d->K * d->N) * sizeof(float));
    if (!*weights) return TPU_ERR_NOMEM;
    double sb = b->dtype == TPU_DTYPE_U8 ? 128 : 0;
    for (int64_t k = 0; k < d->groups * d->K; k++) {      /* [groups][K][N] */
        float *row = *weights + k * d->N;
        for (int64_t j = 0; j < N; j++) {
            double v = tpu_get_f64(b->data, b->dtype, (size_t)(k * N + j));
            row[j] = (float)(v - (fits ? tpu_quant_param(bz, j) : sb));
        }
        if (!fits) row[N] = 1.0f;
    }
    return TPU_STATUS_OK;
}

/* The packed A (the layout of compile/driver.c: element k of row r of a pass
** at ((k / R) x rows + r) x R + k % R) and ACTIVATE's bias table. */
void tpu_qlinear_pack(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *c,
                      const struct tpu_lowered *l, const float *wq, uint8_t *host)
{
    if (n->op == TPU_OP_QLINEAR_CONV) { conv_pack(g, n, c, l, wq, host); return; }
    const struct tpu_mm_desc *d = &l->d;
    const struct tpu_tensor *a = tpu_in(g, n, QA);
    const uint8_t *ab = a->data;
    const uint8_t flip = a->dtype == TPU_DTYPE_U8 ? 0x80 : 0;    /* a - 128 as int8 */
    int64_t R = c->array_rows, C = c->array_cols;
    uint64_t pass_bytes = (uint64_t)(l->k_tiles * l->mrows * R);
    memset(host, 0, (size_t)l->host_out_off);
    for (int64_t gi = 0; gi < d->groups; gi++)
    for (int64_t mc = 0; mc < l->n_chunks; mc++) {
        int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
        uint8_t *base = host + (uint64_t)(gi * l->n_chunks + mc) * pass_bytes;
        for (int64_t r = 0; r < rows; r++) {
            const uint8_t *src = ab + (gi * d->M + m0 + r) * d->K;
            for (int64_t k = 0; k < d->K; k++) base[((k / R) * rows + r) * R + k % R] = src[k] ^ flip;
        }
    }
    const struct tpu_tensor *b = tpu_in(g, n, QB);
    pack_bias_table(n, l, C, wq, b->dims[b->n_dims - 1], flip ? 128 : 0, (int64_t)tpu_quant_param(tpu_in(g, n, QA_Z), 0),
                    b->dtype == TPU_DTYPE_U8 ? 128 : 0, tpu_in(g, n, QB_Z), 0, NULL, host);
}

enum tpu_status tpu_qlinear_unpack(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *c,
                                   const struct tpu_lowered *l, const uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    int conv = n->op == TPU_OP_QLINEAR_CONV;
    const struct tpu_tensor *b = tpu_in(g, n, QB);
    int64_t G0 = geom(n, l).G0, N = conv ? d->c_out / G0 : b->dims[b->n_dims - 1];
    enum tpu_status rc = tpu_op_shape_fn(n->op)(g, n);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    if (!rc && tpu_tensor_numel(y) != G0 * d->M * N)
        rc = tpu_node_err(g, n, TPU_ERR_SHAPE, "output has %lld values, expected %lld",
                          (long long)tpu_tensor_numel(y), (long long)(G0 * d->M * N));
    if (!rc) rc = tpu_tensor_alloc(g->ctx, y);
    if (!rc) unpack_rows(g, n, l, c->array_cols, host, N, conv, y);
    return rc;
}
