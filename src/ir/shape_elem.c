/*
** ir/shape_elem.c: shape functions of elementwise ops and reductions.
** (STUBS: each returns TPU_ERR_UNSUPPORTED until implemented.)
*/
#include "ir/ir.h"

enum tpu_status shape_first(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_first not implemented");
}

enum tpu_status shape_unary(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_unary not implemented");
}

enum tpu_status shape_binary(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_binary not implemented");
}

enum tpu_status shape_variadic(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_variadic not implemented");
}

enum tpu_status shape_where(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_where not implemented");
}

enum tpu_status shape_reduce(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_reduce not implemented");
}

enum tpu_status shape_arg(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_arg not implemented");
}

enum tpu_status shape_topk(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_topk not implemented");
}
