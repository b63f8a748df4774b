/*
** ir/shape_nn.c: shape functions of the dense, pooling, normalisation and quantised ops.
** (STUBS: each returns TPU_ERR_UNSUPPORTED until implemented.)
*/
#include "ir/ir.h"

enum tpu_status shape_matmul(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_matmul not implemented");
}

enum tpu_status shape_gemm(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_gemm not implemented");
}

enum tpu_status shape_conv(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_conv not implemented");
}

enum tpu_status shape_conv_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_conv_transpose not implemented");
}

enum tpu_status shape_einsum(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_einsum not implemented");
}

enum tpu_status shape_pool(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_pool not implemented");
}

enum tpu_status shape_global_pool(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_global_pool not implemented");
}

enum tpu_status shape_batch_norm(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_batch_norm not implemented");
}

enum tpu_status shape_layer_norm(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_layer_norm not implemented");
}

enum tpu_status shape_quantize(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_quantize not implemented");
}

enum tpu_status shape_dequantize(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_dequantize not implemented");
}

enum tpu_status shape_qlinear_matmul(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_qlinear_matmul not implemented");
}

enum tpu_status shape_qlinear_conv(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_qlinear_conv not implemented");
}

enum tpu_status shape_matmul_integer(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_matmul_integer not implemented");
}

enum tpu_status shape_conv_integer(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "shape_conv_integer not implemented");
}
