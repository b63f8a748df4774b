/*
** ref/ref_tensor.c: reference kernels that move bytes without looking at them:
** Reshape/Flatten/Squeeze/Unsqueeze/Identity (copy), Dropout, Transpose,
** Concat, Split, Slice, Gather, Shape, Size, Constant, ConstantOfShape.
**
** In:  a node shaped by ir/shape_tensor.c, inputs with values, outputs
**      allocated (row-major, zeroed) by the executor.
** Out: the outputs' values. Any element type works: kernels copy by element
**      size, and contiguous inner runs go through memcpy.
** Cast is in ref_tensor_cast.c; Expand/Tile/Pad/Range in ref_tensor_fill.c;
** Resize in ref_tensor_resize.c.
*/
#include "ref/ref_tensor.h"
#include <string.h>

/*---- Shared helpers ----*/
enum tpu_status tpu_ref_io(const struct tpu_graph *g, const struct tpu_node *n,
                           struct tpu_tensor **x, struct tpu_tensor **y)
{
    *x = tpu_in(g, n, 0);
    *y = tpu_out(g, n, 0);
    if (!*x || !(*x)->data)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "input 0 has no values");
    if (!*y || !(*y)->data)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    return TPU_STATUS_OK;
}

void tpu_ref_strides(const struct tpu_tensor *t, int64_t *st)
{
    int64_t s = 1;
    for (int i = t->n_dims - 1; i >= 0; i--) {
        st[i] = s;
        s *= t->dims[i];
    }
}

/* Copies one row of `len` elements read with a stride of `stride` elements. */
static void copy_row(uint8_t *dst, const uint8_t *src, int64_t len, int64_t stride, size_t es)
{
    if (stride == 1) {
        memcpy(dst, src, (size_t)len * es);
        return;
    }
#define ROW(T) do { const T *s_ = (const T *)(const void *)src; T *d_ = (T *)(void *)dst; \
                    for (int64_t i = 0; i < len; i++) d_[i] = s_[i * stride]; } while (0)
    switch (es) {
    case 1: ROW(uint8_t); break;
    case 2: ROW(uint16_t); break;
    case 4: ROW(uint32_t); break;
    case 8: ROW(uint64_t); break;
    default:
        for (int64_t i = 0; i < len; i++) memcpy(dst + (size_t)i * es, src + (size_t)(i * stride) * es, es);
    }
#undef ROW
}

/* A 2-D transpose block: dst[a][b] (row stride dstr) = src[a + b * sstr],
** a < na, b < nb, walked in TILE x TILE tiles so both sides stay in cache. */
#define TILE 32
static void tile_2d(uint8_t *dst, const uint8_t *src, int64_t na, int64_t nb,
                    int64_t dstr, int64_t sstr, size_t es)
{
#define T2D(T) do { const T *s_ = (const T *)(const void *)src; T *d_ = (T *)(void *)dst; \
        for (int64_t a0 = 0; a0 < na; a0 += TILE) for (int64_t b0 = 0; b0 < nb; b0 += TILE) \
        for (int64_t a = a0; a < a0 + TILE && a < na; a++) \
        for (int64_t b = b0; b < b0 + TILE && b < nb; b++) d_[a * dstr + b] = s_[a + b * sstr]; } while (0)
    switch (es) {
    case 1: T2D(uint8_t); break;
    case 2: T2D(uint16_t); break;
    case 4: T2D(uint32_t); break;
    default: T2D(uint64_t); break;
    }
#undef T2D
}

