/*
** ir/shape_extra.c: shape functions of the "extra" ops that real models and
** ONNX's backend tests need beyond the core set: index ops (GatherElements,
** ScatterElements/Scatter, ScatterND, GatherND), Trilu, CumSum, Mod, Hardmax,
** OneHot, EyeLike, CastLike, DepthToSpace, SpaceToDepth, Shrink, IsNaN, IsInf,
** BitShift, LRN, MeanVarianceNormalization, ReverseSequence, Compress,
** LpNormalization, GlobalLpPool, NegativeLogLikelihoodLoss and
** SoftmaxCrossEntropyLoss.
**
** In:  a node whose inputs carry dtype + dims (and values when known).
** Out: every output's dtype + dims (-1 where they depend on values not known
**      yet). The kernels are in ref/ref_extra*.c; every attribute and index a
**      kernel relies on (axes, block sizes, ranks) is validated here first.
*/
#include "ref/ref_elem.h"
#include "ref/ref_extra.h"
#include "ref/ref_tensor.h"
#include <string.h>

/*---- Helpers ----*/
static enum tpu_status need_in(const struct tpu_graph *g, const struct tpu_node *n, int i,
                               struct tpu_tensor **t)
{
    *t = tpu_in(g, n, i);
    if (!tpu_ir_omitted(*t)) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "required input %d is missing", i);
}

static struct tpu_tensor *opt_in(const struct tpu_graph *g, const struct tpu_node *n, int i)
{
    struct tpu_tensor *t = tpu_in(g, n, i);
    return tpu_ir_omitted(t) ? NULL : t;
}

static enum tpu_status need_out(const struct tpu_graph *g, const struct tpu_node *n)
{
    if (tpu_out(g, n, 0)) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "required output 0 is missing");
}

static void set_out(const struct tpu_graph *g, const struct tpu_node *n, int i,
                    enum tpu_dtype dt, int n_dims, const int64_t *dims)
{
    struct tpu_tensor *t = tpu_out(g, n, i);
    if (!t) return;
    t->dtype = dt;
    tpu_tensor_set_shape(t, n_dims, dims);
}

static enum tpu_status unknown_out(const struct tpu_graph *g, const struct tpu_node *n,
                                   enum tpu_dtype dt, int rank)
{
    int64_t dims[TPU_MAX_DIMS];
    for (int i = 0; i < TPU_MAX_DIMS; i++) dims[i] = -1;
    set_out(g, n, 0, dt, rank, dims);
    return TPU_STATUS_OK;
}

static bool is_index_dtype(enum tpu_dtype dt)
{
    return dt == TPU_DTYPE_I64 || dt == TPU_DTYPE_I32;
}

static enum tpu_status need_index(const struct tpu_graph *g, const struct tpu_node *n,
                                  const struct tpu_tensor *t, const char *what)
{
    if (is_index_dtype(t->dtype)) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s must be int64 or int32, not %s", what,
                        tpu_dtype_name(t->dtype));
}

static enum tpu_status need_float(const struct tpu_graph *g, const struct tpu_node *n,
                                  const struct tpu_tensor *t)
{
    if (tpu_dtype_is_float(t->dtype)) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "input '%s' is %s, expected a floating-point type",
                        t->name, tpu_dtype_name(t->dtype));
}

static enum tpu_status need_rank_min(const struct tpu_graph *g, const struct tpu_node *n,
                                     const struct tpu_tensor *t, int min)
{
    if (t->n_dims < 0 || t->n_dims >= min) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "input '%s' has rank %d, at least %d needed",
                        t->name, t->n_dims, min);
}

/* Normalised `axis` attribute against rank; an error naming the node when out of range. */
static enum tpu_status attr_axis(const struct tpu_graph *g, const struct tpu_node *n,
                                 int64_t def, int rank, int *axis)
{
    int64_t a = tpu_attr_int(n, "axis", def);
    *axis = tpu_ir_axis(a, rank);
    if (*axis >= 0) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                        (long long)a, rank);
}

static bool dims_equal(const struct tpu_tensor *a, const struct tpu_tensor *b)
{
    if (a->n_dims != b->n_dims) return false;
    for (int i = 0; i < a->n_dims; i++)
        if (a->dims[i] >= 0 && b->dims[i] >= 0 && a->dims[i] != b->dims[i]) return false;
    return true;
}

