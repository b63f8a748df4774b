/*
** ref/ref_nn.c: reference kernels: dense, convolution, pooling, normalisation.
** (STUBS: each returns TPU_ERR_UNSUPPORTED until implemented.)
*/
#include "ir/ir.h"

enum tpu_status ref_matmul(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_matmul not implemented");
}

enum tpu_status ref_gemm(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_gemm not implemented");
}

enum tpu_status ref_conv(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_conv not implemented");
}

enum tpu_status ref_conv_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_conv_transpose not implemented");
}

enum tpu_status ref_einsum(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_einsum not implemented");
}

enum tpu_status ref_max_pool(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_max_pool not implemented");
}

enum tpu_status ref_average_pool(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_average_pool not implemented");
}

enum tpu_status ref_global_pool(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_global_pool not implemented");
}

enum tpu_status ref_batch_norm(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_batch_norm not implemented");
}

enum tpu_status ref_instance_norm(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_instance_norm not implemented");
}

enum tpu_status ref_layer_norm(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_layer_norm not implemented");
}

enum tpu_status ref_softmax(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_softmax not implemented");
}
