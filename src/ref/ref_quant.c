/*
** ref/ref_quant.c: reference kernels: quantised ops.
** (STUBS: each returns TPU_ERR_UNSUPPORTED until implemented.)
*/
#include "ir/ir.h"

enum tpu_status ref_quantize(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_quantize not implemented");
}

enum tpu_status ref_dequantize(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_dequantize not implemented");
}

enum tpu_status ref_qlinear_matmul(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_qlinear_matmul not implemented");
}

enum tpu_status ref_qlinear_conv(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_qlinear_conv not implemented");
}

enum tpu_status ref_matmul_integer(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_matmul_integer not implemented");
}

enum tpu_status ref_conv_integer(struct tpu_graph *g, struct tpu_node *n)
{
    return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "ref_conv_integer not implemented");
}
