/*
** ref/ref_reduce.c: reference kernels of the reductions: Reduce{Mean,Sum,Max,
** Min,Prod,L1,L2,SumSquare,LogSum,LogSumExp}, ArgMax/ArgMin and TopK.
**
** In:  a node shaped by ir/shape_elem.c (axes read by tpu_ir_reduce_axes), its
**      output(s) allocated by the executor.
** Out: the outputs' values.
** How: the input's axes split into kept and reduced lists (neighbours merged
**      when contiguous); each output element walks the reduced sub-space.
**      Floats accumulate in double; integer Sum/Prod/Max/Min/L1/SumSquare are
**      exact in int64 (wrapping like the C type), the rest go through double.
*/
#include "ir/ir.h"
#include "ref/ref_elem.h"
#include <math.h>
#include <string.h>

/*---- Axis lists ----*/
struct axis_list {
    int     n;                      /* >= 1 (a single 1-long axis when empty) */
    int64_t dims[TPU_MAX_DIMS];
    int64_t strides[TPU_MAX_DIMS];  /* elements of the input                  */
};

static void axis_push(struct axis_list *l, int64_t dim, int64_t stride)
{
    if (dim == 1) return;
    if (l->n > 0 && l->strides[l->n - 1] == stride * dim) {
        l->dims[l->n - 1] *= dim;
        l->strides[l->n - 1] = stride;
        return;
    }
    l->dims[l->n] = dim;
    l->strides[l->n++] = stride;
}

/* Splits x's axes by mask into kept (in output order) and reduced lists. */
static void split_axes(const struct tpu_tensor *x, const bool *mask,
                       struct axis_list *kept, struct axis_list *red)
{
    int64_t strides[TPU_MAX_DIMS], s = 1;
    for (int d = x->n_dims - 1; d >= 0; d--) { strides[d] = s; s *= x->dims[d]; }
    kept->n = red->n = 0;
    for (int d = 0; d < x->n_dims; d++) axis_push(mask[d] ? red : kept, x->dims[d], strides[d]);
    if (kept->n == 0) { kept->n = 1; kept->dims[0] = 1; kept->strides[0] = 0; }
    if (red->n == 0) { red->n = 1; red->dims[0] = 1; red->strides[0] = 0; }
}

/* Advances an odometer over l's axes [0, n_outer); false when it wraps. */
static bool odo_next(const struct axis_list *l, int n_outer, int64_t *idx, int64_t *off)
{
    for (int d = n_outer - 1; d >= 0; d--) {
        *off += l->strides[d];
        if (++idx[d] < l->dims[d]) return true;
        *off -= l->strides[d] * l->dims[d];
        idx[d] = 0;
    }
    return false;
}

static int64_t list_numel(const struct axis_list *l)
{
    int64_t k = 1;
    for (int d = 0; d < l->n; d++) k *= l->dims[d];
    return k;
}

/*---- Accumulation ----*/
enum red_kind { RED_SUM, RED_SUM_ABS, RED_SUM_SQ, RED_SUM_EXP, RED_PROD, RED_MAX, RED_MIN };

struct racc {
    enum red_kind kind;
    bool     via_int, is_unsigned;
    double   f, shift;      /* float accumulator; shift for RED_SUM_EXP */
    int64_t  i;             /* integer accumulator                      */
};

static void racc_start(struct racc *a)
{
    a->f = a->kind == RED_PROD ? 1 : a->kind == RED_MAX ? -INFINITY
         : a->kind == RED_MIN ? INFINITY : 0;
    a->i = a->kind == RED_PROD;
}

static void racc_add_f(struct racc *a, double x)
{
    switch (a->kind) {
    case RED_SUM:     a->f += x; break;
    case RED_SUM_ABS: a->f += fabs(x); break;
    case RED_SUM_SQ:  a->f += x * x; break;
    case RED_SUM_EXP: a->f += exp(x - a->shift); break;
    case RED_PROD:    a->f *= x; break;
    case RED_MAX:     if (x > a->f || isnan(x)) a->f = isnan(a->f) ? a->f : x; break;
    case RED_MIN:     if (x < a->f || isnan(x)) a->f = isnan(a->f) ? a->f : x; break;
    }
}

