/*
** compile/qdq.c: pre-quantised (QDQ) models keep their scales. When an MXU
** node's activation input is DequantizeLinear(int8 x, scalar scale, zero
** point 0 or absent), the model already fixed that tensor's int8 grid: the
** chip quantises with the model's scale instead of a calibrated one, so the
** int8 values the MXU multiplies are exactly the model's. Used by
** compile/calib.c (every calibrated run); weights come constant-folded
** (DequantizeLinear of int8 initializers) and are re-quantised per output
** channel by compile/lower.c, which gives back the model's per-channel int8
** weights exactly when every channel's largest |q| is 127. Without any
** calibration (compile/run.c calibrate()) the QDQ inputs keep the model's
** scale too (tpu_mm_qdq_scales); the other inputs use their run-time max |x|.
**
** In:  a prepared graph and an MXU node.  Out: the model's input scale(s).
*/
#include "compile/compile.h"

int tpu_mm_qdq_input_scale(const struct tpu_graph *g, const struct tpu_node *n, float *scale)
{
    const struct tpu_tensor *x = n->n_inputs > 0 ? tpu_in(g, n, 0) : NULL;
    if (!x || x->producer < 0 || x->producer >= g->n_nodes) return 0;
    const struct tpu_node *p = &g->nodes[x->producer];
    if (p->op != TPU_OP_DEQUANTIZE_LINEAR || p->n_inputs < 2) return 0;
    const struct tpu_tensor *q = tpu_in(g, p, 0), *s = tpu_in(g, p, 1);
    const struct tpu_tensor *z = p->n_inputs > 2 ? tpu_in(g, p, 2) : NULL;
    if (!q || q->dtype != TPU_DTYPE_I8) return 0;
    if (!s || !s->data || s->dtype != TPU_DTYPE_F32 || tpu_tensor_numel(s) != 1) return 0;
    if (z && (!z->data || tpu_tensor_numel(z) != 1 || ((const int8_t *)z->data)[0] != 0)) return 0;
    float v = ((const float *)s->data)[0];
    if (!(v > 0) || v > 1e30f) return 0;                   /* NaN, <= 0, inf: not usable */
    *scale = v;
    return 1;
}

int tpu_mm_qdq_scales(struct tpu_ctx *ctx, const struct tpu_graph *g, float **scales)
{
    *scales = NULL;
    int count = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct tpu_node *n = &g->nodes[i];
        float s;
        if (n->dead || (n->op != TPU_OP_GEMM && n->op != TPU_OP_MATMUL && n->op != TPU_OP_CONV)) continue;
        if (!tpu_mm_qdq_input_scale(g, n, &s)) continue;
        if (!*scales && !(*scales = tpu_calloc(ctx, (size_t)g->n_nodes + 1, sizeof **scales))) return -1;
        (*scales)[i] = s;
        count++;
    }
    return count;
}