/* When the last output axis strides through the input but output axis j
** reads it contiguously (a transpose that moves the innermost axis), copy
** (j, last) planes in tiles instead of row by row. */
static void tiled_copy(uint8_t *dst, const uint8_t *src, int r, const int64_t *odims,
                       const int64_t *istr, size_t es, int j)
{
    int64_t ostr[TPU_MAX_DIMS], idx[TPU_MAX_DIMS] = { 0 }, outer = 1, s = 1;
    for (int i = r - 1; i >= 0; i--) { ostr[i] = s; s *= odims[i]; }
    for (int i = 0; i < r - 1; i++)
        if (i != j) outer *= odims[i];
    for (int64_t o = 0; o < outer; o++) {
        int64_t si = 0, di = 0;
        for (int i = 0; i < r - 1; i++) { si += idx[i] * istr[i]; di += idx[i] * ostr[i]; }
        tile_2d(dst + di * (int64_t)es, src + si * (int64_t)es, odims[j], odims[r - 1],
                ostr[j], istr[r - 1], es);
        for (int i = r - 2; i >= 0; i--) {
            if (i == j) continue;
            if (++idx[i] < odims[i]) break;
            idx[i] = 0;
        }
    }
}

void tpu_ref_strided_copy(uint8_t *dst, const uint8_t *src, int r, const int64_t *odims,
                          const int64_t *istr, size_t es)
{
    if (r == 0) { memcpy(dst, src, es); return; }
    int64_t idx[TPU_MAX_DIMS] = { 0 }, outer = 1, inner = odims[r - 1];
    for (int i = 0; i < r; i++)
        if (odims[i] == 0) return;
    for (int j = 0; j < r - 1 && es <= 8 && (es & (es - 1)) == 0; j++)
        if (istr[j] == 1 && odims[j] > 1 && istr[r - 1] > 1 && inner > 1) {
            tiled_copy(dst, src, r, odims, istr, es, j);
            return;
        }
    for (int i = 0; i < r - 1; i++) outer *= odims[i];
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0;
        for (int i = 0; i < r - 1; i++) off += idx[i] * istr[i];
        copy_row(dst, src + off * (int64_t)es, inner, istr[r - 1], es);
        dst += (size_t)inner * es;
        for (int i = r - 2; i >= 0 && ++idx[i] == odims[i]; i--) idx[i] = 0;
    }
}

static size_t nbytes_of(const struct tpu_tensor *t)
{
    return (size_t)tpu_tensor_numel(t) * tpu_dtype_size(t->dtype);
}

/*---- Copy, Dropout ----*/
enum tpu_status ref_copy(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    if (nbytes_of(x) != nbytes_of(y))
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output size differs from the input's");
    if (nbytes_of(x)) memcpy(y->data, x->data, nbytes_of(x));
    return TPU_STATUS_OK;
}

/* ONNX Dropout in inference: Y = X, mask all true. Training mode with a
** non-zero ratio draws random numbers, which a reference oracle cannot. */
enum tpu_status ref_dropout(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *ratio = tpu_in(g, n, 1), *train = tpu_in(g, n, 2);
    bool training = train && train->data && tpu_tensor_numel(train) > 0 &&
                    tpu_get_i64(train->data, train->dtype, 0) != 0;
    double p = ratio && ratio->data && tpu_tensor_numel(ratio) > 0
             ? tpu_get_f64(ratio->data, ratio->dtype, 0) : tpu_attr_float(n, "ratio", 0.5f);
    if (training && p != 0)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "Dropout in training mode (ratio %g) is random", p);
    enum tpu_status rc = ref_copy(g, n);
    struct tpu_tensor *mask = tpu_out(g, n, 1);
    if (rc || !mask) return rc;
    if (!mask->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "mask is not allocated");
    memset(mask->data, 1, (size_t)tpu_tensor_numel(mask));
    return TPU_STATUS_OK;
}

/*---- Transpose, Concat, Split, Slice ----*/
enum tpu_status ref_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    int r = x->n_dims;
    int64_t st[TPU_MAX_DIMS], istr[TPU_MAX_DIMS];
    const int64_t *perm;
    bool has_perm = tpu_attr_ints(n, "perm", &perm) == r && tpu_attr_find(n, "perm");
    tpu_ref_strides(x, st);
    for (int i = 0; i < r; i++) istr[i] = st[has_perm ? perm[i] : r - 1 - i];
    tpu_ref_strided_copy(y->data, x->data, r, y->dims, istr, tpu_dtype_size(x->dtype));
    return TPU_STATUS_OK;
}

