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

/* Whether got/expected element values agree under rtol/atol (NaN == NaN). */
bool tpu_ref_close(double got, double expected, double rtol, double atol);

#endif /* TPU_REF_H */
