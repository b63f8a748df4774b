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

/* TensorProto files (onnx/); also declared by the loader's public section. */
struct tpu_tensor *tpu_tensor_load_pb(struct tpu_ctx *ctx, const char *path);
enum tpu_status    tpu_tensor_save_pb(struct tpu_ctx *ctx, const char *path, const struct tpu_tensor *t);
void               tpu_tensor_free(struct tpu_tensor *t);

/* Whether got/expected element values agree under rtol/atol (NaN == NaN). */
bool tpu_ref_close(double got, double expected, double rtol, double atol);

#endif /* TPU_REF_H */
