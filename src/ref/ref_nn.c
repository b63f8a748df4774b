/*
** ref/ref_nn.c: reference kernels of MatMul, Gemm, BatchNormalization,
** InstanceNormalization, LayerNormalization, Softmax and LogSoftmax.
** (Conv and pools: ref_nn_conv.c; Einsum: ref_nn_einsum.c.)
**
** In:  a node whose shape function has run and whose outputs are allocated.
** Out: the outputs' values. MatMul/Gemm on float32 call tpu_sgemm; other
**      dtypes and the normalisations compute in float64 (tpu_nn_to_f64).
*/
#include "ref/ref_nn.h"
#include <cblas.h>
#include <math.h>
#include <string.h>

/*---- MatMul ----*/
/* Flat batch index of an operand whose batch dims (rank r, right-aligned with
** the output's) broadcast to the output batch dims, for output batch `flat`. */
static int64_t batch_index(const struct tpu_nn_matmul_dims *d, int64_t flat, int r, const int64_t *dims)
{
    int64_t idx = 0, mul = 1;
    for (int i = d->n_batch - 1, j = r - 1; i >= 0; i--, j--) {
        int64_t coord = flat % d->batch[i];
        flat /= d->batch[i];
        if (j < 0) continue;
        idx += (dims[j] == 1 ? 0 : coord) * mul;
        mul *= dims[j];
    }
    return idx;
}

static int64_t batch_count(const struct tpu_nn_matmul_dims *d)
{
    int64_t nb = 1;
    for (int i = 0; i < d->n_batch; i++) nb *= d->batch[i];
    return nb;
}

/* Runs per-batch gemms; with a rank-2 B and unbroadcast A the batches fold into M. */
#define MATMUL_LOOP(T, GEMM_FN, pa, pb, pc) do {                                          \
    int64_t nb = batch_count(&d), ra = a->n_dims - 2 + d.a_vec, rb = b->n_dims - 2 + d.b_vec; \
    int64_t mk = d.m * d.k, kn = d.k * d.n, mn = d.m * d.n;                                \
    bool fold = rb == 0 && ra == d.n_batch;                                               \
    for (int64_t i = 0; i < (fold ? 1 : nb); i++) {                                       \
        const T *ai = (pa) + batch_index(&d, i, (int)ra, a->dims) * mk;                   \
        const T *bi = (pb) + batch_index(&d, i, (int)rb, b->dims) * kn;                   \
        int64_t m = fold ? d.m * nb : d.m;                                                \
        GEMM_FN(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)d.n, (int)d.k, 1, \
                ai, (int)(d.k ? d.k : 1), bi, (int)(d.n ? d.n : 1), 0, (pc) + i * mn,     \
                (int)(d.n ? d.n : 1));                                                    \
    }                                                                                     \
} while (0)

void tpu_nn_matmul_f64(const struct tpu_nn_matmul_dims *dims, const struct tpu_tensor *a,
                       const struct tpu_tensor *b, const double *da, const double *db, double *dy)
{
    struct tpu_nn_matmul_dims d = *dims;
    MATMUL_LOOP(double, cblas_dgemm, da, db, dy);
}

enum tpu_status ref_matmul(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    struct tpu_nn_matmul_dims d;
    const char *why;
    if (tpu_nn_matmul_dims(a, b, &d, &why)) return tpu_node_err(g, n, TPU_ERR_SHAPE, "%s", why);
    if (tpu_tensor_numel(y) > INT32_MAX || d.k > INT32_MAX)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "matrix product too large for BLAS");
    if (tpu_tensor_numel(y) == 0) return TPU_STATUS_OK;
    if (a->dtype == TPU_DTYPE_F32) {
        MATMUL_LOOP(float, tpu_nn_sgemm, (const float *)a->data, (const float *)b->data, (float *)y->data);
        return TPU_STATUS_OK;
    }
    double *da = tpu_nn_to_f64(g->ctx, a), *db = tpu_nn_to_f64(g->ctx, b);
    double *dy = tpu_malloc(g->ctx, (size_t)(tpu_tensor_numel(y) + 1) * sizeof *dy);
    if (da && db && dy) {
        tpu_nn_matmul_f64(&d, a, b, da, db, dy);
        tpu_nn_from_f64(y, dy, tpu_tensor_numel(y));
    }
    free(da);
    free(db);
    free(dy);
    return da && db && dy ? TPU_STATUS_OK : TPU_ERR_NOMEM;
}

