/*
** ir/cost.c: multiply-accumulate counts per op, for `tpusim check` and the reports.
** (STUBS: return 0 until implemented.)
*/
#include "ir/ir.h"

int64_t macs_none(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}

int64_t macs_matmul(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}

int64_t macs_gemm(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}

int64_t macs_conv(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}

int64_t macs_conv_transpose(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}

int64_t macs_einsum(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}

int64_t macs_qlinear_matmul(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}

int64_t macs_qlinear_conv(const struct tpu_graph *g, const struct tpu_node *n)
{
    return 0;
}
