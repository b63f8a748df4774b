/*
** ref/ref_extra.c: reference kernels of the extra elementwise and small
** structured ops: Trilu, CumSum, Hardmax, OneHot, EyeLike, the extra unary
** ops (Tan, Asin, Acos, Atan, Sinh, Cosh, Asinh, Acosh, Atanh, Shrink, IsNaN,
** IsInf; one kernel, switch on op) and the extra broadcasting binary ops
** (Mod, BitShift).
**
** In:  a node shaped by ir/shape_extra.c (or ir/shape_elem.c's shape_unary /
**      shape_binary), inputs with values, outputs allocated and zeroed.
** Out: the outputs' values. Floats are computed in double and rounded once;
**      integers exactly (int64, wrapping as C casts do).
*/
#include "ref/ref_extra.h"
#include "ref/ref_tensor.h"
#include <math.h>
#include <string.h>

static enum tpu_status need_vals(const struct tpu_graph *g, const struct tpu_node *n,
                                 const struct tpu_tensor *t, int i)
{
    if (t && t->data) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input %d has no values", i);
}

/*---- Trilu, CumSum ----*/
/* ONNX Trilu: keeps (row r, col c) of the last two axes where c - r >= k
** (upper=1) or c - r <= k (upper=0); the rest is zero. */
enum tpu_status ref_trilu(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y, *kt = tpu_in(g, n, 1);
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    int64_t k = 0;
    if (kt && kt->name[0]) {
        if ((rc = need_vals(g, n, kt, 1))) return rc;
        if (tpu_tensor_numel(kt) == 1) k = tpu_get_i64(kt->data, kt->dtype, 0);
    }
    bool upper = tpu_attr_int(n, "upper", 1) != 0;
    int r = x->n_dims;
    int64_t R = x->dims[r - 2], C = x->dims[r - 1], batches = tpu_ref_prod(x->dims, 0, r - 2);
    size_t es = tpu_dtype_size(x->dtype);
    for (int64_t b = 0; b < batches; b++)
        for (int64_t i = 0; i < R; i++)
            for (int64_t j = 0; j < C; j++) {
                bool keep = upper ? j - i >= k : j - i <= k;
                size_t o = (size_t)((b * R + i) * C + j) * es;
                if (keep) memcpy((uint8_t *)y->data + o, (const uint8_t *)x->data + o, es);
            }
    return TPU_STATUS_OK;
}

/* ONNX CumSum along an axis (input 1), optionally exclusive and/or reversed. */
enum tpu_status ref_cumsum(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y, *at = tpu_in(g, n, 1);
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc || (rc = need_vals(g, n, at, 1))) return rc;
    int r = x->n_dims, axis = tpu_ir_axis(tpu_get_i64(at->data, at->dtype, 0), r);
    if (axis < 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                            (long long)tpu_get_i64(at->data, at->dtype, 0), r);
    bool excl = tpu_attr_int(n, "exclusive", 0) != 0, rev = tpu_attr_int(n, "reverse", 0) != 0;
    bool is_f = tpu_dtype_is_float(x->dtype);
    int64_t outer = tpu_ref_prod(x->dims, 0, axis), len = x->dims[axis];
    int64_t inner = tpu_ref_prod(x->dims, axis + 1, r);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double fs = 0;
            int64_t is = 0;
            for (int64_t s = 0; s < len; s++) {
                int64_t a = rev ? len - 1 - s : s;
                size_t e = (size_t)((o * len + a) * inner + i);
                if (excl) {
                    if (is_f) tpu_set_f64(y->data, y->dtype, e, fs);
                    else tpu_set_i64(y->data, y->dtype, e, is);
                }
                if (is_f) fs += tpu_get_f64(x->data, x->dtype, e);
                else is = (int64_t)((uint64_t)is + (uint64_t)tpu_get_i64(x->data, x->dtype, e));
                if (!excl) {
                    if (is_f) tpu_set_f64(y->data, y->dtype, e, fs);
                    else tpu_set_i64(y->data, y->dtype, e, is);
                }
            }
        }
    return TPU_STATUS_OK;
}

