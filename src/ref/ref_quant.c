/*
** ref/ref_quant.c: reference kernels of the quantised ops — QuantizeLinear,
** DequantizeLinear, QLinearMatMul, QLinearConv, MatMulInteger, ConvInteger.
**
** In:  a node whose shape function (ir/shape_nn.c) has run, outputs allocated.
** Out: the outputs' values. Integer products accumulate exactly in float64
**      (|acc| < 2^53) through the float64 matmul / conv cores; requantisation
**      is y = saturate(round_half_even(acc * scale) + zero_point) in float32,
**      as ONNX Runtime does.
*/
#include "ref/ref.h"
#include "ref/ref_nn.h"
#include <math.h>

/*---- Helpers (also the chip's QLinear lowering, compile/qlinear.c) ----*/
double tpu_quant_param(const struct tpu_tensor *t, int64_t channel)
{
    if (!t) return 0;
    return tpu_get_f64(t->data, t->dtype, (size_t)(tpu_tensor_numel(t) == 1 ? 0 : channel));
}

void tpu_quant_store(struct tpu_tensor *y, size_t i, float v, double zp)
{
    double q = (double)rintf(v) + zp, lo = 0, hi = 255;
    if (y->dtype == TPU_DTYPE_I8) { lo = -128; hi = 127; }
    else if (y->dtype == TPU_DTYPE_U16) hi = 65535;
    else if (y->dtype == TPU_DTYPE_I16) { lo = -32768; hi = 32767; }
    else if (y->dtype == TPU_DTYPE_I32) { lo = -2147483648.0; hi = 2147483647.0; }
    if (isnan(q)) q = 0;
    tpu_set_f64(y->data, y->dtype, i, q < lo ? lo : q > hi ? hi : q);
}

void tpu_quant_requant(struct tpu_tensor *y, size_t i, double acc, double a_scale, double b_scale,
                       const struct tpu_tensor *y_scale, const struct tpu_tensor *y_zero_point)
{
    float mult = (float)a_scale * (float)b_scale / (float)tpu_quant_param(y_scale, 0);
    tpu_quant_store(y, i, (float)acc * mult, tpu_quant_param(y_zero_point, 0));
}

/* Channel of flat element i for per-axis parameters along `axis`. */
static int64_t axis_channel(const struct tpu_tensor *x, int axis, int64_t i)
{
    int64_t inner = 1;
    for (int k = axis + 1; k < x->n_dims; k++) inner *= x->dims[k];
    return (i / inner) % x->dims[axis];
}

static int norm_axis(const struct tpu_node *n, const struct tpu_tensor *x)
{
    int axis = (int)tpu_attr_int(n, "axis", 1);
    return axis < 0 ? axis + x->n_dims : axis;
}

/*---- QuantizeLinear / DequantizeLinear ----*/
/* ONNX QuantizeLinear: y = saturate(round(x / y_scale) + y_zero_point). */
enum tpu_status ref_quantize(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0), *sc = tpu_in(g, n, 1), *zp = tpu_in(g, n, 2);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    bool per_axis = tpu_tensor_numel(sc) > 1;
    int axis = norm_axis(n, x);
    for (int64_t i = 0, len = tpu_tensor_numel(x); i < len; i++) {
        int64_t ch = per_axis ? axis_channel(x, axis, i) : 0;
        float v = (float)tpu_get_f64(x->data, x->dtype, (size_t)i) / (float)tpu_quant_param(sc, ch);
        tpu_quant_store(y, (size_t)i, v, tpu_quant_param(zp, ch));
    }
    return TPU_STATUS_OK;
}

/* ONNX DequantizeLinear: y = (x - x_zero_point) * x_scale. */
enum tpu_status ref_dequantize(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0), *sc = tpu_in(g, n, 1), *zp = tpu_in(g, n, 2);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    bool per_axis = tpu_tensor_numel(sc) > 1;
    int axis = norm_axis(n, x);
    for (int64_t i = 0, len = tpu_tensor_numel(x); i < len; i++) {
        int64_t ch = per_axis ? axis_channel(x, axis, i) : 0;
        double q = tpu_get_f64(x->data, x->dtype, (size_t)i) - tpu_quant_param(zp, ch);
        tpu_set_f64(y->data, y->dtype, (size_t)i, (float)q * (float)tpu_quant_param(sc, ch));
    }
    return TPU_STATUS_OK;
}

/*---- Integer matrix products ----*/
/* (a - a_zp[row]) and (b - b_zp[col]) as float64 (zero points per tensor,
** per row of a or per column of b), their product into *acc (caller frees). */
static enum tpu_status int_matmul(struct tpu_graph *g, struct tpu_node *n, int ia, int iazp, int ib,
                                  int ibzp, struct tpu_nn_matmul_dims *d, double **acc)
{
    const struct tpu_tensor *a = tpu_in(g, n, ia), *b = tpu_in(g, n, ib);
    const struct tpu_tensor *azp = tpu_in(g, n, iazp), *bzp = tpu_in(g, n, ibzp);
    const char *why;
    if (tpu_nn_matmul_dims(a, b, d, &why)) return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s", why);
    int64_t n_out = tpu_tensor_numel(tpu_out(g, n, 0));
    double *da = tpu_nn_to_f64(g->ctx, a), *db = tpu_nn_to_f64(g->ctx, b);
    *acc = tpu_malloc(g->ctx, (size_t)(n_out + 1) * sizeof **acc);
    if (!da || !db || !*acc) {
        free(da); free(db); free(*acc);
        return TPU_ERR_NOMEM;
    }
    for (int64_t i = 0, len = tpu_tensor_numel(a); i < len; i++) da[i] -= tpu_quant_param(azp, (i / d->k) % d->m);
    for (int64_t i = 0, len = tpu_tensor_numel(b); i < len; i++) db[i] -= tpu_quant_param(bzp, i % d->n);
    tpu_nn_matmul_f64(d, a, b, da, db, *acc);
    free(da);
    free(db);
    return TPU_STATUS_OK;
}