/* Integer accumulation; the first element seeds Max/Min (idx 0). */
static void racc_add_i(struct racc *a, int64_t x, bool first)
{
    uint64_t u = (uint64_t)x;
    bool lt = a->is_unsigned ? u < (uint64_t)a->i : x < a->i;
    bool gt = a->is_unsigned ? u > (uint64_t)a->i : x > a->i;
    switch (a->kind) {
    case RED_SUM:     a->i = (int64_t)((uint64_t)a->i + u); break;
    case RED_SUM_ABS: a->i = (int64_t)((uint64_t)a->i + (x < 0 && !a->is_unsigned ? 0 - u : u)); break;
    case RED_SUM_SQ:  a->i = (int64_t)((uint64_t)a->i + u * u); break;
    case RED_PROD:    a->i = (int64_t)((uint64_t)a->i * u); break;
    case RED_MAX:     if (first || gt) a->i = x; break;
    case RED_MIN:     if (first || lt) a->i = x; break;
    case RED_SUM_EXP: TPU_ASSERT(!"exp in integer mode"); break;
    }
}

/* float32 Sum / SumSquare of one row: four double partial sums (a fixed
** order, so still deterministic), which keeps the adds from serialising. */
static double row_sum_f32(const float *p, int64_t len, int64_t st, bool square)
{
    double s[4] = { 0, 0, 0, 0 };
    int64_t j = 0;
    for (; j + 4 <= len; j += 4)
        for (int k = 0; k < 4; k++) {
            double v = p[(j + k) * st];
            s[k] += square ? v * v : v;
        }
    for (; j < len; j++) {
        double v = p[j * st];
        s[0] += square ? v * v : v;
    }
    return (s[0] + s[1]) + (s[2] + s[3]);
}

/* Accumulates one row of len elements (stride st) from element off. */
static void racc_row(struct racc *a, const struct tpu_tensor *x, int64_t off, int64_t len,
                     int64_t st, bool *first)
{
    if (x->dtype == TPU_DTYPE_F32 && (a->kind == RED_SUM || a->kind == RED_SUM_SQ)) {
        a->f += row_sum_f32((const float *)x->data + off, len, st, a->kind == RED_SUM_SQ);
        return;
    }
    const float *xf = x->dtype == TPU_DTYPE_F32 ? x->data : NULL;
    for (int64_t j = 0; j < len; j++, *first = false) {
        size_t e = (size_t)(off + j * st);
        if (a->via_int) racc_add_i(a, tpu_get_i64(x->data, x->dtype, e), *first);
        else racc_add_f(a, xf ? xf[e] : tpu_get_f64(x->data, x->dtype, e));
    }
}

/* Accumulates the reduced sub-space of x starting at element `base`. */
static void racc_run(struct racc *a, const struct tpu_tensor *x, const struct axis_list *red,
                     int64_t base)
{
    int64_t idx[TPU_MAX_DIMS] = { 0 }, off = base;
    int last = red->n - 1;
    bool first = true;
    racc_start(a);
    do {
        racc_row(a, x, off, red->dims[last], red->strides[last], &first);
    } while (odo_next(red, last, idx, &off));
}

/*---- Reduce* ----*/
static enum red_kind red_kind_of(enum tpu_op op)
{
    switch (op) {
    case TPU_OP_REDUCE_MAX:         return RED_MAX;
    case TPU_OP_REDUCE_MIN:         return RED_MIN;
    case TPU_OP_REDUCE_PROD:        return RED_PROD;
    case TPU_OP_REDUCE_L1:          return RED_SUM_ABS;
    case TPU_OP_REDUCE_L2: case TPU_OP_REDUCE_SUM_SQUARE: return RED_SUM_SQ;
    case TPU_OP_REDUCE_LOG_SUM_EXP: return RED_SUM_EXP;
    default:                        return RED_SUM;   /* Sum, Mean, LogSum */
    }
}

