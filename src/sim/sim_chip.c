/*
** sim/sim_chip.c: the chip's top level — creates the memories and per-unit
** timelines, runs the fetch/issue loop (in-order issue, pipeline window, SYNC
** stalls), closes the Table-3 accounting at the end and formats faults.
**
** In:  struct tpu_program (isa/), struct tpu_chip (sim/sim_config.h).
** Out: counters and DEBUG marks in struct tpu_sim, read by compile/report.
** Instruction semantics are in sim/sim_exec.c and the per-block files.
*/
#include "sim/sim.h"
#include <string.h>

static const char *const fault_names[TPU_FAULT_COUNT] = {
    [TPU_FAULT_NONE] = "none", [TPU_FAULT_BAD_OPCODE] = "bad opcode",
    [TPU_FAULT_BAD_OPERAND] = "bad operand",
    [TPU_FAULT_UB_RANGE] = "unified-buffer address out of range",
    [TPU_FAULT_ACC_RANGE] = "accumulator address out of range",
    [TPU_FAULT_DRAM_RANGE] = "weight-memory address out of range",
    [TPU_FAULT_HOST_RANGE] = "host-memory address out of range",
    [TPU_FAULT_FIFO_OVERFLOW] = "weight FIFO overflow",
    [TPU_FAULT_FIFO_EMPTY] = "weight FIFO empty",
    [TPU_FAULT_NO_WEIGHTS] = "no weights in the array",
    [TPU_FAULT_SHADOW_BUSY] = "weight buffer still holds an unused tile",
    [TPU_FAULT_ACC_OVERFLOW] = "accumulator overflow",
};

const char *tpu_fault_name(enum tpu_fault f)
{
    return (unsigned)f < TPU_FAULT_COUNT ? fault_names[f] : "?";
}

int sim_range_ok(uint64_t addr, uint64_t n, uint64_t size)
{
    return addr <= size && n <= size - addr;
}

int sim_fault(struct tpu_sim *s, enum tpu_fault f, const char *fmt, ...)
{
    if (s->fault != TPU_FAULT_NONE) return 1;
    s->fault = f;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->fault_msg, sizeof s->fault_msg, fmt, ap);
    va_end(ap);
    return 1;
}

static int alloc_mxu(struct tpu_sim *s, struct sim_mxu *m)
{
    size_t depth = (size_t)s->chip->weight_fifo_tiles;
    m->fifo_dram = tpu_calloc(s->ctx, depth, sizeof *m->fifo_dram);
    m->fifo_arrive = tpu_calloc(s->ctx, depth, sizeof *m->fifo_arrive);
    m->fifo_slot_free = tpu_calloc(s->ctx, depth, sizeof *m->fifo_slot_free);
    m->fifo_request = tpu_calloc(s->ctx, depth, sizeof *m->fifo_request);
    if (!m->fifo_dram || !m->fifo_arrive || !m->fifo_slot_free || !m->fifo_request) return -1;
    if (s->timing_only) return 0;
    size_t tile = (size_t)tpu_chip_tile_bytes(s->chip);
    m->w_active = tpu_calloc(s->ctx, 1, tile);
    m->w_shadow = tpu_calloc(s->ctx, 1, tile);
    m->active_w = m->w_active;
    m->shadow_w = m->w_shadow;
    return m->w_active && m->w_shadow ? 0 : -1;
}

struct tpu_sim *tpu_sim_new(struct tpu_ctx *ctx, const struct tpu_chip *chip, int timing_only)
{
    if (chip->mxu_count > TPU_SIM_MAX_MXUS) {
        tpu_err(ctx, TPU_ERR_CONFIG, "%s: mxu_count %lld over the simulator's %d", chip->name,
                (long long)chip->mxu_count, TPU_SIM_MAX_MXUS);
        return NULL;
    }
    struct tpu_sim *s = tpu_calloc(ctx, 1, sizeof *s);
    if (!s) return NULL;
    s->ctx = ctx;
    s->chip = chip;
    s->timing_only = timing_only;
    size_t acc_rows = (size_t)chip->accumulator_rows;
    int ok = 1;
    s->acc_write_done = tpu_calloc(ctx, acc_rows, sizeof(int64_t));
    s->acc_read_done = tpu_calloc(ctx, acc_rows, sizeof(int64_t));
    s->start_ring = tpu_calloc(ctx, (size_t)chip->pipeline_stages, sizeof(int64_t));
    ok = s->acc_write_done && s->acc_read_done && s->start_ring;
    if (ok && !timing_only) {
        size_t acc_bytes;
        ok = tpu_mul_size(acc_rows, (size_t)chip->array_cols * 4, &acc_bytes) == 0;
        if (ok) s->ub = tpu_calloc(ctx, 1, (size_t)chip->unified_buffer_bytes);
        if (ok) s->acc = tpu_calloc(ctx, 1, acc_bytes);
        if (ok) s->acc_live = tpu_calloc(ctx, acc_rows, sizeof(int32_t));
        if (ok) s->pad_val = tpu_calloc(ctx, (size_t)chip->array_cols, sizeof(int32_t));
        ok = ok && s->ub && s->acc && s->acc_live && s->pad_val;
        for (size_t r = 0; ok && r < acc_rows; r++) s->acc_live[r] = (int32_t)chip->array_cols;
    }
    for (int m = 0; ok && m < chip->mxu_count; m++) ok = alloc_mxu(s, &s->mxu[m]) == 0;
    if (!ok) {
        tpu_err(ctx, TPU_ERR_NOMEM, "%s: cannot allocate the simulated chip's memories", chip->name);
        tpu_sim_free(s);
        return NULL;
    }
    return s;
}

