/*
** ir/shape_tensor.c: shape functions of the shape and data-movement ops.
** (STUBS: each returns TPU_ERR_UNSUPPORTED until implemented.)
*/
#include "ir/ir.h"

enum tpu_status shape_reshape(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_reshape not implemented");
}

enum tpu_status shape_flatten(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_flatten not implemented");
}

enum tpu_status shape_squeeze(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_squeeze not implemented");
}

enum tpu_status shape_unsqueeze(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_unsqueeze not implemented");
}

enum tpu_status shape_dropout(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_dropout not implemented");
}

enum tpu_status shape_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_transpose not implemented");
}

enum tpu_status shape_concat(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_concat not implemented");
}

enum tpu_status shape_split(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_split not implemented");
}

enum tpu_status shape_slice(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_slice not implemented");
}

enum tpu_status shape_gather(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_gather not implemented");
}

enum tpu_status shape_shape(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_shape not implemented");
}

enum tpu_status shape_size(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_size not implemented");
}

enum tpu_status shape_constant(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_constant not implemented");
}

enum tpu_status shape_constant_of_shape(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_constant_of_shape not implemented");
}

enum tpu_status shape_cast(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_cast not implemented");
}

enum tpu_status shape_expand(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_expand not implemented");
}

enum tpu_status shape_tile(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_tile not implemented");
}

enum tpu_status shape_pad(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_pad not implemented");
}

enum tpu_status shape_range(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_range not implemented");
}

enum tpu_status shape_resize(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_resize not implemented");
}