/* Output = input 0's dtype and dims. */
static enum tpu_status same_as_x(const struct tpu_graph *g, const struct tpu_node *n,
                                 const struct tpu_tensor *x)
{
    set_out(g, n, 0, x->dtype, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}

/*---- GatherElements, ScatterElements, ScatterND, GatherND ----*/
/* ONNX GatherElements: out has the indices' shape; data and indices share a rank. */
enum tpu_status shape_gather_elements(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *idx;
    enum tpu_status rc;
    int axis;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &idx)) || (rc = need_out(g, n)) ||
        (rc = need_index(g, n, idx, "indices")))
        return rc;
    if (x->n_dims < 0 || idx->n_dims < 0) return unknown_out(g, n, x->dtype, idx->n_dims);
    if (x->n_dims != idx->n_dims || x->n_dims < 1)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "data rank %d and indices rank %d must be equal and >= 1",
                            x->n_dims, idx->n_dims);
    if ((rc = attr_axis(g, n, 0, x->n_dims, &axis))) return rc;
    set_out(g, n, 0, x->dtype, idx->n_dims, idx->dims);
    return TPU_STATUS_OK;
}

static enum tpu_status check_reduction(const struct tpu_graph *g, const struct tpu_node *n)
{
    const char *r = tpu_attr_str(n, "reduction", "none");
    if (tpu_ref_reduction_of(r) >= 0) return TPU_STATUS_OK;
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "reduction '%s' is not one of none/add/mul/min/max", r);
}

/* ONNX ScatterElements (and the older Scatter): out = data's shape; indices and
** updates share a shape and data's rank. */
enum tpu_status shape_scatter_elements(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *idx, *u;
    enum tpu_status rc;
    int axis;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &idx)) || (rc = need_in(g, n, 2, &u)) ||
        (rc = need_out(g, n)) || (rc = need_index(g, n, idx, "indices")) || (rc = check_reduction(g, n)))
        return rc;
    if (u->dtype != x->dtype)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "updates are %s, data is %s",
                            tpu_dtype_name(u->dtype), tpu_dtype_name(x->dtype));
    if (x->n_dims >= 0 && idx->n_dims >= 0 && u->n_dims >= 0) {
        if (x->n_dims != idx->n_dims || x->n_dims < 1 || !dims_equal(idx, u))
            return tpu_node_err(g, n, TPU_ERR_SHAPE,
                                "indices and updates must have one shape and data's rank %d", x->n_dims);
        if ((rc = attr_axis(g, n, 0, x->n_dims, &axis))) return rc;
    }
    return same_as_x(g, n, x);
}

/* ONNX ScatterND: indices [..., k] address data's first k axes; updates have
** shape indices.dims[:-1] + data.dims[k:]. */
enum tpu_status shape_scatter_nd(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *idx, *u;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &idx)) || (rc = need_in(g, n, 2, &u)) ||
        (rc = need_out(g, n)) || (rc = need_index(g, n, idx, "indices")) || (rc = check_reduction(g, n)))
        return rc;
    if (u->dtype != x->dtype)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "updates are %s, data is %s",
                            tpu_dtype_name(u->dtype), tpu_dtype_name(x->dtype));
    if (x->n_dims >= 0 && idx->n_dims >= 0 && u->n_dims >= 0) {
        int r = x->n_dims, q = idx->n_dims;
        int64_t k = q >= 1 ? idx->dims[q - 1] : -1;
        if (q < 1 || r < 1 || k < 1 || k > r)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "indices' last dim %lld must be in [1, %d]",
                                (long long)k, r);
        bool ok = u->n_dims == q - 1 + r - (int)k;
        for (int i = 0; ok && i < u->n_dims; i++) {
            int64_t want = i < q - 1 ? idx->dims[i] : x->dims[i - (q - 1) + k];
            ok = want < 0 || u->dims[i] < 0 || want == u->dims[i];
        }
        if (!ok)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "updates' shape must be indices.shape[:-1] + data.shape[%lld:]",
                                (long long)k);
    }
    return same_as_x(g, n, x);
}

