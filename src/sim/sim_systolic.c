/*
** sim/sim_systolic.c: the cycle formulas of the weight-stationary systolic
** array (declared and explained in sim_systolic.h, drawn in docs/systolic.md).
** In: array size, tile size, rows streamed. Out: cycles, used by the
** simulator's MATMUL timing and by the SCALE-Sim comparison in the report.
*/
#include "sim/sim_systolic.h"

/* Cycles of one fold; see the header for the model. */
int64_t tpu_ws_fold_cycles(int R, int C, int k_used, int n_used, int64_t T, int weights_preloaded)
{
    if (R < 1 || C < 1 || k_used < 0 || k_used > R || n_used < 0 || n_used > C || T < 0)
        return -1;
    int64_t load_cycles = weights_preloaded ? 0 : R;
    if (T == 0)
        return load_cycles;
    /* R - 1 ripple + C - 1 column skew + T rows + the first output's cycle */
    int64_t pass_cycles = (int64_t)R + C - 2;
    if (T > INT64_MAX - pass_cycles - load_cycles)
        return -1;
    return load_cycles + pass_cycles + T;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
    return a / b + (a % b != 0);
}

/* SCALE-Sim v3 compute/systolic_compute_ws.py, as a count; see the header. */
int64_t tpu_scalesim_ws_cycles(int R, int C, int64_t M, int64_t K, int64_t N)
{
    if (R < 1 || C < 1 || M < 0 || K < 0 || N < 0)
        return -1;
    if (M == 0 || K == 0 || N == 0)
        return 0;
    int64_t fold_cycles = 2 * (int64_t)R + C - 2;
    if (M > INT64_MAX - fold_cycles)
        return -1;
    fold_cycles += M;
    int64_t n_folds_k = ceil_div(K, R), n_folds_n = ceil_div(N, C);
    if (n_folds_k > INT64_MAX / n_folds_n)
        return -1;
    int64_t n_folds = n_folds_k * n_folds_n;
    if (n_folds > INT64_MAX / fold_cycles)
        return -1;
    return n_folds * fold_cycles;
}
