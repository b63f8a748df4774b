/*
** ref/ref_nn_conv.c: reference kernels of Conv, ConvTranspose, MaxPool,
** AveragePool, GlobalAveragePool and GlobalMaxPool.
**
** In:  a node whose shape function (ir/shape_nn.c) has run and whose outputs
**      the executor has allocated.
** Out: the outputs' values. float32 runs on float loops and tpu_sgemm; every
**      other dtype is staged through float64 (tpu_nn_to_f64) and cblas_dgemm.
*/
#include "ref/ref_nn.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

#define T float
#define SFX f32
#define GEMM tpu_nn_sgemm
#include "ref/ref_nn_core.h"
#undef T
#undef SFX
#undef GEMM

#define T double
#define SFX f64
#define GEMM cblas_dgemm
#include "ref/ref_nn_core.h"
#undef T
#undef SFX
#undef GEMM

enum tpu_status tpu_nn_conv_f32(struct tpu_ctx *ctx, const struct tpu_nn_window *win,
                                const float *x, const float *w, const float *bias, float *y)
{
    return conv_f32(ctx, win, x, w, bias, y);
}

enum tpu_status tpu_nn_conv_f64(struct tpu_ctx *ctx, const struct tpu_nn_window *win,
                                const double *x, const double *w, const double *bias, double *y)
{
    return conv_f64(ctx, win, x, w, bias, y);
}

/*---- float64 staging of a node's float inputs ----*/
/* Converts up to 3 tensors (NULL allowed) to float64; frees all on failure. */
static enum tpu_status stage3(struct tpu_ctx *ctx, const struct tpu_tensor *const t[3], double *buf[3])
{
    for (int i = 0; i < 3; i++) {
        buf[i] = tpu_nn_to_f64(ctx, t[i]);
        if (t[i] && !buf[i]) {
            for (int j = 0; j < i; j++) free(buf[j]);
            return TPU_ERR_NOMEM;
        }
    }
    return TPU_STATUS_OK;
}

static void free3(double *buf[3]) { for (int i = 0; i < 3; i++) free(buf[i]); }

/*---- Conv ----*/
enum tpu_status ref_conv(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *in[3] = { tpu_in(g, n, 0), tpu_in(g, n, 1), tpu_in(g, n, 2) };
    struct tpu_tensor *y = tpu_out(g, n, 0);
    struct tpu_nn_window win;
    enum tpu_status rc = tpu_nn_window(g, n, in[0], in[1], TPU_NN_WIN_CONV, &win);
    if (rc) return rc;
    if (y->dtype == TPU_DTYPE_F32 && in[1]->dtype == TPU_DTYPE_F32 &&
        (!in[2] || in[2]->dtype == TPU_DTYPE_F32))
        return tpu_nn_conv_f32(g->ctx, &win, in[0]->data, in[1]->data,
                               in[2] ? in[2]->data : NULL, y->data);
    double *buf[3], *out = tpu_malloc(g->ctx, (size_t)(tpu_tensor_numel(y) + 1) * sizeof *out);
    if (!out) return TPU_ERR_NOMEM;
    if ((rc = stage3(g->ctx, in, buf))) { free(out); return rc; }
    rc = conv_f64(g->ctx, &win, buf[0], buf[1], buf[2], out);
    if (!rc) tpu_nn_from_f64(y, out, tpu_tensor_numel(y));
    free3(buf);
    free(out);
    return rc;
}

