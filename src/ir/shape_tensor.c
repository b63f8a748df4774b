/*
** ir/shape_tensor.c: shape functions of the shape and data-movement ops
** (Reshape, Flatten, Squeeze, Unsqueeze, Dropout, Transpose, Concat, Split,
** Slice, Gather, Shape, Size, Constant, ConstantOfShape, Cast, Expand, Tile,
** Pad, Range, Resize).
**
** In:  a node whose inputs have dtype and dims (and values when known).
** Out: every output's dtype and dims; -1 for a dim that depends on values not
**      known yet. The kernels in ref/ref_tensor*.c run on these shapes.
** Every value read from an input and used as a size or index is checked here
** first, so a kernel never sees an out-of-range plan.
*/
#include "ref/ref_tensor.h"
#include <math.h>
#include <string.h>

/*---- Helpers ----*/
static void set_out(const struct tpu_graph *g, const struct tpu_node *n, int i,
                    enum tpu_dtype dt, int n_dims, const int64_t *dims)
{
    struct tpu_tensor *t = tpu_out(g, n, i);
    if (!t) return;
    t->dtype = dt;
    tpu_tensor_set_shape(t, n_dims, dims);
}

static enum tpu_status need_in(const struct tpu_graph *g, const struct tpu_node *n, int i,
                               struct tpu_tensor **t)
{
    *t = tpu_in(g, n, i);
    if (*t) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_FORMAT, "input %d is missing", i);
}

static enum tpu_status need_out(const struct tpu_graph *g, const struct tpu_node *n)
{
    if (tpu_out(g, n, 0)) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_FORMAT, "output 0 is missing");
}

/* "[2,3,-1]" for a list of values, for messages. */
static const char *list_str(const int64_t *v, int k, char *buf, size_t size)
{
    size_t at = (size_t)snprintf(buf, size, "[");
    for (int i = 0; i < k && at < size; i++)
        at += (size_t)snprintf(buf + at, size - at, "%s%lld", i ? "," : "", (long long)v[i]);
    if (at < size) snprintf(buf + at, size - at, "]");
    return buf;
}

/* Product of dims[lo..hi); -1 if one is unknown, -2 on overflow. */
static int64_t dims_prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++) {
        if (dims[i] < 0) return -1;
        if (__builtin_mul_overflow(p, dims[i], &p)) return -2;
    }
    return p;
}

int tpu_ir_axis(int64_t axis, int rank)
{
    if (axis < 0) axis += rank;
    return axis >= 0 && axis < rank ? (int)axis : -1;
}

enum tpu_status tpu_ir_read_ints(const struct tpu_graph *g, const struct tpu_node *n,
                                 const struct tpu_tensor *t, const char *what,
                                 int64_t *vals, int max, int *n_vals)
{
    *n_vals = -1;
    if (t->dtype != TPU_DTYPE_I64 && t->dtype != TPU_DTYPE_I32)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'%s' must be int64 or int32, not %s",
                            what, tpu_dtype_name(t->dtype));
    if (t->n_dims > 1)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'%s' must be 1-D, has rank %d", what, t->n_dims);
    if (!t->data) return TPU_STATUS_OK;
    int64_t k = tpu_tensor_numel(t);
    if (k < 0 || k > max)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'%s' has %lld values, at most %d allowed",
                            what, (long long)k, max);
    for (int64_t i = 0; i < k; i++) vals[i] = tpu_get_i64(t->data, t->dtype, (size_t)i);
    *n_vals = (int)k;
    return TPU_STATUS_OK;
}

/* An int list from input `slot` or, in the older form, from attribute `attr`.
** *n_vals: the count, -1 when the input has no values yet, -2 when absent. */
static enum tpu_status ints_in_or_attr(const struct tpu_graph *g, const struct tpu_node *n,
                                       int slot, const char *attr, int64_t *vals, int max,
                                       int *n_vals)
{
    const struct tpu_tensor *t = tpu_in(g, n, slot);
    if (t) return tpu_ir_read_ints(g, n, t, attr, vals, max, n_vals);
    const int64_t *a;
    int k = tpu_attr_ints(n, attr, &a);
    *n_vals = tpu_attr_find(n, attr) ? k : -2;
    if (k > max)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'%s' has %d values, at most %d allowed",
                            attr, k, max);
    if (k > 0) memcpy(vals, a, (size_t)k * sizeof *a);
    return TPU_STATUS_OK;
}

/* Marks the axes listed in vals (normalised against rank) in seen[]. */
static enum tpu_status mark_axes(const struct tpu_graph *g, const struct tpu_node *n,
                                 const int64_t *vals, int k, int rank, bool *seen)
{
    memset(seen, 0, TPU_MAX_DIMS * sizeof *seen);
    for (int i = 0; i < k; i++) {
        int a = tpu_ir_axis(vals[i], rank);
        if (a < 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                                (long long)vals[i], rank);
        if (seen[a])
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is repeated", (long long)vals[i]);
        seen[a] = true;
    }
    return TPU_STATUS_OK;
}

/* The output keeps the input's dtype; its rank (or everything) is not known. */
static enum tpu_status out_unknown(const struct tpu_graph *g, const struct tpu_node *n,
                                   enum tpu_dtype dt, int rank)
{
    int64_t dims[TPU_MAX_DIMS];
    for (int i = 0; i < TPU_MAX_DIMS; i++) dims[i] = -1;
    set_out(g, n, 0, dt, rank, dims);
    return TPU_STATUS_OK;
}