/* Smallest / largest value of an integer dtype (for empty Max / Min). */
static int64_t int_limit(enum tpu_dtype dt, bool want_max)
{
    int bits = (int)tpu_dtype_size(dt) * 8;
    bool is_signed = dt == TPU_DTYPE_I8 || dt == TPU_DTYPE_I16 || dt == TPU_DTYPE_I32 ||
                     dt == TPU_DTYPE_I64;
    if (!is_signed) return want_max ? (int64_t)(bits == 64 ? UINT64_MAX : (1ULL << bits) - 1) : 0;
    int64_t mx = bits == 64 ? INT64_MAX : (int64_t)((1ULL << (bits - 1)) - 1);
    return want_max ? mx : -mx - 1;
}

/* One output value of a reduction over `count` elements starting at base. */
static void reduce_one(enum tpu_op op, const struct tpu_tensor *x, const struct axis_list *red,
                       int64_t base, int64_t count, struct tpu_tensor *y, size_t iy)
{
    struct racc a = { red_kind_of(op), false, x->dtype == TPU_DTYPE_U64, 0, 0, 0 };
    bool int_in = tpu_dtype_is_int(x->dtype);
    a.via_int = int_in && (op == TPU_OP_REDUCE_SUM || op == TPU_OP_REDUCE_PROD ||
                           op == TPU_OP_REDUCE_MAX || op == TPU_OP_REDUCE_MIN ||
                           op == TPU_OP_REDUCE_L1 || op == TPU_OP_REDUCE_SUM_SQUARE);
    if (count == 0 && int_in && (a.kind == RED_MAX || a.kind == RED_MIN)) {
        tpu_set_i64(y->data, y->dtype, iy, int_limit(x->dtype, a.kind == RED_MIN));
        return;
    }
    if (op == TPU_OP_REDUCE_LOG_SUM_EXP && count > 0) {   /* log(sum(exp(x - m))) + m */
        struct racc m = { RED_MAX, false, false, 0, 0, 0 };
        racc_run(&m, x, red, base);
        a.shift = isfinite(m.f) ? m.f : 0;
        if (!isfinite(m.f)) { tpu_set_f64(y->data, y->dtype, iy, m.f); return; }
    }
    if (count > 0) racc_run(&a, x, red, base);
    else racc_start(&a);
    if (a.via_int) { tpu_set_i64(y->data, y->dtype, iy, a.i); return; }
    double v = a.f;
    switch (op) {
    case TPU_OP_REDUCE_MEAN:        v = v / (double)count; break;
    case TPU_OP_REDUCE_L2:          v = sqrt(v); break;
    case TPU_OP_REDUCE_LOG_SUM:     v = log(v); break;
    case TPU_OP_REDUCE_LOG_SUM_EXP: v = count ? log(v) + a.shift : -INFINITY; break;
    default: break;
    }
    tpu_set_f64(y->data, y->dtype, iy, v);
}

/* Copies x's values into y (noop_with_empty_axes=1 with no axes: identity). */
static enum tpu_status copy_values(struct tpu_graph *g, struct tpu_node *n,
                                   const struct tpu_tensor *x, struct tpu_tensor *y)
{
    size_t nx, ny;
    if (tpu_tensor_nbytes(g->ctx, x, &nx) || tpu_tensor_nbytes(g->ctx, y, &ny) || nx != ny ||
        x->dtype != y->dtype)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "identity reduction with differing output");
    if (nx) memcpy(y->data, x->data, nx);
    return TPU_STATUS_OK;
}

/* ONNX Reduce*: see the spec's formulas; reductions over an empty set give the
** identities (Sum/L1/L2/SumSquare 0, Prod 1, Max -inf or the type's minimum,
** Min +inf or the type's maximum, LogSum/LogSumExp -inf, Mean NaN). */
enum tpu_status ref_reduce(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x = tpu_in(g, n, 0), *y = tpu_out(g, n, 0);
    if (tpu_ir_omitted(x) || !y || !x->data || !y->data || !tpu_tensor_shape_known(x))
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input or output values missing");
    bool mask[TPU_MAX_DIMS], noop, known;
    enum tpu_status rc = tpu_ir_reduce_axes(g, n, x->n_dims, mask, &noop, &known);
    if (rc) return rc;
    if (!known) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "axes have no values");
    if (noop) return copy_values(g, n, x, y);
    struct axis_list kept, red;
    split_axes(x, mask, &kept, &red);
    int64_t count = 1, n_out = tpu_tensor_numel(y);
    for (int d = 0; d < x->n_dims; d++) if (mask[d]) count *= x->dims[d];
    if (n_out != list_numel(&kept) && !(n_out == 0 && tpu_tensor_numel(x) == 0))
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output size does not match the axes");
    if (n_out == 0) return TPU_STATUS_OK;
    int64_t idx[TPU_MAX_DIMS] = { 0 }, off = 0;
    size_t iy = 0;
    do {   /* the kept axes in order give the output's row-major order */
        reduce_one(n->op, x, &red, off, count, y, iy++);
    } while (odo_next(&kept, kept.n, idx, &off));
    return TPU_STATUS_OK;
}

