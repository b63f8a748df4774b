/*
** ir/shape_elem.c: shape functions of the elementwise ops (unary, binary with
** numpy broadcasting, variadic, Where) and of the reductions (Reduce*, ArgMax,
** ArgMin, TopK).
**
** In:  a node whose inputs carry dtype + dims (and values when known).
** Out: every output's dtype + dims (-1 where values are not known yet), read by
**      the reference kernels in ref/ref_elem*.c, ref/ref_reduce.c and compile/.
*/
#include "ir/ir.h"
#include "ref/ref_elem.h"
#include <string.h>

/*---- Shared checks ----*/
enum dt_class { DT_NUM, DT_FLOAT, DT_BOOL, DT_NUM_BOOL };

static bool dt_in_class(enum tpu_dtype dt, enum dt_class c)
{
    switch (c) {
    case DT_NUM:      return tpu_dtype_is_float(dt) || tpu_dtype_is_int(dt);
    case DT_FLOAT:    return tpu_dtype_is_float(dt);
    case DT_BOOL:     return dt == TPU_DTYPE_BOOL;
    case DT_NUM_BOOL: return dt == TPU_DTYPE_BOOL || dt_in_class(dt, DT_NUM);
    }
    return false;
}

static const char *dt_class_name(enum dt_class c)
{
    static const char *const names[] = { "a numeric", "a floating-point", "a bool",
                                         "a numeric or bool" };
    return names[c];
}

bool tpu_ir_omitted(const struct tpu_tensor *t) { return !t || !t->name[0]; }

/* Input i of n, which the op requires; an error naming the node when absent. */
static enum tpu_status need_in(struct tpu_graph *g, struct tpu_node *n, int i,
                               struct tpu_tensor **out)
{
    *out = tpu_in(g, n, i);
    if (tpu_ir_omitted(*out))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "required input %d is missing", i);
    return TPU_STATUS_OK;
}

static enum tpu_status need_out(struct tpu_graph *g, struct tpu_node *n, int i,
                                struct tpu_tensor **out)
{
    *out = tpu_out(g, n, i);
    if (!*out) return tpu_node_err(g, n, TPU_ERR_SHAPE, "required output %d is missing", i);
    return TPU_STATUS_OK;
}

static enum tpu_status need_dtype(struct tpu_graph *g, struct tpu_node *n,
                                  const struct tpu_tensor *t, enum dt_class c)
{
    if (dt_in_class(t->dtype, c)) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "input '%s' is %s, expected %s type",
                        t->name, tpu_dtype_name(t->dtype), dt_class_name(c));
}

static enum tpu_status same_dtype(struct tpu_graph *g, struct tpu_node *n,
                                  const struct tpu_tensor *a, const struct tpu_tensor *b)
{
    if (a->dtype == b->dtype) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "inputs '%s' (%s) and '%s' (%s) differ in dtype",
                        a->name, tpu_dtype_name(a->dtype), b->name, tpu_dtype_name(b->dtype));
}

static void set_out(struct tpu_tensor *o, enum tpu_dtype dt, int n_dims, const int64_t *dims)
{
    o->dtype = dt;
    tpu_tensor_set_shape(o, n_dims, dims);
    for (int d = 0; d < TPU_MAX_DIMS; d++) o->dim_param[d] = NULL;
}

/* Names y's unknown dims after t's symbolic dims (right-aligned, as numpy
** broadcasting lines them up), so "[N,1000]" survives elementwise ops. */
static void params_from(struct tpu_tensor *y, const struct tpu_tensor *t)
{
    if (y->n_dims < 0 || t->n_dims < 0) return;
    for (int d = 0; d < y->n_dims; d++) {
        int td = d - (y->n_dims - t->n_dims);
        if (td >= 0 && y->dims[d] < 0 && t->dims[td] < 0 && !y->dim_param[d])
            y->dim_param[d] = t->dim_param[td];
    }
}