/*---- Reshape, Flatten, Squeeze, Unsqueeze, Dropout ----*/
/* ONNX Reshape: 0 copies the input dim (unless allowzero=1); one -1 is inferred. */
static enum tpu_status reshape_dims(const struct tpu_graph *g, const struct tpu_node *n,
                                    const struct tpu_tensor *x, const int64_t *sv, int k,
                                    int64_t *dims)
{
    bool allowzero = tpu_attr_int(n, "allowzero", 0) != 0;
    char b1[128], b2[128];
    int infer = -1;
    for (int i = 0; i < k; i++) {
        int64_t v = sv[i];
        if (v == 0 && !allowzero) {
            if (x->n_dims >= 0 && i >= x->n_dims)
                return tpu_node_err(g, n, TPU_ERR_SHAPE, "shape %s copies dim %d of input %s",
                                    list_str(sv, k, b1, sizeof b1), i, tpu_shape_str(x, b2, sizeof b2));
            v = x->n_dims >= 0 ? x->dims[i] : -1;
        } else if (v == -1) {
            if (infer >= 0)
                return tpu_node_err(g, n, TPU_ERR_SHAPE, "shape %s has more than one -1",
                                    list_str(sv, k, b1, sizeof b1));
            infer = i;
        } else if (v < -1) {
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "shape %s has a negative dim",
                                list_str(sv, k, b1, sizeof b1));
        }
        dims[i] = v;
    }
    if (infer >= 0) dims[infer] = 1;
    int64_t prod = dims_prod(dims, 0, k), n_in = tpu_tensor_numel(x);
    if (infer >= 0) dims[infer] = -1;
    if (prod == -2)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "shape %s overflows", list_str(sv, k, b1, sizeof b1));
    if (prod < 0 || n_in < 0) return TPU_STATUS_OK;
    if (infer >= 0 && prod != 0 && n_in % prod == 0) {
        dims[infer] = n_in / prod;
        return TPU_STATUS_OK;
    }
    if (infer < 0 && prod == n_in) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "cannot reshape %s (%lld elements) to %s",
                        tpu_shape_str(x, b2, sizeof b2), (long long)n_in,
                        list_str(sv, k, b1, sizeof b1));
}

enum tpu_status shape_reshape(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *s;
    int64_t sv[TPU_MAX_DIMS], dims[TPU_MAX_DIMS];
    int k;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &s)) || (rc = need_out(g, n)) ||
        (rc = tpu_ir_read_ints(g, n, s, "shape", sv, TPU_MAX_DIMS, &k)))
        return rc;
    if (k < 0) {
        bool rank_known = s->n_dims == 1 && s->dims[0] >= 0 && s->dims[0] <= TPU_MAX_DIMS;
        return out_unknown(g, n, x->dtype, rank_known ? (int)s->dims[0] : -1);
    }
    if ((rc = reshape_dims(g, n, x, sv, k, dims))) return rc;
    set_out(g, n, 0, x->dtype, k, dims);
    return TPU_STATUS_OK;
}

/* ONNX Flatten: [prod(d[0:axis]), prod(d[axis:])], axis in [-r, r]. */
enum tpu_status shape_flatten(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    if (x->n_dims < 0) return out_unknown(g, n, x->dtype, 2);
    int64_t axis = tpu_attr_int(n, "axis", 1);
    if (axis < 0) axis += x->n_dims;
    if (axis < 0 || axis > x->n_dims)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                            (long long)tpu_attr_int(n, "axis", 1), x->n_dims);
    int64_t dims[2] = { dims_prod(x->dims, 0, (int)axis), dims_prod(x->dims, (int)axis, x->n_dims) };
    if (dims[0] == -2 || dims[1] == -2)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "element count overflows");
    set_out(g, n, 0, x->dtype, 2, dims);
    return TPU_STATUS_OK;
}

/* ONNX Squeeze: removes the listed axes (each of extent 1), or every 1-dim. */
enum tpu_status shape_squeeze(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    int64_t av[TPU_MAX_DIMS], dims[TPU_MAX_DIMS];
    bool seen[TPU_MAX_DIMS];
    int k, r = 0;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) ||
        (rc = ints_in_or_attr(g, n, 1, "axes", av, TPU_MAX_DIMS, &k)))
        return rc;
    if (k == 0) k = -2;                                 /* empty: squeeze all 1s */
    if (x->n_dims < 0 || k == -1) return out_unknown(g, n, x->dtype, -1);
    if (k >= 0 && (rc = mark_axes(g, n, av, k, x->n_dims, seen))) return rc;
    for (int i = 0; i < x->n_dims; i++) {
        if (k < 0 && x->dims[i] < 0) return out_unknown(g, n, x->dtype, -1);
        bool drop = k < 0 ? x->dims[i] == 1 : seen[i];
        if (drop && x->dims[i] >= 0 && x->dims[i] != 1)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "cannot squeeze axis %d of extent %lld",
                                i, (long long)x->dims[i]);
        if (!drop) dims[r++] = x->dims[i];
    }
    set_out(g, n, 0, x->dtype, r, dims);
    return TPU_STATUS_OK;
}

