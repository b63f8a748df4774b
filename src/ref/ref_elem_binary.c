/*
** ref/ref_elem_binary.c: reference kernels of the broadcasting elementwise ops:
** binary arithmetic, comparison and logic (Add ... Xor, PRelu), the variadic
** Min/Max/Sum/Mean and Where.
**
** In:  a node shaped by ir/shape_elem.c, output allocated by the executor.
** Out: the output's values.
** How: a broadcast walk (struct bcast) drops size-1 axes, merges axes every
**      operand walks contiguously, and hands out rows whose inner strides are
**      0 (broadcast) or 1. float32 has typed row loops; other dtypes compute
**      per element in double, or exactly in int64 (uint64 compared unsigned).
*/
/* The float32 loops here rely on the Makefile's -fvect-cost-model=cheap:
** GCC 12's -O2 default ("very cheap") vectorises no loop with a remainder. */
#include "ir/ir.h"
#include "ref/ref_elem.h"
#include <math.h>
#include <string.h>

/*---- Broadcast walk ----*/
#define BC_MAX_OPER 4   /* the output plus up to three inputs (Where) */

struct bcast {
    int     n_oper;                              /* operand 0 is the output     */
    int     n_dims;                              /* after merging, >= 1         */
    int64_t dims[TPU_MAX_DIMS];                  /* output dims, merged         */
    int64_t strides[BC_MAX_OPER][TPU_MAX_DIMS];  /* elements; 0 = broadcast     */
    int64_t idx[TPU_MAX_DIMS];                   /* position of the next row    */
    int64_t off[BC_MAX_OPER];                    /* element offsets of next row */
    int64_t rows_left;
};

/* Element strides of t walked along an output of rank r (0 where t broadcasts). */
static void bcast_strides(const struct tpu_tensor *t, int r, int64_t *s)
{
    int64_t step = 1;
    for (int d = r - 1; d >= 0; d--) {
        int td = d - (r - t->n_dims);
        int64_t dim = td >= 0 ? t->dims[td] : 1;
        s[d] = dim == 1 ? 0 : step;
        step *= dim;
    }
}

/* Drops size-1 output axes and merges neighbours every operand walks as one. */
static void bcast_merge(struct bcast *b, int r, const int64_t *od, int64_t s[][TPU_MAX_DIMS])
{
    int m = 0;
    for (int d = 0; d < r; d++) {
        if (od[d] == 1) continue;
        bool merge = m > 0;
        for (int k = 0; merge && k < b->n_oper; k++)
            merge = s[k][d] * od[d] == b->strides[k][m - 1];
        if (merge) {
            b->dims[m - 1] *= od[d];
            for (int k = 0; k < b->n_oper; k++) b->strides[k][m - 1] = s[k][d];
            continue;
        }
        b->dims[m] = od[d];
        for (int k = 0; k < b->n_oper; k++) b->strides[k][m] = s[k][d];
        m++;
    }
    if (m == 0) {   /* every axis is 1: a single one-element row */
        b->dims[0] = 1;
        for (int k = 0; k < b->n_oper; k++) b->strides[k][0] = 0;
        m = 1;
    }
    b->n_dims = m;
}

/* Sets up the walk of out (operand 0) and in[0..n_in) (operands 1..). The
** shape function has checked that the inputs broadcast to out. */
static void bcast_init(struct bcast *b, const struct tpu_tensor *out, int n_in,
                       const struct tpu_tensor *const *in)
{
    int64_t s[BC_MAX_OPER][TPU_MAX_DIMS];
    int r = out->n_dims;
    TPU_ASSERT(n_in + 1 <= BC_MAX_OPER && r >= 0);
    memset(b, 0, sizeof *b);
    b->n_oper = n_in + 1;
    bcast_strides(out, r, s[0]);   /* contiguous; its size-1 axes are dropped */
    for (int k = 0; k < n_in; k++) bcast_strides(in[k], r, s[k + 1]);
    bcast_merge(b, r, out->dims, s);
    b->rows_left = 1;
    for (int d = 0; d < b->n_dims - 1; d++) b->rows_left *= b->dims[d];
    if (tpu_tensor_numel(out) == 0) b->rows_left = 0;
}