/* Broadcasts *rank/dims (the shape so far, rank -1 = unknown) with t's shape. */
static enum tpu_status bcast_into(struct tpu_graph *g, struct tpu_node *n,
                                  const struct tpu_tensor *first, const struct tpu_tensor *t,
                                  int *rank, int64_t *dims)
{
    if (*rank < 0 || t->n_dims < 0) { *rank = -1; return TPU_STATUS_OK; }
    int64_t tmp[TPU_MAX_DIMS];
    int r = tpu_broadcast_dims(*rank, dims, t->n_dims, t->dims, tmp);
    if (r < 0) {
        char sa[160], sb[160];
        struct tpu_tensor so = { .name = first->name };   /* the shape so far */
        tpu_tensor_set_shape(&so, *rank, dims);
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "shapes %s ('%s') and %s ('%s') do not broadcast",
                            tpu_shape_str(&so, sa, sizeof sa), first->name,
                            tpu_shape_str(t, sb, sizeof sb), t->name);
    }
    *rank = r;
    memcpy(dims, tmp, (size_t)r * sizeof *dims);
    return TPU_STATUS_OK;
}

/*---- Same shape as input 0 ----*/

/* Output 0 = input 0's dtype and dims (Identity, Softmax, Clip, ...). */
enum tpu_status shape_first(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n, 0, &y))) return rc;
    if (x->dtype == TPU_DTYPE_UNDEFINED)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input '%s' has no dtype", x->name);
    set_out(y, x->dtype, x->n_dims, x->dims);
    for (int d = 0; d < x->n_dims; d++) y->dim_param[d] = x->dim_param[d];
    if (n->op == TPU_OP_CLIP) return need_dtype(g, n, x, DT_NUM);
    return TPU_STATUS_OK;
}

static enum dt_class unary_class(enum tpu_op op)
{
    switch (op) {
    case TPU_OP_NOT: return DT_BOOL;
    case TPU_OP_RELU: case TPU_OP_NEG: case TPU_OP_ABS: case TPU_OP_SIGN: case TPU_OP_ERF:
        return DT_NUM;
    default: return DT_FLOAT;
    }
}

/* ONNX unary elementwise ops: same dtype and shape as the input. */
enum tpu_status shape_unary(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_dtype(g, n, x, unary_class(n->op)))) return rc;
    return shape_first(g, n);
}

/*---- Broadcasting ops ----*/
static enum dt_class binary_class(enum tpu_op op)
{
    switch (op) {
    case TPU_OP_AND: case TPU_OP_OR: case TPU_OP_XOR: return DT_BOOL;
    case TPU_OP_EQUAL: case TPU_OP_LESS: case TPU_OP_LESS_OR_EQUAL:
    case TPU_OP_GREATER: case TPU_OP_GREATER_OR_EQUAL: return DT_NUM_BOOL;
    default: return DT_NUM;
    }
}

static bool binary_is_compare(enum tpu_op op)
{
    return op == TPU_OP_EQUAL || op == TPU_OP_LESS || op == TPU_OP_LESS_OR_EQUAL ||
           op == TPU_OP_GREATER || op == TPU_OP_GREATER_OR_EQUAL || op == TPU_OP_AND ||
           op == TPU_OP_OR || op == TPU_OP_XOR;
}

bool tpu_ir_prelu_channel_slope(const struct tpu_node *n, const struct tpu_tensor *x,
                                const struct tpu_tensor *slope)
{
    return n->op == TPU_OP_PRELU && n->opset < 7 && slope->n_dims == 1 && x->n_dims >= 2 &&
           slope->dims[0] == x->dims[1] && slope->dims[0] > 1;
}

/* ONNX PRelu-7+: slope broadcasts unidirectionally to X, so Y has X's shape. */
static enum tpu_status shape_prelu(struct tpu_graph *g, struct tpu_node *n,
                                   struct tpu_tensor *x, struct tpu_tensor *y,
                                   int rank, const int64_t *dims)
{
    bool same = rank == x->n_dims;
    for (int d = 0; same && d < rank; d++)
        same = dims[d] == x->dims[d] || dims[d] < 0 || x->dims[d] < 0;
    if (rank >= 0 && x->n_dims >= 0 && !same) {
        char sa[160], sb[160];
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "slope %s does not broadcast to X %s",
                            tpu_shape_str(tpu_in(g, n, 1), sb, sizeof sb),
                            tpu_shape_str(x, sa, sizeof sa));
    }
    shape_first(g, n);
    y->dtype = x->dtype;
    return TPU_STATUS_OK;
}