/* ONNX Unsqueeze: axes (negative, unsorted) index the output's rank. */
enum tpu_status shape_unsqueeze(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    int64_t av[TPU_MAX_DIMS], dims[TPU_MAX_DIMS];
    bool seen[TPU_MAX_DIMS];
    int k;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) ||
        (rc = ints_in_or_attr(g, n, 1, "axes", av, TPU_MAX_DIMS, &k)))
        return rc;
    if (k == -2) return tpu_node_err(g, n, TPU_ERR_FORMAT, "'axes' is missing");
    if (x->n_dims < 0 || k < 0) return out_unknown(g, n, x->dtype, -1);
    int r = x->n_dims + k;
    if (r > TPU_MAX_DIMS)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "output rank %d is over %d", r, TPU_MAX_DIMS);
    if ((rc = mark_axes(g, n, av, k, r, seen))) return rc;
    for (int i = 0, j = 0; i < r; i++) dims[i] = seen[i] ? 1 : x->dims[j++];
    set_out(g, n, 0, x->dtype, r, dims);
    return TPU_STATUS_OK;
}

/* ONNX Dropout: output = input; the optional mask is bool of the same shape. */
enum tpu_status shape_dropout(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    set_out(g, n, 0, x->dtype, x->n_dims, x->dims);
    set_out(g, n, 1, TPU_DTYPE_BOOL, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}

/*---- Transpose, Concat, Split ----*/
/* ONNX Transpose: out.dims[i] = in.dims[perm[i]]; perm defaults to reversed. */
enum tpu_status shape_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    const int64_t *perm;
    int k = tpu_attr_ints(n, "perm", &perm);
    bool has_perm = tpu_attr_find(n, "perm") != NULL;
    if (x->n_dims < 0) return out_unknown(g, n, x->dtype, has_perm ? k : -1);
    int r = x->n_dims;
    if (has_perm && k != r)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "perm has %d values for rank %d", k, r);
    int64_t dims[TPU_MAX_DIMS];
    bool seen[TPU_MAX_DIMS] = { false };
    for (int i = 0; i < r; i++) {
        int64_t p = has_perm ? perm[i] : r - 1 - i;
        if (p < 0 || p >= r || seen[p])
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "perm is not a permutation of 0..%d", r - 1);
        seen[p] = true;
        dims[i] = x->dims[p];
    }
    set_out(g, n, 0, x->dtype, r, dims);
    return TPU_STATUS_OK;
}

/* ONNX Concat: inputs agree on every dim but `axis`, which is summed. */
enum tpu_status shape_concat(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x0, *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x0)) || (rc = need_out(g, n))) return rc;
    if (!tpu_attr_find(n, "axis")) return tpu_node_err(g, n, TPU_ERR_FORMAT, "attribute 'axis' is missing");
    if (x0->n_dims < 0) return out_unknown(g, n, x0->dtype, -1);
    int r = x0->n_dims, axis = tpu_ir_axis(tpu_attr_int(n, "axis", 0), r);
    if (axis < 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                            (long long)tpu_attr_int(n, "axis", 0), r);
    int64_t dims[TPU_MAX_DIMS];
    memcpy(dims, x0->dims, sizeof dims);
    char b1[128], b2[128];
    for (int i = 1; i < n->n_inputs; i++) {
        if ((rc = need_in(g, n, i, &x))) return rc;
        if (x->dtype != x0->dtype)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "input %d is %s, input 0 is %s", i,
                                tpu_dtype_name(x->dtype), tpu_dtype_name(x0->dtype));
        if (x->n_dims < 0) return out_unknown(g, n, x0->dtype, r);
        bool bad = x->n_dims != r;
        for (int d = 0; d < r && !bad; d++)
            bad = d != axis && x->dims[d] >= 0 && dims[d] >= 0 && x->dims[d] != dims[d];
        if (bad)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "input %d %s does not fit input 0 %s on axis %d",
                                i, tpu_shape_str(x, b1, sizeof b1), tpu_shape_str(x0, b2, sizeof b2), axis);
        for (int d = 0; d < r; d++)
            if (d != axis && dims[d] < 0) dims[d] = x->dims[d];
        dims[axis] = dims[axis] < 0 || x->dims[axis] < 0 ? -1 : dims[axis] + x->dims[axis];
    }
    set_out(g, n, 0, x0->dtype, r, dims);
    return TPU_STATUS_OK;
}

/* Extent of output i of a Split with no `split` list over a dim of `dim`:
** equal parts, or (opset 18 num_outputs) ceil-sized parts with a short last. */
static int64_t split_equal(int64_t dim, int n_out, int i, bool ceil_ok)
{
    if (dim % n_out == 0) return dim / n_out;
    if (!ceil_ok) return -2;
    int64_t c = (dim + n_out - 1) / n_out, lo = c * i;
    return lo >= dim ? 0 : (dim - lo < c ? dim - lo : c);
}

