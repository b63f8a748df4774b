/*
** sim/sim_systolic.h: cycle counts of the systolic matrix unit (the timing
** half of a MATMUL; sim_gemm.h computes the values). The simulator charges a
** pass through the array with tpu_ws_fold_cycles; reports that compare with
** SCALE-Sim use tpu_scalesim_ws_cycles. docs/systolic.md draws the dataflow;
** tests/pe_model.c counts the same cycles PE by PE, and tests/test-pe.c checks
** that the formulas here equal its counts.
**
** The weight-stationary model, for an R×C array (R rows = the reduction
** dimension K, C columns = output channels N), one fold = one weight tile:
**   * weight load: the tile is shifted in from the top one row per cycle, R
**     cycles, into every row (a smaller tile is padded with zero rows);
**   * inputs: activation row t enters row r from the left at cycle
**     L + t + r (L = R, or 0 with weights preloaded), moving one PE right per
**     cycle; row r's element reaches PE (r, c) at cycle L + t + r + c;
**   * partial sums move down one PE per cycle; PE (r, c) adds its product to
**     the sum from PE (r-1, c) in the same cycle as the activation arrives;
**   * outputs leave the bottom of column c at cycle L + t + (R-1) + c, so the
**     last one (t = T-1, c = C-1) leaves in cycle L + T + R + C - 3.
** A partial tile (k_used < R or n_used < C) flows through the full array, as on
** the TPU: zero weights in the unused rows and columns, the full R-cycle load,
** the full R-row ripple and C-column skew. Its cycle count is that of a full
** tile; only the values of the unused columns are thrown away.
*/
#ifndef TPU_SIM_SYSTOLIC_H
#define TPU_SIM_SYSTOLIC_H

#include <stdint.h>

/* Cycles of one weight-stationary fold on an R×C array, from the first
** weight-load cycle (or the first input cycle when weights_preloaded) to the
** cycle the last output leaves the array, inclusive (a count, not an index):
**     2R + C + T - 2   (weights loaded in the fold)
**      R + C + T - 2   (weights_preloaded, e.g. double-buffered in the PEs)
** T = number of activation rows streamed (the tile's M). T = 0 streams
** nothing: R cycles (the load alone), or 0 when preloaded. k_used and n_used
** (the tile's real rows and columns) do not change the count; see above.
** Returns -1 for arguments outside R, C ≥ 1, 0 ≤ k_used ≤ R, 0 ≤ n_used ≤ C,
** T ≥ 0, or a count that would not fit in int64_t. */
int64_t tpu_ws_fold_cycles(int R, int C, int k_used, int n_used, int64_t T, int weights_preloaded);

/* SCALE-Sim v3's weight-stationary compute cycles for an M×K by K×N GEMM on
** an R×C array, as a count (SCALE-Sim prints this minus 1, the index of the
** last cycle): ceil(K/R) · ceil(N/C) folds × (2R + C + M - 2), every fold
** (edge folds too) costing the same, no overlap between folds.
** 65,408 for M=256, K=2048, N=2048 on 256×256; 163,328 on 128×128.
** Returns 0 when M, K or N is 0, and -1 for negative sizes, R or C < 1, or a
** count that would not fit in int64_t. */
int64_t tpu_scalesim_ws_cycles(int R, int C, int64_t M, int64_t K, int64_t N);

#endif /* TPU_SIM_SYSTOLIC_H */