/* ONNX GatherND: out = data[:b] + indices[b:q-1] + data[b+k:]. */
enum tpu_status shape_gather_nd(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *idx;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &idx)) || (rc = need_out(g, n)) ||
        (rc = need_index(g, n, idx, "indices")))
        return rc;
    if (x->n_dims < 0 || idx->n_dims < 0) return unknown_out(g, n, x->dtype, -1);
    int r = x->n_dims, q = idx->n_dims;
    int64_t b = tpu_attr_int(n, "batch_dims", 0);
    if (q < 1 || r < 1 || b < 0 || b >= q || b >= r)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "batch_dims %lld must be below data rank %d and indices rank %d",
                            (long long)b, r, q);
    int64_t k = idx->dims[q - 1];
    if (k < 0) return unknown_out(g, n, x->dtype, -1);
    if (k < 1 || k > r - b)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "indices' last dim %lld must be in [1, %lld]",
                            (long long)k, (long long)(r - b));
    for (int i = 0; i < b; i++)
        if (x->dims[i] >= 0 && idx->dims[i] >= 0 && x->dims[i] != idx->dims[i])
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "batch dim %d differs: data %lld, indices %lld",
                                i, (long long)x->dims[i], (long long)idx->dims[i]);
    int64_t dims[TPU_MAX_DIMS];
    int o = 0;
    if ((int64_t)q - 1 + r - k > TPU_MAX_DIMS)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "output rank is over %d", TPU_MAX_DIMS);
    for (int i = 0; i < q - 1; i++) dims[o++] = idx->dims[i];
    for (int64_t i = b + k; i < r; i++) dims[o++] = x->dims[i];
    set_out(g, n, 0, x->dtype, o, dims);
    return TPU_STATUS_OK;
}

/*---- Trilu, CumSum, Mod, Hardmax, OneHot, EyeLike, CastLike ----*/
/* ONNX Trilu: same shape, rank >= 2; k (optional) is an int64 scalar. */
enum tpu_status shape_trilu(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *k = opt_in(g, n, 1);
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) || (rc = need_rank_min(g, n, x, 2)))
        return rc;
    if (k && (k->dtype != TPU_DTYPE_I64 || tpu_tensor_numel(k) > 1))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "k must be an int64 scalar");
    return same_as_x(g, n, x);
}

/* ONNX CumSum: same shape; axis is an int32/int64 scalar (rank 0 or [1]). */
enum tpu_status shape_cumsum(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *a;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &a)) || (rc = need_out(g, n)) ||
        (rc = need_index(g, n, a, "axis")))
        return rc;
    if (!tpu_dtype_is_float(x->dtype) && !tpu_dtype_is_int(x->dtype))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input '%s' is %s, expected a numeric type",
                            x->name, tpu_dtype_name(x->dtype));
    int64_t na = tpu_tensor_numel(a);
    if (a->n_dims > 1 || (na >= 0 && na != 1))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis must hold one value");
    if (a->data && x->n_dims >= 0) {
        int64_t v = tpu_get_i64(a->data, a->dtype, 0);
        if (tpu_ir_axis(v, x->n_dims) < 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                                (long long)v, x->n_dims);
    }
    return same_as_x(g, n, x);
}

/* ONNX Mod: numpy broadcasting (shape_binary checks it); fmod=0 is for integers only. */
enum tpu_status shape_mod(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = shape_binary(g, n);
    if (rc) return rc;
    int64_t f = tpu_attr_int(n, "fmod", 0);
    if (f != 0 && f != 1)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "fmod must be 0 or 1, not %lld", (long long)f);
    if (f == 0 && tpu_dtype_is_float(tpu_in(g, n, 0)->dtype))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "fmod=0 is not allowed for floating-point inputs");
    return TPU_STATUS_OK;
}

/* ONNX BitShift: unsigned integers, numpy broadcasting; direction LEFT or RIGHT. */
enum tpu_status shape_bitshift(struct tpu_graph *g, struct tpu_node *n)
{
    enum tpu_status rc = shape_binary(g, n);
    if (rc) return rc;
    enum tpu_dtype dt = tpu_in(g, n, 0)->dtype;
    if (dt != TPU_DTYPE_U8 && dt != TPU_DTYPE_U16 && dt != TPU_DTYPE_U32 && dt != TPU_DTYPE_U64)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "inputs are %s, expected an unsigned integer type",
                            tpu_dtype_name(dt));
    const char *d = tpu_attr_str(n, "direction", "");
    if (strcmp(d, "LEFT") && strcmp(d, "RIGHT"))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "direction '%s' is not LEFT or RIGHT", d);
    return TPU_STATUS_OK;
}

/* ONNX Hardmax: same shape; opset < 13 works on the 2-D coercion at axis (default 1). */
enum tpu_status shape_hardmax(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    int axis;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) || (rc = need_float(g, n, x))) return rc;
    if (x->n_dims >= 1 && (rc = attr_axis(g, n, n->opset < 13 ? 1 : -1, x->n_dims, &axis))) return rc;
    return same_as_x(g, n, x);
}

