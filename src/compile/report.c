/*
** compile/report.c: the chip report for humans (a per-layer table, totals,
** Table-3 percentages, energy) and for tools (JSON, same numbers), and
** tpu_chip_run_program for running a bare program.
**
** In:  struct tpu_chip_report (compile/run.c).
** Out: text on a FILE, a JSON file.
*/
#include "compile/compile.h"
#include "report/report.h"
#include "compile/ub_plan.h"
#include <errno.h>
#include <math.h>
#include <string.h>

static double pct(int64_t part, int64_t whole) { return whole > 0 ? 100.0 * (double)part / (double)whole : 0; }

static double report_seconds(const struct tpu_chip_report *r) { return (double)r->cycles / (r->clock_mhz * 1e6); }

static double mxu_utilization(const struct tpu_chip_report *r)
{
    double slots = (double)r->cycles * (double)(r->array_rows * r->array_cols * r->mxu_count);
    return slots > 0 ? (double)r->macs / slots : 0;
}

/* The on-chip schedule estimate (report/onchip.c), when the caller made one. */
static void print_onchip(const struct tpu_chip_report *r, FILE *f)
{
    const struct tpu_onchip_estimate *e = &r->onchip;
    if (!e->done) return;
    double hz = r->clock_mhz * 1e6;
    char need[32], have[32];
    tpu_ub_size_str(e->ub_need_bytes, need, sizeof need);
    tpu_ub_size_str(e->ub_have_bytes, have, sizeof have);
    if (!e->fits) {
        fprintf(f, "on-chip schedule (estimate): the liveness plan needs %s of Unified Buffer, %s has %s: "
                "activations cannot stay on chip between layers (a smaller --batch, or a larger "
                "unified_buffer_bytes)\n", need, r->chip, have);
        return;
    }
    fprintf(f, "on-chip schedule (estimate, timing only, per batch of %lld): activations kept in the Unified "
            "Buffer between chip nodes (liveness plan %s of %s): %lld device cycles (%.3f us, %.6f J) vs %lld "
            "(%.3f us, %.6f J) with each chip node's operands over the host link, as run: %.2fx\n",
            (long long)e->batch, need, have, (long long)e->onchip_cycles,
            (double)e->onchip_cycles / hz * 1e6, e->onchip_joules, (long long)e->link_cycles,
            (double)e->link_cycles / hz * 1e6, e->link_joules,
            e->onchip_cycles > 0 ? (double)e->link_cycles / (double)e->onchip_cycles : 0.0);
}

static void json_onchip(FILE *f, const struct tpu_chip_report *r)
{
    const struct tpu_onchip_estimate *e = &r->onchip;
    if (!e->done) { fprintf(f, "  \"onchip_estimate\": null,\n"); return; }
    double hz = r->clock_mhz * 1e6;
    fprintf(f, "  \"onchip_estimate\": {\"fits\": %s, \"batch\": %lld, \"ub_need_bytes\": %llu, \"ub_capacity_bytes\": %llu, "
            "\"link_device_cycles\": %lld, \"onchip_device_cycles\": %lld, \"link_device_seconds\": %.17g, "
            "\"onchip_device_seconds\": %.17g, \"link_device_energy_joules\": %.17g, "
            "\"onchip_device_energy_joules\": %.17g},\n", e->fits ? "true" : "false", (long long)e->batch,
            (unsigned long long)e->ub_need_bytes, (unsigned long long)e->ub_have_bytes,
            (long long)e->link_cycles, (long long)e->onchip_cycles, (double)e->link_cycles / hz,
            (double)e->onchip_cycles / hz, e->link_joules, e->onchip_joules);
}

/* One line per graph output against the expected values (compile/verify.c). */
static void print_verify(const struct tpu_chip_report *r, FILE *f)
{
    if (!r->n_verify) return;
    fprintf(f, "verify against the %s:\n", r->verify_against);
    for (int i = 0; i < r->n_verify; i++) {
        const struct tpu_chip_verify *v = &r->verify[i];
        char top1[64] = "top1_agreement n/a";
        if (v->top1_rows)
            snprintf(top1, sizeof top1, "top1_agreement %.4f (%lld rows)", v->top1_agreement,
                     (long long)v->top1_rows);
        fprintf(f, "  output '%s' (%lld values): max_abs_error %.4g, rel_l2 %.4g, cosine %.6f, %s: "
                "%s (%s)\n", v->name, (long long)v->numel, v->max_abs_error, v->rel_l2, v->cosine, top1,
                v->within ? "ok" : "OUTSIDE", v->bound);
    }
}

