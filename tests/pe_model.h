/*
** tests/pe_model.h: a PE-by-PE, cycle-by-cycle model of an R×C
** weight-stationary systolic array — the slow, obviously-staged oracle that
** sim/sim_gemm.c (values) and sim/sim_systolic.c (cycles) are checked
** against in tests/test-pe.c. Test-only: test programs include pe_model.c.
**
** One call runs one fold: shift a k_used×n_used weight tile into the array
** (zero-padded to R×C), stream T input rows of k_used values through it, and
** collect the T×n_used outputs into accumulators. The model counts cycles by
** running until the last output (of all C columns, used or not) has left the
** bottom of the array. docs/systolic.md describes the dataflow.
*/
#ifndef TPU_PE_MODEL_H
#define TPU_PE_MODEL_H

#include <stdint.h>

enum pe_dtype {
    PE_DTYPE_I8,        /* int8 weights and inputs, int32 partial sums (wrapping)   */
    PE_DTYPE_BF16,      /* bf16 weights and inputs, fp32 sums: fl(psum + fl(a·w))   */
};

struct pe_fold {
    enum pe_dtype dtype;
    int           R, C;              /* array rows (reduction) and columns         */
    int           k_used, n_used;    /* the tile: 1..R rows, 1..C columns          */
    int           T;                 /* input rows streamed, ≥ 0                   */
    const void   *W;                 /* k_used × n_used weights, row-major          */
    const void   *X;                 /* T × k_used inputs, row-major                */
    void         *out;               /* T × n_used accumulators: int32_t or float  */
    int           accumulate;        /* out += sums, else out = 0 + sums           */
    int           weights_preloaded; /* skip the R-cycle weight load               */
};

/* Runs the fold; returns the cycle count (first weight-load cycle, or first
** input cycle when preloaded, to the cycle the last output leaves, inclusive),
** or -1 for bad arguments, no memory, or a model inconsistency (a partial sum
** meeting an activation of another input row: the skew is wrong). */
int64_t pe_run_fold(const struct pe_fold *f);

#endif /* TPU_PE_MODEL_H */