/* ONNX OneHot: out rank = indices rank + 1, the new axis of length depth. */
enum tpu_status shape_onehot(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *idx, *depth, *vals;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &idx)) || (rc = need_in(g, n, 1, &depth)) || (rc = need_in(g, n, 2, &vals)) ||
        (rc = need_out(g, n)))
        return rc;
    if (!tpu_dtype_is_int(idx->dtype) && !tpu_dtype_is_float(idx->dtype))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "indices are %s, expected a numeric type",
                            tpu_dtype_name(idx->dtype));
    if (!tpu_dtype_is_int(depth->dtype) && !tpu_dtype_is_float(depth->dtype))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "depth is %s, expected a numeric type",
                            tpu_dtype_name(depth->dtype));
    if (tpu_tensor_numel(depth) > 1 || depth->n_dims > 1)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "depth must hold one value");
    if (vals->n_dims > 1 || (tpu_tensor_numel(vals) >= 0 && tpu_tensor_numel(vals) != 2))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "values must hold two elements [off, on]");
    if (idx->n_dims < 0) return unknown_out(g, n, vals->dtype, -1);
    int q = idx->n_dims, axis;
    if (q + 1 > TPU_MAX_DIMS)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "output rank %d is over %d", q + 1, TPU_MAX_DIMS);
    if ((rc = attr_axis(g, n, -1, q + 1, &axis))) return rc;
    int64_t d = -1;
    if (depth->data && tpu_tensor_numel(depth) == 1) {
        double v = tpu_get_f64(depth->data, depth->dtype, 0);
        if (!(v >= 1 && v <= (double)INT32_MAX))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "depth %g must be in [1, 2^31)", v);
        d = (int64_t)v;
    }
    int64_t dims[TPU_MAX_DIMS];
    for (int i = 0, j = 0; i <= q; i++) dims[i] = i == axis ? d : idx->dims[j++];
    set_out(g, n, 0, vals->dtype, q + 1, dims);
    return TPU_STATUS_OK;
}

/* ONNX EyeLike: a 2-D input's shape; dtype from the attribute or the input. */
enum tpu_status shape_eyelike(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    if (x->n_dims >= 0 && x->n_dims != 2)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input must be 2-D, has rank %d", x->n_dims);
    enum tpu_dtype dt = (enum tpu_dtype)tpu_attr_int(n, "dtype", x->dtype);
    if (dt == TPU_DTYPE_STRING || tpu_dtype_size(dt) == 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "dtype %d is not supported", (int)dt);
    set_out(g, n, 0, dt, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}

/* ONNX CastLike: input 0's shape in input 1's dtype (the kernel is ref_cast). */
enum tpu_status shape_cast_like(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *like;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &like)) || (rc = need_out(g, n))) return rc;
    if (x->dtype == TPU_DTYPE_STRING || like->dtype == TPU_DTYPE_STRING ||
        !tpu_dtype_size(x->dtype) || !tpu_dtype_size(like->dtype))
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "cast from %s to %s is not supported",
                            tpu_dtype_name(x->dtype), tpu_dtype_name(like->dtype));
    set_out(g, n, 0, like->dtype, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}

