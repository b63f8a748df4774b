/*
** ref/ref_tensor_fill.c: reference kernels that replicate or generate values:
** ONNX Expand (broadcast), Tile, Pad (constant / reflect / edge) and Range.
**
** In:  a node shaped by ir/shape_tensor.c, which validated every size read from
**      an input (shape, repeats, pads, range bounds); outputs allocated.
** Out: the outputs' values. Expand/Tile/Pad copy by element size (any dtype)
**      with memcpy for contiguous runs; Range computes in the start's dtype.
*/
#include "ref/ref_tensor.h"
#include <string.h>

/*---- Expand ----*/
/* ONNX Expand: numpy broadcast; a broadcast input axis is read with stride 0. */
enum tpu_status ref_expand(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    int r = y->n_dims, lead = r - x->n_dims;
    int64_t st[TPU_MAX_DIMS], istr[TPU_MAX_DIMS];
    TPU_ASSERT(lead >= 0);
    tpu_ref_strides(x, st);
    for (int i = 0; i < r; i++) {
        int64_t d = i < lead ? 1 : x->dims[i - lead];
        istr[i] = d == 1 ? 0 : st[i - lead];
        TPU_ASSERT(d == 1 || d == y->dims[i]);
    }
    tpu_ref_strided_copy(y->data, x->data, r, y->dims, istr, tpu_dtype_size(x->dtype));
    return TPU_STATUS_OK;
}

/*---- Tile ----*/
/* ONNX Tile: out[i0..] = in[i0 % d0, ...]; the input's last-axis row is
** copied repeats times per output row. */
enum tpu_status ref_tile(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    int r = x->n_dims;
    size_t es = tpu_dtype_size(x->dtype);
    if (tpu_tensor_numel(y) == 0) return TPU_STATUS_OK;
    if (r == 0) { memcpy(y->data, x->data, es); return TPU_STATUS_OK; }
    int64_t st[TPU_MAX_DIMS], idx[TPU_MAX_DIMS] = { 0 }, outer = 1;
    tpu_ref_strides(x, st);
    for (int i = 0; i < r - 1; i++) outer *= y->dims[i];
    size_t row = (size_t)x->dims[r - 1] * es;
    int64_t reps = y->dims[r - 1] / x->dims[r - 1];
    uint8_t *dst = y->data;
    for (int64_t o = 0; o < outer; o++) {
        int64_t off = 0;
        for (int i = 0; i < r - 1; i++) off += (idx[i] % x->dims[i]) * st[i];
        for (int64_t k = 0; k < reps; k++, dst += row)
            memcpy(dst, (const uint8_t *)x->data + (size_t)off * es, row);
        for (int i = r - 2; i >= 0 && ++idx[i] == y->dims[i]; i--) idx[i] = 0;
    }
    return TPU_STATUS_OK;
}

/*---- Pad ----*/
enum pad_mode { PAD_CONSTANT, PAD_EDGE, PAD_REFLECT };

/* Input index feeding padded position src - begin on an axis of extent d;
** -1 means "the constant". Reflect mirrors without repeating the edge, with
** period 2(d-1) like numpy.pad, so pads wider than the axis still work. */
static int64_t pad_source(int64_t src, int64_t d, enum pad_mode mode)
{
    if (src >= 0 && src < d) return src;
    if (mode == PAD_CONSTANT) return -1;
    if (mode == PAD_EDGE || d == 1) return src < 0 ? 0 : d - 1;
    int64_t period = 2 * (d - 1), m = src % period;
    if (m < 0) m += period;
    return m < d ? m : period - m;
}

/* One output row of the last axis: runs of consecutive sources are memcpy'd. */
static void pad_row(uint8_t *dst, const uint8_t *src, const int64_t *map, int64_t len,
                    const uint8_t *value, size_t es)
{
    for (int64_t j = 0; j < len;) {
        if (map[j] < 0) { memcpy(dst + (size_t)j * es, value, es); j++; continue; }
        int64_t k = j + 1;
        while (k < len && map[k] == map[k - 1] + 1) k++;
        memcpy(dst + (size_t)j * es, src + (size_t)map[j] * es, (size_t)(k - j) * es);
        j = k;
    }
}

