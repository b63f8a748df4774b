/*
** ref/ref_tensor_resize.c: the reference kernel of ONNX Resize (and of
** Upsample, which the loader maps to Resize): mode nearest and (n-)linear,
** every coordinate_transformation_mode of opset 11-19.
**
** In:  a Resize node shaped by ir/shape_tensor.c; tpu_ir_resize_plan() gives
**      the per-axis scale, roi and output extent.
** Out: the resized tensor.
** How: each output coordinate is mapped to an input coordinate per axis
**      (ONNX Resize: x_original = f(x_resized)). Nearest gathers bytes through
**      per-axis index maps (any dtype). Linear is separable: it interpolates
**      one axis at a time in double, which equals n-linear interpolation.
*/
#include "ref/ref_tensor.h"
#include <math.h>
#include <string.h>

/* ONNX Resize coordinate transform for output index o on one axis. */
static double resize_coord(const struct tpu_resize_plan *p, int a, int64_t o, int64_t in)
{
    double s = p->scale[a], len = s * (double)in, x = (double)o;
    switch (p->coord) {
    case TPU_RESIZE_HALF_PIXEL:          return (x + 0.5) / s - 0.5;
    case TPU_RESIZE_PYTORCH_HALF_PIXEL:  return len > 1 ? (x + 0.5) / s - 0.5 : 0;
    case TPU_RESIZE_ALIGN_CORNERS:       return len == 1 ? 0 : x * (double)(in - 1) / (len - 1);
    case TPU_RESIZE_ASYMMETRIC:          return x / s;
    case TPU_RESIZE_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / s;
    case TPU_RESIZE_TF_CROP_AND_RESIZE: {
        double r0 = p->roi_start[a], r1 = p->roi_end[a];
        if (len <= 1) return 0.5 * (r0 + r1) * (double)(in - 1);
        return r0 * (double)(in - 1) + x * (r1 - r0) * (double)(in - 1) / (len - 1);
    }
    case TPU_RESIZE_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)p->out[a] / len, center = (double)in / 2;
        return center * (1 - adj) + (x + 0.5) / s - 0.5;
    }
    }
    return 0;
}

/* Sampling point outside the input: the extrapolation value (tf_crop_and_resize;
** a NaN coordinate, from a NaN roi, counts as outside too). */
static bool outside(const struct tpu_resize_plan *p, double x, int64_t in)
{
    return isnan(x) || (p->coord == TPU_RESIZE_TF_CROP_AND_RESIZE && (x < 0 || x > (double)(in - 1)));
}

/* Nearest input index for coordinate x, or -1 for the extrapolation value. */
static int64_t nearest_index(const struct tpu_resize_plan *p, int a, double x, int64_t in)
{
    if (outside(p, x, in)) return -1;
    double f = floor(x), i = f;
    if (x != f) {
        switch (p->nearest) {
        case TPU_NEAREST_ROUND_PREFER_FLOOR: i = x - f <= 0.5 ? f : f + 1; break;
        case TPU_NEAREST_ROUND_PREFER_CEIL:  i = x - f < 0.5 ? f : f + 1; break;
        case TPU_NEAREST_FLOOR:              i = f; break;
        case TPU_NEAREST_CEIL:               i = f + 1; break;
        case TPU_NEAREST_SIMPLE:             i = p->scale[a] < 1 ? f + 1 : trunc(x); break;
        }
    }
    return i < 0 ? 0 : i > (double)(in - 1) ? in - 1 : (int64_t)i;
}

/*---- Nearest: gather through per-axis index maps ----*/
static void nearest_row(uint8_t *dst, const uint8_t *src, const int64_t *map, int64_t len,
                        const uint8_t *value, size_t es)
{
#define GATHER(T) do { const T *s_ = (const T *)(const void *)src; T *d_ = (T *)(void *)dst; T v_; \
        memcpy(&v_, value, sizeof v_); \
        for (int64_t j = 0; j < len; j++) d_[j] = map[j] < 0 ? v_ : s_[map[j]]; } while (0)
    switch (es) {
    case 1: GATHER(uint8_t); break;
    case 2: GATHER(uint16_t); break;
    case 4: GATHER(uint32_t); break;
    case 8: GATHER(uint64_t); break;
    default:
        for (int64_t j = 0; j < len; j++)
            memcpy(dst + (size_t)j * es, map[j] < 0 ? value : src + (size_t)map[j] * es, es);
    }
#undef GATHER
}

