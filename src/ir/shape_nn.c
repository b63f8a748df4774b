/*
** ir/shape_nn.c: shape functions of the dense, convolution, pooling,
** normalisation and quantised ops (rows of ir/ops.def).
**
** In:  a node whose inputs have dtype and dims (values where known).
** Out: every output's dtype and dims (-1 where they depend on unknown dims),
**      or TPU_ERR_SHAPE naming the node, the op and what does not fit. The
**      window arithmetic lives in ref/ref_nn_window.c, shared with the kernels.
*/
#include "ref/ref_nn.h"
#include <string.h>

/*---- Helpers ----*/
/* Inputs 0..count-1 must be present. */
static enum tpu_status need_inputs(struct tpu_graph *g, struct tpu_node *n, int count)
{
    for (int i = 0; i < count; i++)
        if (!tpu_in(g, n, i)) return tpu_node_err(g, n, TPU_ERR_SHAPE, "input %d is required", i);
    return TPU_STATUS_OK;
}

static void set_out(struct tpu_tensor *t, enum tpu_dtype dt, int n_dims, const int64_t *dims)
{
    if (!t) return;
    t->dtype = dt;
    tpu_tensor_set_shape(t, n_dims, dims);
}

static bool is_q8(enum tpu_dtype dt) { return dt == TPU_DTYPE_U8 || dt == TPU_DTYPE_I8; }

static enum tpu_status want_float(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *t,
                                  const char *what)
{
    if (tpu_dtype_is_float(t->dtype)) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s has dtype %s, expected a float type", what,
                        tpu_dtype_name(t->dtype));
}

static enum tpu_status want_same_dtype(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *a,
                                      const struct tpu_tensor *b, const char *what)
{
    if (!b || a->dtype == b->dtype) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s has dtype %s, expected %s like the input", what,
                        tpu_dtype_name(b->dtype), tpu_dtype_name(a->dtype));
}

/* An optional per-tensor or per-channel parameter: absent, 1 value, or a
** 1-D tensor of `len` values (len < 0: unknown, any length accepted). */
static enum tpu_status want_param(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *t,
                                  const char *what, int64_t len)
{
    if (!t || t->n_dims < 0) return TPU_STATUS_OK;
    int64_t numel = tpu_tensor_numel(t);
    if (numel == 1 && t->n_dims <= 1) return TPU_STATUS_OK;
    if (t->n_dims == 1 && (len < 0 || t->dims[0] < 0 || t->dims[0] == len)) return TPU_STATUS_OK;
    char buf[96];
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s has shape %s, expected a scalar or %lld values",
                        what, tpu_shape_str(t, buf, sizeof buf), (long long)len);
}

static enum tpu_status want_vec(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *t,
                                const char *what, int64_t len)
{
    if (!t || t->n_dims < 0) return TPU_STATUS_OK;
    if (t->n_dims == 1 && (len < 0 || t->dims[0] < 0 || t->dims[0] == len)) return TPU_STATUS_OK;
    char buf[96];
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s has shape %s, expected [%lld]", what,
                        tpu_shape_str(t, buf, sizeof buf), (long long)len);
}

/*---- MatMul / Gemm ----*/
static enum tpu_status matmul_out(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *a,
                                  const struct tpu_tensor *b, enum tpu_dtype out_dt)
{
    struct tpu_tensor *y = tpu_out(g, n, 0);
    if (a->n_dims < 0 || b->n_dims < 0) { set_out(y, out_dt, -1, NULL); return TPU_STATUS_OK; }
    struct tpu_nn_matmul_dims d;
    const char *why;
    if (tpu_nn_matmul_dims(a, b, &d, &why)) {
        char sa[96], sb[96];
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "A %s and B %s: %s", tpu_shape_str(a, sa, sizeof sa),
                            tpu_shape_str(b, sb, sizeof sb), why);
    }
    int64_t dims[TPU_MAX_DIMS + 2];
    int r = d.n_batch;
    memcpy(dims, d.batch, (size_t)r * sizeof *dims);
    if (!d.a_vec) dims[r++] = d.m;
    if (!d.b_vec) dims[r++] = d.n;
    if (r > TPU_MAX_DIMS) return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "output rank %d is too high", r);
    set_out(y, out_dt, r, dims);
    return TPU_STATUS_OK;
}