/* Offsets of the next row in off[] (per operand); false after the last row.
** A row is dims[n_dims-1] elements with inner strides strides[k][n_dims-1]. */
static bool bcast_next(struct bcast *b, int64_t *off)
{
    if (b->rows_left == 0) return false;
    memcpy(off, b->off, sizeof b->off);
    b->rows_left--;
    for (int d = b->n_dims - 2; d >= 0; d--) {
        for (int k = 0; k < b->n_oper; k++) b->off[k] += b->strides[k][d];
        if (++b->idx[d] < b->dims[d]) break;
        for (int k = 0; k < b->n_oper; k++) b->off[k] -= b->strides[k][d] * b->dims[d];
        b->idx[d] = 0;
    }
    return true;
}

/*---- The binary functions ----*/
enum bin_fn {
    BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_PRELU, BIN_MIN, BIN_MAX,
    BIN_EQ, BIN_LT, BIN_LE, BIN_GT, BIN_GE, BIN_AND, BIN_OR, BIN_XOR, BIN_FIRST
};

static enum bin_fn bin_fn_of(enum tpu_op op)
{
    switch (op) {
    case TPU_OP_ADD: case TPU_OP_SUM: case TPU_OP_MEAN: return BIN_ADD;
    case TPU_OP_SUB:              return BIN_SUB;
    case TPU_OP_MUL:              return BIN_MUL;
    case TPU_OP_DIV:              return BIN_DIV;
    case TPU_OP_POW:              return BIN_POW;
    case TPU_OP_PRELU:            return BIN_PRELU;
    case TPU_OP_MIN:              return BIN_MIN;
    case TPU_OP_MAX:              return BIN_MAX;
    case TPU_OP_EQUAL:            return BIN_EQ;
    case TPU_OP_LESS:             return BIN_LT;
    case TPU_OP_LESS_OR_EQUAL:    return BIN_LE;
    case TPU_OP_GREATER:          return BIN_GT;
    case TPU_OP_GREATER_OR_EQUAL: return BIN_GE;
    case TPU_OP_AND:              return BIN_AND;
    case TPU_OP_OR:               return BIN_OR;
    case TPU_OP_XOR:              return BIN_XOR;
    default: TPU_ASSERT(!"not a binary op"); return BIN_FIRST;
    }
}

/* Floats: numpy semantics; Min/Max propagate NaN. */
static double bin_f64(enum bin_fn fn, double x, double y)
{
    switch (fn) {
    case BIN_ADD:   return x + y;
    case BIN_SUB:   return x - y;
    case BIN_MUL:   return x * y;
    case BIN_DIV:   return x / y;
    case BIN_POW:   return pow(x, y);
    case BIN_PRELU: return x < 0 ? y * x : x;
    case BIN_MIN:   return x < y || isnan(x) ? x : y;
    case BIN_MAX:   return x > y || isnan(x) ? x : y;
    case BIN_EQ:    return x == y;
    case BIN_LT:    return x < y;
    case BIN_LE:    return x <= y;
    case BIN_GT:    return x > y;
    case BIN_GE:    return x >= y;
    case BIN_AND:   return x != 0 && y != 0;
    case BIN_OR:    return x != 0 || y != 0;
    case BIN_XOR:   return (x != 0) != (y != 0);
    case BIN_FIRST: return x;
    }
    return 0;
}

/* Exact integer power, wrapping like repeated C multiplication. A negative
** exponent gives the truncated 1 / x^-y (0 unless |x| == 1). */
static int64_t ipow(int64_t x, int64_t y)
{
    if (y < 0) return x == 1 ? 1 : x == -1 ? ((y & 1) ? -1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)x;
    for (uint64_t e = (uint64_t)y; e; e >>= 1, b *= b)
        if (e & 1) r *= b;
    return (int64_t)r;
}