/* Concat and Split share one walk: `outer` rows, each the parts side by side. */
static enum tpu_status concat_split(struct tpu_graph *g, struct tpu_node *n, bool split)
{
    struct tpu_tensor *whole = split ? tpu_in(g, n, 0) : tpu_out(g, n, 0);
    int n_parts = split ? n->n_outputs : n->n_inputs;
    if (!whole || !whole->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "no values");
    int r = whole->n_dims, axis = tpu_ir_axis(tpu_attr_int(n, "axis", 0), r);
    TPU_ASSERT(axis >= 0);
    size_t es = tpu_dtype_size(whole->dtype);
    int64_t outer = 1, inner = (int64_t)es;
    for (int i = 0; i < axis; i++) outer *= whole->dims[i];
    for (int i = axis + 1; i < r; i++) inner *= whole->dims[i];
    uint8_t *w = whole->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < n_parts; k++) {
            struct tpu_tensor *part = split ? tpu_out(g, n, k) : tpu_in(g, n, k);
            if (!part || !part->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "part %d has no values", k);
            size_t row = (size_t)(part->dims[axis] * inner);
            uint8_t *p = (uint8_t *)part->data + (size_t)o * row;
            memcpy(split ? p : w, split ? w : p, row);
            w += row;
        }
    return TPU_STATUS_OK;
}

enum tpu_status ref_concat(struct tpu_graph *g, struct tpu_node *n) { return concat_split(g, n, false); }

enum tpu_status ref_split(struct tpu_graph *g, struct tpu_node *n)
{
    for (int k = 0; k < n->n_outputs; k++)
        if (!tpu_out(g, n, k))
            return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "omitted Split output %d is not supported", k);
    return concat_split(g, n, true);
}

enum tpu_status ref_slice(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    struct tpu_slice_plan p;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc || (rc = tpu_ir_slice_plan(g, n, &p))) return rc;
    int64_t st[TPU_MAX_DIMS], istr[TPU_MAX_DIMS], off = 0;
    tpu_ref_strides(x, st);
    for (int i = 0; i < x->n_dims; i++) {
        TPU_ASSERT(p.len[i] == y->dims[i]);
        if (p.len[i] == 0) return TPU_STATUS_OK;
        off += p.start[i] * st[i];
        istr[i] = p.step[i] * st[i];
    }
    size_t es = tpu_dtype_size(x->dtype);
    tpu_ref_strided_copy(y->data, (const uint8_t *)x->data + off * (int64_t)es, x->n_dims, y->dims, istr, es);
    return TPU_STATUS_OK;
}

/*---- Gather ----*/
/* ONNX Gather: indices in [-s, s-1] on the gathered axis of extent s. */
static enum tpu_status gather_index(const struct tpu_graph *g, const struct tpu_node *n,
                                    const struct tpu_tensor *idx, int64_t j, int64_t s, int64_t *v)
{
    *v = tpu_get_i64(idx->data, idx->dtype, (size_t)j);
    if (*v < -s || *v >= s)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "index %lld (at %lld) is out of range for extent %lld",
                            (long long)*v, (long long)j, (long long)s);
    if (*v < 0) *v += s;
    return TPU_STATUS_OK;
}

enum tpu_status ref_gather(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y, *idx = tpu_in(g, n, 1);
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    if (!idx || !idx->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "indices have no values");
    int r = x->n_dims, axis = tpu_ir_axis(tpu_attr_int(n, "axis", 0), r);
    TPU_ASSERT(axis >= 0);
    int64_t outer = 1, inner = (int64_t)tpu_dtype_size(x->dtype), s = x->dims[axis], v;
    int64_t n_idx = tpu_tensor_numel(idx);
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    for (int i = axis + 1; i < r; i++) inner *= x->dims[i];
    for (int64_t j = 0; j < n_idx; j++)
        if ((rc = gather_index(g, n, idx, j, s, &v))) return rc;
    uint8_t *dst = y->data;
    const uint8_t *src = x->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < n_idx; j++, dst += inner) {
            gather_index(g, n, idx, j, s, &v);
            memcpy(dst, src + (o * s + v) * inner, (size_t)inner);
        }
    return TPU_STATUS_OK;
}