/*---- Hardmax, OneHot, EyeLike ----*/
/* ONNX Hardmax: 1 at the first maximum along axis (opset 13), or across the
** flattened dims [axis:] of each row (opsets 1-11), 0 elsewhere. */
enum tpu_status ref_hardmax(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    int r = x->n_dims;
    if (r == 0) {
        tpu_set_f64(y->data, y->dtype, 0, 1.0);
        return TPU_STATUS_OK;
    }
    bool old = n->opset < 13;
    int axis = tpu_ir_axis(tpu_attr_int(n, "axis", old ? 1 : -1), r);
    TPU_ASSERT(axis >= 0);
    int64_t outer = tpu_ref_prod(x->dims, 0, axis);
    int64_t len = old ? tpu_ref_prod(x->dims, axis, r) : x->dims[axis];
    int64_t inner = old ? 1 : tpu_ref_prod(x->dims, axis + 1, r);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t best = -1;
            double bv = 0;
            for (int64_t s = 0; s < len; s++) {
                double v = tpu_get_f64(x->data, x->dtype, (size_t)((o * len + s) * inner + i));
                if (best < 0 || v > bv) { best = s; bv = v; }
            }
            if (best >= 0) tpu_set_f64(y->data, y->dtype, (size_t)((o * len + best) * inner + i), 1.0);
        }
    return TPU_STATUS_OK;
}

/* ONNX OneHot: out[..., d, ...] = values[1] where d == index (negative indices
** count from depth), else values[0]; an out-of-range index gives a row of off. */
enum tpu_status ref_onehot(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *idx = tpu_in(g, n, 0), *vals = tpu_in(g, n, 2), *y = tpu_out(g, n, 0);
    enum tpu_status rc;
    if ((rc = need_vals(g, n, idx, 0)) || (rc = need_vals(g, n, vals, 2))) return rc;
    if (!y || !y->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    int q = idx->n_dims, axis = tpu_ir_axis(tpu_attr_int(n, "axis", -1), q + 1);
    TPU_ASSERT(axis >= 0);
    int64_t depth = y->dims[axis], outer = tpu_ref_prod(idx->dims, 0, axis);
    int64_t inner = tpu_ref_prod(idx->dims, axis, q);
    size_t es = tpu_dtype_size(y->dtype);
    const uint8_t *off = vals->data, *on = off + es;
    tpu_ref_fill(y->data, off, es, tpu_tensor_numel(y));
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t v = tpu_get_i64(idx->data, idx->dtype, (size_t)(o * inner + i));
            if (v < 0) v += depth;
            if (v < 0 || v >= depth) continue;
            memcpy((uint8_t *)y->data + (size_t)((o * depth + v) * inner + i) * es, on, es);
        }
    return TPU_STATUS_OK;
}

/* ONNX EyeLike: ones on the k-th diagonal, zeros elsewhere. */
enum tpu_status ref_eyelike(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *y = tpu_out(g, n, 0);
    if (!y || !y->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    int64_t k = tpu_attr_int(n, "k", 0), R = y->dims[0], C = y->dims[1];
    for (int64_t i = 0; i < R; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < C) tpu_set_i64(y->data, y->dtype, (size_t)(i * C + j), 1);
    }
    return TPU_STATUS_OK;
}

/*---- Extra unary ops ----*/
static double unary_f(enum tpu_op op, double x, double lambd, double bias)
{
    switch (op) {
    case TPU_OP_TAN:   return tan(x);
    case TPU_OP_ASIN:  return asin(x);
    case TPU_OP_ACOS:  return acos(x);
    case TPU_OP_ATAN:  return atan(x);
    case TPU_OP_SINH:  return sinh(x);
    case TPU_OP_COSH:  return cosh(x);
    case TPU_OP_ASINH: return asinh(x);
    case TPU_OP_ACOSH: return acosh(x);
    case TPU_OP_ATANH: return atanh(x);
    case TPU_OP_SHRINK: return x < -lambd ? x + bias : x > lambd ? x - bias : 0.0;
    default: TPU_ASSERT(!"not an extra unary op"); return 0;
    }
}

enum tpu_status ref_extra_unary(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    int64_t cnt = tpu_tensor_numel(x);
    if (n->op == TPU_OP_IS_NAN || n->op == TPU_OP_IS_INF) {
        bool pos = tpu_attr_int(n, "detect_positive", 1) != 0;
        bool neg = tpu_attr_int(n, "detect_negative", 1) != 0;
        uint8_t *o = y->data;
        for (int64_t i = 0; i < cnt; i++) {
            double v = tpu_get_f64(x->data, x->dtype, (size_t)i);
            o[i] = n->op == TPU_OP_IS_NAN ? isnan(v) != 0 : isinf(v) && (v > 0 ? pos : neg);
        }
        return TPU_STATUS_OK;
    }
    double lambd = tpu_attr_float(n, "lambd", 0.5f), bias = tpu_attr_float(n, "bias", 0.0f);
    if (x->dtype == TPU_DTYPE_F32) {
        const float *a = x->data;
        float *o = y->data;
        for (int64_t i = 0; i < cnt; i++) o[i] = (float)unary_f(n->op, a[i], lambd, bias);
        return TPU_STATUS_OK;
    }
    for (int64_t i = 0; i < cnt; i++)
        tpu_set_f64(y->data, y->dtype, (size_t)i,
                    unary_f(n->op, tpu_get_f64(x->data, x->dtype, (size_t)i), lambd, bias));
    return TPU_STATUS_OK;
}