/* C division truncates toward zero, like ONNX Div on integers; /0 gives 0. */
static int64_t idiv(int64_t x, int64_t y, bool u)
{
    if (y == 0) return 0;
    if (u) return (int64_t)((uint64_t)x / (uint64_t)y);
    if (y == -1) return (int64_t)(0 - (uint64_t)x);
    return x / y;
}

/* Integers: exact, wrapping; u = operands are uint64 (compare unsigned). */
static int64_t bin_i64(enum bin_fn fn, int64_t x, int64_t y, bool u)
{
    bool lt = u ? (uint64_t)x < (uint64_t)y : x < y;
    switch (fn) {
    case BIN_ADD:   return (int64_t)((uint64_t)x + (uint64_t)y);
    case BIN_SUB:   return (int64_t)((uint64_t)x - (uint64_t)y);
    case BIN_MUL:   return (int64_t)((uint64_t)x * (uint64_t)y);
    case BIN_DIV:   return idiv(x, y, u);
    case BIN_POW:   return ipow(x, y);
    case BIN_PRELU: return !u && x < 0 ? (int64_t)((uint64_t)x * (uint64_t)y) : x;
    case BIN_MIN:   return lt ? x : y;
    case BIN_MAX:   return lt ? y : x;
    case BIN_EQ:    return x == y;
    case BIN_LT:    return lt;
    case BIN_LE:    return lt || x == y;
    case BIN_GT:    return !lt && x != y;
    case BIN_GE:    return !lt;
    case BIN_AND:   return x && y;
    case BIN_OR:    return x || y;
    case BIN_XOR:   return !x != !y;
    case BIN_FIRST: return x;
    }
    return 0;
}

/*---- Row loops ----*/
struct bin_args {
    enum bin_fn        fn;
    const struct tpu_tensor *a, *b;
    struct tpu_tensor *y;
    bool               via_int;   /* compute in int64 (both inputs integer/bool) */
};

/* One row of len elements, generic dtypes. */
static void bin_row_any(const struct bin_args *p, const int64_t *off, int64_t len,
                        int64_t sa, int64_t sb)
{
    enum tpu_dtype da = p->a->dtype, db = p->b->dtype, dy = p->y->dtype;
    bool u = da == TPU_DTYPE_U64 && db == TPU_DTYPE_U64;
    for (int64_t j = 0; j < len; j++) {
        size_t ia = (size_t)(off[1] + j * sa), ib = (size_t)(off[2] + j * sb);
        size_t iy = (size_t)(off[0] + j);
        if (p->via_int)
            tpu_set_i64(p->y->data, dy, iy, bin_i64(p->fn, tpu_get_i64(p->a->data, da, ia),
                                                    tpu_get_i64(p->b->data, db, ib), u));
        else
            tpu_set_f64(p->y->data, dy, iy, bin_f64(p->fn, tpu_get_f64(p->a->data, da, ia),
                                                    tpu_get_f64(p->b->data, db, ib)));
    }
}

/* o[j] = expr(x = a[j*sa], y = b[j*sb]) with the common stride pairs unrolled. */
#define ROW(TI, TO, expr) do { \
    const TI *a_ = (const TI *)p->a->data + off[1], *b_ = (const TI *)p->b->data + off[2]; \
    TO *o_ = (TO *)p->y->data + off[0]; \
    if (sa == 1 && sb == 1) \
        for (int64_t j = 0; j < len; j++) { TI x = a_[j], y = b_[j]; o_[j] = (TO)(expr); } \
    else if (sa == 1) { TI y = b_[0]; \
        for (int64_t j = 0; j < len; j++) { TI x = a_[j]; o_[j] = (TO)(expr); } } \
    else if (sb == 1) { TI x = a_[0]; \
        for (int64_t j = 0; j < len; j++) { TI y = b_[j]; o_[j] = (TO)(expr); } } \
    else { TI x = a_[0], y = b_[0]; TO v = (TO)(expr); \
        for (int64_t j = 0; j < len; j++) o_[j] = v; } \
    } while (0)

