/*
** ref/ref_elem.c: reference kernels of the unary elementwise ops (one kernel,
** switch on the op) and of Clip.
**
** In:  a node shaped by ir/shape_elem.c whose output the executor allocated.
** Out: the output's values. float32 has its own loops for the ops resnet and
**      transformers use; other float types go through double, integer types
**      through int64 (exact), bool through 0/1.
*/
/* The float32 loops here rely on the Makefile's -fvect-cost-model=cheap:
** GCC 12's -O2 default ("very cheap") vectorises no loop with a remainder. */
#include "ir/ir.h"
#include "ref/ref_elem.h"
#include <math.h>
#include <string.h>

/* Attribute values of the parameterised activations, with ONNX's defaults. */
struct unary_params {
    double alpha, beta, gamma;
};

static struct unary_params unary_params_of(const struct tpu_node *n)
{
    struct unary_params p = { 0, 0, 0 };
    switch (n->op) {
    case TPU_OP_LEAKY_RELU:       p.alpha = tpu_attr_float(n, "alpha", 0.01f); break;
    case TPU_OP_HARD_SIGMOID:     p.alpha = tpu_attr_float(n, "alpha", 0.2f);
                                  p.beta = tpu_attr_float(n, "beta", 0.5f); break;
    case TPU_OP_HARD_SWISH:       p.alpha = 1.0 / 6; p.beta = 0.5; break;
    case TPU_OP_ELU: case TPU_OP_CELU: case TPU_OP_THRESHOLDED_RELU:
                                  p.alpha = tpu_attr_float(n, "alpha", 1.0f); break;
    case TPU_OP_SELU:             p.alpha = tpu_attr_float(n, "alpha", 1.67326319217681884765625f);
                                  p.gamma = tpu_attr_float(n, "gamma", 1.05070102214813232421875f);
                                  break;
    default: break;
    }
    return p;
}

/*---- The scalar definitions (ONNX operator spec formulas) ----*/
static double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }
static double clamp01(double x) { return x < 0 ? 0 : x > 1 ? 1 : x; }

static double sign_of(double x) { return x > 0 ? 1 : x < 0 ? -1 : x; }   /* keeps 0, -0, NaN */

/* y = f(x) in double for every float op (and Erf on integers). */
static double unary_f64(enum tpu_op op, double x, const struct unary_params *p)
{
    switch (op) {
    case TPU_OP_RELU:             return x < 0 ? 0 : x;
    case TPU_OP_LEAKY_RELU:       return x < 0 ? p->alpha * x : x;
    case TPU_OP_SIGMOID:          return 1 / (1 + exp(-x));
    case TPU_OP_HARD_SIGMOID:     return clamp01(p->alpha * x + p->beta);
    case TPU_OP_HARD_SWISH:       return x * clamp01(p->alpha * x + p->beta);
    case TPU_OP_TANH:             return tanh(x);
    case TPU_OP_ERF:              return erf(x);
    case TPU_OP_EXP:              return exp(x);
    case TPU_OP_LOG:              return log(x);
    case TPU_OP_SQRT:             return sqrt(x);
    case TPU_OP_NEG:              return -x;
    case TPU_OP_ABS:              return fabs(x);
    case TPU_OP_RECIPROCAL:       return 1 / x;
    case TPU_OP_SOFTPLUS:         return softplus(x);
    case TPU_OP_SOFTSIGN:         return x / (1 + fabs(x));
    case TPU_OP_ELU:              return x < 0 ? p->alpha * expm1(x) : x;
    case TPU_OP_SELU:             return x > 0 ? p->gamma * x : p->gamma * p->alpha * expm1(x);
    case TPU_OP_CELU:             return x > 0 ? x : p->alpha * expm1(x / p->alpha);
    case TPU_OP_THRESHOLDED_RELU: return x > p->alpha ? x : 0;
    case TPU_OP_FLOOR:            return floor(x);
    case TPU_OP_CEIL:             return ceil(x);
    case TPU_OP_ROUND:            return nearbyint(x);   /* default mode: half to even */
    case TPU_OP_SIGN:             return sign_of(x);
    case TPU_OP_SIN:              return sin(x);
    case TPU_OP_COS:              return cos(x);
    case TPU_OP_NOT:              return x == 0;
    default: TPU_ASSERT(!"unary op without a definition"); return 0;
    }
}

