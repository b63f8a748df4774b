/*
** report/onchip.c: the on-chip schedule estimate `tpusim run` prints under
** its report. tpusim runs each chip node as its own program whose operands
** cross the host link; a TPU keeps the activations in its Unified Buffer
** between layers (the TPU v1 paper's 24 MiB UB). The model is timed twice on
** the timing-only simulator (tpu_bench_sim_graph): as run schedules it, and
** with each chip node's host-link transfers left out where the data is on
** chip already or no host node needs it (tpu_ub_residency, when the liveness
** plan fits the UB). Device time and energy only; host ops are the same.
**
** In:  a prepared graph (shapes known; values not needed), a chip.
** --precision auto: each MXU node at its own passes (tpu_chip_onchip_estimate_auto).
**
** Out: struct tpu_onchip_estimate (include/tpusim.h).
*/
#include "report/bench.h"
#include "compile/compile.h"
#include "sim/sim.h"
#include "tpusim.h"
#include <string.h>

static enum tpu_status timed(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                             unsigned flags, const struct tpu_prec_auto *pa, struct tpu_bench_sim *r,
                             double *joules)
{
    struct tpu_sim *sim = tpu_sim_new(ctx, chip, 1);
    if (!sim) return ctx->status ? ctx->status : TPU_ERR_NOMEM;
    enum tpu_status rc = tpu_bench_sim_graph_auto(ctx, g, chip, sim, NULL, flags, pa, r, NULL, NULL);
    struct tpu_sim_energy e;
    if (!rc) { tpu_sim_energy(chip, &sim->ctr, &e); *joules = e.total_j; }
    tpu_sim_free(sim);
    return rc;
}

enum tpu_status tpu_chip_onchip_estimate(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                         int passes, struct tpu_onchip_estimate *e)
{
    return tpu_chip_onchip_estimate_auto(ctx, g, chip, passes, NULL, e);
}

enum tpu_status tpu_chip_onchip_estimate_auto(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                              int passes, const struct tpu_prec_auto *pa,
                                              struct tpu_onchip_estimate *e)
{
    memset(e, 0, sizeof *e);
    struct tpu_bench_sim link, onchip;
    unsigned p = TPU_BENCH_PASSES(passes > 1 ? passes : 1);
    enum tpu_status rc = timed(ctx, g, chip, p, pa, &link, &e->link_joules);
    if (!rc) rc = timed(ctx, g, chip, p | TPU_BENCH_RESIDENT, pa, &onchip, &e->onchip_joules);
    if (rc) return rc;
    e->done = 1;
    const struct tpu_tensor *x = g->n_inputs ? g->tensors[g->inputs[0]] : NULL;
    e->batch = x && x->n_dims ? x->dims[0] : 1;
    e->fits = onchip.ub_fits;
    e->ub_need_bytes = onchip.ub_need_bytes;
    e->ub_have_bytes = (uint64_t)chip->unified_buffer_bytes;
    e->link_cycles = link.cycles;
    e->onchip_cycles = onchip.cycles;
    return TPU_STATUS_OK;
}