/*---- DepthToSpace, SpaceToDepth, Shrink, IsNaN, IsInf ----*/
/* ONNX DepthToSpace / SpaceToDepth on NCHW; blocksize >= 1 divides C (resp. H, W). */
enum tpu_status shape_depth_space(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    int64_t b = tpu_attr_int(n, "blocksize", 0);
    if (b < 1 || b > 65536)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "blocksize %lld must be in [1, 65536]", (long long)b);
    if (n->op == TPU_OP_DEPTH_TO_SPACE) {
        const char *m = tpu_attr_str(n, "mode", "DCR");
        if (strcmp(m, "DCR") && strcmp(m, "CRD"))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "mode '%s' is not DCR or CRD", m);
    }
    if (x->n_dims < 0) return unknown_out(g, n, x->dtype, 4);
    if (x->n_dims != 4)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input must be 4-D (NCHW), has rank %d", x->n_dims);
    int64_t d[4] = { x->dims[0], x->dims[1], x->dims[2], x->dims[3] }, big;
    for (int i = 1; i < 4; i++)
        if (d[i] >= 0 && __builtin_mul_overflow(d[i], b * b, &big))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "dim %d (%lld) times blocksize^2 overflows",
                                i, (long long)d[i]);
    if (n->op == TPU_OP_DEPTH_TO_SPACE) {
        if (d[1] >= 0 && d[1] % (b * b))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "channels %lld are not a multiple of blocksize^2 = %lld",
                                (long long)d[1], (long long)(b * b));
        d[1] = d[1] < 0 ? -1 : d[1] / (b * b);
        d[2] = d[2] < 0 ? -1 : d[2] * b;
        d[3] = d[3] < 0 ? -1 : d[3] * b;
    } else {
        if ((d[2] >= 0 && d[2] % b) || (d[3] >= 0 && d[3] % b))
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "height %lld and width %lld are not multiples of blocksize %lld",
                                (long long)d[2], (long long)d[3], (long long)b);
        d[1] = d[1] < 0 ? -1 : d[1] * b * b;
        d[2] = d[2] < 0 ? -1 : d[2] / b;
        d[3] = d[3] < 0 ? -1 : d[3] / b;
    }
    set_out(g, n, 0, x->dtype, 4, d);
    return TPU_STATUS_OK;
}

/* Same shape and dtype, numeric input (Shrink). */
enum tpu_status shape_extra_numeric(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n))) return rc;
    if (!tpu_dtype_is_float(x->dtype) && !tpu_dtype_is_int(x->dtype))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "input '%s' is %s, expected a numeric type",
                            x->name, tpu_dtype_name(x->dtype));
    return same_as_x(g, n, x);
}

/* IsNaN, IsInf: a float input's shape, as bool. */
enum tpu_status shape_is_class(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) || (rc = need_float(g, n, x))) return rc;
    set_out(g, n, 0, TPU_DTYPE_BOOL, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}

/*---- LRN, MeanVarianceNormalization, LpNormalization, GlobalLpPool ----*/
/* ONNX LRN: float NCHW-like input (rank >= 3), odd-or-even size >= 1. */
enum tpu_status shape_lrn(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) || (rc = need_float(g, n, x)) ||
        (rc = need_rank_min(g, n, x, 2)))
        return rc;
    int64_t size = tpu_attr_int(n, "size", 0);
    if (size < 1)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "size %lld must be >= 1", (long long)size);
    return same_as_x(g, n, x);
}

/* ONNX MeanVarianceNormalization: axes (default [0,2,3]) must fit the rank. */
enum tpu_status shape_mvn(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    bool mask[TPU_MAX_DIMS];
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) || (rc = need_float(g, n, x))) return rc;
    if (x->n_dims >= 0 && (rc = tpu_ref_mvn_axes(g, n, x->n_dims, mask))) return rc;
    return same_as_x(g, n, x);
}

/* ONNX LpNormalization: p 1 or 2 along axis (default -1). */
enum tpu_status shape_lp_norm(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    int axis;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) || (rc = need_float(g, n, x))) return rc;
    int64_t p = tpu_attr_int(n, "p", 2);
    if (p != 1 && p != 2)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "p %lld must be 1 or 2", (long long)p);
    if (x->n_dims >= 1 && (rc = attr_axis(g, n, -1, x->n_dims, &axis))) return rc;
    return same_as_x(g, n, x);
}

/* ONNX GlobalLpPool: [N, C, 1, ...]; p >= 1. */
enum tpu_status shape_global_lp_pool(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_out(g, n)) || (rc = need_float(g, n, x)) ||
        (rc = need_rank_min(g, n, x, 3)))
        return rc;
    int64_t p = tpu_attr_int(n, "p", 2);
    if (p < 1 || p > 64)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "p %lld must be in [1, 64]", (long long)p);
    if (x->n_dims < 0) return unknown_out(g, n, x->dtype, -1);
    int64_t dims[TPU_MAX_DIMS];
    for (int i = 0; i < x->n_dims; i++) dims[i] = i < 2 ? x->dims[i] : 1;
    set_out(g, n, 0, x->dtype, x->n_dims, dims);
    return TPU_STATUS_OK;
}