/* ONNX MatMulInteger: int32 Y = (A - a_zero_point) x (B - b_zero_point). */
enum tpu_status ref_matmul_integer(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_matmul_dims d;
    double *acc;
    enum tpu_status rc = int_matmul(g, n, 0, 2, 1, 3, &d, &acc);
    if (rc) return rc;
    tpu_nn_from_f64(tpu_out(g, n, 0), acc, tpu_tensor_numel(tpu_out(g, n, 0)));
    free(acc);
    return TPU_STATUS_OK;
}

/* ONNX QLinearMatMul: inputs a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp. */
enum tpu_status ref_qlinear_matmul(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_matmul_dims d;
    double *acc;
    enum tpu_status rc = int_matmul(g, n, 0, 2, 3, 5, &d, &acc);
    if (rc) return rc;
    const struct tpu_tensor *as = tpu_in(g, n, 1), *bs = tpu_in(g, n, 4), *ys = tpu_in(g, n, 6);
    const struct tpu_tensor *yzp = tpu_in(g, n, 7);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    for (int64_t i = 0, len = tpu_tensor_numel(y); i < len; i++) {
        int64_t row = (i / d.n) % d.m, col = i % d.n;
        tpu_quant_requant(y, (size_t)i, acc[i], tpu_quant_param(as, row), tpu_quant_param(bs, col), ys, yzp);
    }
    free(acc);
    return TPU_STATUS_OK;
}

/*---- Integer convolutions ----*/
/* acc = conv(x - x_zp, w - w_zp[m]) + bias, all float64 (exact). */
static enum tpu_status int_conv(struct tpu_graph *g, struct tpu_node *n, int ix, int ixzp, int iw,
                                int iwzp, int ib, struct tpu_nn_window *win, double **acc)
{
    const struct tpu_tensor *x = tpu_in(g, n, ix), *w = tpu_in(g, n, iw), *b = tpu_in(g, n, ib);
    const struct tpu_tensor *xzp = tpu_in(g, n, ixzp), *wzp = tpu_in(g, n, iwzp);
    enum tpu_status rc = tpu_nn_window(g, n, x, w, TPU_NN_WIN_CONV, win);
    if (rc) return rc;
    int64_t n_out = tpu_tensor_numel(tpu_out(g, n, 0)), per_m = tpu_tensor_numel(w) / (win->m ? win->m : 1);
    double *dx = tpu_nn_to_f64(g->ctx, x), *dw = tpu_nn_to_f64(g->ctx, w), *db = tpu_nn_to_f64(g->ctx, b);
    *acc = tpu_malloc(g->ctx, (size_t)(n_out + 1) * sizeof **acc);
    if (dx && dw && *acc && (db || !b)) {
        for (int64_t i = 0, len = tpu_tensor_numel(x); i < len; i++) dx[i] -= tpu_quant_param(xzp, 0);
        for (int64_t i = 0, len = tpu_tensor_numel(w); i < len; i++) dw[i] -= tpu_quant_param(wzp, i / per_m);
        rc = tpu_nn_conv_f64(g->ctx, win, dx, dw, db, *acc);
    } else rc = TPU_ERR_NOMEM;
    free(dx);
    free(dw);
    free(db);
    if (rc) { free(*acc); *acc = NULL; }
    return rc;
}

/* ONNX ConvInteger: int32 y = conv(x - x_zero_point, w - w_zero_point). */
enum tpu_status ref_conv_integer(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_window win;
    double *acc;
    enum tpu_status rc = int_conv(g, n, 0, 2, 1, 3, -1, &win, &acc);
    if (rc) return rc;
    tpu_nn_from_f64(tpu_out(g, n, 0), acc, tpu_tensor_numel(tpu_out(g, n, 0)));
    free(acc);
    return TPU_STATUS_OK;
}

/* ONNX QLinearConv: inputs x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B (int32). */
enum tpu_status ref_qlinear_conv(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_window win;
    double *acc;
    enum tpu_status rc = int_conv(g, n, 0, 2, 3, 5, 8, &win, &acc);
    if (rc) return rc;
    const struct tpu_tensor *xs = tpu_in(g, n, 1), *ws = tpu_in(g, n, 4), *ys = tpu_in(g, n, 6);
    const struct tpu_tensor *yzp = tpu_in(g, n, 7);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    int64_t out_sp = tpu_nn_window_out(&win);
    for (int64_t i = 0, len = tpu_tensor_numel(y); i < len; i++) {
        int64_t m = (i / out_sp) % win.m;
        tpu_quant_requant(y, (size_t)i, acc[i], tpu_quant_param(xs, 0), tpu_quant_param(ws, m), ys, yzp);
    }
    free(acc);
    return TPU_STATUS_OK;
}
