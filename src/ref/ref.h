/*
** ref/ref.h: the reference executor (the CPU oracle) and the data-set helpers
** around it.
**
** In:  a prepared graph (ir/passes.c) with its inputs bound.
** Out: graph outputs' values (ref/ref_exec.c); comparisons against and files
**      in the ONNX backend-test layout (ref/ref_data.c).
** The per-op kernels are ref/ref_{nn,quant,elem,reduce,tensor}.c, named by
** ir/ops.def. The public entry points are in include/tpusim.h ("Runtime API").
*/
#ifndef TPU_REF_H
#define TPU_REF_H

#include "ir/passes.h"

/* tpu_graph_set_input without the copy: graph input i reads src's memory,
** which must outlive g and is never written (graph inputs are not). */
enum tpu_status tpu_graph_view_input(struct tpu_ctx *ctx, struct tpu_graph *g, int i,
                                     const struct tpu_tensor *src);

/* Whether got/expected element values agree under rtol/atol (NaN == NaN). */
bool tpu_ref_close(double got, double expected, double rtol, double atol);

/*---- Quantisation (ref/ref_quant.c; also compile/qlinear.c, so the chip's
** QLinear outputs are the reference's by construction) ----*/
/* Element `channel` of an optional per-tensor or per-channel parameter; 0 if absent. */
double tpu_quant_param(const struct tpu_tensor *t, int64_t channel);
/* y[i] = saturate(round_half_even(v) + zp) in y's integer type. */
void   tpu_quant_store(struct tpu_tensor *y, size_t i, float v, double zp);
/* QLinearMatMul / QLinearConv requantisation of an exact integer sum acc:
** y[i] = saturate(round_half_even((float)acc x (a_scale x b_scale / y_scale)) + y_zero_point),
** in float32 as ONNX Runtime does. */
void   tpu_quant_requant(struct tpu_tensor *y, size_t i, double acc, double a_scale, double b_scale,
                         const struct tpu_tensor *y_scale, const struct tpu_tensor *y_zero_point);

#endif /* TPU_REF_H */
