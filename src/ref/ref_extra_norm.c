/*
** ref/ref_extra_norm.c: reference kernels of the extra normalisation, pooling
** and loss ops: LRN, MeanVarianceNormalization, LpNormalization,
** GlobalLpPool, NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss.
**
** In:  a node shaped by ir/shape_extra.c, inputs with values, outputs
**      allocated and zeroed.
** Out: the outputs' values, accumulated in double and rounded once.
*/
#include "ref/ref_elem.h"
#include "ref/ref_extra.h"
#include "ref/ref_tensor.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define GET(t, i) tpu_get_f64((t)->data, (t)->dtype, (size_t)(i))
#define SET(t, i, v) tpu_set_f64((t)->data, (t)->dtype, (size_t)(i), (v))

/*---- LRN ----*/
/* ONNX LRN: y = x / (bias + alpha/size * sum of x^2 over the channels
** [c - floor((size-1)/2), c + ceil((size-1)/2)])^beta. */
enum tpu_status ref_lrn(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    double alpha = tpu_attr_float(n, "alpha", 1e-4f), beta = tpu_attr_float(n, "beta", 0.75f);
    double bias = tpu_attr_float(n, "bias", 1.0f);
    int64_t size = tpu_attr_int(n, "size", 1), lo = (size - 1) / 2, hi = size - 1 - lo;
    int64_t N = x->dims[0], C = x->dims[1], inner = tpu_ref_prod(x->dims, 2, x->n_dims);
    double *sq = tpu_malloc(g->ctx, (size_t)(inner ? inner : 1) * sizeof *sq);
    if (!sq) return tpu_node_err(g, n, TPU_ERR_NOMEM, "out of memory for %lld sums", (long long)inner);
    /* Per (n, c): the window's sums of squares over a contiguous spatial row. */
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < C; c++) {
            int64_t c0 = c - lo < 0 ? 0 : c - lo, c1 = c + hi >= C ? C - 1 : c + hi;
            memset(sq, 0, (size_t)inner * sizeof *sq);
            for (int64_t k = c0; k <= c1; k++) {
                int64_t base = (b * C + k) * inner;
                if (x->dtype == TPU_DTYPE_F32) {
                    const float *xr = (const float *)x->data + base;
                    for (int64_t i = 0; i < inner; i++) sq[i] += (double)xr[i] * xr[i];
                } else {
                    for (int64_t i = 0; i < inner; i++) {
                        double v = GET(x, base + i);
                        sq[i] += v * v;
                    }
                }
            }
            int64_t base = (b * C + c) * inner;
            for (int64_t i = 0; i < inner; i++)
                SET(y, base + i, GET(x, base + i) / pow(bias + alpha / (double)size * sq[i], beta));
        }
    free(sq);
    return TPU_STATUS_OK;
}

/*---- MeanVarianceNormalization ----*/
enum tpu_status tpu_ref_mvn_axes(const struct tpu_graph *g, const struct tpu_node *n,
                                 int rank, bool mask[TPU_MAX_DIMS])
{
    static const int64_t def[] = { 0, 2, 3 };
    const int64_t *axes;
    int k = tpu_attr_ints(n, "axes", &axes);
    if (!tpu_attr_find(n, "axes")) { axes = def; k = 3; }
    memset(mask, 0, TPU_MAX_DIMS * sizeof *mask);
    for (int i = 0; i < k; i++) {
        int a = tpu_ir_axis(axes[i], rank);
        if (a < 0)
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is out of range for rank %d",
                                (long long)axes[i], rank);
        if (mask[a])
            return tpu_node_err(g, n, TPU_ERR_SHAPE, "axis %lld is repeated", (long long)axes[i]);
        mask[a] = true;
    }
    return TPU_STATUS_OK;
}