/*---- ConvTranspose: col = W_g^T X_g, then scatter-add col into Y ----*/
static void col2im_add(const struct tpu_nn_window *w, const double *col, int64_t mg, double *y)
{
    int64_t in_sp = tpu_nn_window_in(w), out_sp = tpu_nn_window_out(w);
    for (int64_t j = 0; j < mg; j++)
    for (int64_t k0 = 0; k0 < w->k[0]; k0++)
    for (int64_t k1 = 0; k1 < w->k[1]; k1++)
    for (int64_t k2 = 0; k2 < w->k[2]; k2++, col += in_sp) {
        double *yj = y + j * out_sp;
        for (int64_t i0 = 0; i0 < w->in[0]; i0++) {
            int64_t o0 = i0 * w->stride[0] - w->pad0[0] + k0 * w->dil[0];
            if (o0 < 0 || o0 >= w->out[0]) continue;
            for (int64_t i1 = 0; i1 < w->in[1]; i1++) {
                int64_t o1 = i1 * w->stride[1] - w->pad0[1] + k1 * w->dil[1];
                if (o1 < 0 || o1 >= w->out[1]) continue;
                const double *c = col + (i0 * w->in[1] + i1) * w->in[2];
                for (int64_t i2 = 0; i2 < w->in[2]; i2++) {
                    int64_t o2 = i2 * w->stride[2] - w->pad0[2] + k2 * w->dil[2];
                    if (o2 >= 0 && o2 < w->out[2]) yj[(o0 * w->out[1] + o1) * w->out[2] + o2] += c[i2];
                }
            }
        }
    }
}

static enum tpu_status conv_transpose_f64(struct tpu_ctx *ctx, const struct tpu_nn_window *w,
                                          const double *x, const double *wt, const double *bias,
                                          double *y)
{
    int64_t cg = w->c / w->group, mg = w->m / w->group, K = tpu_nn_window_k(w);
    int64_t in_sp = tpu_nn_window_in(w), out_sp = tpu_nn_window_out(w), rows = mg * K;
    size_t n_col;
    if (rows > INT32_MAX || in_sp > INT32_MAX || cg > INT32_MAX ||
        tpu_mul_size((size_t)rows, (size_t)in_sp, &n_col))
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "transposed convolution too large for BLAS");
    double *col = tpu_malloc(ctx, (n_col ? n_col : 1) * sizeof *col);
    if (!col) return TPU_ERR_NOMEM;
    for (int64_t b = 0; b < w->n; b++)
    for (int64_t gi = 0; gi < w->group; gi++) {
        double *yg = y + (b * w->m + gi * mg) * out_sp;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)in_sp, (int)cg, 1,
                    wt + gi * cg * rows, (int)(rows ? rows : 1), x + (b * w->c + gi * cg) * in_sp,
                    (int)(in_sp ? in_sp : 1), 0, col, (int)(in_sp ? in_sp : 1));
        for (int64_t j = 0; j < mg; j++)
            for (int64_t o = 0; o < out_sp; o++) yg[j * out_sp + o] = bias ? bias[gi * mg + j] : 0;
        col2im_add(w, col, mg, yg);
    }
    free(col);
    return TPU_STATUS_OK;
}

enum tpu_status ref_conv_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *in[3] = { tpu_in(g, n, 0), tpu_in(g, n, 1), tpu_in(g, n, 2) };
    struct tpu_tensor *y = tpu_out(g, n, 0);
    struct tpu_nn_window win;
    enum tpu_status rc = tpu_nn_window(g, n, in[0], in[1], TPU_NN_WIN_CONV_TRANSPOSE, &win);
    if (rc) return rc;
    double *buf[3], *out = tpu_malloc(g->ctx, (size_t)(tpu_tensor_numel(y) + 1) * sizeof *out);
    if (!out) return TPU_ERR_NOMEM;
    if ((rc = stage3(g->ctx, in, buf))) { free(out); return rc; }
    rc = conv_transpose_f64(g->ctx, &win, buf[0], buf[1], buf[2], out);
    if (!rc) tpu_nn_from_f64(y, out, tpu_tensor_numel(y));
    free3(buf);
    free(out);
    return rc;
}

/*---- Pools ----*/
/* For each dim i and output o: the kernel taps [lo, hi) whose input position
** o*s - pad0 + k*d lies inside [0, in). One table of 2*(out0+out1+out2). */
static int64_t *tap_ranges(struct tpu_ctx *ctx, const struct tpu_nn_window *w, const int64_t *kr[3])
{
    int64_t *t = tpu_malloc(ctx, (size_t)(2 * (w->out[0] + w->out[1] + w->out[2]) + 1) * sizeof *t), *p = t;
    if (!t) return NULL;
    for (int i = 0; i < 3; i++) {
        kr[i] = p;
        for (int64_t o = 0; o < w->out[i]; o++, p += 2) {
            int64_t st = o * w->stride[i] - w->pad0[i], d = w->dil[i];
            int64_t lo = st >= 0 ? 0 : (-st + d - 1) / d, hi = w->in[i] - st > 0 ? (w->in[i] - st + d - 1) / d : 0;
            p[0] = lo < w->k[i] ? lo : w->k[i];
            p[1] = hi < w->k[i] ? hi : w->k[i];
            if (p[1] < p[0]) p[1] = p[0];
        }
    }
    return t;
}