/* float32 in, float32 or bool out; false when fn has no float32 loop. */
static bool bin_row_f32(const struct bin_args *p, const int64_t *off, int64_t len,
                        int64_t sa, int64_t sb)
{
    switch (p->fn) {
    case BIN_ADD:   ROW(float, float, x + y); return true;
    case BIN_SUB:   ROW(float, float, x - y); return true;
    case BIN_MUL:   ROW(float, float, x * y); return true;
    case BIN_DIV:   ROW(float, float, x / y); return true;
    case BIN_POW:   ROW(float, float, powf(x, y)); return true;
    case BIN_PRELU: ROW(float, float, x < 0 ? y * x : x); return true;
    case BIN_MIN:   ROW(float, float, x < y || x != x ? x : y); return true;
    case BIN_MAX:   ROW(float, float, x > y || x != x ? x : y); return true;
    case BIN_FIRST: ROW(float, float, ((void)y, x)); return true;
    case BIN_EQ:    ROW(float, uint8_t, x == y); return true;
    case BIN_LT:    ROW(float, uint8_t, x < y); return true;
    case BIN_LE:    ROW(float, uint8_t, x <= y); return true;
    case BIN_GT:    ROW(float, uint8_t, x > y); return true;
    case BIN_GE:    ROW(float, uint8_t, x >= y); return true;
    default:        return false;
    }
}
#undef ROW

static bool is_int_or_bool(enum tpu_dtype dt) { return dt == TPU_DTYPE_BOOL || tpu_dtype_is_int(dt); }

/* y = fn(a, b) over the broadcast of a and b to y's shape. */
static void bin_apply(enum bin_fn fn, const struct tpu_tensor *a, const struct tpu_tensor *b,
                      struct tpu_tensor *y)
{
    struct bin_args p = { fn, a, b, y, is_int_or_bool(a->dtype) && is_int_or_bool(b->dtype) };
    bool f32 = a->dtype == TPU_DTYPE_F32 && b->dtype == TPU_DTYPE_F32;
    const struct tpu_tensor *in[2] = { a, b };
    struct bcast bc;
    int64_t off[BC_MAX_OPER];
    bcast_init(&bc, y, 2, in);
    int64_t len = bc.dims[bc.n_dims - 1];
    int64_t sa = bc.strides[1][bc.n_dims - 1], sb = bc.strides[2][bc.n_dims - 1];
    while (bcast_next(&bc, off))
        if (!f32 || !bin_row_f32(&p, off, len, sa, sb)) bin_row_any(&p, off, len, sa, sb);
}

/*---- Kernels ----*/

/* Values present and shapes as the shape function left them (our invariant). */
static enum tpu_status need_values(struct tpu_graph *g, struct tpu_node *n, int n_in)
{
    struct tpu_tensor *y = tpu_out(g, n, 0);
    if (!y || !y->data || !tpu_tensor_shape_known(y))
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output not allocated");
    for (int i = 0; i < n_in; i++) {
        const struct tpu_tensor *t = tpu_in(g, n, i);
        if (tpu_ir_omitted(t) || !t->data || t->n_dims < 0 || t->n_dims > y->n_dims)
            return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input %d has no values", i);
        for (int d = 0; d < t->n_dims; d++) {   /* the walk must stay inside t */
            int64_t td = t->dims[d], yd = y->dims[d + y->n_dims - t->n_dims];
            if (td != 1 && td != yd && !tpu_ir_prelu_channel_slope(n, tpu_in(g, n, 0), t))
                return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input %d does not match the output", i);
        }
    }
    return TPU_STATUS_OK;
}