/*---- Shape, Size, Constant, ConstantOfShape ----*/
enum tpu_status ref_shape(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x = tpu_in(g, n, 0), *y = tpu_out(g, n, 0);
    if (!x || !y || !y->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    int64_t s = tpu_attr_int(n, "start", 0), e = tpu_attr_int(n, "end", x->n_dims), r = x->n_dims;
    s = s < 0 ? s + r : s;
    e = e < 0 ? e + r : e;
    s = s < 0 ? 0 : s > r ? r : s;
    e = e < s ? s : e > r ? r : e;
    TPU_ASSERT(y->dims[0] == e - s);
    for (int64_t i = s; i < e; i++) ((int64_t *)y->data)[i - s] = x->dims[i];
    return TPU_STATUS_OK;
}

enum tpu_status ref_size(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x = tpu_in(g, n, 0), *y = tpu_out(g, n, 0);
    if (!x || !y || !y->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    *(int64_t *)y->data = tpu_tensor_numel(x);
    return TPU_STATUS_OK;
}

enum tpu_status ref_constant(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *y = tpu_out(g, n, 0);
    const struct tpu_attr *a;
    if (!y || !y->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    if ((a = tpu_attr_find(n, "value")) && a->type == TPU_ATTR_TENSOR && a->t) {
        size_t nb = nbytes_of(a->t);
        if (nb != nbytes_of(y) || (nb && !a->t->data))
            return tpu_node_err(g, n, TPU_ERR_INTERNAL, "'value' does not fit the output");
        if (nb) memcpy(y->data, a->t->data, nb);
    } else if ((a = tpu_attr_find(n, "value_float"))) {
        *(float *)y->data = tpu_attr_float(n, "value_float", 0);
    } else if ((a = tpu_attr_find(n, "value_int"))) {
        *(int64_t *)y->data = tpu_attr_int(n, "value_int", 0);
    } else if ((a = tpu_attr_find(n, "value_floats")) && a->n == tpu_tensor_numel(y)) {
        if (a->n) memcpy(y->data, a->floats, (size_t)a->n * sizeof(float));
    } else if ((a = tpu_attr_find(n, "value_ints")) && a->n == tpu_tensor_numel(y)) {
        if (a->n) memcpy(y->data, a->ints, (size_t)a->n * sizeof(int64_t));
    } else {
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "constant kind not supported");
    }
    return TPU_STATUS_OK;
}

void tpu_ref_fill(uint8_t *dst, const void *value, size_t es, int64_t count)
{
    if (count <= 0) return;
    memcpy(dst, value, es);
    size_t done = es, total = (size_t)count * es;
    while (done < total) {                  /* doubling: log2(count) memcpys */
        size_t k = done < total - done ? done : total - done;
        memcpy(dst + done, dst, k);
        done += k;
    }
}

enum tpu_status ref_constant_of_shape(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *y = tpu_out(g, n, 0);
    if (!y || !y->data) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "output 0 is not allocated");
    const struct tpu_attr *a = tpu_attr_find(n, "value");
    if (!a) return TPU_STATUS_OK;                  /* float32 zeros: already zeroed */
    if (a->type != TPU_ATTR_TENSOR || !a->t || !a->t->data || a->t->dtype != y->dtype)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "'value' does not fit the output");
    tpu_ref_fill(y->data, a->t->data, tpu_dtype_size(y->dtype), tpu_tensor_numel(y));
    return TPU_STATUS_OK;
}