/* Table 3 over the MXU layers only: the paper's counters exclude host
** overhead, so the per-layer host-link transfers are left out here. */
struct mxu_split { int64_t mc, active, stall, shift; };

static struct mxu_split mxu_layers_split(const struct tpu_chip_report *r)
{
    struct mxu_split m = { 0, 0, 0, 0 };
    for (int i = 0; i < r->n_rows; i++) {
        const struct tpu_layer_row *w = &r->rows[i];
        if (strcmp(w->unit, "mxu") != 0) continue;
        m.mc += w->cycles * r->mxu_count;
        m.active += w->active_cycles;
        m.stall += w->stall_cycles;
        m.shift += w->shift_cycles;
    }
    return m;
}

struct tpu_layer_row *tpu_report_add_row(struct tpu_ctx *ctx, struct tpu_chip_report *r, const char *name,
                                         const char *op, const char *unit, int64_t cycles, int64_t macs)
{
    if (r->n_rows == r->cap_rows) {
        int cap = r->cap_rows ? 2 * r->cap_rows : 16;
        struct tpu_layer_row *n = tpu_realloc(ctx, r->rows, (size_t)cap * sizeof *n);
        if (!n) return NULL;
        r->rows = n;
        r->cap_rows = cap;
    }
    struct tpu_layer_row *row = &r->rows[r->n_rows++];
    memset(row, 0, sizeof *row);
    snprintf(row->name, sizeof row->name, "%s", name);
    snprintf(row->op, sizeof row->op, "%s", op);
    row->unit = unit;
    row->cycles = cycles;
    row->macs = macs;
    r->cycles += cycles;
    if (strcmp(unit, "host") != 0) r->device_cycles += cycles;
    return row;
}

void tpu_chip_report_print(const struct tpu_chip_report *r, FILE *f)
{
    fprintf(f, "chip %s: %lld MXU x %lldx%lld %s, %.0f MHz; schedule %s%s; batch %lld\n", r->chip,
            (long long)r->mxu_count, (long long)r->array_rows, (long long)r->array_cols,
            r->bf16 ? "bf16" : "int8", r->clock_mhz, r->scalesim ? "scalesim" : "tpu",
            r->timing_only ? " (timing only)" : "", (long long)r->batch);
    fprintf(f, "%-40s %-10s %-6s %12s %14s %6s %6s %6s %6s %10s %9s%s\n", "layer", "op", "unit", "cycles",
            "MACs", "util%", "actv%", "wstl%", "wsft%", "uJ", "nmse", r->prec_auto ? "  precision" : "");
    int n_untimed = 0;
    for (int i = 0; i < r->n_rows; i++) {
        const struct tpu_layer_row *w = &r->rows[i];
        double slots = (double)w->cycles * (double)(r->array_rows * r->array_cols * r->mxu_count);
        char nmse[32] = "n/a";
        if (w->compared) snprintf(nmse, sizeof nmse, "%.2e", w->nmse);
        char cyc[32];
        snprintf(cyc, sizeof cyc, w->untimed ? "~%lld" : "%lld", (long long)w->cycles);
        int64_t mc = w->cycles * r->mxu_count;
        int split = strcmp(w->unit, "mxu") == 0 && !r->scalesim;
        fprintf(f, "%-40.40s %-10.10s %-6s %12s %14lld %6.1f", w->name, w->op, w->unit, cyc,
                (long long)w->macs, slots > 0 ? 100.0 * (double)w->macs / slots : 0.0);
        if (split) fprintf(f, " %6.1f %6.1f %6.1f", pct(w->active_cycles, mc), pct(w->stall_cycles, mc),
                           pct(w->shift_cycles, mc));
        else fprintf(f, " %6s %6s %6s", "", "", "");
        fprintf(f, " %10.3f %9s", w->energy_j * 1e6, strcmp(w->unit, "host") != 0 ? nmse : "");
        if (r->prec_auto && strcmp(w->unit, "mxu") == 0) fprintf(f, "  %s", tpu_prec_mode_name(r->bf16, w->passes));
        fputc('\n', f);
        n_untimed += w->untimed;
    }
    if (n_untimed)
        fprintf(f, "(%d host rows (~): ops the chip lowering lacks, run on the host CPU by the "
                "reference kernels, not simulated; their cycles are an estimate (%lld bytes of host "
                "memory at 70%% of 51 GB/s + 1 us each), included in the total)\n", n_untimed,
                (long long)r->host_op_bytes);
    double s = report_seconds(r);
    fprintf(f, "total: %lld cycles (%lld on chip), %.3f us, %lld MACs, %.2f TOPS, MXU utilization %.1f%%\n",
            (long long)r->cycles, (long long)r->device_cycles, s * 1e6, (long long)r->macs,
            s > 0 ? 2.0 * (double)r->macs / s / 1e12 : 0.0, 100.0 * mxu_utilization(r));
    fprintf(f, "energy: %.6f J (MAC %.6f, SRAM %.6f, DRAM %.6f, host %.6f, static %.6f), average %.1f W\n",
            r->energy.total_j, r->energy.mac_j, r->energy.sram_j, r->energy.dram_j, r->energy.host_j,
            r->energy.static_j, r->energy.average_watts);
    const struct tpu_sim_counters *k = &r->ctr;
    int64_t mc = k->cycles * r->mxu_count, peak = k->useful_macs + k->unused_macs;
    fprintf(f, "Table 3 (simulated tpu schedule, %% of %lld MXU-cycles): array active %.1f, useful MACs %.1f, "
            "unused MACs %.1f, weight stall %.1f, weight shift %.1f, non-matrix %.1f, RAW stall %.1f, "
            "host-input stall %.1f\n", (long long)mc, pct(k->array_active_cycles, mc),
            pct(k->useful_macs, mc * r->array_rows * r->array_cols), pct(k->unused_macs, mc * r->array_rows * r->array_cols),
            pct(k->weight_stall_cycles, mc), pct(k->weight_shift_cycles, mc), pct(k->non_matrix_cycles, mc),
            pct(k->raw_stall_cycles, k->cycles), pct(k->host_input_stall_cycles, k->cycles));
    (void)peak;
    struct mxu_split m = mxu_layers_split(r);
    if (!r->scalesim && m.mc > 0)
        fprintf(f, "Table 3 on the MXU layers only (host-link transfers left out, as the paper's counters "
                "leave out host overhead; %lld MXU-cycles): array active %.1f, weight stall %.1f, weight shift "
                "%.1f, non-matrix %.1f\n", (long long)m.mc, pct(m.active, m.mc), pct(m.stall, m.mc),
                pct(m.shift, m.mc), pct(m.mc - m.active - m.stall - m.shift, m.mc));
    if (r->calib[0]) fprintf(f, "quantisation: %s\n", r->calib);
    if (r->prec_auto) tpu_prec_auto_print(r->prec_auto, f);
    print_onchip(r, f);
    print_verify(r, f);
    if (r->wall_runs)
        fprintf(f, "host time: best %.6f s, mean %.6f s per run over %d runs in one process (load, lowering, "
                "simulation, host ops, verification)\n", r->wall_best_s, r->wall_mean_s, r->wall_runs);
}

