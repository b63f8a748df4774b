/*
** ref/ref_reduce.c: reference kernels: reductions, arg-reductions, TopK.
** (STUBS: each returns TPU_ERR_UNSUPPORTED until implemented.)
*/
#include "ir/ir.h"

enum tpu_status ref_reduce(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_reduce not implemented");
}

enum tpu_status ref_arg(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_arg not implemented");
}

enum tpu_status ref_topk(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_topk not implemented");
}