/*---- Gemm: Y = alpha * A' B' + beta * C ----*/
/* Element (i, j) of C broadcast (unidirectionally) to m x n, as flat index. */
static size_t gemm_c_at(const struct tpu_tensor *c, int64_t i, int64_t j)
{
    int64_t rows = c->n_dims == 2 ? c->dims[0] : 1, cols = c->n_dims >= 1 ? c->dims[c->n_dims - 1] : 1;
    return (size_t)((rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j));
}

static enum tpu_status gemm_f64(struct tpu_graph *g, const struct tpu_tensor *a, const struct tpu_tensor *b,
                                const struct tpu_tensor *c, struct tpu_tensor *y, bool ta, bool tb,
                                double alpha, double beta, int64_t k)
{
    int64_t m = y->dims[0], nn = y->dims[1];
    double *da = tpu_nn_to_f64(g->ctx, a), *db = tpu_nn_to_f64(g->ctx, b);
    double *dy = tpu_malloc(g->ctx, (size_t)(m * nn) * sizeof *dy);
    if (da && db && dy) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++)
                dy[i * nn + j] = c && beta != 0 ? beta * tpu_get_f64(c->data, c->dtype, gemm_c_at(c, i, j)) : 0;
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
                    (int)nn, (int)k, alpha, da, (int)(ta ? m : k ? k : 1), db, (int)(tb ? (k ? k : 1) : nn),
                    1.0, dy, (int)nn);
        tpu_nn_from_f64(y, dy, m * nn);
    }
    bool ok = da && db && dy;
    free(da);
    free(db);
    free(dy);
    return ok ? TPU_STATUS_OK : TPU_ERR_NOMEM;
}

/* ONNX Gemm: Y = alpha * A' B' + beta * C, C broadcast one way to (M, N). */
enum tpu_status ref_gemm(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1), *c = tpu_in(g, n, 2);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    bool ta = tpu_attr_int(n, "transA", 0) != 0, tb = tpu_attr_int(n, "transB", 0) != 0;
    double alpha = tpu_attr_float(n, "alpha", 1.0f), beta = tpu_attr_float(n, "beta", 1.0f);
    int64_t m = y->dims[0], nn = y->dims[1], k = ta ? a->dims[0] : a->dims[1];
    if (m > INT32_MAX || nn > INT32_MAX || k > INT32_MAX)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "matrix product too large for BLAS");
    if (m == 0 || nn == 0) return TPU_STATUS_OK;
    if (a->dtype != TPU_DTYPE_F32) return gemm_f64(g, a, b, c, y, ta, tb, alpha, beta, k);
    float *fy = y->data;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < nn; j++)
            fy[i * nn + j] = c && beta != 0 ? (float)beta * ((const float *)c->data)[gemm_c_at(c, i, j)] : 0;
    tpu_nn_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, (int)m,
                 (int)nn, (int)k, (float)alpha, a->data, (int)(ta ? m : k ? k : 1), b->data,
                 (int)(tb ? (k ? k : 1) : nn), 1.0f, fy, (int)nn);
    return TPU_STATUS_OK;
}

/*---- Normalisations (float64) ----*/
/* Per-channel mean and (population) variance of x over N and the spatial dims. */
static void channel_moments(const struct tpu_tensor *x, int64_t ch, int64_t c, int64_t sp,
                            double *mean, double *var)
{
    double s = 0, ss = 0;
    int64_t cnt = x->dims[0] * sp;
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t i = 0; i < sp; i++) s += tpu_get_f64(x->data, x->dtype, (size_t)((b * c + ch) * sp + i));
    *mean = cnt ? s / (double)cnt : 0;
    for (int64_t b = 0; b < x->dims[0]; b++)
        for (int64_t i = 0; i < sp; i++) {
            double d = tpu_get_f64(x->data, x->dtype, (size_t)((b * c + ch) * sp + i)) - *mean;
            ss += d * d;
        }
    *var = cnt ? ss / (double)cnt : 0;
}