void tpu_chip_report_set_wall(struct tpu_chip_report *r, int n, double best_s, double mean_s)
{
    r->wall_runs = n;
    r->wall_best_s = best_s;
    r->wall_mean_s = mean_s;
}

/* What differs between two reports of the same run, or NULL. */
static const char *report_diff(const struct tpu_chip_report *a, const struct tpu_chip_report *b, char *buf, size_t n)
{
    if (a->cycles != b->cycles || a->device_cycles != b->device_cycles || a->macs != b->macs)
        return "the total cycles";
    if (memcmp(&a->ctr, &b->ctr, sizeof a->ctr)) return "the simulated counters";
    if (memcmp(&a->energy, &b->energy, sizeof a->energy)) return "the energy";
    if (a->n_rows != b->n_rows || a->n_verify != b->n_verify) return "the layer rows";
    for (int i = 0; i < a->n_rows; i++)
        if (a->rows[i].cycles != b->rows[i].cycles || memcmp(&a->rows[i].energy_j, &b->rows[i].energy_j, sizeof(double))) {
            snprintf(buf, n, "layer '%s'", a->rows[i].name);
            return buf;
        }
    for (int i = 0; i < a->n_verify; i++) {
        const struct tpu_chip_verify *x = &a->verify[i], *y = &b->verify[i];
        if (memcmp(&x->max_abs_error, &y->max_abs_error, sizeof(double)) || memcmp(&x->rel_l2, &y->rel_l2, sizeof(double)) ||
            memcmp(&x->cosine, &y->cosine, sizeof(double)) || memcmp(&x->top1_agreement, &y->top1_agreement, sizeof(double))) {
            snprintf(buf, n, "the verification of output '%s'", x->name);
            return buf;
        }
    }
    return NULL;
}

enum tpu_status tpu_chip_report_same(struct tpu_ctx *ctx, const struct tpu_chip_report *a,
                                     const struct tpu_chip_report *b)
{
    char buf[200];
    const char *d = !a || !b ? (a == b ? NULL : "a missing report") : report_diff(a, b, buf, sizeof buf);
    return d ? tpu_err(ctx, TPU_ERR_INTERNAL, "the run is not deterministic: a repeat differs from the first "
                       "in %s", d) : TPU_STATUS_OK;
}


