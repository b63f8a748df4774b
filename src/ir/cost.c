/*
** ir/cost.c: multiply-accumulate counts per op and inference, for
** `tpusim check` and the reports (the macs column of ir/ops.def).
**
** In:  a shaped node (output dims known).
** Out: MACs = output elements x reduction length; 0 when shapes are unknown
**      and for ops without multiply-accumulates (macs_none).
*/
#include "ref/ref_nn.h"

int64_t macs_none(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}

/* Output elements x k, or 0 if anything is unknown or the product overflows. */
static int64_t out_times(const struct tpu_graph *g, const struct tpu_node *n, int64_t k)
{
    const struct tpu_tensor *y = tpu_out(g, n, 0);
    int64_t numel = y ? tpu_tensor_numel(y) : -1;
    if (numel < 0 || k < 0) return 0;
    if (k && numel > INT64_MAX / k) return 0;
    return numel * k;
}

/* Reduction length K of A (last dim) for MatMul-like ops with A at input ia. */
static int64_t matmul_k(const struct tpu_graph *g, const struct tpu_node *n, int ia)
{
    const struct tpu_tensor *a = tpu_in(g, n, ia);
    return a && a->n_dims >= 1 ? a->dims[a->n_dims - 1] : -1;
}

int64_t macs_matmul(const struct tpu_graph *g, const struct tpu_node *n)
{
    return out_times(g, n, matmul_k(g, n, 0));
}

int64_t macs_qlinear_matmul(const struct tpu_graph *g, const struct tpu_node *n)
{
    return out_times(g, n, matmul_k(g, n, 0));
}

int64_t macs_gemm(const struct tpu_graph *g, const struct tpu_node *n)
{
    const struct tpu_tensor *a = tpu_in(g, n, 0);
    if (!a || a->n_dims != 2) return 0;
    return out_times(g, n, a->dims[tpu_attr_int(n, "transA", 0) ? 0 : 1]);
}

/* Per output element: (C / group) x kernel elements, read from W (M, C/group, k...). */
static int64_t conv_k(const struct tpu_graph *g, const struct tpu_node *n, int iw)
{
    const struct tpu_tensor *w = tpu_in(g, n, iw);
    if (!w || w->n_dims < 3) return -1;
    int64_t k = 1;
    for (int i = 1; i < w->n_dims; i++) {
        if (w->dims[i] < 0) return -1;
        k *= w->dims[i];
    }
    return k;
}

int64_t macs_conv(const struct tpu_graph *g, const struct tpu_node *n)
{
    return out_times(g, n, conv_k(g, n, 1));
}

int64_t macs_qlinear_conv(const struct tpu_graph *g, const struct tpu_node *n)
{
    return out_times(g, n, conv_k(g, n, 3));
}

/* ConvTranspose: every input element meets (M / group) x kernel weights; W is (C, M/group, k...). */
int64_t macs_conv_transpose(const struct tpu_graph *g, const struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    int64_t numel = x ? tpu_tensor_numel(x) : -1, k = conv_k(g, n, 1);
    const struct tpu_tensor *y = tpu_out(g, n, 0);
    if (numel < 0 || k < 0 || !y || !tpu_tensor_shape_known(y)) return 0;
    if (k && numel > INT64_MAX / k) return 0;
    return numel * k;
}

/* Einsum: one multiply-accumulate per combination of all labels (the plain loop). */
int64_t macs_einsum(const struct tpu_graph *g, const struct tpu_node *n)
{
    struct tpu_nn_einsum e;
    const struct tpu_tensor *y = tpu_out(g, n, 0);
    if (!y || !tpu_tensor_shape_known(y)) return 0;
    for (int i = 0; i < n->n_inputs; i++)
        if (!tpu_in(g, n, i) || !tpu_tensor_shape_known(tpu_in(g, n, i))) return 0;
    struct tpu_ctx scratch = { 0 };          /* a parse error here is not the caller's error */
    struct tpu_graph gs = *g;
    gs.ctx = &scratch;
    if (tpu_nn_einsum_parse(&gs, n, &e)) return 0;
    int64_t total = 1;
    for (int id = 0; id < TPU_NN_EINSUM_MAX_LABELS; id++) {
        if (!e.used[id]) continue;
        if (e.size[id] < 0 || (e.size[id] && total > INT64_MAX / e.size[id])) return 0;
        total *= e.size[id];
    }
    return total;
}