/* Add Sub Mul Div Pow PRelu, comparisons, And Or Xor: numpy broadcasting.
** Comparisons and logic ops give bool. Pow's exponent may have its own dtype. */
enum tpu_status shape_binary(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *a, *b, *y;
    enum tpu_status rc;
    enum dt_class c = binary_class(n->op);
    if ((rc = need_in(g, n, 0, &a)) || (rc = need_in(g, n, 1, &b)) ||
        (rc = need_out(g, n, 0, &y)) || (rc = need_dtype(g, n, a, c)) ||
        (rc = need_dtype(g, n, b, c)))
        return rc;
    if (n->op != TPU_OP_POW && (rc = same_dtype(g, n, a, b))) return rc;
    if (tpu_ir_prelu_channel_slope(n, a, b)) return shape_first(g, n);
    int rank = a->n_dims;
    int64_t dims[TPU_MAX_DIMS];
    if (rank > 0) memcpy(dims, a->dims, (size_t)rank * sizeof *dims);
    if ((rc = bcast_into(g, n, a, b, &rank, dims))) return rc;
    if (n->op == TPU_OP_PRELU) return shape_prelu(g, n, a, y, rank, dims);
    set_out(y, binary_is_compare(n->op) ? TPU_DTYPE_BOOL : a->dtype, rank, dims);
    params_from(y, a);
    params_from(y, b);
    return TPU_STATUS_OK;
}

/* Min Max Sum Mean: one or more inputs of one dtype, multi-way broadcast. */
enum tpu_status shape_variadic(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *a, *y;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &a)) || (rc = need_out(g, n, 0, &y)) ||
        (rc = need_dtype(g, n, a, DT_NUM)))
        return rc;
    int rank = a->n_dims;
    int64_t dims[TPU_MAX_DIMS];
    if (rank > 0) memcpy(dims, a->dims, (size_t)rank * sizeof *dims);
    for (int i = 1; i < n->n_inputs; i++) {
        struct tpu_tensor *t;
        if ((rc = need_in(g, n, i, &t)) || (rc = same_dtype(g, n, a, t)) ||
            (rc = bcast_into(g, n, a, t, &rank, dims)))
            return rc;
    }
    set_out(y, a->dtype, rank, dims);
    for (int i = 0; i < n->n_inputs; i++) params_from(y, tpu_in(g, n, i));
    return TPU_STATUS_OK;
}

/* ONNX Where: cond (bool), X, Y (same dtype); three-way broadcast. */
enum tpu_status shape_where(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *c, *a, *b, *y;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &c)) || (rc = need_in(g, n, 1, &a)) ||
        (rc = need_in(g, n, 2, &b)) || (rc = need_out(g, n, 0, &y)) ||
        (rc = need_dtype(g, n, c, DT_BOOL)) || (rc = same_dtype(g, n, a, b)))
        return rc;
    if (tpu_dtype_size(a->dtype) == 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input '%s' has unsupported dtype %s",
                            a->name, tpu_dtype_name(a->dtype));
    int rank = c->n_dims;
    int64_t dims[TPU_MAX_DIMS];
    if (rank > 0) memcpy(dims, c->dims, (size_t)rank * sizeof *dims);
    if ((rc = bcast_into(g, n, c, a, &rank, dims)) || (rc = bcast_into(g, n, c, b, &rank, dims)))
        return rc;
    set_out(y, a->dtype, rank, dims);
    params_from(y, c);
    params_from(y, a);
    params_from(y, b);
    return TPU_STATUS_OK;
}

/*---- Reductions ----*/