/* MaxPool / AveragePool on float32 data directly, other dtypes via float64 copies. */
static enum tpu_status pool_run(struct tpu_graph *g, struct tpu_node *n, const struct tpu_nn_window *w)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    struct tpu_tensor *y = tpu_out(g, n, 0), *idx = tpu_out(g, n, 1);
    bool is_max = n->op == TPU_OP_MAX_POOL, include_pad = tpu_attr_int(n, "count_include_pad", 0) != 0;
    int storage_order = (int)tpu_attr_int(n, "storage_order", 0);
    int64_t *iv = idx ? idx->data : NULL;
    const int64_t *kr[3];
    int64_t *table = tap_ranges(g->ctx, w, kr);
    if (!table) return TPU_ERR_NOMEM;
    if (x->dtype == TPU_DTYPE_F32) {
        if (is_max && !iv) max_pool_lines_f32(w, x->data, y->data);
        else if (is_max) max_pool_f32(w, x->data, y->data, iv, storage_order, kr);
        else avg_pool_f32(w, x->data, y->data, include_pad, kr);
        free(table);
        return TPU_STATUS_OK;
    }
    double *xb = tpu_nn_to_f64(g->ctx, x);
    double *yb = tpu_malloc(g->ctx, (size_t)(tpu_tensor_numel(y) + 1) * sizeof *yb);
    if (xb && yb) {
        if (is_max && !iv) max_pool_lines_f64(w, xb, yb);
        else if (is_max) max_pool_f64(w, xb, yb, iv, storage_order, kr);
        else avg_pool_f64(w, xb, yb, include_pad, kr);
        tpu_nn_from_f64(y, yb, tpu_tensor_numel(y));
    }
    free(table);
    free(xb);
    free(yb);
    return xb && yb ? TPU_STATUS_OK : TPU_ERR_NOMEM;
}

enum tpu_status ref_max_pool(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_window win;
    enum tpu_status rc = tpu_nn_window(g, n, tpu_in(g, n, 0), NULL, TPU_NN_WIN_POOL, &win);
    return rc ? rc : pool_run(g, n, &win);
}

enum tpu_status ref_average_pool(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_window win;
    enum tpu_status rc = tpu_nn_window(g, n, tpu_in(g, n, 0), NULL, TPU_NN_WIN_POOL, &win);
    return rc ? rc : pool_run(g, n, &win);
}

/* GlobalAveragePool / GlobalMaxPool: one value per (n, c) over all spatial dims. */
enum tpu_status ref_global_pool(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    int64_t nc = x->dims[0] * x->dims[1], sp = tpu_tensor_numel(x) / (nc ? nc : 1);
    bool is_max = n->op == TPU_OP_GLOBAL_MAX_POOL;
    for (int64_t i = 0; i < nc; i++) {
        double acc = is_max ? -INFINITY : 0;
        if (x->dtype == TPU_DTYPE_F32) {
            const float *p = (const float *)x->data + i * sp;
            for (int64_t j = 0; j < sp; j++) acc = is_max ? (p[j] > acc ? p[j] : acc) : acc + p[j];
        } else {
            for (int64_t j = 0; j < sp; j++) {
                double v = tpu_get_f64(x->data, x->dtype, (size_t)(i * sp + j));
                acc = is_max ? (v > acc ? v : acc) : acc + v;
            }
        }
        tpu_set_f64(y->data, y->dtype, (size_t)i, is_max ? acc : acc / (double)(sp ? sp : 1));
    }
    return TPU_STATUS_OK;
}