/* y = f(x) on integers (Relu, Neg, Abs, Sign; Not on bool). Wraps like C casts. */
static int64_t unary_i64(enum tpu_op op, int64_t x, bool is_unsigned)
{
    switch (op) {
    case TPU_OP_RELU: return is_unsigned || x > 0 ? x : 0;
    case TPU_OP_NEG:  return (int64_t)(0 - (uint64_t)x);
    case TPU_OP_ABS:  return is_unsigned || x >= 0 ? x : (int64_t)(0 - (uint64_t)x);
    case TPU_OP_SIGN: return is_unsigned ? x != 0 : (x > 0) - (x < 0);
    case TPU_OP_NOT:  return x == 0;
    default: TPU_ASSERT(!"integer unary op without a definition"); return 0;
    }
}

/*---- float32 fast loops ----*/

/* tanh for float32 through one double exp: (1 - e^-2|x|) / (1 + e^-2|x|).
** In double this rounds to the same float as tanh() itself (checked on 786k
** points in [-4, 4]) and takes about 60% of glibc tanhf's time. Below 1e-4,
** tanh(x) rounds to x. */
static inline float tanh_f32(float x)
{
    double a = fabs((double)x);
    if (a < 1e-4) return x;
    double t = exp(-2 * a);
    return (float)copysign((1 - t) / (1 + t), (double)x);
}

#define MAP_F32(expr) \
    do { for (int64_t i = 0; i < len; i++) { float x = in[i]; out[i] = (expr); } } while (0)

/* Returns false when op has no float32 loop of its own (the caller uses double). */
static bool unary_f32(enum tpu_op op, const float *in, float *out, int64_t len,  /* in may be out */
                      const struct unary_params *p)
{
    float alpha = (float)p->alpha, beta = (float)p->beta;
    switch (op) {
    case TPU_OP_RELU:         MAP_F32(x < 0 ? 0.0f : x); return true;
    case TPU_OP_LEAKY_RELU:   MAP_F32(x < 0 ? alpha * x : x); return true;
    case TPU_OP_SIGMOID:      MAP_F32((float)(1 / (1 + exp(-(double)x)))); return true;
    case TPU_OP_HARD_SIGMOID: MAP_F32(fminf(1.0f, fmaxf(0.0f, alpha * x + beta))); return true;
    case TPU_OP_HARD_SWISH:   MAP_F32(x * fminf(1.0f, fmaxf(0.0f, alpha * x + beta))); return true;
    case TPU_OP_TANH:         MAP_F32(tanh_f32(x)); return true;
    case TPU_OP_ERF:          MAP_F32((float)erf((double)x)); return true;   /* erff misrounds ~2% */
    case TPU_OP_EXP:          MAP_F32(expf(x)); return true;
    case TPU_OP_LOG:          MAP_F32(logf(x)); return true;
    case TPU_OP_SQRT:         MAP_F32(sqrtf(x)); return true;
    case TPU_OP_NEG:          MAP_F32(-x); return true;
    case TPU_OP_ABS:          MAP_F32(fabsf(x)); return true;
    case TPU_OP_RECIPROCAL:   MAP_F32(1.0f / x); return true;
    case TPU_OP_FLOOR:        MAP_F32(floorf(x)); return true;
    case TPU_OP_CEIL:         MAP_F32(ceilf(x)); return true;
    case TPU_OP_ROUND:        MAP_F32(nearbyintf(x)); return true;
    default: return false;
    }
}
#undef MAP_F32

/*---- Kernels ----*/

/* Checks that x and y have the same element count and values to work on. */
static enum tpu_status elem_io(struct tpu_graph *g, struct tpu_node *n,
                               struct tpu_tensor **x, struct tpu_tensor **y, int64_t *len)
{
    *x = tpu_in(g, n, 0);
    *y = tpu_out(g, n, 0);
    if (tpu_ir_omitted(*x) || !*y || !(*x)->data || !(*y)->data)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input or output values missing");
    *len = tpu_tensor_numel(*x);
    if (*len < 0 || *len != tpu_tensor_numel(*y))
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input and output sizes differ");
    return TPU_STATUS_OK;
}

enum tpu_status ref_unary(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    int64_t len;
    enum tpu_status rc = elem_io(g, n, &x, &y, &len);
    if (rc) return rc;
    struct unary_params p = unary_params_of(n);
    enum tpu_dtype dt = x->dtype;
    if (dt == TPU_DTYPE_F32 && y->dtype == dt && unary_f32(n->op, x->data, y->data, len, &p))
        return TPU_STATUS_OK;
    bool via_int = dt == TPU_DTYPE_BOOL || (tpu_dtype_is_int(dt) && n->op != TPU_OP_ERF);
    for (int64_t i = 0; i < len; i++) {
        if (via_int)
            tpu_set_i64(y->data, y->dtype, (size_t)i,
                        unary_i64(n->op, tpu_get_i64(x->data, dt, (size_t)i), dt == TPU_DTYPE_U64));
        else
            tpu_set_f64(y->data, y->dtype, (size_t)i,
                        unary_f64(n->op, tpu_get_f64(x->data, dt, (size_t)i), &p));
    }
    return TPU_STATUS_OK;
}