/* ONNX Split: `split` input (or attribute) of n_outputs extents, or equal parts. */
enum tpu_status shape_split(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x))) return rc;
    int n_out = n->n_outputs;
    int64_t dims[TPU_MAX_DIMS];
    if (n_out < 1) return tpu_node_err(g, n, TPU_ERR_FORMAT, "no outputs");
    if (x->n_dims < 0) {
        for (int i = 0; i < n_out; i++) set_out(g, n, i, x->dtype, -1, NULL);
        return TPU_STATUS_OK;
    }
    int r = x->n_dims, axis = tpu_ir_axis(tpu_attr_int(n, "axis", 0), r);
    if (axis < 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                            (long long)tpu_attr_int(n, "axis", 0), r);
    const struct tpu_tensor *s = tpu_in(g, n, 1);
    const int64_t *sa = NULL;
    if (s && tpu_tensor_numel(s) == 0) s = NULL;       /* empty: not given */
    if (s && (s->dtype != TPU_DTYPE_I64 && s->dtype != TPU_DTYPE_I32))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'split' must be int64, not %s", tpu_dtype_name(s->dtype));
    int64_t n_split = s ? tpu_tensor_numel(s) : tpu_attr_ints(n, "split", &sa);
    bool have_split = s ? s->data != NULL : n_split > 0;
    if (have_split && n_split != n_out)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'split' has %lld values for %d outputs",
                            (long long)n_split, n_out);
    int64_t dim = x->dims[axis], sum = 0;
    bool ceil_ok = tpu_attr_find(n, "num_outputs") != NULL;
    memcpy(dims, x->dims, sizeof dims);
    for (int i = 0; i < n_out; i++) {
        int64_t e = -1;
        if (have_split) {
            e = sa ? sa[i] : tpu_get_i64(s->data, s->dtype, (size_t)i);
            if (e < 0 || e > INT64_MAX - sum)
                return tpu_node_err(g, n, TPU_ERR_SHAPE, "'split' value %lld is invalid", (long long)e);
            sum += e;
        } else if (!s && dim >= 0) {
            e = split_equal(dim, n_out, i, ceil_ok);
        }
        if (e == -2)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %d of extent %lld does not split into %d equal parts",
                                axis, (long long)dim, n_out);
        dims[axis] = e;
        set_out(g, n, i, x->dtype, r, dims);
    }
    if (have_split && dim >= 0 && sum != dim)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'split' sums to %lld, axis %d has extent %lld",
                            (long long)sum, axis, (long long)dim);
    return TPU_STATUS_OK;
}

/*---- Slice ----*/
/* ONNX Slice, one axis: negative start/end count from the end; then clamp to
** [0, dim] (step > 0) or [-1, dim-1] (step < 0). */
static void slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step,
                       int64_t *first, int64_t *len)
{
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    int64_t lo = step > 0 ? 0 : -1, hi = step > 0 ? dim : dim - 1;
    start = start < 0 ? 0 : start > hi ? hi : start;
    end = end < lo ? lo : end > hi ? hi : end;
    int64_t span = step > 0 ? end - start : start - end;
    int64_t s = step > 0 ? step : step == INT64_MIN ? INT64_MAX : -step;
    *first = start;
    *len = span <= 0 || dim == 0 ? 0 : (span - 1) / s + 1;
}

enum tpu_status tpu_ir_slice_plan(const struct tpu_graph *g, const struct tpu_node *n,
                                  struct tpu_slice_plan *p)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    int64_t st[TPU_MAX_DIMS], en[TPU_MAX_DIMS], ax[TPU_MAX_DIMS], sp[TPU_MAX_DIMS];
    int ks, ke, ka, kp;
    bool seen[TPU_MAX_DIMS];
    enum tpu_status rc;
    TPU_ASSERT(x && x->n_dims >= 0);
    int r = x->n_dims;
    if ((rc = ints_in_or_attr(g, n, 1, "starts", st, r, &ks)) ||
        (rc = ints_in_or_attr(g, n, 2, "ends", en, r, &ke)) ||
        (rc = ints_in_or_attr(g, n, 3, "axes", ax, r, &ka)) ||
        (rc = ints_in_or_attr(g, n, 4, "steps", sp, r, &kp)))
        return rc;
    for (int i = 0; i < r; i++) { p->start[i] = 0; p->step[i] = 1; p->len[i] = x->dims[i]; }
    p->known = ks >= 0 && ke >= 0 && ka != -1 && kp != -1;
    if (ks == -2 || ke == -2) return tpu_node_err(g, n, TPU_ERR_FORMAT, "'starts' or 'ends' is missing");
    if (!p->known) {
        for (int i = 0; i < r; i++) p->len[i] = -1;
        return TPU_STATUS_OK;
    }
    if (ke != ks || (ka >= 0 && ka != ks) || (kp >= 0 && kp != ks))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "starts, ends, axes and steps differ in length");
    if (ka < 0)
        for (int i = 0; i < ks; i++) ax[i] = i;
    if ((rc = mark_axes(g, n, ax, ks, r, seen))) return rc;
    for (int i = 0; i < ks; i++) {
        int a = tpu_ir_axis(ax[i], r);
        int64_t step = kp >= 0 ? sp[i] : 1;
        if (step == 0) return tpu_node_err(g, n, TPU_ERR_SHAPE, "step on axis %d is 0", a);
        p->step[a] = step;
        if (x->dims[a] < 0) { p->len[a] = -1; continue; }
        slice_axis(x->dims[a], st[i], en[i], step, &p->start[a], &p->len[a]);
    }
    return TPU_STATUS_OK;
}

enum tpu_status shape_slice(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    struct tpu_slice_plan p;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    if (x->n_dims < 0) return out_unknown(g, n, x->dtype, -1);
    if ((rc = tpu_ir_slice_plan(g, n, &p))) return rc;
    set_out(g, n, 0, x->dtype, x->n_dims, p.len);
    return TPU_STATUS_OK;
}

