/*
** ref/ref_extra_index.c: reference kernels of the extra index and layout ops:
** GatherElements, ScatterElements (and the older Scatter), ScatterND,
** GatherND, Compress, ReverseSequence, DepthToSpace and SpaceToDepth.
**
** In:  a node shaped by ir/shape_extra.c, inputs with values, outputs
**      allocated and zeroed. Index values are read from data here, so every
**      one is range-checked before use (an error naming the node, never a
**      wild read).
** Out: the outputs' values. Data are moved as raw elements of any dtype.
*/
#include "ref/ref_extra.h"
#include "ref/ref_tensor.h"
#include <string.h>

/*---- Shared helpers ----*/
int tpu_ref_reduction_of(const char *s)
{
    static const char *const names[] = { "none", "add", "mul", "min", "max" };
    for (int i = 0; i < 5; i++)
        if (!strcmp(s, names[i])) return i;
    return -1;
}

enum tpu_status tpu_ref_index(const struct tpu_graph *g, const struct tpu_node *n,
                              const struct tpu_tensor *t, int64_t i, int64_t len,
                              const char *what, int64_t *out)
{
    int64_t v = tpu_get_i64(t->data, t->dtype, (size_t)i);
    int64_t w = v < 0 ? v + len : v;
    if (w < 0 || w >= len)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s value %lld is out of range [-%lld, %lld)",
                            what, (long long)v, (long long)len, (long long)len);
    *out = w;
    return TPU_STATUS_OK;
}

int64_t tpu_ref_prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++) p *= dims[i];
    return p;
}

/* Every listed tensor present with values; TPU_ERR_INTERNAL naming the node otherwise. */
static enum tpu_status have_values(const struct tpu_graph *g, const struct tpu_node *n,
                                   int n_in, struct tpu_tensor **ins, struct tpu_tensor **y)
{
    for (int i = 0; i < n_in; i++) {
        ins[i] = tpu_in(g, n, i);
        if (!ins[i] || !ins[i]->data)
            return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input %d has no values", i);
    }
    *y = tpu_out(g, n, 0);
    if (!*y || !(*y)->data)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    return TPU_STATUS_OK;
}

/* Combines element si of src into element di of dst under reduction red. */
static void combine(void *dst, size_t di, const void *src, size_t si, enum tpu_dtype dt,
                    int red, size_t es)
{
    if (red == TPU_SCATTER_NONE) {
        memcpy((uint8_t *)dst + di * es, (const uint8_t *)src + si * es, es);
    } else if (tpu_dtype_is_float(dt)) {
        double a = tpu_get_f64(dst, dt, di), b = tpu_get_f64(src, dt, si);
        double r = red == TPU_SCATTER_ADD ? a + b : red == TPU_SCATTER_MUL ? a * b :
                   red == TPU_SCATTER_MIN ? (b < a ? b : a) : (b > a ? b : a);
        tpu_set_f64(dst, dt, di, r);
    } else {
        int64_t a = tpu_get_i64(dst, dt, di), b = tpu_get_i64(src, dt, si);
        int64_t r = red == TPU_SCATTER_ADD ? (int64_t)((uint64_t)a + (uint64_t)b) :
                    red == TPU_SCATTER_MUL ? (int64_t)((uint64_t)a * (uint64_t)b) :
                    red == TPU_SCATTER_MIN ? (b < a ? b : a) : (b > a ? b : a);
        tpu_set_i64(dst, dt, di, r);
    }
}

/* Offset in a tensor of strides st of the row-major position j in dims d (rank r),
** with the coordinate on `axis` replaced by v (axis < 0: none replaced). */
static int64_t offset_with(int64_t j, const int64_t *d, const int64_t *st, int r, int axis, int64_t v)
{
    int64_t off = 0;
    for (int k = r - 1; k >= 0; k--) {
        int64_t c = j % d[k];
        j /= d[k];
        off += (k == axis ? v : c) * st[k];
    }
    return off;
}

/*---- GatherElements, ScatterElements ----*/
enum tpu_status ref_gather_elements(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *in[2], *y;
    enum tpu_status rc = have_values(g, n, 2, in, &y);
    if (rc) return rc;
    struct tpu_tensor *x = in[0], *idx = in[1];
    int r = x->n_dims, axis = tpu_ir_axis(tpu_attr_int(n, "axis", 0), r);
    TPU_ASSERT(axis >= 0 && idx->n_dims == r);
    int64_t st[TPU_MAX_DIMS], cnt = tpu_tensor_numel(idx), v = 0;
    size_t es = tpu_dtype_size(x->dtype);
    tpu_ref_strides(x, st);
    for (int k = 0; k < r; k++)
        if (idx->dims[k] > x->dims[k] && k != axis)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "indices dim %d (%lld) exceeds data's (%lld)",
                                k, (long long)idx->dims[k], (long long)x->dims[k]);
    for (int64_t j = 0; j < cnt; j++) {
        if ((rc = tpu_ref_index(g, n, idx, j, x->dims[axis], "index", &v))) return rc;
        int64_t off = offset_with(j, idx->dims, st, r, axis, v);
        memcpy((uint8_t *)y->data + (size_t)j * es, (const uint8_t *)x->data + (size_t)off * es, es);
    }
    return TPU_STATUS_OK;
}

