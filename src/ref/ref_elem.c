/*
** ref/ref_elem.c: reference kernels: elementwise ops with numpy broadcasting.
** (STUBS: each returns TPU_ERR_UNSUPPORTED until implemented.)
*/
#include "ir/ir.h"

enum tpu_status ref_unary(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_unary not implemented");
}

enum tpu_status ref_clip(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_clip not implemented");
}

enum tpu_status ref_binary(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_binary not implemented");
}

enum tpu_status ref_variadic(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_variadic not implemented");
}

enum tpu_status ref_where(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_where not implemented");
}