/*---- Gather, Shape, Size ----*/
/* ONNX Gather: out = data.dims[:axis] + indices.dims + data.dims[axis+1:]. */
enum tpu_status shape_gather(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *idx;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &idx)) || (rc = need_out(g, n))) return rc;
    if (idx->dtype != TPU_DTYPE_I64 && idx->dtype != TPU_DTYPE_I32)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "indices must be int64 or int32, not %s",
                            tpu_dtype_name(idx->dtype));
    if (x->n_dims < 0 || idx->n_dims < 0) return out_unknown(g, n, x->dtype, -1);
    int r = x->n_dims, q = idx->n_dims, axis = tpu_ir_axis(tpu_attr_int(n, "axis", 0), r);
    if (axis < 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                            (long long)tpu_attr_int(n, "axis", 0), r);
    if (r + q - 1 > TPU_MAX_DIMS)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "output rank %d is over %d", r + q - 1, TPU_MAX_DIMS);
    int64_t dims[TPU_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < axis; i++) dims[k++] = x->dims[i];
    for (int i = 0; i < q; i++) dims[k++] = idx->dims[i];
    for (int i = axis + 1; i < r; i++) dims[k++] = x->dims[i];
    set_out(g, n, 0, x->dtype, k, dims);
    return TPU_STATUS_OK;
}

/* ONNX Shape (opset 15): dims[start:end] as int64, start/end clamped to [0, r]. */
static void shape_range_of(const struct tpu_node *n, int r, int64_t *lo, int64_t *hi)
{
    int64_t s = tpu_attr_int(n, "start", 0), e = tpu_attr_int(n, "end", r);
    if (s < 0) s += r;
    if (e < 0) e += r;
    *lo = s < 0 ? 0 : s > r ? r : s;
    *hi = e < 0 ? 0 : e > r ? r : e;
    if (*hi < *lo) *hi = *lo;
}

enum tpu_status shape_shape(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    int64_t lo, hi, len = -1;
    if (x->n_dims >= 0) {
        shape_range_of(n, x->n_dims, &lo, &hi);
        len = hi - lo;
    }
    set_out(g, n, 0, TPU_DTYPE_I64, 1, &len);
    return TPU_STATUS_OK;
}

enum tpu_status shape_size(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    set_out(g, n, 0, TPU_DTYPE_I64, 0, NULL);
    return TPU_STATUS_OK;
}

/*---- Constant, ConstantOfShape, Cast ----*/
/* ONNX Constant: exactly one of value, value_float(s), value_int(s). */
enum tpu_status shape_constant(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc;
    if ((rc = need_out(g, n))) return rc;
    const struct tpu_attr *a;
    int64_t len;
    if ((a = tpu_attr_find(n, "value")) && a->type == TPU_ATTR_TENSOR && a->t) {
        if (tpu_dtype_size(a->t->dtype) == 0 || a->t->n_dims < 0 || !tpu_tensor_shape_known(a->t))
            return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "'value' of dtype %s is not supported",
                                tpu_dtype_name(a->t->dtype));
        if (!a->t->data && tpu_tensor_numel(a->t) > 0)
            return tpu_node_err(g, n, TPU_ERR_FORMAT, "'value' has no data");
        set_out(g, n, 0, a->t->dtype, a->t->n_dims, a->t->dims);
    } else if ((a = tpu_attr_find(n, "value_float"))) {
        set_out(g, n, 0, TPU_DTYPE_F32, 0, NULL);
    } else if ((a = tpu_attr_find(n, "value_int"))) {
        set_out(g, n, 0, TPU_DTYPE_I64, 0, NULL);
    } else if ((a = tpu_attr_find(n, "value_floats")) || (a = tpu_attr_find(n, "value_ints"))) {
        len = a->n;
        set_out(g, n, 0, a->type == TPU_ATTR_FLOATS ? TPU_DTYPE_F32 : TPU_DTYPE_I64, 1, &len);
    } else if (tpu_attr_find(n, "sparse_value") || tpu_attr_find(n, "value_string") ||
               tpu_attr_find(n, "value_strings")) {
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "sparse and string constants are not supported");
    } else {
        return tpu_node_err(g, n, TPU_ERR_FORMAT, "no 'value' attribute");
    }
    return TPU_STATUS_OK;
}

/* ONNX ConstantOfShape: dims from the input's values; dtype of the 'value'
** tensor attribute (one element), float32 0 by default. */
enum tpu_status shape_constant_of_shape(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *s;
    int64_t dims[TPU_MAX_DIMS];
    int k;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &s)) || (rc = need_out(g, n)) ||
        (rc = tpu_ir_read_ints(g, n, s, "input", dims, TPU_MAX_DIMS, &k)))
        return rc;
    enum tpu_dtype dt = TPU_DTYPE_F32;
    const struct tpu_attr *a = tpu_attr_find(n, "value");
    if (a) {
        if (a->type != TPU_ATTR_TENSOR || !a->t || tpu_tensor_numel(a->t) != 1 ||
            tpu_dtype_size(a->t->dtype) == 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "'value' must be a one-element numeric tensor");
        if (!a->t->data) return tpu_node_err(g, n, TPU_ERR_FORMAT, "'value' has no data");
        dt = a->t->dtype;
    }
    if (k < 0) {
        bool rank_known = s->n_dims == 1 && s->dims[0] >= 0 && s->dims[0] <= TPU_MAX_DIMS;
        return out_unknown(g, n, dt, rank_known ? (int)s->dims[0] : -1);
    }
    for (int i = 0; i < k; i++)
        if (dims[i] < 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "dim %d is negative (%lld)", i, (long long)dims[i]);
    set_out(g, n, 0, dt, k, dims);
    return TPU_STATUS_OK;
}