enum tpu_status ref_scatter_elements(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *in[3], *y;
    enum tpu_status rc = have_values(g, n, 3, in, &y);
    if (rc) return rc;
    struct tpu_tensor *x = in[0], *idx = in[1], *u = in[2];
    int r = x->n_dims, axis = tpu_ir_axis(tpu_attr_int(n, "axis", 0), r);
    int red = tpu_ref_reduction_of(tpu_attr_str(n, "reduction", "none"));
    TPU_ASSERT(axis >= 0 && red >= 0 && idx->n_dims == r);
    int64_t st[TPU_MAX_DIMS], cnt = tpu_tensor_numel(idx), v = 0;
    size_t es = tpu_dtype_size(x->dtype);
    for (int k = 0; k < r; k++)
        if (idx->dims[k] > x->dims[k] && k != axis)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "indices dim %d (%lld) exceeds data's (%lld)",
                                k, (long long)idx->dims[k], (long long)x->dims[k]);
    tpu_ref_strides(x, st);
    memcpy(y->data, x->data, (size_t)tpu_tensor_numel(x) * es);
    for (int64_t j = 0; j < cnt; j++) {
        if ((rc = tpu_ref_index(g, n, idx, j, x->dims[axis], "index", &v))) return rc;
        int64_t off = offset_with(j, idx->dims, st, r, axis, v);
        combine(y->data, (size_t)off, u->data, (size_t)j, x->dtype, red, es);
    }
    return TPU_STATUS_OK;
}

/*---- ScatterND, GatherND ----*/
/* Element offset into dims[lo..lo+k) (strides st) of index tuple m of idx. */
static enum tpu_status tuple_offset(const struct tpu_graph *g, const struct tpu_node *n,
                                    const struct tpu_tensor *idx, int64_t m, int64_t k,
                                    const int64_t *dims, const int64_t *st, int lo, int64_t *off)
{
    *off = 0;
    for (int64_t i = 0; i < k; i++) {
        int64_t v = 0;
        enum tpu_status rc = tpu_ref_index(g, n, idx, m * k + i, dims[lo + i], "index", &v);
        if (rc) return rc;
        *off += v * st[lo + i];
    }
    return TPU_STATUS_OK;
}

enum tpu_status ref_scatter_nd(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *in[3], *y;
    enum tpu_status rc = have_values(g, n, 3, in, &y);
    if (rc) return rc;
    struct tpu_tensor *x = in[0], *idx = in[1], *u = in[2];
    int r = x->n_dims, q = idx->n_dims;
    int64_t k = idx->dims[q - 1], st[TPU_MAX_DIMS], off;
    int red = tpu_ref_reduction_of(tpu_attr_str(n, "reduction", "none"));
    TPU_ASSERT(red >= 0 && k >= 1 && k <= r);
    int64_t m_count = tpu_ref_prod(idx->dims, 0, q - 1), chunk = tpu_ref_prod(x->dims, (int)k, r);
    size_t es = tpu_dtype_size(x->dtype);
    tpu_ref_strides(x, st);
    memcpy(y->data, x->data, (size_t)tpu_tensor_numel(x) * es);
    for (int64_t m = 0; m < m_count; m++) {
        if ((rc = tuple_offset(g, n, idx, m, k, x->dims, st, 0, &off))) return rc;
        for (int64_t e = 0; e < chunk; e++)
            combine(y->data, (size_t)(off + e), u->data, (size_t)(m * chunk + e), x->dtype, red, es);
    }
    return TPU_STATUS_OK;
}

enum tpu_status ref_gather_nd(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *in[2], *y;
    enum tpu_status rc = have_values(g, n, 2, in, &y);
    if (rc) return rc;
    struct tpu_tensor *x = in[0], *idx = in[1];
    int r = x->n_dims, q = idx->n_dims, b = (int)tpu_attr_int(n, "batch_dims", 0);
    int64_t k = idx->dims[q - 1], st[TPU_MAX_DIMS], off;
    TPU_ASSERT(b >= 0 && b < q && k >= 1 && b + k <= r);
    int64_t batches = tpu_ref_prod(x->dims, 0, b), m_count = tpu_ref_prod(idx->dims, b, q - 1);
    int64_t chunk = tpu_ref_prod(x->dims, b + (int)k, r), bstride = tpu_ref_prod(x->dims, b, r);
    size_t es = tpu_dtype_size(x->dtype);
    tpu_ref_strides(x, st);
    uint8_t *dst = y->data;
    for (int64_t bi = 0; bi < batches; bi++)
        for (int64_t m = 0; m < m_count; m++, dst += (size_t)chunk * es) {
            if ((rc = tuple_offset(g, n, idx, bi * m_count + m, k, x->dims, st, b, &off))) return rc;
            memcpy(dst, (const uint8_t *)x->data + (size_t)(bi * bstride + off) * es, (size_t)chunk * es);
        }
    return TPU_STATUS_OK;
}