/* Index of element j's group: its position over the axes not in mask. */
static int64_t group_of(int64_t j, const int64_t *dims, int r, const bool *mask)
{
    int64_t gi = 0, mul = 1;
    for (int d = r - 1; d >= 0; d--) {
        int64_t c = j % dims[d];
        j /= dims[d];
        if (!mask[d]) { gi += c * mul; mul *= dims[d]; }
    }
    return gi;
}

/* ONNX MeanVarianceNormalization: y = (x - mean) / (sqrt(var) + 1e-9) over axes
** (the epsilon of the ONNX function body). */
enum tpu_status ref_mvn(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    bool mask[TPU_MAX_DIMS];
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc || (rc = tpu_ref_mvn_axes(g, n, x->n_dims, mask))) return rc;
    int r = x->n_dims;
    int64_t groups = 1, cnt = tpu_tensor_numel(x);
    for (int d = 0; d < r; d++)
        if (!mask[d]) groups *= x->dims[d];
    if (cnt == 0) return TPU_STATUS_OK;
    double *sum = tpu_calloc(g->ctx, (size_t)groups * 2, sizeof *sum);
    if (!sum) return tpu_node_err(g, n, TPU_ERR_NOMEM, "out of memory for %lld groups", (long long)groups);
    double *sq = sum + groups, per = (double)(cnt / groups);
    for (int64_t j = 0; j < cnt; j++) sum[group_of(j, x->dims, r, mask)] += GET(x, j);
    for (int64_t j = 0; j < cnt; j++) {
        int64_t gi = group_of(j, x->dims, r, mask);
        double dv = GET(x, j) - sum[gi] / per;
        sq[gi] += dv * dv;
    }
    for (int64_t j = 0; j < cnt; j++) {
        int64_t gi = group_of(j, x->dims, r, mask);
        SET(y, j, (GET(x, j) - sum[gi] / per) / (sqrt(sq[gi] / per) + 1e-9));
    }
    free(sum);
    return TPU_STATUS_OK;
}

/*---- LpNormalization, GlobalLpPool ----*/
/* ONNX LpNormalization: x / ||x||_p along axis (p 1 or 2). */
enum tpu_status ref_lp_norm(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    int r = x->n_dims, axis = r ? tpu_ir_axis(tpu_attr_int(n, "axis", -1), r) : 0;
    bool l1 = tpu_attr_int(n, "p", 2) == 1;
    TPU_ASSERT(axis >= 0);
    int64_t outer = tpu_ref_prod(x->dims, 0, axis), len = r ? x->dims[axis] : 1;
    int64_t inner = tpu_ref_prod(x->dims, axis + 1, r);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double s = 0;
            for (int64_t k = 0; k < len; k++) {
                double v = GET(x, (o * len + k) * inner + i);
                s += l1 ? fabs(v) : v * v;
            }
            double norm = l1 ? s : sqrt(s);
            for (int64_t k = 0; k < len; k++) {
                int64_t e = (o * len + k) * inner + i;
                SET(y, e, GET(x, e) / norm);
            }
        }
    return TPU_STATUS_OK;
}

/* ONNX GlobalLpPool: y[n, c] = (sum over the spatial dims of |x|^p)^(1/p). */
enum tpu_status ref_global_lp_pool(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y;
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    double p = (double)tpu_attr_int(n, "p", 2);
    int64_t rows = x->dims[0] * x->dims[1], inner = tpu_ref_prod(x->dims, 2, x->n_dims);
    for (int64_t rr = 0; rr < rows; rr++) {
        double s = 0;
        for (int64_t i = 0; i < inner; i++) s += pow(fabs(GET(x, rr * inner + i)), p);
        SET(y, rr, pow(s, 1.0 / p));
    }
    return TPU_STATUS_OK;
}