/* ONNX Add Sub Mul Div Pow PRelu Equal Less LessOrEqual Greater GreaterOrEqual
** And Or Xor, numpy broadcasting. Integer Div truncates toward zero. */
enum tpu_status ref_binary(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_values(g, n, 2);
    if (rc) return rc;
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1);
    struct tpu_tensor view;
    if (tpu_ir_prelu_channel_slope(n, a, b)) {   /* PRelu-6 slope [C] as [C,1,...,1] */
        view = *b;
        view.n_dims = a->n_dims - 1;
        for (int d = 1; d < view.n_dims; d++) view.dims[d] = 1;
        b = &view;
    }
    bin_apply(bin_fn_of(n->op), a, b, tpu_out(g, n, 0));
    return TPU_STATUS_OK;
}

/* y /= k for Mean (floats; integers truncate). */
static void scale_mean(struct tpu_tensor *y, int64_t k)
{
    int64_t len = tpu_tensor_numel(y);
    if (y->dtype == TPU_DTYPE_F32) {
        float *v = y->data;
        for (int64_t i = 0; i < len; i++) v[i] /= (float)k;
        return;
    }
    for (int64_t i = 0; i < len; i++) {
        if (tpu_dtype_is_int(y->dtype))
            tpu_set_i64(y->data, y->dtype, (size_t)i, idiv(tpu_get_i64(y->data, y->dtype, (size_t)i),
                                                           k, y->dtype == TPU_DTYPE_U64));
        else
            tpu_set_f64(y->data, y->dtype, (size_t)i, tpu_get_f64(y->data, y->dtype, (size_t)i) / (double)k);
    }
}

/* ONNX Min Max Sum Mean: y = in0 (broadcast), then y = fn(y, in_k) in order. */
enum tpu_status ref_variadic(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_values(g, n, n->n_inputs);
    if (rc) return rc;
    struct tpu_tensor *y = tpu_out(g, n, 0);
    enum bin_fn fn = bin_fn_of(n->op);
    bin_apply(BIN_FIRST, tpu_in(g, n, 0), tpu_in(g, n, 0), y);
    for (int i = 1; i < n->n_inputs; i++) bin_apply(fn, y, tpu_in(g, n, i), y);
    if (n->op == TPU_OP_MEAN) scale_mean(y, n->n_inputs);
    return TPU_STATUS_OK;
}

/* One row of Where for elements of type T (any dtype of that width). */
#define WHERE_ROW(T) do { \
    const T *x_ = (const T *)x->data + off[2], *z_ = (const T *)z->data + off[3]; \
    T *o_ = (T *)y->data + off[0]; \
    for (int64_t j = 0; j < len; j++) o_[j] = c[j * sc] ? x_[j * sx] : z_[j * sz]; \
    } while (0)

/* ONNX Where: out = cond ? X : Y, three-way broadcast; copies elements by width. */
enum tpu_status ref_where(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = need_values(g, n, 3);
    if (rc) return rc;
    const struct tpu_tensor *in[3] = { tpu_in(g, n, 0), tpu_in(g, n, 1), tpu_in(g, n, 2) };
    const struct tpu_tensor *x = in[1], *z = in[2];
    struct tpu_tensor *y = tpu_out(g, n, 0);
    struct bcast bc;
    int64_t off[BC_MAX_OPER];
    bcast_init(&bc, y, 3, in);
    int last = bc.n_dims - 1;
    int64_t len = bc.dims[last];
    int64_t sc = bc.strides[1][last], sx = bc.strides[2][last], sz = bc.strides[3][last];
    while (bcast_next(&bc, off)) {
        const uint8_t *c = (const uint8_t *)in[0]->data + off[1];
        switch (tpu_dtype_size(y->dtype)) {
        case 1:  WHERE_ROW(uint8_t); break;
        case 2:  WHERE_ROW(uint16_t); break;
        case 4:  WHERE_ROW(uint32_t); break;
        case 8:  WHERE_ROW(uint64_t); break;
        default: return tpu_node_err(g, n, TPU_ERR_INTERNAL, "element size %zu",
                                     tpu_dtype_size(y->dtype));
        }
    }
    return TPU_STATUS_OK;
}
#undef WHERE_ROW