static enum tpu_status pad_params(struct tpu_graph *g, struct tpu_node *n, int r,
                                  int64_t *begin, enum pad_mode *mode, uint8_t *value, size_t es)
{
    int64_t pv[2 * TPU_MAX_DIMS];
    int k = 0;
    const struct tpu_tensor *p = tpu_in(g, n, 1), *cv = tpu_in(g, n, 2);
    const int64_t *pa;
    enum tpu_status rc;
    if (p && (rc = tpu_ir_read_ints(g, n, p, "pads", pv, 2 * TPU_MAX_DIMS, &k))) return rc;
    if (!p && (k = tpu_attr_ints(n, "pads", &pa)) <= 2 * TPU_MAX_DIMS) memcpy(pv, pa, (size_t)k * sizeof *pa);
    if (k != 2 * r) return tpu_node_err(g, n, TPU_ERR_INTERNAL, "pads do not match the shape");
    memcpy(begin, pv, (size_t)r * sizeof *begin);
    const char *m = tpu_attr_str(n, "mode", "constant");
    *mode = strcmp(m, "edge") == 0 ? PAD_EDGE : strcmp(m, "reflect") == 0 ? PAD_REFLECT : PAD_CONSTANT;
    memset(value, 0, 8);
    if (cv && cv->data && tpu_tensor_numel(cv) == 1) memcpy(value, cv->data, es);
    else if (!p) tpu_set_f64(value, tpu_in(g, n, 0)->dtype, 0, tpu_attr_float(n, "value", 0));
    return TPU_STATUS_OK;
}

enum tpu_status ref_pad(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    int64_t begin[TPU_MAX_DIMS], *map[TPU_MAX_DIMS], total = 0;
    enum pad_mode mode = PAD_CONSTANT;
    uint8_t value[8];
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    size_t es = tpu_dtype_size(x ? x->dtype : TPU_DTYPE_UNDEFINED);
    int r = x ? x->n_dims : 0;
    if (rc || (rc = pad_params(g, n, r, begin, &mode, value, es))) return rc;
    if (tpu_tensor_numel(y) == 0) return TPU_STATUS_OK;
    if (r == 0) { memcpy(y->data, x->data, es); return TPU_STATUS_OK; }
    for (int i = 0; i < r; i++) total += y->dims[i];
    int64_t *maps = tpu_malloc(g->ctx, (size_t)total * sizeof *maps);
    if (!maps) return tpu_node_err(g, n, TPU_ERR_NOMEM, "no memory for the pad index maps");
    int64_t at = 0;
    for (int i = 0; i < r; at += y->dims[i], i++) {
        map[i] = maps + at;
        for (int64_t o = 0; o < y->dims[i]; o++) map[i][o] = pad_source(o - begin[i], x->dims[i], mode);
    }
    int64_t st[TPU_MAX_DIMS], idx[TPU_MAX_DIMS] = { 0 }, outer = 1, len = y->dims[r - 1];
    tpu_ref_strides(x, st);
    for (int i = 0; i < r - 1; i++) outer *= y->dims[i];
    uint8_t *dst = y->data;
    for (int64_t o = 0; o < outer; o++, dst += (size_t)len * es) {
        int64_t off = 0;
        bool constant = false;
        for (int i = 0; i < r - 1; i++) {
            constant |= map[i][idx[i]] < 0;
            off += map[i][idx[i]] * st[i];
        }
        if (constant) tpu_ref_fill(dst, value, es, len);
        else pad_row(dst, (const uint8_t *)x->data + (size_t)off * es, map[r - 1], len, value, es);
        for (int i = r - 2; i >= 0 && ++idx[i] == y->dims[i]; i--) idx[i] = 0;
    }
    free(maps);
    return TPU_STATUS_OK;
}

/*---- Range ----*/
/* ONNX Range: out[i] = start + i * delta, computed in double for float types
** and exactly (two's complement) for integer types. */
enum tpu_status ref_range(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *s = tpu_in(g, n, 0), *d = tpu_in(g, n, 2);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    if (!s || !d || !s->data || !d->data || !y || !y->data)
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "inputs or output have no values");
    int64_t len = tpu_tensor_numel(y);
    if (tpu_dtype_is_float(y->dtype)) {
        double s0 = tpu_get_f64(s->data, s->dtype, 0), dd = tpu_get_f64(d->data, d->dtype, 0);
        for (int64_t i = 0; i < len; i++) tpu_set_f64(y->data, y->dtype, (size_t)i, s0 + (double)i * dd);
        return TPU_STATUS_OK;
    }
    uint64_t s0 = (uint64_t)tpu_get_i64(s->data, s->dtype, 0), dd = (uint64_t)tpu_get_i64(d->data, d->dtype, 0);
    for (int64_t i = 0; i < len; i++) tpu_set_i64(y->data, y->dtype, (size_t)i, (int64_t)(s0 + (uint64_t)i * dd));
    return TPU_STATUS_OK;
}