/* ONNX MatMul: numpy matmul — 1-D operands gain and then lose a dim, batch dims broadcast. */
enum tpu_status shape_matmul(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 2);
    if (rc) return rc;
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1);
    if (!tpu_dtype_is_float(a->dtype) && !tpu_dtype_is_int(a->dtype))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "A has dtype %s, expected a number type",
                            tpu_dtype_name(a->dtype));
    if ((rc = want_same_dtype(g, n, a, b, "B"))) return rc;
    return matmul_out(g, n, a, b, a->dtype);
}

/* C must broadcast to (m, n) one way: right-aligned dims each 1 or equal. */
static enum tpu_status gemm_c(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *c,
                              const int64_t mn[2])
{
    if (!c || c->n_dims < 0) return TPU_STATUS_OK;
    bool ok = c->n_dims <= 2;
    for (int i = 0; ok && i < c->n_dims; i++) {
        int64_t d = c->dims[c->n_dims - 1 - i], want = mn[1 - i];
        ok = d == 1 || d < 0 || want < 0 || d == want;
    }
    if (ok) return TPU_STATUS_OK;
    char buf[96];
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "C has shape %s, which does not broadcast to [%lld,%lld]",
                        tpu_shape_str(c, buf, sizeof buf), (long long)mn[0], (long long)mn[1]);
}

/* ONNX Gemm: Y (M, N) = alpha * A' (M, K) B' (K, N) + beta * C. */
enum tpu_status shape_gemm(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 2);
    if (rc) return rc;
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1), *c = tpu_in(g, n, 2);
    if ((rc = want_same_dtype(g, n, a, b, "B")) || (rc = want_same_dtype(g, n, a, c, "C"))) return rc;
    if (a->n_dims < 0 || b->n_dims < 0) { set_out(tpu_out(g, n, 0), a->dtype, -1, NULL); return TPU_STATUS_OK; }
    if (a->n_dims != 2 || b->n_dims != 2)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "A and B must be 2-D (ranks %d and %d)", a->n_dims, b->n_dims);
    bool ta = tpu_attr_int(n, "transA", 0) != 0, tb = tpu_attr_int(n, "transB", 0) != 0;
    int64_t mn[2] = { a->dims[ta ? 1 : 0], b->dims[tb ? 0 : 1] };
    int64_t ka = a->dims[ta ? 0 : 1], kb = b->dims[tb ? 1 : 0];
    if (ka >= 0 && kb >= 0 && ka != kb)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "A' has K = %lld but B' has K = %lld (transA %d, transB %d)",
                            (long long)ka, (long long)kb, ta, tb);
    if ((rc = gemm_c(g, n, c, mn))) return rc;
    set_out(tpu_out(g, n, 0), a->dtype, 2, mn);
    return TPU_STATUS_OK;
}

/*---- Convolutions ----*/
/* Output (N, M, out...) of a window; unknown-rank input gives unknown rank. */
static enum tpu_status window_out(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *x,
                                  const struct tpu_tensor *w, enum tpu_nn_window_kind kind,
                                  enum tpu_dtype out_dt, struct tpu_nn_window *win)
{
    struct tpu_tensor *y = tpu_out(g, n, 0);
    win->m = -1;
    if (x->n_dims < 0 || (w && w->n_dims < 0)) { set_out(y, out_dt, -1, NULL); return TPU_STATUS_OK; }
    enum tpu_status rc = tpu_nn_window(g, n, x, w, kind, win);
    if (rc) return rc;
    int64_t dims[5] = { win->n, win->m };
    for (int i = 0; i < win->n_sp; i++) dims[2 + i] = win->out[3 - win->n_sp + i];
    set_out(y, out_dt, win->n_sp + 2, dims);
    return TPU_STATUS_OK;
}

static enum tpu_status conv_float(struct tpu_graph *g, struct tpu_node *n, enum tpu_nn_window_kind kind)
{
    enum tpu_status rc = need_inputs(g, n, 2);
    if (rc) return rc;
    const struct tpu_tensor *x = tpu_in(g, n, 0), *w = tpu_in(g, n, 1), *b = tpu_in(g, n, 2);
    if ((rc = want_float(g, n, x, "X")) || (rc = want_same_dtype(g, n, x, w, "W")) ||
        (rc = want_same_dtype(g, n, x, b, "B")))
        return rc;
    struct tpu_nn_window win;
    if ((rc = window_out(g, n, x, w, kind, x->dtype, &win))) return rc;
    return want_vec(g, n, b, "B", win.m);
}

