/*
** ref/ref_tensor.c: reference kernels: shape and data movement.
** (STUBS: each returns TPU_ERR_UNSUPPORTED until implemented.)
*/
#include "ir/ir.h"

enum tpu_status ref_copy(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_copy not implemented");
}

enum tpu_status ref_dropout(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_dropout not implemented");
}

enum tpu_status ref_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_transpose not implemented");
}

enum tpu_status ref_concat(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_concat not implemented");
}

enum tpu_status ref_split(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_split not implemented");
}

enum tpu_status ref_slice(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_slice not implemented");
}

enum tpu_status ref_gather(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_gather not implemented");
}

enum tpu_status ref_shape(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_shape not implemented");
}

enum tpu_status ref_size(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_size not implemented");
}

enum tpu_status ref_constant(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_constant not implemented");
}

enum tpu_status ref_constant_of_shape(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_constant_of_shape not implemented");
}

enum tpu_status ref_cast(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_cast not implemented");
}

enum tpu_status ref_expand(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_expand not implemented");
}

enum tpu_status ref_tile(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_tile not implemented");
}

enum tpu_status ref_pad(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_pad not implemented");
}

enum tpu_status ref_range(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_range not implemented");
}

enum tpu_status ref_resize(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_resize not implemented");
}