static enum tpu_status resize_nearest(struct tpu_graph *g, struct tpu_node *n,
                                      const struct tpu_resize_plan *p,
                                      const struct tpu_tensor *x, struct tpu_tensor *y)
{
    int r = x->n_dims;
    size_t es = tpu_dtype_size(x->dtype);
    int64_t total = 0, *map[TPU_MAX_DIMS], at = 0;
    uint8_t value[8] = { 0 };
    tpu_set_f64(value, x->dtype, 0, p->extrapolation);
    for (int i = 0; i < r; i++) total += y->dims[i];
    int64_t *maps = tpu_malloc(g->ctx, (size_t)total * sizeof *maps);
    if (!maps) return tpu_node_err(g, n, TPU_ERR_NOMEM, "no memory for the resize index maps");
    for (int i = 0; i < r; at += y->dims[i], i++) {
        map[i] = maps + at;
        for (int64_t o = 0; o < y->dims[i]; o++)
            map[i][o] = nearest_index(p, i, resize_coord(p, i, o, x->dims[i]), x->dims[i]);
    }
    int64_t st[TPU_MAX_DIMS], idx[TPU_MAX_DIMS] = { 0 }, outer = 1, len = y->dims[r - 1];
    tpu_ref_strides(x, st);
    for (int i = 0; i < r - 1; i++) outer *= y->dims[i];
    uint8_t *dst = y->data;
    int64_t prev_off = -2;                  /* enlarging repeats rows: copy them */
    for (int64_t o = 0; o < outer; o++, dst += (size_t)len * es) {
        int64_t off = 0;
        bool extra = false;
        for (int i = 0; i < r - 1; i++) {
            extra |= map[i][idx[i]] < 0;
            off += map[i][idx[i]] * st[i];
        }
        if (extra) off = -1;
        if (off == prev_off) memcpy(dst, dst - (size_t)len * es, (size_t)len * es);
        else if (extra) tpu_ref_fill(dst, value, es, len);
        else nearest_row(dst, (const uint8_t *)x->data + (size_t)off * es, map[r - 1], len, value, es);
        prev_off = off;
        for (int i = r - 2; i >= 0 && ++idx[i] == y->dims[i]; i--) idx[i] = 0;
    }
    free(maps);
    return TPU_STATUS_OK;
}

/*---- Linear and cubic: one axis at a time ----*/
/* Where output position o of one axis reads: sum of w[k] * in[i[k]], over 2
** taps (linear) or 4 (cubic); `extra` marks tf_crop_and_resize's outside. */
struct lin_tap { int64_t i[4]; double w[4]; int n; bool extra; };

static int64_t clamp_index(int64_t i, int64_t in) { return i < 0 ? 0 : i > in - 1 ? in - 1 : i; }

/* ONNX Resize cubic: Keys' kernel with coefficient A at offsets -1, 0, 1, 2 of
** floor(x); the input is edge-extended, or with exclude_outside the taps that
** fall outside get weight 0 and the rest are renormalised. */
static void cubic_tap(const struct tpu_resize_plan *p, double x, int64_t in, struct lin_tap *t)
{
    double A = p->cubic_a, f = floor(x), r = x - f, sum = 0;
    double d[4] = { r + 1, r, 1 - r, 2 - r };
    t->n = 4;
    for (int k = 0; k < 4; k++) {
        double u = d[k];
        t->w[k] = u <= 1 ? ((A + 2) * u - (A + 3)) * u * u + 1
                         : ((A * u - 5 * A) * u + 8 * A) * u - 4 * A;
        int64_t i = (int64_t)f - 1 + k;
        if (p->exclude_outside && (i < 0 || i > in - 1)) t->w[k] = 0;
        sum += t->w[k];
        t->i[k] = clamp_index(i, in);
    }
    if (p->exclude_outside && sum != 0)
        for (int k = 0; k < 4; k++) t->w[k] /= sum;
}

static void linear_taps(const struct tpu_resize_plan *p, int a, int64_t in, int64_t out,
                        struct lin_tap *taps)
{
    for (int64_t o = 0; o < out; o++) {
        double x = resize_coord(p, a, o, in);
        struct lin_tap *t = &taps[o];
        t->extra = outside(p, x, in);
        if (t->extra) x = 0;
        if (p->cubic) { cubic_tap(p, x, in, t); continue; }
        x = x < -1 ? -1 : x > (double)in ? (double)in : x;
        double f = floor(x);
        t->n = 2;
        t->i[0] = clamp_index((int64_t)f, in);
        t->i[1] = clamp_index((int64_t)f + 1, in);
        t->w[1] = x - f;
        t->w[0] = 1 - t->w[1];
    }
}

/* Resamples axis a of src (dims) into dst, whose axis a has extent out. */
static void linear_axis(const struct tpu_resize_plan *p, const struct lin_tap *taps,
                        const double *src, double *dst, const int64_t *dims, int r, int a, int64_t out)
{
    int64_t in = dims[a], outer = 1, inner = 1;
    for (int i = 0; i < a; i++) outer *= dims[i];
    for (int i = a + 1; i < r; i++) inner *= dims[i];
    for (int64_t b = 0; b < outer; b++, src += in * inner)
        for (int64_t o = 0; o < out; o++, dst += inner) {
            const struct lin_tap *t = &taps[o];
            if (t->extra) {
                for (int64_t k = 0; k < inner; k++) dst[k] = p->extrapolation;
            } else if (t->n == 2) {
                const double *s0 = src + t->i[0] * inner, *s1 = src + t->i[1] * inner;
                for (int64_t k = 0; k < inner; k++) dst[k] = t->w[0] * s0[k] + t->w[1] * s1[k];
            } else {
                for (int64_t k = 0; k < inner; k++) {
                    double v = 0;
                    for (int j = 0; j < t->n; j++) v += t->w[j] * src[t->i[j] * inner + k];
                    dst[k] = v;
                }
            }
        }
}