/* ONNX Cast: same dims, dtype from the 'to' attribute. */
enum tpu_status shape_cast(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    if (!tpu_attr_find(n, "to")) return tpu_node_err(g, n, TPU_ERR_FORMAT, "attribute 'to' is missing");
    int64_t to = tpu_attr_int(n, "to", 0);
    if (to <= 0 || to > 64 || tpu_dtype_size((enum tpu_dtype)to) == 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "cast to %s (%lld) is not supported",
                            tpu_dtype_name((enum tpu_dtype)(to > 0 && to < 64 ? to : 0)), (long long)to);
    if (tpu_dtype_size(x->dtype) == 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "cast from %s is not supported",
                            tpu_dtype_name(x->dtype));
    set_out(g, n, 0, (enum tpu_dtype)to, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}

/*---- Expand, Tile, Pad, Range ----*/
/* ONNX Expand: bidirectional (numpy) broadcast of the input with `shape`. */
enum tpu_status shape_expand(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *s;
    int64_t sv[TPU_MAX_DIMS], dims[TPU_MAX_DIMS];
    int k;
    char b1[128], b2[128];
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &s)) || (rc = need_out(g, n)) ||
        (rc = tpu_ir_read_ints(g, n, s, "shape", sv, TPU_MAX_DIMS, &k)))
        return rc;
    if (k < 0 || x->n_dims < 0) return out_unknown(g, n, x->dtype, -1);
    for (int i = 0; i < k; i++)
        if (sv[i] < 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "shape %s has a negative dim", list_str(sv, k, b1, sizeof b1));
    int r = tpu_broadcast_dims(x->n_dims, x->dims, k, sv, dims);
    if (r < 0)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input %s does not broadcast to %s",
                            tpu_shape_str(x, b2, sizeof b2), list_str(sv, k, b1, sizeof b1));
    for (int i = r - k; i < r; i++)         /* an unknown input dim meets s > 1: s */
        if (dims[i] < 0 && sv[i - (r - k)] > 1) dims[i] = sv[i - (r - k)];
    set_out(g, n, 0, x->dtype, r, dims);
    return TPU_STATUS_OK;
}

/* ONNX Tile: out.dims[i] = in.dims[i] * repeats[i]. */
enum tpu_status shape_tile(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *rp;
    int64_t rv[TPU_MAX_DIMS], dims[TPU_MAX_DIMS];
    int k;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &rp)) || (rc = need_out(g, n)) ||
        (rc = tpu_ir_read_ints(g, n, rp, "repeats", rv, TPU_MAX_DIMS, &k)))
        return rc;
    if (x->n_dims < 0 || k < 0) return out_unknown(g, n, x->dtype, x->n_dims);
    if (k != x->n_dims)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'repeats' has %d values for rank %d", k, x->n_dims);
    for (int i = 0; i < k; i++) {
        if (rv[i] < 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "repeat %lld on axis %d is negative", (long long)rv[i], i);
        dims[i] = -1;
        if (x->dims[i] >= 0 && __builtin_mul_overflow(x->dims[i], rv[i], &dims[i]))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %d overflows", i);
    }
    set_out(g, n, 0, x->dtype, k, dims);
    return TPU_STATUS_OK;
}

/* ONNX Pad: pads = [x1_begin, x2_begin, ..., x1_end, x2_end, ...]; negative
** pads crop. mode constant | reflect | edge. */
enum tpu_status shape_pad(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    int64_t pv[2 * TPU_MAX_DIMS], dims[TPU_MAX_DIMS];
    int k;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) ||
        (rc = ints_in_or_attr(g, n, 1, "pads", pv, 2 * TPU_MAX_DIMS, &k)))
        return rc;
    const char *mode = tpu_attr_str(n, "mode", "constant");
    bool edge_like = strcmp(mode, "edge") == 0 || strcmp(mode, "reflect") == 0;
    if (!edge_like && strcmp(mode, "constant") != 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "Pad mode '%s' is not supported", mode);
    const struct tpu_tensor *cv = tpu_in(g, n, 2);
    if (cv && (cv->dtype != x->dtype || tpu_tensor_numel(cv) > 1))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "constant_value must be one %s", tpu_dtype_name(x->dtype));
    if (k == -2) return tpu_node_err(g, n, TPU_ERR_FORMAT, "'pads' is missing");
    if (x->n_dims < 0 || k < 0) return out_unknown(g, n, x->dtype, x->n_dims);
    int r = x->n_dims;
    if (k != 2 * r) return tpu_node_err(g, n, TPU_ERR_SHAPE, "'pads' has %d values for rank %d", k, r);
    for (int i = 0; i < r; i++) {
        int64_t d = x->dims[i], b = pv[i], e = pv[r + i];
        if (d < 0) { dims[i] = -1; continue; }
        if (b < -d || e < -d || b > (INT64_C(1) << 40) || e > (INT64_C(1) << 40) || d + b + e < 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "pads %lld,%lld do not fit axis %d of extent %lld",
                                (long long)b, (long long)e, i, (long long)d);
        if (edge_like && d == 0 && (b > 0 || e > 0))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s pad of empty axis %d", mode, i);
        dims[i] = d + b + e;
    }
    set_out(g, n, 0, x->dtype, r, dims);
    return TPU_STATUS_OK;
}