/* ONNX Conv: X (N, C, D...), W (M, C/group, k...), B (M) → Y (N, M, out...). */
enum tpu_status shape_conv(struct tpu_graph *g, struct tpu_node *n)
{
    return conv_float(g, n, TPU_NN_WIN_CONV);
}

/* ONNX ConvTranspose: X (N, C, D...), W (C, M/group, k...), B (M) → Y (N, M, out...). */
enum tpu_status shape_conv_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    return conv_float(g, n, TPU_NN_WIN_CONV_TRANSPOSE);
}

/*---- Einsum ----*/
enum tpu_status shape_einsum(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, n->n_inputs);
    if (rc) return rc;
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    for (int i = 1; i < n->n_inputs; i++)
        if ((rc = want_same_dtype(g, n, x, tpu_in(g, n, i), "an operand"))) return rc;
    for (int i = 0; i < n->n_inputs; i++)
        if (tpu_in(g, n, i)->n_dims < 0) { set_out(tpu_out(g, n, 0), x->dtype, -1, NULL); return TPU_STATUS_OK; }
    struct tpu_nn_einsum e;
    if ((rc = tpu_nn_einsum_parse(g, n, &e))) return rc;
    int64_t dims[TPU_MAX_DIMS];
    for (int i = 0; i < e.out_rank; i++) dims[i] = e.size[e.out_label[i]];
    set_out(tpu_out(g, n, 0), x->dtype, e.out_rank, dims);
    return TPU_STATUS_OK;
}

/*---- Pooling ----*/
/* ONNX MaxPool / AveragePool: X (N, C, D...) → Y (N, C, out...) and, for
** MaxPool, optional int64 Indices of the same shape. */
enum tpu_status shape_pool(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 1);
    if (rc) return rc;
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    bool is_max = n->op == TPU_OP_MAX_POOL;
    if (!tpu_dtype_is_float(x->dtype) && !(is_max && is_q8(x->dtype)))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "X has dtype %s, expected a float type%s",
                            tpu_dtype_name(x->dtype), is_max ? ", int8 or uint8" : "");
    int64_t so = tpu_attr_int(n, "storage_order", 0);
    if (so != 0 && so != 1)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'storage_order' is %lld, expected 0 or 1",
                            (long long)so);
    struct tpu_nn_window win;
    if ((rc = window_out(g, n, x, NULL, TPU_NN_WIN_POOL, x->dtype, &win))) return rc;
    struct tpu_tensor *y = tpu_out(g, n, 0), *idx = tpu_out(g, n, 1);
    if (idx) set_out(idx, TPU_DTYPE_I64, y->n_dims, y->dims);
    return TPU_STATUS_OK;
}

/* ONNX GlobalAveragePool / GlobalMaxPool: X (N, C, D...) → Y (N, C, 1...). */
enum tpu_status shape_global_pool(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 1);
    if (rc) return rc;
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if ((rc = want_float(g, n, x, "X"))) return rc;
    if (x->n_dims >= 0 && x->n_dims < 3)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "X has rank %d, expected N x C x spatial (>= 3)", x->n_dims);
    int64_t dims[TPU_MAX_DIMS];
    for (int i = 0; i < x->n_dims; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    set_out(tpu_out(g, n, 0), x->dtype, x->n_dims, dims);
    return TPU_STATUS_OK;
}

/*---- Normalisation ----*/
/* ONNX BatchNormalization: X (N, C, D...), scale, B, mean, var (C); optional
** running_mean, running_var (C) outputs (training_mode = 1). */
enum tpu_status shape_batch_norm(struct tpu_graph *g, struct tpu_node *n)
{
    static const char *names[5] = { "X", "scale", "B", "input_mean", "input_var" };
    enum tpu_status rc = need_inputs(g, n, 5);
    if (rc) return rc;
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if ((rc = want_float(g, n, x, "X"))) return rc;
    if (x->n_dims >= 0 && x->n_dims < 2)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "X has rank %d, expected N x C x ... (>= 2)", x->n_dims);
    int64_t c = x->n_dims >= 2 ? x->dims[1] : -1;
    for (int i = 1; i < 5; i++) {
        if ((rc = want_float(g, n, tpu_in(g, n, i), names[i]))) return rc;
        if ((rc = want_vec(g, n, tpu_in(g, n, i), names[i], c))) return rc;
    }
    set_out(tpu_out(g, n, 0), x->dtype, x->n_dims, x->dims);
    for (int i = 1; i <= 2; i++)
        set_out(tpu_out(g, n, i), tpu_in(g, n, 2 + i)->dtype, 1, &c);
    return TPU_STATUS_OK;
}