/* Reads the axes list (input 1, else attribute) into axes[]; *n_axes = -1 if unknown. */
static enum tpu_status read_axes(const struct tpu_graph *g, const struct tpu_node *n,
                                 int64_t *axes, int *n_axes)
{
    const struct tpu_tensor *t = tpu_in(g, n, 1);
    if (!tpu_ir_omitted(t)) {
        int64_t k = tpu_tensor_numel(t);
        if (k == 0) { *n_axes = 0; return TPU_STATUS_OK; }   /* known empty, values or not */
        if (!t->data || k < 0) { *n_axes = -1; return TPU_STATUS_OK; }
        if (!tpu_dtype_is_int(t->dtype))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axes input '%s' is %s, expected int64",
                                t->name, tpu_dtype_name(t->dtype));
        if (k > TPU_MAX_DIMS)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "%lld axes given, at most %d allowed",
                                (long long)k, TPU_MAX_DIMS);
        for (int64_t i = 0; i < k; i++) axes[i] = tpu_get_i64(t->data, t->dtype, (size_t)i);
        *n_axes = (int)k;
        return TPU_STATUS_OK;
    }
    const int64_t *v;
    int k = tpu_attr_ints(n, "axes", &v);
    if (k > TPU_MAX_DIMS)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "%d axes given, at most %d allowed", k, TPU_MAX_DIMS);
    if (k > 0) memcpy(axes, v, (size_t)k * sizeof *axes);
    *n_axes = k;
    return TPU_STATUS_OK;
}

enum tpu_status tpu_ir_reduce_axes(const struct tpu_graph *g, const struct tpu_node *n,
                                   int rank, bool mask[TPU_MAX_DIMS], bool *noop, bool *known)
{
    int64_t axes[TPU_MAX_DIMS];
    int n_axes = 0;
    enum tpu_status rc = read_axes(g, n, axes, &n_axes);
    memset(mask, 0, TPU_MAX_DIMS * sizeof *mask);
    *noop = false;
    *known = n_axes >= 0;
    if (rc || n_axes < 0) return rc;
    if (n_axes == 0) {
        *noop = tpu_attr_int(n, "noop_with_empty_axes", 0) != 0;
        for (int d = 0; d < rank && !*noop; d++) mask[d] = true;
        return TPU_STATUS_OK;
    }
    for (int i = 0; i < n_axes; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + rank : axes[i];
        if (a < 0 || a >= rank)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                                (long long)axes[i], rank);
        if (mask[a])
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is given twice", (long long)axes[i]);
        mask[a] = true;
    }
    return TPU_STATUS_OK;
}

/* Sets y to x reduced over mask, with or without keepdims; kept axes keep
** their symbolic names. */
static void set_reduced(struct tpu_tensor *y, enum tpu_dtype dt, const struct tpu_tensor *x,
                        const bool *mask, bool keepdims)
{
    int64_t dims[TPU_MAX_DIMS] = { 0 };
    const char *params[TPU_MAX_DIMS] = { NULL };
    int r = 0;
    for (int d = 0; d < x->n_dims; d++) {
        if (!mask[d] || keepdims) {
            params[r] = mask[d] ? NULL : x->dim_param[d];
            dims[r++] = mask[d] ? 1 : x->dims[d];
        }
    }
    set_out(y, dt, r, dims);
    for (int d = 0; d < r; d++) y->dim_param[d] = params[d];
}

/* ONNX Reduce{Mean,Sum,Max,Min,Prod,L1,L2,SumSquare,LogSum,LogSumExp}. */
enum tpu_status shape_reduce(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n, 0, &y)) ||
        (rc = need_dtype(g, n, x, DT_NUM)))
        return rc;
    bool keepdims = tpu_attr_int(n, "keepdims", 1) != 0;
    if (x->n_dims < 0) { set_out(y, x->dtype, -1, NULL); return TPU_STATUS_OK; }
    bool mask[TPU_MAX_DIMS], noop, known;
    if ((rc = tpu_ir_reduce_axes(g, n, x->n_dims, mask, &noop, &known))) return rc;
    if (!known) {   /* axes are computed at run time: only keepdims fixes the rank */
        set_out(y, x->dtype, keepdims ? x->n_dims : -1, NULL);
        return TPU_STATUS_OK;
    }
    set_reduced(y, x->dtype, x, mask, keepdims);
    return TPU_STATUS_OK;
}