static void json_counters(FILE *f, const struct tpu_sim_counters *k)
{
    fprintf(f, "  \"simulated_cycles\": %lld,\n  \"array_active_cycles\": %lld,\n"
            "  \"useful_macs\": %lld,\n  \"unused_macs\": %lld,\n  \"weight_stall_cycles\": %lld,\n"
            "  \"weight_shift_cycles\": %lld,\n  \"non_matrix_cycles\": %lld,\n  \"raw_stall_cycles\": %lld,\n"
            "  \"host_input_stall_cycles\": %lld,\n  \"host_output_stall_cycles\": %lld,\n"
            "  \"dram_bytes_read\": %lld,\n  \"host_bytes_in\": %lld,\n"
            "  \"host_bytes_out\": %lld,\n",
            (long long)k->cycles, (long long)k->array_active_cycles, (long long)k->useful_macs,
            (long long)k->unused_macs, (long long)k->weight_stall_cycles, (long long)k->weight_shift_cycles,
            (long long)k->non_matrix_cycles, (long long)k->raw_stall_cycles,
            (long long)k->host_input_stall_cycles, (long long)k->host_output_stall_cycles,
            (long long)k->dram_bytes_read,
            (long long)k->host_bytes_in, (long long)k->host_bytes_out);
}

static void json_num(FILE *f, double x)      /* JSON has no inf/NaN: null */
{
    if (isfinite(x)) fprintf(f, "%.9g", x);
    else fprintf(f, "null");
}