/* Scale / B must broadcast to X's dims [axis, rank). */
static enum tpu_status want_norm_param(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *x,
                                       int axis, const struct tpu_tensor *p, const char *what)
{
    if (!p || p->n_dims < 0) return TPU_STATUS_OK;
    bool ok = p->n_dims <= x->n_dims - axis;
    for (int i = 0; ok && i < p->n_dims; i++) {
        int64_t d = p->dims[p->n_dims - 1 - i], want = x->dims[x->n_dims - 1 - i];
        ok = d == 1 || d < 0 || want < 0 || d == want;
    }
    if (ok) return TPU_STATUS_OK;
    char sp[96], sx[96];
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s has shape %s, which does not broadcast to the normalised "
                        "dims of X %s from axis %d", what, tpu_shape_str(p, sp, sizeof sp),
                        tpu_shape_str(x, sx, sizeof sx), axis);
}

/* ONNX LayerNormalization: Y like X; Mean and InvStdDev are X's dims before
** `axis` followed by 1s, in the stash type (float32). */
enum tpu_status shape_layer_norm(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 2);
    if (rc) return rc;
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if ((rc = want_float(g, n, x, "X"))) return rc;
    set_out(tpu_out(g, n, 0), x->dtype, x->n_dims, x->dims);
    if (x->n_dims < 0) {
        set_out(tpu_out(g, n, 1), TPU_DTYPE_F32, -1, NULL);
        set_out(tpu_out(g, n, 2), TPU_DTYPE_F32, -1, NULL);
        return TPU_STATUS_OK;
    }
    int64_t axis = tpu_attr_int(n, "axis", -1);
    if (axis < -x->n_dims || axis >= x->n_dims || x->n_dims == 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'axis' is %lld, out of range for rank %d",
                            (long long)axis, x->n_dims);
    if (axis < 0) axis += x->n_dims;
    if ((rc = want_norm_param(g, n, x, (int)axis, tpu_in(g, n, 1), "Scale")) ||
        (rc = want_norm_param(g, n, x, (int)axis, tpu_in(g, n, 2), "B")))
        return rc;
    int64_t dims[TPU_MAX_DIMS];
    for (int i = 0; i < x->n_dims; i++) dims[i] = i < axis ? x->dims[i] : 1;
    set_out(tpu_out(g, n, 1), TPU_DTYPE_F32, x->n_dims, dims);
    set_out(tpu_out(g, n, 2), TPU_DTYPE_F32, x->n_dims, dims);
    return TPU_STATUS_OK;
}

/*---- Quantisation ----*/
/* Scale and zero point: per tensor, or 1-D along `axis` of x. */
static enum tpu_status quant_params(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *x,
                                    const struct tpu_tensor *sc, const struct tpu_tensor *zp)
{
    if (tpu_attr_int(n, "block_size", 0) != 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "blocked quantisation (block_size %lld) is not supported",
                            (long long)tpu_attr_int(n, "block_size", 0));
    enum tpu_status rc = want_float(g, n, sc, "scale");
    if (rc || x->n_dims < 0 || sc->n_dims < 0) return rc;
    if (tpu_tensor_numel(sc) == 1 && sc->n_dims <= 1) return want_param(g, n, zp, "zero point", 1);
    int64_t axis = tpu_attr_int(n, "axis", 1);
    if (axis < -x->n_dims || axis >= x->n_dims)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'axis' is %lld, out of range for rank %d",
                            (long long)axis, x->n_dims);
    if (axis < 0) axis += x->n_dims;
    if ((rc = want_vec(g, n, sc, "scale", x->dims[axis]))) return rc;
    return want_vec(g, n, zp, "zero point", x->dims[axis]);
}