/*---- Compress, ReverseSequence ----*/
enum tpu_status ref_compress(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *in[2], *y;
    enum tpu_status rc = have_values(g, n, 2, in, &y);
    if (rc) return rc;
    struct tpu_tensor *x = in[0], *c = in[1];
    bool has_axis = tpu_attr_find(n, "axis") != NULL;
    int r = x->n_dims, axis = has_axis ? tpu_ir_axis(tpu_attr_int(n, "axis", 0), r) : 0;
    TPU_ASSERT(axis >= 0);
    int64_t outer = has_axis ? tpu_ref_prod(x->dims, 0, axis) : 1;
    int64_t len = has_axis ? x->dims[axis] : tpu_tensor_numel(x);
    int64_t inner = has_axis ? tpu_ref_prod(x->dims, axis + 1, r) : 1, nc = tpu_tensor_numel(c);
    size_t es = tpu_dtype_size(x->dtype), row = (size_t)inner * es;
    const uint8_t *cond = c->data;
    TPU_ASSERT(nc <= len);
    uint8_t *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < nc; i++)
            if (cond[i]) {
                memcpy(dst, (const uint8_t *)x->data + (size_t)(o * len + i) * row, row);
                dst += row;
            }
    TPU_ASSERT(dst == (uint8_t *)y->data + (size_t)tpu_tensor_numel(y) * es);
    return TPU_STATUS_OK;
}

enum tpu_status ref_reverse_sequence(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *in[2], *y;
    enum tpu_status rc = have_values(g, n, 2, in, &y);
    if (rc) return rc;
    struct tpu_tensor *x = in[0], *lens = in[1];
    bool time_first = tpu_attr_int(n, "time_axis", 0) == 0;
    int64_t T = x->dims[time_first ? 0 : 1], B = x->dims[time_first ? 1 : 0];
    int64_t inner = tpu_ref_prod(x->dims, 2, x->n_dims);
    size_t es = tpu_dtype_size(x->dtype), row = (size_t)inner * es;
    if (tpu_tensor_numel(lens) != B)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "sequence_lens has %lld values for batch %lld",
                            (long long)tpu_tensor_numel(lens), (long long)B);
    for (int64_t b = 0; b < B; b++) {
        int64_t L = tpu_get_i64(lens->data, lens->dtype, (size_t)b);
        if (L < 0 || L > T)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "sequence_lens[%lld] = %lld is outside [0, %lld]",
                                (long long)b, (long long)L, (long long)T);
        for (int64_t t = 0; t < T; t++) {
            int64_t src = t < L ? L - 1 - t : t;
            int64_t od = time_first ? t * B + b : b * T + t, sd = time_first ? src * B + b : b * T + src;
            memcpy((uint8_t *)y->data + (size_t)od * row, (const uint8_t *)x->data + (size_t)sd * row, row);
        }
    }
    return TPU_STATUS_OK;
}

/*---- DepthToSpace, SpaceToDepth ----*/
/* One mapping between the "space" tensor [N, C, H*b, W*b] and the "depth"
** tensor [N, C*b*b, H, W]: space[n, c, h*b+i, w*b+j] is depth[n, ch, h, w]
** with ch = (i*b + j)*C + c (DCR, and SpaceToDepth) or c*b*b + i*b + j (CRD). */
enum tpu_status ref_depth_space(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    bool d2s = n->op == TPU_OP_DEPTH_TO_SPACE;
    bool crd = d2s && !strcmp(tpu_attr_str(n, "mode", "DCR"), "CRD");
    const struct tpu_tensor *sp = d2s ? y : x, *dp = d2s ? x : y;
    int64_t b = tpu_attr_int(n, "blocksize", 1), N = sp->dims[0], C = sp->dims[1];
    int64_t H = dp->dims[2], W = dp->dims[3], SH = sp->dims[2], SW = sp->dims[3];
    TPU_ASSERT(SH == H * b && SW == W * b && dp->dims[1] == C * b * b);
    size_t es = tpu_dtype_size(x->dtype);
    uint8_t *sdata = sp->data, *ddata = dp->data;
    for (int64_t nn = 0; nn < N; nn++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t sh = 0; sh < SH; sh++)
                for (int64_t sw = 0; sw < SW; sw++) {
                    int64_t i = sh % b, j = sw % b;
                    int64_t ch = crd ? c * b * b + i * b + j : (i * b + j) * C + c;
                    size_t so = (size_t)(((nn * C + c) * SH + sh) * SW + sw) * es;
                    size_t dof = (size_t)(((nn * C * b * b + ch) * H + sh / b) * W + sw / b) * es;
                    if (d2s) memcpy(sdata + so, ddata + dof, es);
                    else memcpy(ddata + dof, sdata + so, es);
                }
    return TPU_STATUS_OK;
}