static bool axis_identity(const struct tpu_resize_plan *p, int a, int64_t in, int64_t out)
{
    return in == out && p->scale[a] == 1 && p->coord != TPU_RESIZE_TF_CROP_AND_RESIZE;
}

/* Loads plane pl (plane_in values) of x as double. */
static void load_plane(double *dst, const struct tpu_tensor *x, int64_t pl, int64_t plane_in)
{
    if (x->dtype == TPU_DTYPE_F32) {
        const float *s = (const float *)x->data + pl * plane_in;
        for (int64_t i = 0; i < plane_in; i++) dst[i] = s[i];
        return;
    }
    for (int64_t i = 0; i < plane_in; i++) dst[i] = tpu_get_f64(x->data, x->dtype, (size_t)(pl * plane_in + i));
}

static void store_plane(struct tpu_tensor *y, const double *src, int64_t pl, int64_t plane_out)
{
    if (y->dtype == TPU_DTYPE_F32) {
        float *d = (float *)y->data + pl * plane_out;
        for (int64_t i = 0; i < plane_out; i++) d[i] = (float)src[i];
        return;
    }
    for (int64_t i = 0; i < plane_out; i++) tpu_set_f64(y->data, y->dtype, (size_t)(pl * plane_out + i), src[i]);
}

/* Leading axes that are not resized split the tensor into independent planes
** (an N x C image batch into H x W images); each is resized in double buffers
** that stay in cache. */
static enum tpu_status resize_linear(struct tpu_graph *g, struct tpu_node *n,
                                     const struct tpu_resize_plan *p,
                                     const struct tpu_tensor *x, struct tpu_tensor *y)
{
    int r = x->n_dims, f = 0;
    while (f < r - 1 && axis_identity(p, f, x->dims[f], y->dims[f])) f++;
    int64_t planes = 1, plane_in = 1, cur, most, n_taps = 0;
    for (int a = 0; a < f; a++) planes *= x->dims[a];
    for (int a = f; a < r; a++) plane_in *= x->dims[a];
    cur = most = plane_in;
    for (int a = f; a < r; a++) {                   /* x dims are > 0 here */
        cur = cur / x->dims[a] * y->dims[a];
        most = cur > most ? cur : most;
        n_taps += y->dims[a];
    }
    size_t nb;
    if (tpu_mul_size((size_t)most, 2 * sizeof(double), &nb))
        return tpu_node_err(g, n, TPU_ERR_NOMEM, "resize buffers overflow");
    double *buf = tpu_malloc(g->ctx, nb);
    struct lin_tap *taps = tpu_malloc(g->ctx, (size_t)n_taps * sizeof *taps), *tap[TPU_MAX_DIMS];
    if (!buf || !taps) {
        free(buf);
        return tpu_node_err(g, n, TPU_ERR_NOMEM, "no memory for the resize buffers");
    }
    int64_t at = 0;
    for (int a = f; a < r; at += y->dims[a], a++) {
        tap[a] = axis_identity(p, a, x->dims[a], y->dims[a]) ? NULL : taps + at;
        if (tap[a]) linear_taps(p, a, x->dims[a], y->dims[a], tap[a]);
    }
    for (int64_t pl = 0; pl < planes; pl++) {
        double *a_buf = buf, *b_buf = buf + most;
        int64_t dims[TPU_MAX_DIMS];
        memcpy(dims, x->dims + f, (size_t)(r - f) * sizeof *dims);
        load_plane(a_buf, x, pl, plane_in);
        for (int a = f; a < r; a++) {
            if (!tap[a]) continue;
            linear_axis(p, tap[a], a_buf, b_buf, dims, r - f, a - f, y->dims[a]);
            dims[a - f] = y->dims[a];
            double *t = a_buf; a_buf = b_buf; b_buf = t;
        }
        store_plane(y, a_buf, pl, cur);
    }
    free(taps);
    free(buf);
    return TPU_STATUS_OK;
}

enum tpu_status ref_resize(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    struct tpu_resize_plan p;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc || (rc = tpu_ir_resize_plan(g, n, &p))) return rc;
    for (int i = 0; i < x->n_dims; i++) TPU_ASSERT(p.out[i] == y->dims[i]);
    if (tpu_tensor_numel(y) == 0) return TPU_STATUS_OK;
    if (x->n_dims == 0) { memcpy(y->data, x->data, tpu_dtype_size(x->dtype)); return TPU_STATUS_OK; }
    return p.linear ? resize_linear(g, n, &p, x, y) : resize_nearest(g, n, &p, x, y);
}