void tpu_sim_free(struct tpu_sim *s)
{
    if (!s) return;
    for (int m = 0; m < TPU_SIM_MAX_MXUS; m++) {
        free(s->mxu[m].fifo_dram);
        free(s->mxu[m].fifo_arrive);
        free(s->mxu[m].fifo_slot_free);
        free(s->mxu[m].fifo_request);
        free(s->mxu[m].w_active);
        free(s->mxu[m].w_shadow);
    }
    for (int u = 0; u < TPU_UNIT_COUNT; u++) free(s->unit_done[u]);
    free(s->acc_write_done);
    free(s->acc_read_done);
    free(s->start_ring);
    free(s->ub);
    free(s->acc);
    free(s->acc_live);
    free(s->pad_val);
    free(s->nz_cache);
    free(s->marks);
    free(s);
}

/*---- Issue and completion bookkeeping ----*/
static int record_done(struct tpu_sim *s, enum tpu_unit u, int64_t done)
{
    if (s->unit_n[u] == s->unit_cap[u]) {
        int cap = s->unit_cap[u] ? 2 * s->unit_cap[u] : 256;
        int64_t *d = tpu_realloc(s->ctx, s->unit_done[u], (size_t)cap * sizeof *d);
        if (!d) return -1;
        s->unit_done[u] = d;
        s->unit_cap[u] = cap;
    }
    if (s->unit_n[u] > 0) done = sim_max(done, s->unit_done[u][s->unit_n[u] - 1]);
    s->unit_done[u][s->unit_n[u]++] = done;     /* kept as a running maximum */
    return 0;
}

/* Insn: SYNC units, pending
** Synopsis: stall issue until at most `pending` older instructions of each unit in `units` are unfinished
** The RAW "delay slot" of TPU v1: the chip does not track unified-buffer
** hazards itself, so the compiler puts a SYNC between a producer and its
** consumer. units is a mask of 1 << unit (host=2, dram=4, shift=8, mxu=16,
** act=32, vec=64). Stall cycles count as host-input stall when an RD_HOST is
** the last to finish, as host-output stall for a WR_HOST, as RAW stall
** otherwise. */
int sim_sync(struct tpu_sim *s, const struct tpu_insn *in)
{
    if (in->x & ~((1u << TPU_UNIT_COUNT) - 2))
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "units mask 0x%x has undefined bits", in->x);
    int64_t until = s->issue;
    enum tpu_unit binding = TPU_UNIT_CTRL;
    for (int u = 1; u < TPU_UNIT_COUNT; u++) {
        if (!(in->x >> u & 1) || s->unit_n[u] <= (int64_t)in->a) continue;
        int64_t t = s->unit_done[u][s->unit_n[u] - 1 - (int64_t)in->a];   /* prefix max */
        if (t > until) { until = t; binding = (enum tpu_unit)u; }
    }
    int64_t stall = until - s->issue;
    if (binding == TPU_UNIT_HOST && until <= s->host_rd_done) s->ctr.host_input_stall_cycles += stall;
    else if (binding == TPU_UNIT_HOST) s->ctr.host_output_stall_cycles += stall;
    else s->ctr.raw_stall_cycles += stall;
    s->start = s->done = until;
    return 0;
}

static int add_mark(struct tpu_sim *s, uint32_t tag, int64_t cycle)
{
    if (s->n_marks == s->cap_marks) {
        int cap = s->cap_marks ? 2 * s->cap_marks : 64;
        struct tpu_sim_mark *m = tpu_realloc(s->ctx, s->marks, (size_t)cap * sizeof *m);
        if (!m) return -1;
        s->marks = m;
        s->cap_marks = cap;
    }
    s->marks[s->n_marks++] = (struct tpu_sim_mark){ tag, cycle, s->ctr.array_active_cycles,
                                                    s->ctr.weight_stall_cycles,
                                                    s->ctr.weight_shift_cycles };
    return 0;
}