/* ONNX BatchNormalization: y = scale * (x - mean) / sqrt(var + eps) + B with the
** given mean/var (inference) or, with training_mode = 1, the batch's own; then
** running_mean/var = input * momentum + batch * (1 - momentum). */
enum tpu_status ref_batch_norm(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    double eps = tpu_attr_float(n, "epsilon", 1e-5f), momentum = tpu_attr_float(n, "momentum", 0.9f);
    bool training = tpu_attr_int(n, "training_mode", 0) != 0;
    int64_t nb = x->dims[0], c = x->n_dims > 1 ? x->dims[1] : 1;
    int64_t sp = nb * c > 0 ? tpu_tensor_numel(x) / (nb * c) : 0;
    for (int64_t ch = 0; ch < c; ch++) {
        double s = tpu_get_f64(tpu_in(g, n, 1)->data, tpu_in(g, n, 1)->dtype, (size_t)ch);
        double bias = tpu_get_f64(tpu_in(g, n, 2)->data, tpu_in(g, n, 2)->dtype, (size_t)ch);
        double mean = tpu_get_f64(tpu_in(g, n, 3)->data, tpu_in(g, n, 3)->dtype, (size_t)ch);
        double var = tpu_get_f64(tpu_in(g, n, 4)->data, tpu_in(g, n, 4)->dtype, (size_t)ch);
        double stat[2] = { mean, var };
        if (training) channel_moments(x, ch, c, sp, &mean, &var);
        for (int i = 1; i <= 2; i++) {      /* running mean / var */
            struct tpu_tensor *o = tpu_out(g, n, i);
            double batch = i == 1 ? mean : var;
            if (o) tpu_set_f64(o->data, o->dtype, (size_t)ch,
                               training ? stat[i - 1] * momentum + batch * (1 - momentum) : stat[i - 1]);
        }
        double mul = s / sqrt(var + eps), add = bias - mean * mul;
        for (int64_t b = 0; b < nb; b++) {
            size_t at = (size_t)((b * c + ch) * sp);
            if (x->dtype == TPU_DTYPE_F32) {
                const float *xp = (const float *)x->data + at;
                float *yp = (float *)y->data + at;
                for (int64_t i = 0; i < sp; i++) yp[i] = (float)(xp[i] * mul + add);
            } else {
                for (int64_t i = 0; i < sp; i++)
                    tpu_set_f64(y->data, y->dtype, at + (size_t)i,
                                tpu_get_f64(x->data, x->dtype, at + (size_t)i) * mul + add);
            }
        }
    }
    return TPU_STATUS_OK;
}

/* Mean and 1/sqrt(var + eps) of v[0..len). */
static void moments(const double *v, int64_t len, double eps, double *mean, double *inv_std)
{
    double s = 0, ss = 0;
    for (int64_t i = 0; i < len; i++) s += v[i];
    *mean = len ? s / (double)len : 0;
    for (int64_t i = 0; i < len; i++) ss += (v[i] - *mean) * (v[i] - *mean);
    *inv_std = 1.0 / sqrt((len ? ss / (double)len : 0) + eps);
}

/* ONNX InstanceNormalization: per (n, c), y = scale[c] * (x - mean) / sqrt(var + eps) + B[c]. */
enum tpu_status ref_instance_norm(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0), *sc = tpu_in(g, n, 1), *bi = tpu_in(g, n, 2);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    if (x->n_dims < 3 || tpu_tensor_numel(sc) != x->dims[1] || tpu_tensor_numel(bi) != x->dims[1])
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "expects input N x C x D1... and scale, B of C values");
    double eps = tpu_attr_float(n, "epsilon", 1e-5f);
    int64_t c = x->dims[1], nc = x->dims[0] * c, sp = tpu_tensor_numel(x) / (nc ? nc : 1);
    double *v = tpu_nn_to_f64(g->ctx, x);
    if (!v) return TPU_ERR_NOMEM;
    for (int64_t i = 0; i < nc; i++) {
        double mean, inv, *p = v + i * sp;
        moments(p, sp, eps, &mean, &inv);
        double s = tpu_get_f64(sc->data, sc->dtype, (size_t)(i % c));
        double b = tpu_get_f64(bi->data, bi->dtype, (size_t)(i % c));
        for (int64_t j = 0; j < sp; j++) p[j] = (p[j] - mean) * inv * s + b;
    }
    tpu_nn_from_f64(y, v, tpu_tensor_numel(x));
    free(v);
    return TPU_STATUS_OK;
}