/*---- ArgMax / ArgMin ----*/

/* Is v a better pick than best? NaN wins (numpy), ties go to the first index
** unless `last`. */
static bool arg_better_f(double v, double best, bool want_max, bool last)
{
    if (isnan(best)) return last && isnan(v);
    if (isnan(v)) return true;
    return want_max ? v > best || (last && v == best) : v < best || (last && v == best);
}

static bool arg_better_i(int64_t v, int64_t best, bool u, bool want_max, bool last)
{
    if (v == best) return last;
    bool gt = u ? (uint64_t)v > (uint64_t)best : v > best;
    return want_max ? gt : !gt;
}

/* Splits x around `axis` into outer x A x inner. */
static void split_around(const struct tpu_tensor *x, int axis, int64_t *outer, int64_t *a,
                         int64_t *inner)
{
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= x->dims[d];
    for (int d = axis + 1; d < x->n_dims; d++) *inner *= x->dims[d];
    *a = x->dims[axis];
}

static enum tpu_status kernel_axis(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *x,
                                   int64_t def, int *axis)
{
    int64_t v = tpu_attr_int(n, "axis", def);
    int r = x->n_dims;
    if (r < 0 || v < -r || v >= r)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                            (long long)v, r);
    *axis = (int)(v < 0 ? v + r : v);
    return TPU_STATUS_OK;
}

/* ONNX ArgMax/ArgMin-13: int64 indices along axis; select_last_index picks
** the last of equal values. */
enum tpu_status ref_arg(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x = tpu_in(g, n, 0), *y = tpu_out(g, n, 0);
    int axis;
    if (tpu_ir_omitted(x) || !y || !x->data || !y->data || y->dtype != TPU_DTYPE_I64)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input or output values missing");
    enum tpu_status rc = kernel_axis(g, n, x, 0, &axis);
    if (rc) return rc;
    int64_t outer, len, inner;
    split_around(x, axis, &outer, &len, &inner);
    if (len == 0 && outer * inner > 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %d of '%s' is empty", axis, x->name);
    bool want_max = n->op == TPU_OP_ARG_MAX, last = tpu_attr_int(n, "select_last_index", 0) != 0;
    bool via_int = !tpu_dtype_is_float(x->dtype), u = x->dtype == TPU_DTYPE_U64;
    int64_t *out = y->data;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t i = 0; i < inner; i++) {
            size_t base = (size_t)(o * len * inner + i);
            int64_t best = 0;
            for (int64_t k = 1; k < len; k++) {
                size_t e = base + (size_t)(k * inner), eb = base + (size_t)(best * inner);
                bool better = via_int
                    ? arg_better_i(tpu_get_i64(x->data, x->dtype, e),
                                   tpu_get_i64(x->data, x->dtype, eb), u, want_max, last)
                    : arg_better_f(tpu_get_f64(x->data, x->dtype, e),
                                   tpu_get_f64(x->data, x->dtype, eb), want_max, last);
                if (better) best = k;
            }
            out[o * inner + i] = best;
        }
    }
    return TPU_STATUS_OK;
}

/*---- TopK ----*/
struct topk_item {
    uint64_t key;   /* order-preserving bits of the value; ascending = better */
    int64_t  idx;
};