/*---- Clip ----*/

/* Clip bound from input `slot` (opset 11+; *bound = that one-element tensor,
** which may have another numeric dtype, e.g. float32 bounds the loader made
** from Clip-6 attributes on a float64 input) or attribute `name` (opset < 11;
** *attr, *has_attr). Neither: no bound. */
static enum tpu_status clip_bound(struct tpu_graph *g, struct tpu_node *n, int slot,
                                  const char *name, const struct tpu_tensor **bound,
                                  double *attr, bool *has_attr)
{
    const struct tpu_tensor *t = tpu_in(g, n, slot);
    *bound = NULL;
    *has_attr = false;
    if (!tpu_ir_omitted(t)) {
        if (!t->data || tpu_tensor_numel(t) != 1)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s '%s' must be a scalar with a value",
                                name, t->name);
        if (!tpu_dtype_is_float(t->dtype) && !tpu_dtype_is_int(t->dtype))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s '%s' is %s, expected a number", name,
                                t->name, tpu_dtype_name(t->dtype));
        *bound = t;
        return TPU_STATUS_OK;
    }
    const struct tpu_attr *a = tpu_attr_find(n, name);
    if (a && a->type == TPU_ATTR_FLOAT) { *attr = a->f; *has_attr = true; }
    return TPU_STATUS_OK;
}

static void clip_f32(const float *x, float *y, int64_t len, float lo, float hi)
{
    for (int64_t i = 0; i < len; i++) {
        float v = x[i] < lo ? lo : x[i];
        y[i] = v > hi ? hi : v;
    }
}

/* Integer Clip, exact in int64 (uint64 compared unsigned). */
static void clip_int(const struct tpu_tensor *x, struct tpu_tensor *y, int64_t len,
                     const struct tpu_tensor *lo_t, const struct tpu_tensor *hi_t)
{
    bool u = x->dtype == TPU_DTYPE_U64;
    uint64_t ulo = lo_t ? (uint64_t)tpu_get_i64(lo_t->data, lo_t->dtype, 0) : 0;
    uint64_t uhi = hi_t ? (uint64_t)tpu_get_i64(hi_t->data, hi_t->dtype, 0) : UINT64_MAX;
    int64_t lo = lo_t ? tpu_get_i64(lo_t->data, lo_t->dtype, 0) : INT64_MIN;
    int64_t hi = hi_t ? tpu_get_i64(hi_t->data, hi_t->dtype, 0) : INT64_MAX;
    for (int64_t i = 0; i < len; i++) {
        int64_t v = tpu_get_i64(x->data, x->dtype, (size_t)i);
        if (u) v = (int64_t)((uint64_t)v < ulo ? ulo : (uint64_t)v > uhi ? uhi : (uint64_t)v);
        else v = v < lo ? lo : v > hi ? hi : v;
        tpu_set_i64(y->data, y->dtype, (size_t)i, v);
    }
}

/* ONNX Clip: y = min(max(x, min), max); an omitted bound does not clip. When
** min > max every element becomes max (numpy.clip's order). NaN stays NaN. */
enum tpu_status ref_clip(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    const struct tpu_tensor *lo_t, *hi_t;
    double lo = -INFINITY, hi = INFINITY;
    bool has_lo, has_hi;
    int64_t len;
    enum tpu_status rc;
    if ((rc = elem_io(g, n, &x, &y, &len)) ||
        (rc = clip_bound(g, n, 1, "min", &lo_t, &lo, &has_lo)) ||
        (rc = clip_bound(g, n, 2, "max", &hi_t, &hi, &has_hi)))
        return rc;
    if (tpu_dtype_is_int(x->dtype)) {
        if (has_lo || has_hi)
            return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "min/max attributes on %s input",
                                tpu_dtype_name(x->dtype));
        clip_int(x, y, len, lo_t, hi_t);
        return TPU_STATUS_OK;
    }
    if (lo_t) lo = tpu_get_f64(lo_t->data, lo_t->dtype, 0);
    if (hi_t) hi = tpu_get_f64(hi_t->data, hi_t->dtype, 0);
    if (x->dtype == TPU_DTYPE_F32) {
        clip_f32(x->data, y->data, len, (float)lo, (float)hi);
        return TPU_STATUS_OK;
    }
    for (int64_t i = 0; i < len; i++) {
        double v = tpu_get_f64(x->data, x->dtype, (size_t)i);
        v = v < lo ? lo : v;
        tpu_set_f64(y->data, y->dtype, (size_t)i, v > hi ? hi : v);
    }
    return TPU_STATUS_OK;
}