/*---- Extra binary ops (numpy broadcasting): Mod, BitShift ----*/
/* Row-major strides of t aligned right against rank r, 0 on broadcast dims. */
static void bcast_strides(const struct tpu_tensor *t, int r, const int64_t *od, int64_t *st)
{
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
        int td = d - (r - t->n_dims);
        if (td < 0) { st[d] = 0; continue; }
        st[d] = t->dims[td] == 1 && od[d] != 1 ? 0 : s;
        s *= t->dims[td];
    }
}

static int64_t mod_int(int64_t a, int64_t b, bool fmod_c, bool is_unsigned)
{
    if (b == 0) return 0;                   /* undefined in ONNX; numpy gives 0 */
    if (is_unsigned) return (int64_t)((uint64_t)a % (uint64_t)b);
    if (b == -1) return 0;                  /* avoids INT64_MIN % -1 */
    int64_t m = a % b;                      /* sign of the dividend (C fmod) */
    if (!fmod_c && m != 0 && ((m < 0) != (b < 0))) m += b;   /* sign of the divisor */
    return m;
}

static double mod_float(double a, double b, bool fmod_c)
{
    double m = fmod(a, b);
    if (!fmod_c && m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

static uint64_t shift_u(uint64_t a, uint64_t s, bool left, int bits)
{
    if (s >= (uint64_t)bits) return 0;
    uint64_t r = left ? a << s : a >> s;
    return bits == 64 ? r : r & ((UINT64_C(1) << bits) - 1);
}

enum tpu_status ref_extra_binary(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1), *y = tpu_out(g, n, 0);
    enum tpu_status rc;
    if ((rc = need_vals(g, n, a, 0)) || (rc = need_vals(g, n, b, 1))) return rc;
    if (!y || !y->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    int r = y->n_dims;
    int64_t sa[TPU_MAX_DIMS], sb[TPU_MAX_DIMS], c[TPU_MAX_DIMS] = { 0 }, ia = 0, ib = 0;
    bcast_strides(a, r, y->dims, sa);
    bcast_strides(b, r, y->dims, sb);
    enum tpu_dtype dt = y->dtype;
    bool is_f = tpu_dtype_is_float(dt), fmod_c = tpu_attr_int(n, "fmod", 0) != 0;
    bool is_u = dt == TPU_DTYPE_U8 || dt == TPU_DTYPE_U16 || dt == TPU_DTYPE_U32 || dt == TPU_DTYPE_U64;
    bool left = !strcmp(tpu_attr_str(n, "direction", ""), "LEFT");
    int bits = (int)tpu_dtype_size(dt) * 8;
    int64_t cnt = tpu_tensor_numel(y);
    for (int64_t i = 0; i < cnt; i++) {
        if (n->op == TPU_OP_MOD && is_f) {
            tpu_set_f64(y->data, dt, (size_t)i, mod_float(tpu_get_f64(a->data, dt, (size_t)ia),
                                                          tpu_get_f64(b->data, dt, (size_t)ib), fmod_c));
        } else {
            int64_t va = tpu_get_i64(a->data, dt, (size_t)ia), vb = tpu_get_i64(b->data, dt, (size_t)ib);
            int64_t v = n->op == TPU_OP_MOD ? mod_int(va, vb, fmod_c, is_u)
                                            : (int64_t)shift_u((uint64_t)va, (uint64_t)vb, left, bits);
            tpu_set_i64(y->data, dt, (size_t)i, v);
        }
        for (int d = r - 1; d >= 0; d--) {          /* next output position */
            ia += sa[d];
            ib += sb[d];
            if (++c[d] < y->dims[d]) break;
            ia -= sa[d] * c[d];
            ib -= sb[d] * c[d];
            c[d] = 0;
        }
    }
    return TPU_STATUS_OK;
}