static void json_verify(FILE *f, const struct tpu_chip_report *r)
{
    if (!r->n_verify) return;
    fprintf(f, ",\n  \"verified_against\": ");
    tpu_json_put_string(f, r->verify_against);
    fprintf(f, ",\n  \"verify_ok\": %s,\n  \"outputs\": [", r->verify_failed ? "false" : "true");
    for (int i = 0; i < r->n_verify; i++) {
        const struct tpu_chip_verify *v = &r->verify[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        tpu_json_put_string(f, v->name);
        fprintf(f, ", \"numel\": %lld, \"max_abs_error\": ", (long long)v->numel);
        json_num(f, v->max_abs_error);
        fprintf(f, ", \"rel_l2\": ");
        json_num(f, v->rel_l2);
        fprintf(f, ", \"cosine\": ");
        json_num(f, v->cosine);
        fprintf(f, ", \"top1_rows\": %lld, \"top1_agreement\": ", (long long)v->top1_rows);
        if (v->top1_rows) fprintf(f, "%.9g", v->top1_agreement);
        else fprintf(f, "null");
        fprintf(f, ", \"bound\": \"%s\", \"within\": %s}", v->bound, v->within ? "true" : "false");
    }
    fprintf(f, "\n  ]");
}

enum tpu_status tpu_chip_report_write_json(struct tpu_ctx *ctx, const struct tpu_chip_report *r,
                                           const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    if (!f) return tpu_err(ctx, TPU_ERR_IO, "%s: cannot open for writing: %s", path, strerror(errno));
    double s = report_seconds(r);
    fprintf(f, "{\n  \"chip\": ");
    tpu_json_put_string(f, r->chip);
    fprintf(f, ",\n  \"schedule\": \"%s\",\n  \"timing_only\": %s,\n  \"array_rows\": %lld,\n"
            "  \"array_cols\": %lld,\n  \"mxu_count\": %lld,\n  \"clock_mhz\": %.17g,\n  \"batch\": %lld,\n"
            "  \"cycles\": %lld,\n  \"device_cycles\": %lld,\n  \"seconds\": %.17g,\n  \"macs\": %lld,\n"
            "  \"ops_per_second\": %.17g,\n  \"mxu_utilization\": %.17g,\n  \"energy_joules\": %.17g,\n"
            "  \"average_watts\": %.17g,\n",
            r->scalesim ? "scalesim" : "tpu", r->timing_only ? "true" : "false",
            (long long)r->array_rows, (long long)r->array_cols, (long long)r->mxu_count, r->clock_mhz,
            (long long)r->batch, (long long)r->cycles, (long long)r->device_cycles, s,
            (long long)r->macs, s > 0 ? 2.0 * (double)r->macs / s : 0.0, mxu_utilization(r),
            r->energy.total_j, r->energy.average_watts);
    json_counters(f, &r->ctr);
    struct mxu_split m = mxu_layers_split(r);
    fprintf(f, "  \"mxu_layers_table3\": {\"mxu_cycles\": %lld, \"array_active_cycles\": %lld, "
            "\"weight_stall_cycles\": %lld, \"weight_shift_cycles\": %lld, \"non_matrix_cycles\": %lld},\n",
            (long long)m.mc, (long long)m.active, (long long)m.stall, (long long)m.shift,
            (long long)(m.mc - m.active - m.stall - m.shift));
    fprintf(f, "  \"calibration\": ");
    tpu_json_put_string(f, r->calib);
    fprintf(f, ",\n");
    if (r->prec_auto) tpu_prec_auto_json(r->prec_auto, f);
    if (r->wall_runs)
        fprintf(f, "  \"run_repeat\": %d,\n  \"run_seconds_best\": %.9g,\n  \"run_seconds_per_run\": %.9g,\n",
                r->wall_runs, r->wall_best_s, r->wall_mean_s);
    json_onchip(f, r);
    fprintf(f, "  \"layers\": [");
    for (int i = 0; i < r->n_rows; i++) {
        const struct tpu_layer_row *w = &r->rows[i];
        fprintf(f, "%s\n    {\"name\": ", i ? "," : "");
        tpu_json_put_string(f, w->name);
        fprintf(f, ", \"op\": ");
        tpu_json_put_string(f, w->op);
        fprintf(f, ", \"unit\": \"%s\", \"cycles\": %lld, \"macs\": %lld, \"energy_joules\": %.17g", w->unit,
                (long long)w->cycles, (long long)w->macs, w->energy_j);
        if (w->compared) fprintf(f, ", \"nmse\": %.6g, \"max_abs_err\": %.6g", w->nmse, w->max_abs_err);
        if (w->untimed) fprintf(f, ", \"untimed\": true, \"cycles_estimated\": true");
        if (r->prec_auto && !strcmp(w->unit, "mxu"))
            fprintf(f, ", \"precision\": \"%s\"", tpu_prec_mode_name(r->bf16, w->passes));
        if (!strcmp(w->unit, "mxu") && !r->scalesim)
            fprintf(f, ", \"array_active_cycles\": %lld, \"weight_stall_cycles\": %lld, "
                    "\"weight_shift_cycles\": %lld, \"non_matrix_cycles\": %lld",
                    (long long)w->active_cycles, (long long)w->stall_cycles, (long long)w->shift_cycles,
                    (long long)(w->cycles * r->mxu_count - w->active_cycles - w->stall_cycles - w->shift_cycles));
        fprintf(f, "}");
    }
    fprintf(f, "\n  ]");
    json_verify(f, r);
    fprintf(f, "\n}\n");
    int bad = ferror(f);
    if (f != stdout && fclose(f) != 0) bad = 1;
    return bad ? tpu_err(ctx, TPU_ERR_IO, "%s: write failed", path) : TPU_STATUS_OK;
}

enum tpu_status tpu_chip_run_program(struct tpu_ctx *ctx, const struct tpu_program *p,
                                     const struct tpu_chip *chip, uint64_t host_bytes,
                                     int timing_only, FILE *trace, struct tpu_chip_report **out)
{
    *out = NULL;
    struct tpu_chip_report *r = tpu_calloc(ctx, 1, sizeof *r);
    uint8_t *host = r && host_bytes ? tpu_calloc(ctx, 1, (size_t)host_bytes) : NULL;
    struct tpu_sim *sim = r && (host || !host_bytes) ? tpu_sim_new(ctx, chip, timing_only) : NULL;
    if (sim) sim->trace = trace;
    if (trace) fprintf(trace, "#    issue      start       done  pc     instruction\n");
    enum tpu_status rc = sim ? tpu_sim_run(sim, p, host, host_bytes) : (ctx->status ? ctx->status : TPU_ERR_NOMEM);
    if (!rc) {
        snprintf(r->chip, sizeof r->chip, "%s", chip->name);
        r->array_rows = chip->array_rows; r->array_cols = chip->array_cols;
        r->mxu_count = chip->mxu_count; r->bf16 = chip->mxu_dtype == TPU_MXU_BF16;
        r->clock_mhz = chip->clock_mhz; r->timing_only = timing_only; r->batch = 1;
        r->ctr = sim->ctr;
        r->cycles = r->device_cycles = sim->ctr.cycles;
        r->macs = sim->ctr.useful_macs;
        tpu_sim_energy(chip, &r->ctr, &r->energy);
    }
    tpu_sim_free(sim);
    free(host);
    if (rc) { free(r); return rc; }
    *out = r;
    return TPU_STATUS_OK;
}