/* ONNX QuantizeLinear: y (dtype of y_zero_point, default uint8) like x. */
enum tpu_status shape_quantize(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 2);
    if (rc) return rc;
    const struct tpu_tensor *x = tpu_in(g, n, 0), *sc = tpu_in(g, n, 1), *zp = tpu_in(g, n, 2);
    if (!tpu_dtype_is_float(x->dtype) && x->dtype != TPU_DTYPE_I32)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "x has dtype %s, expected float or int32",
                            tpu_dtype_name(x->dtype));
    enum tpu_dtype out_dt = zp ? zp->dtype : (enum tpu_dtype)tpu_attr_int(n, "output_dtype", TPU_DTYPE_U8);
    if (out_dt == TPU_DTYPE_UNDEFINED) out_dt = TPU_DTYPE_U8;
    if (!is_q8(out_dt) && out_dt != TPU_DTYPE_U16 && out_dt != TPU_DTYPE_I16)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "quantising to %s is not supported",
                            tpu_dtype_name(out_dt));
    if ((rc = quant_params(g, n, x, sc, zp))) return rc;
    set_out(tpu_out(g, n, 0), out_dt, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}

/* ONNX DequantizeLinear: y (dtype of x_scale) like x; int32 x has no zero point. */
enum tpu_status shape_dequantize(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 2);
    if (rc) return rc;
    const struct tpu_tensor *x = tpu_in(g, n, 0), *sc = tpu_in(g, n, 1), *zp = tpu_in(g, n, 2);
    if (!tpu_dtype_is_int(x->dtype) || x->dtype == TPU_DTYPE_I64 || x->dtype == TPU_DTYPE_U64)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "x has dtype %s, expected int8, uint8 or int32",
                            tpu_dtype_name(x->dtype));
    if ((rc = want_same_dtype(g, n, x, zp, "x_zero_point"))) return rc;
    if (x->dtype == TPU_DTYPE_I32 && zp && zp->data) {
        for (int64_t i = 0, len = tpu_tensor_numel(zp); i < len; i++)
            if (tpu_get_i64(zp->data, zp->dtype, (size_t)i) != 0)
                return tpu_node_err(g, n, TPU_ERR_SHAPE, "int32 input needs a zero point of 0");
    }
    if ((rc = quant_params(g, n, x, sc, zp))) return rc;
    set_out(tpu_out(g, n, 0), sc->dtype, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}

static enum tpu_status want_q8(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *t,
                               const char *what)
{
    if (!t || is_q8(t->dtype)) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s has dtype %s, expected int8 or uint8", what,
                        tpu_dtype_name(t->dtype));
}

/* Per-row (of a) / per-column (of b) zero points and scales of integer matmuls. */
static enum tpu_status int_matmul_params(struct tpu_graph *g, struct tpu_node *n, int ia, int ib,
                                         const int *rows, const int *cols)
{
    const struct tpu_tensor *a = tpu_in(g, n, ia), *b = tpu_in(g, n, ib);
    int64_t m = a->n_dims >= 2 ? a->dims[a->n_dims - 2] : a->n_dims == 1 ? 1 : -1;
    int64_t nn = b->n_dims >= 2 ? b->dims[b->n_dims - 1] : b->n_dims == 1 ? 1 : -1;
    static const char *names[9] = { "a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point",
                                    "y_scale", "y_zero_point", "" };
    enum tpu_status rc = TPU_STATUS_OK;
    for (int i = 0; !rc && rows[i] >= 0; i++) rc = want_param(g, n, tpu_in(g, n, rows[i]), names[rows[i]], m);
    for (int i = 0; !rc && cols[i] >= 0; i++) rc = want_param(g, n, tpu_in(g, n, cols[i]), names[cols[i]], nn);
    return rc;
}

/* ONNX QLinearMatMul: a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp → y (dtype of y_zp). */
enum tpu_status shape_qlinear_matmul(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 8);
    if (rc) return rc;
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 3), *yzp = tpu_in(g, n, 7);
    if ((rc = want_q8(g, n, a, "a")) || (rc = want_q8(g, n, b, "b")) || (rc = want_q8(g, n, yzp, "y_zero_point")) ||
        (rc = want_same_dtype(g, n, a, tpu_in(g, n, 2), "a_zero_point")) ||
        (rc = want_same_dtype(g, n, b, tpu_in(g, n, 5), "b_zero_point")))
        return rc;
    if ((rc = want_float(g, n, tpu_in(g, n, 1), "a_scale")) || (rc = want_float(g, n, tpu_in(g, n, 4), "b_scale")) ||
        (rc = want_float(g, n, tpu_in(g, n, 6), "y_scale")))
        return rc;
    static const int rows[] = { 1, 2, -1 }, cols[] = { 4, 5, -1 };
    if ((rc = int_matmul_params(g, n, 0, 3, rows, cols))) return rc;
    if ((rc = want_param(g, n, tpu_in(g, n, 6), "y_scale", 1)) || (rc = want_param(g, n, yzp, "y_zero_point", 1)))
        return rc;
    return matmul_out(g, n, a, b, yzp->dtype);
}