/* Orders by key, then by index (so ties keep the smaller index first). */
static int topk_cmp(const void *pa, const void *pb)
{
    const struct topk_item *a = pa, *b = pb;
    if (a->key != b->key) return a->key < b->key ? -1 : 1;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Unsigned key that sorts like element e of x (NaN above +inf, -0 == +0). */
static uint64_t order_key(const struct tpu_tensor *x, size_t e)
{
    if (x->dtype == TPU_DTYPE_U64) return ((const uint64_t *)x->data)[e];
    if (!tpu_dtype_is_float(x->dtype))
        return (uint64_t)tpu_get_i64(x->data, x->dtype, e) ^ (1ULL << 63);
    double v = tpu_get_f64(x->data, x->dtype, e);
    if (isnan(v)) v = NAN;
    if (v == 0) v = 0;
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    return bits >> 63 ? ~bits : bits | (1ULL << 63);
}

/* Up to this k, TopK keeps a sorted best-k list (O(len * k) worst case);
** above it, it sorts the whole slice. Both give the same total order. */
#define TOPK_INSERT_MAX 64

/* Orders one slice (len elements, stride inner, from base) and writes the top k. */
static void topk_slice(const struct tpu_tensor *x, struct tpu_tensor *v, struct tpu_tensor *ix,
                       struct topk_item *items, int64_t len, int64_t inner, size_t base,
                       size_t out_base, int64_t k, bool largest)
{
    size_t es = tpu_dtype_size(x->dtype);
    int64_t m = 0;   /* items kept so far */
    for (int64_t j = 0; j < len; j++) {
        uint64_t key = order_key(x, base + (size_t)(j * inner));
        struct topk_item it = { largest ? ~key : key, j };
        if (k > TOPK_INSERT_MAX) { items[m++] = it; continue; }
        if (m == k && (k == 0 || topk_cmp(&it, &items[k - 1]) >= 0)) continue;
        int64_t p = m < k ? m++ : k - 1;   /* insertion into the sorted best-k */
        for (; p > 0 && topk_cmp(&it, &items[p - 1]) < 0; p--) items[p] = items[p - 1];
        items[p] = it;
    }
    if (k > TOPK_INSERT_MAX) qsort(items, (size_t)len, sizeof *items, topk_cmp);
    for (int64_t j = 0; j < k; j++) {
        size_t src = base + (size_t)(items[j].idx * inner), dst = out_base + (size_t)(j * inner);
        memcpy((char *)v->data + dst * es, (const char *)x->data + src * es, es);
        ((int64_t *)ix->data)[dst] = items[j].idx;
    }
}

/* ONNX TopK-11: the k largest (or smallest) along axis, always returned
** sorted; equal values keep the smaller index first. */
enum tpu_status ref_topk(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x = tpu_in(g, n, 0), *kt = tpu_in(g, n, 1);
    struct tpu_tensor *v = tpu_out(g, n, 0), *ix = tpu_out(g, n, 1);
    int axis;
    if (tpu_ir_omitted(x) || tpu_ir_omitted(kt) || !kt->data || !v || !ix || !x->data ||
        !v->data || !ix->data || ix->dtype != TPU_DTYPE_I64 || v->dtype != x->dtype)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input or output values missing");
    enum tpu_status rc = kernel_axis(g, n, x, -1, &axis);
    if (rc) return rc;
    int64_t outer, len, inner, k = tpu_get_i64(kt->data, kt->dtype, 0);
    split_around(x, axis, &outer, &len, &inner);
    if (k < 0 || k > len || v->n_dims != x->n_dims || v->dims[axis] != k)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "K = %lld does not fit axis %d (%lld)",
                            (long long)k, axis, (long long)len);
    size_t n_bytes;
    if (tpu_mul_size((size_t)(len ? len : 1), sizeof(struct topk_item), &n_bytes))
        return tpu_node_err(g, n, TPU_ERR_NOMEM, "axis too long");
    struct topk_item *items = tpu_malloc(g->ctx, n_bytes);
    if (!items) return TPU_ERR_NOMEM;
    bool largest = tpu_attr_int(n, "largest", 1) != 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++)
            topk_slice(x, v, ix, items, len, inner, (size_t)(o * len * inner + i),
                       (size_t)(o * k * inner + i), k, largest);
    free(items);
    return TPU_STATUS_OK;
}