/* Index into a (broadcast) parameter of the normalised trailing shape: the
** parameter's dims are right-aligned with dims[axis..rank). */
static int64_t param_index(const struct tpu_tensor *x, int axis, const struct tpu_tensor *p, int64_t j)
{
    int64_t idx = 0, mul = 1;
    for (int i = x->n_dims - 1, k = p->n_dims - 1; i >= axis; i--, k--) {
        int64_t coord = j % x->dims[i];
        j /= x->dims[i];
        if (k < 0) continue;
        idx += (p->dims[k] == 1 ? 0 : coord) * mul;
        mul *= p->dims[k];
    }
    return idx;
}

/* ONNX LayerNormalization: normalise over dims[axis..); Mean and InvStdDev
** (optional outputs) have the leading dims and 1s. */
enum tpu_status ref_layer_norm(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0), *sc = tpu_in(g, n, 1), *bi = tpu_in(g, n, 2);
    struct tpu_tensor *mean_t = tpu_out(g, n, 1), *inv_t = tpu_out(g, n, 2);
    int axis = (int)tpu_attr_int(n, "axis", -1);
    if (axis < 0) axis += x->n_dims;
    if (axis < 0 || axis >= x->n_dims)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'axis' out of range for rank %d", x->n_dims);
    double eps = tpu_attr_float(n, "epsilon", 1e-5f);
    int64_t inner = 1;
    for (int i = axis; i < x->n_dims; i++) inner *= x->dims[i];
    int64_t outer = tpu_tensor_numel(x) / (inner ? inner : 1);
    double *v = tpu_nn_to_f64(g->ctx, x);
    if (!v) return TPU_ERR_NOMEM;
    for (int64_t o = 0; o < outer; o++) {
        double mean, inv, *p = v + o * inner;
        moments(p, inner, eps, &mean, &inv);
        for (int64_t j = 0; j < inner; j++) {
            double s = tpu_get_f64(sc->data, sc->dtype, (size_t)param_index(x, axis, sc, j));
            double b = bi ? tpu_get_f64(bi->data, bi->dtype, (size_t)param_index(x, axis, bi, j)) : 0;
            p[j] = (p[j] - mean) * inv * s + b;
        }
        if (mean_t) tpu_set_f64(mean_t->data, mean_t->dtype, (size_t)o, mean);
        if (inv_t) tpu_set_f64(inv_t->data, inv_t->dtype, (size_t)o, inv);
    }
    tpu_nn_from_f64(tpu_out(g, n, 0), v, tpu_tensor_numel(x));
    free(v);
    return TPU_STATUS_OK;
}

/*---- Softmax / LogSoftmax ----*/
/* opset < 13: the input is flattened to 2-D at `axis` (default 1) and each
** row normalised; opset >= 13: normalised along `axis` (default -1). */
static void softmax_line(double *p, int64_t len, int64_t stride, bool is_log)
{
    double mx = -INFINITY, sum = 0;
    for (int64_t i = 0; i < len; i++) mx = p[i * stride] > mx ? p[i * stride] : mx;
    for (int64_t i = 0; i < len; i++) sum += exp(p[i * stride] - mx);
    for (int64_t i = 0; i < len; i++)
        p[i * stride] = is_log ? p[i * stride] - mx - log(sum) : exp(p[i * stride] - mx) / sum;
}

enum tpu_status ref_softmax(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    bool old = n->opset > 0 && n->opset < 13;
    int r = x->n_dims, axis = (int)tpu_attr_int(n, "axis", old ? 1 : -1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= (r ? r : 1))
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "attribute 'axis' is %lld, out of range for rank %d",
                            (long long)tpu_attr_int(n, "axis", 0), r);
    int64_t outer = 1, len = 1, stride = 1;
    for (int i = 0; i < axis; i++) outer *= x->dims[i];
    for (int i = axis; i < r; i++) {
        if (old || i == axis) len *= x->dims[i];
        else stride *= x->dims[i];
    }
    double *v = tpu_nn_to_f64(g->ctx, x);
    if (!v) return TPU_ERR_NOMEM;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t s = 0; s < stride; s++)
            softmax_line(v + o * len * stride + s, len, stride, n->op == TPU_OP_LOG_SOFTMAX);
    tpu_nn_from_f64(tpu_out(g, n, 0), v, tpu_tensor_numel(x));
    free(v);
    return TPU_STATUS_OK;
}