/*---- NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss ----*/
/* log_softmax over axis 1 of x [N, C, inner] into lp (doubles). */
static void log_softmax_c(const struct tpu_tensor *x, double *lp, int64_t N, int64_t C, int64_t inner)
{
    for (int64_t b = 0; b < N; b++)
        for (int64_t i = 0; i < inner; i++) {
            double mx = -INFINITY, s = 0;
            for (int64_t c = 0; c < C; c++) {
                double v = GET(x, (b * C + c) * inner + i);
                if (v > mx) mx = v;
            }
            for (int64_t c = 0; c < C; c++) s += exp(GET(x, (b * C + c) * inner + i) - mx);
            double ls = log(s) + mx;
            for (int64_t c = 0; c < C; c++) {
                int64_t e = (b * C + c) * inner + i;
                lp[e] = GET(x, e) - ls;
            }
        }
}

/* ONNX NegativeLogLikelihoodLoss on log-probabilities lp [N, C, inner]:
** loss[b, i] = -lp[b, t, i] * w[t] (0 where t == ignore_index); mean divides
** the sum by the sum of the weights used. */
static enum tpu_status nll(const struct tpu_graph *g, const struct tpu_node *n, const double *lp,
                           const struct tpu_tensor *t, const struct tpu_tensor *w,
                           struct tpu_tensor *y, int64_t N, int64_t C, int64_t inner)
{
    const char *red = tpu_attr_str(n, "reduction", "mean");
    bool has_ii = tpu_attr_find(n, "ignore_index") != NULL;
    int64_t ii = tpu_attr_int(n, "ignore_index", 0);
    double total = 0, wsum = 0;
    for (int64_t b = 0; b < N; b++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t e = b * inner + i, tv = tpu_get_i64(t->data, t->dtype, (size_t)e);
            double loss = 0, wt = 0;
            if (!(has_ii && tv == ii)) {
                if (tv < 0 || tv >= C)
                    return tpu_node_err(g, n, TPU_ERR_SHAPE, "target value %lld is out of range [0, %lld)",
                                        (long long)tv, (long long)C);
                wt = w ? GET(w, tv) : 1.0;
                loss = -lp[(b * C + tv) * inner + i] * wt;
            }
            if (!strcmp(red, "none")) SET(y, e, loss);
            total += loss;
            wsum += wt;
        }
    if (!strcmp(red, "sum")) SET(y, 0, total);
    else if (!strcmp(red, "mean")) SET(y, 0, total / wsum);
    return TPU_STATUS_OK;
}

enum tpu_status ref_loss(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x, *y, *t = tpu_in(g, n, 1), *w = tpu_in(g, n, 2);
    enum tpu_status rc = tpu_ref_io(g, n, &x, &y);
    if (rc) return rc;
    if (tpu_ir_omitted(w)) w = NULL;
    if (!t || !t->data || (w && !w->data))
        return tpu_node_err(g, n, TPU_ERR_INTERNAL, "target or weight has no values");
    int64_t N = x->dims[0], C = x->dims[1], inner = tpu_ref_prod(x->dims, 2, x->n_dims);
    int64_t cnt = tpu_tensor_numel(x);
    if (w && tpu_tensor_numel(w) != C)
        return tpu_node_err(g, n, TPU_ERR_SHAPE, "weight has %lld values for %lld classes",
                            (long long)tpu_tensor_numel(w), (long long)C);
    double *lp = tpu_malloc(g->ctx, (size_t)(cnt ? cnt : 1) * sizeof *lp);
    if (!lp) return tpu_node_err(g, n, TPU_ERR_NOMEM, "out of memory for %lld log-probabilities", (long long)cnt);
    if (n->op == TPU_OP_SCE_LOSS) log_softmax_c(x, lp, N, C, inner);
    else
        for (int64_t e = 0; e < cnt; e++) lp[e] = GET(x, e);
    rc = nll(g, n, lp, t, w, y, N, C, inner);
    struct tpu_tensor *lpo = tpu_out(g, n, 1);
    if (!rc && lpo && lpo->data)
        for (int64_t e = 0; e < cnt; e++) SET(lpo, e, lp[e]);
    free(lp);
    return rc;
}