/* Normalises attribute `axis` of n for rank r into *axis; error when out of range. */
static enum tpu_status get_axis(struct tpu_graph *g, struct tpu_node *n, int64_t def, int r,
                                int *axis)
{
    int64_t a = tpu_attr_int(n, "axis", def);
    if (a < -r || a >= r)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                            (long long)a, r);
    *axis = (int)(a < 0 ? a + r : a);
    return TPU_STATUS_OK;
}

/* ONNX ArgMax/ArgMin: axis (default 0), keepdims (default 1); int64 output. */
enum tpu_status shape_arg(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc;
    int axis;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n, 0, &y)) ||
        (rc = need_dtype(g, n, x, DT_NUM)))
        return rc;
    if (x->n_dims < 0) { set_out(y, TPU_DTYPE_I64, -1, NULL); return TPU_STATUS_OK; }
    if ((rc = get_axis(g, n, 0, x->n_dims, &axis))) return rc;
    if (x->dims[axis] == 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %d of '%s' is empty", axis, x->name);
    bool mask[TPU_MAX_DIMS] = { false };
    mask[axis] = true;
    set_reduced(y, TPU_DTYPE_I64, x, mask, tpu_attr_int(n, "keepdims", 1) != 0);
    return TPU_STATUS_OK;
}

/* K of a TopK node: its value, or -1 while unknown. */
static enum tpu_status topk_k(struct tpu_graph *g, struct tpu_node *n, int64_t *k)
{
    struct tpu_tensor *kt;
    enum tpu_status rc = need_in(g, n, 1, &kt);
    *k = -1;
    if (rc) return rc;
    if (!tpu_dtype_is_int(kt->dtype))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "K '%s' is %s, expected int64", kt->name,
                            tpu_dtype_name(kt->dtype));
    int64_t numel = tpu_tensor_numel(kt);
    if (numel >= 0 && numel != 1)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "K '%s' has %lld values, expected 1", kt->name,
                            (long long)numel);
    if (kt->data) *k = tpu_get_i64(kt->data, kt->dtype, 0);
    if (kt->data && *k < 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "K = %lld is negative", (long long)*k);
    return TPU_STATUS_OK;
}

/* ONNX TopK-11: X, K → values (X's dtype), indices (int64); axis default -1. */
enum tpu_status shape_topk(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *v, *ix;
    enum tpu_status rc;
    int64_t k;
    int axis;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n, 0, &v)) ||
        (rc = need_out(g, n, 1, &ix)) || (rc = need_dtype(g, n, x, DT_NUM)) ||
        (rc = topk_k(g, n, &k)))
        return rc;
    if (x->n_dims < 0) {
        set_out(v, x->dtype, -1, NULL);
        set_out(ix, TPU_DTYPE_I64, -1, NULL);
        return TPU_STATUS_OK;
    }
    if ((rc = get_axis(g, n, -1, x->n_dims, &axis))) return rc;
    if (k >= 0 && x->dims[axis] >= 0 && k > x->dims[axis])
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "K = %lld is larger than axis %d (%lld)",
                            (long long)k, axis, (long long)x->dims[axis]);
    int64_t dims[TPU_MAX_DIMS];
    memcpy(dims, x->dims, (size_t)x->n_dims * sizeof *dims);
    dims[axis] = k;
    set_out(v, x->dtype, x->n_dims, dims);
    set_out(ix, TPU_DTYPE_I64, x->n_dims, dims);
    for (int d = 0; d < x->n_dims; d++)
        if (d != axis) v->dim_param[d] = ix->dim_param[d] = x->dim_param[d];
    return TPU_STATUS_OK;
}