/* ONNX Range: max(ceil((limit - start) / delta), 0) elements. */
static enum tpu_status range_len(const struct tpu_graph *g, const struct tpu_node *n,
                                 const struct tpu_tensor *const t[3], int64_t *len)
{
    if (tpu_dtype_is_float(t[0]->dtype)) {
        double s = tpu_get_f64(t[0]->data, t[0]->dtype, 0), l = tpu_get_f64(t[1]->data, t[1]->dtype, 0);
        double d = tpu_get_f64(t[2]->data, t[2]->dtype, 0), c = ceil((l - s) / d);
        if (d == 0 || !isfinite(c) || c > (double)(INT64_C(1) << 40))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "range %g..%g step %g is not finite", s, l, d);
        *len = c > 0 ? (int64_t)c : 0;
        return TPU_STATUS_OK;
    }
    int64_t s = tpu_get_i64(t[0]->data, t[0]->dtype, 0), l = tpu_get_i64(t[1]->data, t[1]->dtype, 0);
    int64_t d = tpu_get_i64(t[2]->data, t[2]->dtype, 0), span;
    if (d == 0 || __builtin_sub_overflow(l, s, &span))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "range %lld..%lld step %lld is invalid",
                            (long long)s, (long long)l, (long long)d);
    if ((span > 0) != (d > 0) || span == 0) { *len = 0; return TPU_STATUS_OK; }
    /* same signs: ceil(span / d) = (span - 1) / d + 1 for positive, mirrored for negative */
    *len = d > 0 ? (span - 1) / d + 1 : (span + 1) / d + 1;
    return TPU_STATUS_OK;
}

enum tpu_status shape_range(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *t[3];
    enum tpu_status rc;
    for (int i = 0; i < 3; i++) {
        struct tpu_tensor *x;
        if ((rc = need_in(g, n, i, &x))) return rc;
        t[i] = x;
        if (x->dtype != t[0]->dtype || tpu_dtype_size(x->dtype) == 0 || x->dtype == TPU_DTYPE_BOOL)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "start, limit and delta must share one numeric dtype");
        if (tpu_tensor_numel(x) >= 0 && tpu_tensor_numel(x) != 1)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "input %d must be a scalar", i);
    }
    if ((rc = need_out(g, n))) return rc;
    int64_t len = -1;
    if (t[0]->data && t[1]->data && t[2]->data && (rc = range_len(g, n, t, &len))) return rc;
    set_out(g, n, 0, t[0]->dtype, 1, &len);
    return TPU_STATUS_OK;
}

/*---- Resize ----*/
static const char *const coord_names[] = {
    [TPU_RESIZE_HALF_PIXEL] = "half_pixel", [TPU_RESIZE_PYTORCH_HALF_PIXEL] = "pytorch_half_pixel",
    [TPU_RESIZE_ALIGN_CORNERS] = "align_corners", [TPU_RESIZE_ASYMMETRIC] = "asymmetric",
    [TPU_RESIZE_TF_HALF_PIXEL_FOR_NN] = "tf_half_pixel_for_nn",
    [TPU_RESIZE_TF_CROP_AND_RESIZE] = "tf_crop_and_resize",
    [TPU_RESIZE_HALF_PIXEL_SYMMETRIC] = "half_pixel_symmetric",
};
static const char *const nearest_names[] = {
    [TPU_NEAREST_ROUND_PREFER_FLOOR] = "round_prefer_floor",
    [TPU_NEAREST_ROUND_PREFER_CEIL] = "round_prefer_ceil",
    [TPU_NEAREST_FLOOR] = "floor", [TPU_NEAREST_CEIL] = "ceil",
};

static int name_index(const char *const *names, int n_names, const char *s)
{
    for (int i = 0; i < n_names; i++)
        if (names[i] && strcmp(names[i], s) == 0) return i;
    return -1;
}

/* Modes and attributes. Before opset 11 (Upsample, Resize-10) there was no
** coordinate mode: asymmetric, with floor when enlarging and ceil when shrinking. */
static enum tpu_status resize_modes(const struct tpu_graph *g, const struct tpu_node *n,
                                    struct tpu_resize_plan *p)
{
    bool old = n->opset > 0 && n->opset < 11;
    const char *mode = tpu_attr_str(n, "mode", "nearest");
    const char *cm = tpu_attr_str(n, "coordinate_transformation_mode", old ? "asymmetric" : "half_pixel");
    const char *nm = tpu_attr_str(n, "nearest_mode", "round_prefer_floor");
    p->cubic = strcmp(mode, "cubic") == 0 || strcmp(mode, "bicubic") == 0;
    p->cubic_a = tpu_attr_float(n, "cubic_coeff_a", -0.75f);
    p->exclude_outside = tpu_attr_int(n, "exclude_outside", 0) != 0;
    p->linear = p->cubic || strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0 ||
                strcmp(mode, "trilinear") == 0;
    if (!p->linear && strcmp(mode, "nearest") != 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "Resize mode '%s' not supported", mode);
    int c = name_index(coord_names, (int)(sizeof coord_names / sizeof *coord_names), cm);
    int m = name_index(nearest_names, (int)(sizeof nearest_names / sizeof *nearest_names), nm);
    if (c < 0 || m < 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "Resize %s / %s not supported", cm, nm);
    if (tpu_attr_int(n, "antialias", 0) != 0 || tpu_attr_find(n, "axes") ||
        strcmp(tpu_attr_str(n, "keep_aspect_ratio_policy", "stretch"), "stretch") != 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "Resize antialias, axes and keep_aspect_ratio_policy not supported");
    p->coord = (enum tpu_resize_coord)c;
    p->nearest = old && !tpu_attr_find(n, "nearest_mode") ? TPU_NEAREST_SIMPLE : (enum tpu_resize_nearest)m;
    p->extrapolation = tpu_attr_float(n, "extrapolation_value", 0.0f);
    return TPU_STATUS_OK;
}

