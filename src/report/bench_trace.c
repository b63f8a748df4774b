/*
** report/bench_trace.c: `tpusim run MODEL --chip C --trace FILE` — a
** timing-only simulated run of the model written as a Chrome/Perfetto trace
** (report/trace.c): one track per chip unit, every instruction a slice from its
** start to its completion, the wait between issue and start a "stall" slice,
** one slice per layer on a "layers" track, the ops the chip does not run as
** instants on a "host CPU" track (not simulated, so not timed here).
**
** In:  an ONNX model, a chip name or file, a batch.
** Out: the trace file; a one-line summary on the FILE given.
*/
#include "report/bench.h"
#include "report/trace.h"
#include "compile/compile.h"
#include "ir/passes.h"
#include "tpusim.h"
#include <string.h>

struct tracer {
    struct tpu_trace *t;
    int               track[TPU_UNIT_COUNT];
    int               layers, host_cpu;
    int64_t           last_end[TPU_UNIT_COUNT];   /* latest slice end per unit */
    int64_t           prev_issue;                 /* of the previous instruction */
};

/* Each instruction: a slice from start to done on its unit's track; the wait
** before it (since its issue, or since the unit's previous slice ended) a
** stall slice of category "stall". SYNC's stall is the issue gap it caused (the simulator has already
** moved issue to its start when this runs). */
static void on_insn(void *user, const struct tpu_sim *s, int64_t pc, const struct tpu_insn *in)
{
    struct tracer *tr = user;
    const struct tpu_insn_info *info = tpu_insn_info(in->opcode);
    int64_t prev = tr->prev_issue;
    tr->prev_issue = s->issue;
    if (!info || in->opcode == TPU_INSN_DEBUG) return;
    int u = info->unit, track = tr->track[u];
    if (in->opcode == TPU_INSN_SYNC) {
        if (s->start > prev + 1)
            tpu_trace_stall(tr->t, track, "SYNC: issue stalled", (uint64_t)(prev + 1), (uint64_t)(s->start - prev - 1));
        return;
    }
    int64_t from = s->issue > tr->last_end[u] ? s->issue : tr->last_end[u];
    if (s->start > from) tpu_trace_stall(tr->t, track, "waiting to start", (uint64_t)from, (uint64_t)(s->start - from));
    /* Pipelined instructions (MATMULs whose results land after the next one
    ** started, weight reads queued behind each other) are drawn back to back:
    ** a slice starts when the unit's previous slice ended. */
    int64_t b = s->start > tr->last_end[u] ? s->start : tr->last_end[u];
    tpu_trace_slice(tr->t, track, info->name, "insn", (uint64_t)b, (uint64_t)(s->done > b ? s->done - b : 0), pc);
    if (s->done > tr->last_end[u]) tr->last_end[u] = s->done;
}

static void open_tracks(struct tracer *tr)
{
    tr->track[TPU_UNIT_HOST] = TPU_TRACE_HOST;
    tr->track[TPU_UNIT_DRAM] = TPU_TRACE_DMA;
    tr->track[TPU_UNIT_MXU] = TPU_TRACE_MXU;
    tr->track[TPU_UNIT_VEC] = TPU_TRACE_VECTOR;
    tr->track[TPU_UNIT_SHIFT] = tpu_trace_track(tr->t, "weight shift");
    tr->track[TPU_UNIT_ACT] = tpu_trace_track(tr->t, "activation");
    tr->track[TPU_UNIT_CTRL] = tpu_trace_track(tr->t, "issue (SYNC)");
    tr->layers = tpu_trace_track(tr->t, "layers");
    tr->host_cpu = tpu_trace_track(tr->t, "host CPU (ops not on the chip; not simulated)");
}

static void trace_layer(void *user, const struct tpu_graph *g, const struct tpu_node *n,
                        const struct tpu_mm_desc *d, int64_t t0, int64_t t1)
{
    struct tracer *tr = user;
    if (d || t1 > t0)                        /* an MXU layer, or a vector-unit node (simulated) */
        tpu_trace_slice(tr->t, tr->layers, n->name, "layer", (uint64_t)t0, (uint64_t)(t1 - t0), -1);
    else tpu_trace_slice(tr->t, tr->host_cpu, n->op_type, "host", (uint64_t)t0, 0, -1);
}

enum tpu_status tpu_bench_trace(struct tpu_ctx *ctx, const char *model, const char *chip_name, int64_t batch,
                                const char *path, FILE *summary)
{
    struct tpu_chip *chip = NULL;
    struct tpu_graph *g = NULL;
    struct tpu_sim *s = NULL;
    struct tracer tr = { 0 };
    enum tpu_status rc = tpu_chip_load(ctx, chip_name, &chip);
    if (!rc) rc = tpu_load_onnx(ctx, model, &g);
    for (int i = 0; !rc && i < g->n_inputs; i++) {
        struct tpu_tensor *t = g->tensors[g->inputs[i]];
        for (int d = 0; !t->is_const && d < t->n_dims; d++) if (t->dims[d] < 0) t->dims[d] = d ? 1 : batch;
    }
    if (!rc) rc = tpu_graph_prepare(ctx, g, NULL, 0);
    if (!rc && !(s = tpu_sim_new(ctx, chip, 1))) rc = ctx->status ? ctx->status : TPU_ERR_NOMEM;
    if (!rc) rc = tpu_trace_open(ctx, path, chip->name, chip->clock_mhz * 1e6, &tr.t);
    if (!rc) {
        open_tracks(&tr);
        s->on_insn = on_insn;
        s->on_insn_user = &tr;
    }
    struct tpu_bench_sim r = { 0 };
    if (!rc) rc = tpu_bench_sim_graph(ctx, g, chip, s, NULL, 0, &r, trace_layer, &tr);
    uint64_t n_events = tr.t ? tpu_trace_n_events(tr.t) : 0;
    enum tpu_status rc2 = tpu_trace_close(tr.t);
    if (!rc) rc = rc2;
    if (!rc && summary)
        fprintf(summary, "trace %s: %s batch %lld, %d layers on the chip, %d host ops (not simulated), "
                "%lld cycles, %llu events\n", path, chip->name, (long long)batch, r.n_chip, r.n_host,
                (long long)s->end, (unsigned long long)n_events);
    tpu_sim_free(s);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    return rc;
}