/* Closes the MXU accounting: the time after each MXU's last input row (drain
** included) up to the end of the run is non-matrix time. */
static void close_accounting(struct tpu_sim *s, int64_t t0)
{
    int64_t end = s->end;
    s->ctr.cycles += end - t0;
    for (int m = 0; m < s->chip->mxu_count; m++) {
        struct sim_mxu *x = &s->mxu[m];
        s->ctr.non_matrix_cycles += end - sim_max(x->free_at, t0);
        x->free_at = end;
    }
}

static enum tpu_status fault_report(struct tpu_sim *s, const struct tpu_program *p, int pc)
{
    char dis[256];
    tpu_insn_format(&p->insns[pc], dis, sizeof dis);
    s->fault_pc = pc;
    s->fault_cycle = s->issue;
    return tpu_err(s->ctx, TPU_ERR_SIM_FAULT, "chip %s: fault: %s at pc %d, cycle %lld: %s: %s",
                   s->chip->name, tpu_fault_name(s->fault), pc, (long long)s->issue, dis,
                   s->fault_msg);
}

/* --trace: "issue start done pc disassembly", cycles of this instruction. */
static void trace_line(const struct tpu_sim *s, int64_t pc, const struct tpu_insn *in)
{
    char dis[256];
    fprintf(s->trace, "%10lld %10lld %10lld  pc %-6lld %s\n", (long long)s->issue, (long long)s->start,
            (long long)s->done, (long long)pc, tpu_insn_format(in, dis, sizeof dis));
}

/* Issue time of the next instruction: one per cycle, and not before the
** instruction pipeline_stages earlier has started. */
static int64_t next_issue(struct tpu_sim *s, int64_t pc_count)
{
    int64_t stages = s->chip->pipeline_stages;
    int64_t t = s->issue + (pc_count > 0);
    if (pc_count >= stages) t = sim_max(t, s->start_ring[pc_count % stages]);
    return t;
}

static enum tpu_status run_program(struct tpu_sim *s, const struct tpu_program *p, uint8_t *host,
                                   uint64_t host_bytes)
{
    if (!s->timing_only && p->weights_virtual && p->weight_bytes)
        return tpu_err(s->ctx, TPU_ERR_USAGE, "a timing-only program cannot run with values");
    s->dram = p->weights;
    s->dram_bytes = p->weight_bytes;
    s->host = host;
    s->host_bytes = host_bytes;
    s->fault = TPU_FAULT_NONE;
    s->pad_rows = 0;                  /* the UB may have been written since */
    s->pad_on = 1;
    sim_weights_begin(s);
    int64_t t0 = s->end;
    s->issue = t0;
    int halted = 0;
    for (int64_t pc = 0; pc < p->n_insns && !halted; pc++) {
        const struct tpu_insn *in = &p->insns[pc];
        s->issue = next_issue(s, pc);
        s->start = s->done = s->issue;
        if (s->pad_rows) sim_pad_forget(s, in);
        if (sim_exec(s, in)) {
            if (s->fault != TPU_FAULT_NONE) return fault_report(s, p, (int)pc);
            halted = 1;
        }
        if (in->opcode == TPU_INSN_SYNC) s->issue = s->start;
        if (in->opcode == TPU_INSN_DEBUG && add_mark(s, in->a, s->issue) != 0) return TPU_ERR_NOMEM;
        s->start_ring[pc % s->chip->pipeline_stages] = s->start;
        const struct tpu_insn_info *info = tpu_insn_info(in->opcode);
        if (info->unit != TPU_UNIT_CTRL && record_done(s, info->unit, s->done) != 0)
            return TPU_ERR_NOMEM;
        s->end = sim_max(s->end, sim_max(s->done, s->issue + 1));
        s->ctr.n_insns++;
        if (s->trace) trace_line(s, pc, in);
        if (s->on_insn) s->on_insn(s->on_insn_user, s, pc, in);
    }
    close_accounting(s, t0);
    return TPU_STATUS_OK;
}

enum tpu_status tpu_sim_run(struct tpu_sim *s, const struct tpu_program *p, uint8_t *host,
                            uint64_t host_bytes)
{
    enum tpu_status rc = run_program(s, p, host, host_bytes);
    s->pad_on = 0;                    /* direct sim_activate calls write every word */
    s->pad_rows = 0;
    sim_keep_tiles(s);                /* the weight image may go when the run ends */
    if (s->acc_live)              /* the accumulators as stored bytes again, for whoever looks */
        sim_acc_settle(s, 0, s->chip->accumulator_rows, s->chip->array_cols);
    return rc;
}