/* Reads a float list (scales or roi) of exactly `want` values into v. */
static enum tpu_status read_floats(const struct tpu_graph *g, const struct tpu_node *n,
                                   const struct tpu_tensor *t, const char *what, int want, double *v)
{
    if (!tpu_dtype_is_float(t->dtype) || t->n_dims != 1 || tpu_tensor_numel(t) != want)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "'%s' must be %d floats", what, want);
    for (int i = 0; i < want; i++) v[i] = tpu_get_f64(t->data, t->dtype, (size_t)i);
    return TPU_STATUS_OK;
}

static bool has_values(const struct tpu_tensor *t) { return t && tpu_tensor_numel(t) != 0; }

/* Output extents from sizes, or floor(in * scale) (times the roi extent for
** tf_crop_and_resize); scale = out / in when sizes are given. */
static enum tpu_status resize_extents(const struct tpu_graph *g, const struct tpu_node *n,
                                      const struct tpu_tensor *x, const struct tpu_tensor *sc,
                                      const struct tpu_tensor *sz, struct tpu_resize_plan *p)
{
    int r = p->rank, k;
    int64_t sv[TPU_MAX_DIMS];
    enum tpu_status rc;
    if (sz) {
        if ((rc = tpu_ir_read_ints(g, n, sz, "sizes", sv, TPU_MAX_DIMS, &k))) return rc;
        if (k != r) return tpu_node_err(g, n, TPU_ERR_SHAPE, "'sizes' has %d values for rank %d", k, r);
    } else if ((rc = read_floats(g, n, sc, "scales", r, p->scale))) {
        return rc;
    }
    for (int i = 0; i < r; i++) {
        double in = (double)x->dims[i], crop = p->roi_end[i] - p->roi_start[i];
        if (!sz && !(p->scale[i] > 0 && isfinite(p->scale[i])))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "scale %g on axis %d is not positive", p->scale[i], i);
        if (p->coord != TPU_RESIZE_TF_CROP_AND_RESIZE) crop = 1;
        double o = sz ? (double)sv[i] : floor(in * crop * p->scale[i]);
        if (!(o >= 0 && o <= (double)(INT64_C(1) << 40)) || (x->dims[i] == 0 && o > 0))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "output extent %g on axis %d (input %lld) is invalid",
                                o, i, (long long)x->dims[i]);
        p->out[i] = (int64_t)o;
        if (sz) p->scale[i] = x->dims[i] > 0 ? o / in : 1;
    }
    return TPU_STATUS_OK;
}

enum tpu_status tpu_ir_resize_plan(const struct tpu_graph *g, const struct tpu_node *n,
                                   struct tpu_resize_plan *p)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0), *roi = tpu_in(g, n, 1);
    const struct tpu_tensor *sc = tpu_in(g, n, 2), *sz = tpu_in(g, n, 3);
    enum tpu_status rc;
    TPU_ASSERT(x && x->n_dims >= 0);
    memset(p, 0, sizeof *p);
    p->rank = x->n_dims;
    if ((rc = resize_modes(g, n, p))) return rc;
    if (n->n_inputs == 2 && n->opset > 0 && n->opset < 11) { sc = roi; roi = NULL; }  /* Resize-10 */
    for (int i = 0; i < p->rank; i++) { p->out[i] = -1; p->roi_end[i] = 1; }
    bool use_sizes = has_values(sz);
    const struct tpu_tensor *src = use_sizes ? sz : sc;
    if (has_values(sz) && has_values(sc))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "only one of 'scales' and 'sizes' may be given");
    if (!has_values(sz) && !has_values(sc))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "one of 'scales' and 'sizes' must be given");
    p->known = src->data && tpu_tensor_shape_known(x) &&
               (p->coord != TPU_RESIZE_TF_CROP_AND_RESIZE || (has_values(roi) && roi->data));
    if (!p->known) return TPU_STATUS_OK;
    if (p->coord == TPU_RESIZE_TF_CROP_AND_RESIZE) {
        double rv[2 * TPU_MAX_DIMS];
        if ((rc = read_floats(g, n, roi, "roi", 2 * p->rank, rv))) return rc;
        for (int i = 0; i < p->rank; i++) { p->roi_start[i] = rv[i]; p->roi_end[i] = rv[p->rank + i]; }
    }
    return resize_extents(g, n, x, use_sizes ? NULL : sc, use_sizes ? sz : NULL, p);
}

enum tpu_status shape_resize(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    struct tpu_resize_plan p;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    if (x->n_dims < 0) return out_unknown(g, n, x->dtype, -1);
    if ((rc = tpu_ir_resize_plan(g, n, &p))) return rc;
    set_out(g, n, 0, x->dtype, x->n_dims, p.out);
    return TPU_STATUS_OK;
}