/* ONNX MatMulInteger: A, B (int8/uint8), a_zero_point, b_zero_point → int32. */
enum tpu_status shape_matmul_integer(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 2);
    if (rc) return rc;
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1);
    if ((rc = want_q8(g, n, a, "A")) || (rc = want_q8(g, n, b, "B")) ||
        (rc = want_same_dtype(g, n, a, tpu_in(g, n, 2), "a_zero_point")) ||
        (rc = want_same_dtype(g, n, b, tpu_in(g, n, 3), "b_zero_point")))
        return rc;
    const struct tpu_tensor *azp = tpu_in(g, n, 2), *bzp = tpu_in(g, n, 3);
    int64_t m = a->n_dims >= 2 ? a->dims[a->n_dims - 2] : a->n_dims == 1 ? 1 : -1;
    int64_t nn = b->n_dims >= 2 ? b->dims[b->n_dims - 1] : b->n_dims == 1 ? 1 : -1;
    if ((rc = want_param(g, n, azp, "a_zero_point", m)) || (rc = want_param(g, n, bzp, "b_zero_point", nn)))
        return rc;
    return matmul_out(g, n, a, b, TPU_DTYPE_I32);
}

/* Integer convolution inputs: x, w int8/uint8, x_zp per tensor, w_zp / w_scale per output channel. */
static enum tpu_status int_conv_shape(struct tpu_graph *g, struct tpu_node *n, int ix, int ixzp, int iw,
                                      int iwzp, int iws, enum tpu_dtype out_dt, struct tpu_nn_window *win)
{
    const struct tpu_tensor *x = tpu_in(g, n, ix), *w = tpu_in(g, n, iw);
    enum tpu_status rc;
    if ((rc = want_q8(g, n, x, "x")) || (rc = want_q8(g, n, w, "w")) ||
        (rc = want_same_dtype(g, n, x, tpu_in(g, n, ixzp), "x_zero_point")) ||
        (rc = want_same_dtype(g, n, w, tpu_in(g, n, iwzp), "w_zero_point")) ||
        (rc = want_param(g, n, tpu_in(g, n, ixzp), "x_zero_point", 1)))
        return rc;
    if ((rc = window_out(g, n, x, w, TPU_NN_WIN_CONV, out_dt, win))) return rc;
    if ((rc = want_param(g, n, tpu_in(g, n, iwzp), "w_zero_point", win->m))) return rc;
    return iws >= 0 ? want_param(g, n, tpu_in(g, n, iws), "w_scale", win->m) : TPU_STATUS_OK;
}

/* ONNX ConvInteger: x, w, x_zero_point, w_zero_point → int32 y. */
enum tpu_status shape_conv_integer(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 2);
    if (rc) return rc;
    struct tpu_nn_window win;
    return int_conv_shape(g, n, 0, 2, 1, 3, -1, TPU_DTYPE_I32, &win);
}

/* ONNX QLinearConv: x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B (int32, M). */
enum tpu_status shape_qlinear_conv(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_inputs(g, n, 8);
    if (rc) return rc;
    const struct tpu_tensor *yzp = tpu_in(g, n, 7), *b = tpu_in(g, n, 8);
    if ((rc = want_q8(g, n, yzp, "y_zero_point")) || (rc = want_float(g, n, tpu_in(g, n, 1), "x_scale")) ||
        (rc = want_float(g, n, tpu_in(g, n, 4), "w_scale")) || (rc = want_float(g, n, tpu_in(g, n, 6), "y_scale")) ||
        (rc = want_param(g, n, tpu_in(g, n, 1), "x_scale", 1)) ||
        (rc = want_param(g, n, tpu_in(g, n, 6), "y_scale", 1)) || (rc = want_param(g, n, yzp, "y_zero_point", 1)))
        return rc;
    if (b && b->dtype != TPU_DTYPE_I32)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "B has dtype %s, expected int32", tpu_dtype_name(b->dtype));
    struct tpu_nn_window win;
    if ((rc = int_conv_shape(g, n, 0, 2, 3, 5, 4, yzp->dtype, &win))) return rc;
    return want_vec(g, n, b, "B", win.m);
}