/*---- ReverseSequence, Compress ----*/
/* ONNX ReverseSequence: rank >= 2; batch_axis and time_axis are 0/1 and differ;
** sequence_lens is int64 [batch]. */
enum tpu_status shape_reverse_sequence(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *lens;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &lens)) || (rc = need_out(g, n)) ||
        (rc = need_rank_min(g, n, x, 2)) || (rc = need_index(g, n, lens, "sequence_lens")))
        return rc;
    int64_t ba = tpu_attr_int(n, "batch_axis", 1), ta = tpu_attr_int(n, "time_axis", 0);
    if (!((ba == 0 && ta == 1) || (ba == 1 && ta == 0)))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "batch_axis %lld and time_axis %lld must be 0 and 1 in some order",
                            (long long)ba, (long long)ta);
    if (x->n_dims >= 0 && lens->n_dims >= 0 &&
        (lens->n_dims != 1 || (lens->dims[0] >= 0 && x->dims[ba] >= 0 && lens->dims[0] != x->dims[ba])))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "sequence_lens must be 1-D of the batch size %lld",
                            (long long)x->dims[ba]);
    return same_as_x(g, n, x);
}

/* ONNX Compress: out keeps the slices along axis (or of the flattened input)
** whose condition is true; the condition may be shorter than the axis. */
enum tpu_status shape_compress(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *c;
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &c)) || (rc = need_out(g, n))) return rc;
    if (c->dtype != TPU_DTYPE_BOOL)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "condition must be bool, not %s", tpu_dtype_name(c->dtype));
    if (c->n_dims > 1)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "condition must be 1-D, has rank %d", c->n_dims);
    bool has_axis = tpu_attr_find(n, "axis") != NULL;
    if (x->n_dims < 0) return unknown_out(g, n, x->dtype, has_axis ? -1 : 1);
    int axis = 0;
    if (has_axis && (rc = attr_axis(g, n, 0, x->n_dims, &axis))) return rc;
    int64_t len = has_axis ? x->dims[axis] : tpu_tensor_numel(x);
    int64_t count = -1, nc = tpu_tensor_numel(c);
    if (len >= 0 && nc > len)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "condition has %lld values, the axis only %lld",
                            (long long)nc, (long long)len);
    if (c->data) {
        count = 0;
        for (int64_t i = 0; i < nc; i++) count += ((const uint8_t *)c->data)[i] != 0;
    }
    if (!has_axis) {
        set_out(g, n, 0, x->dtype, 1, &count);
        return TPU_STATUS_OK;
    }
    int64_t dims[TPU_MAX_DIMS];
    memcpy(dims, x->dims, (size_t)x->n_dims * sizeof *dims);
    dims[axis] = count;
    set_out(g, n, 0, x->dtype, x->n_dims, dims);
    return TPU_STATUS_OK;
}

/*---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ----*/
/* Input [N, C, d1...], target [N, d1...] (int), optional weight [C]. Output:
** the target's shape for reduction none, else a scalar. SoftmaxCrossEntropyLoss
** has an optional second output (log_prob, the input's shape). */
enum tpu_status shape_loss(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *t, *w = opt_in(g, n, 2);
    enum tpu_status rc;
    if ((rc = need_in(g, n, 0, &x)) || (rc = need_in(g, n, 1, &t)) || (rc = need_out(g, n)) ||
        (rc = need_float(g, n, x)) || (rc = need_index(g, n, t, "target")) || (rc = need_rank_min(g, n, x, 2)))
        return rc;
    const char *red = tpu_attr_str(n, "reduction", "mean");
    bool none = !strcmp(red, "none");
    if (!none && strcmp(red, "sum") && strcmp(red, "mean"))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "reduction '%s' is not none/sum/mean", red);
    if (w && (w->dtype != x->dtype || w->n_dims > 1 ||
              (w->n_dims == 1 && x->n_dims >= 2 && w->dims[0] >= 0 && x->dims[1] >= 0 && w->dims[0] != x->dims[1])))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "weight must be 1-D [C] of the input's dtype");
    if (x->n_dims >= 0 && t->n_dims >= 0) {
        bool ok = t->n_dims == x->n_dims - 1;
        for (int i = 0; ok && i < t->n_dims; i++) {
            int64_t a = t->dims[i], b = x->dims[i == 0 ? 0 : i + 1];
            ok = a < 0 || b < 0 || a == b;
        }
        if (!ok)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "target's shape must be the input's without axis 1");
    }
    if (none) set_out(g, n, 0, x->dtype, t->n_dims, t->dims);
    else set_out(g, n, 0, x->dtype, 0, NULL);
    set_out(g, n, 1, x->dtype, x->n_dims, x->dims);
    return TPU_STATUS_OK;
}
