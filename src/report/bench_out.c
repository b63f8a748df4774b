/*
** report/bench_out.c: what `tpusim bench` prints and writes — the aligned
** table with the best batch under the SLO and the winner per metric, the notes
** naming every modelled number's assumptions, the JSON and CSV (same rows) and
** the three SVG charts (roofline per layer, throughput against batch, cost per
** million inferences).
**
** In:  struct tpu_bench (report/bench.c).
** Out: text on a FILE; files written through a temp name and a rename.
*/
#include "report/bench.h"
#include "report/svg.h"
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static const char *const metric_names[4] = { "latency per inference", "throughput", "energy per inference",
                                             "dollars per million" };

/* "12.3" or "-" for NAN. */
static const char *num(char *buf, size_t n, const char *fmt, double v)
{
    if (!isfinite(v)) snprintf(buf, n, "-");
    else snprintf(buf, n, fmt, v);
    return buf;
}

/* Best batch of target i under the SLO (index into rows) or -1. */
static int best_under_slo(const struct tpu_bench *b, int ti)
{
    struct tpu_run_metrics m[TPU_BENCH_MAX_BATCHES];
    int64_t batch[TPU_BENCH_MAX_BATCHES];
    int idx[TPU_BENCH_MAX_BATCHES], n = 0;
    for (int j = 0; j < b->n_batches; j++) {
        int r = tpu_bench_row(b, ti, j);
        if (r < 0) continue;
        m[n] = b->rows[r].m, batch[n] = b->rows[r].batch, idx[n++] = r;
    }
    int k = tpu_best_batch_under_slo(m, batch, n, b->slo_s > 0 ? b->slo_s : INFINITY);
    return k < 0 ? -1 : idx[k];
}

static void print_notes(const struct tpu_bench *b, FILE *f)
{
    int tpu = 0, gpu = 0, cpu = 0;
    for (int i = 0; i < b->n_targets; i++) {
        tpu |= b->t[i]->kind == TPU_TARGET_TPU;
        gpu |= b->t[i]->kind == TPU_TARGET_GPU;
        cpu |= b->t[i]->kind == TPU_TARGET_CPU;
    }
    fprintf(f, "notes (assumptions: docs/cost-model.md; prices, power, peaks: %s):\n", b->ts->path);
    if (tpu)
        fprintf(f, "  simulated: TPU latency = cycle simulator (timing only; Gemm/MatMul/Conv on the MXU,\n"
                   "    elementwise/normalisation/pooling ops on the vector unit of v4/v5e,\n"
                   "    %s) + the other ops on the host CPU (host%%), %s;\n"
                   "    energy = simulator events + static power, host ops at the cpu target's busy_w\n",
                b->resident ? "activations resident in the unified buffer between layers (--resident)"
                            : "each layer's input and output over the host link",
                b->host_model ? "priced by the roofline model of the cpu target (modelled)"
                              : "timed with the\n    reference kernels on this machine (measured, wall clock)");
    if (tpu && b->passes > 1)
        fprintf(f, "  --precision %s: bf16 chips %d bf16 passes per matrix product, int8 chips 16-bit %s\n",
                b->passes == 3 ? "high" : "highest", b->passes,
                b->passes == 3 ? "weights (half speed)" : "weights and activations (quarter speed)");
    if (gpu)
        fprintf(f, "  %s: GPU numbers from the analytical roofline model (report/gpu_model.c)%s\n",
                b->calibrated_nodes ? "calibrated" : "modelled",
                b->calibrated_nodes ? ", calibrated nodes from the measurement file" : "; not measured on a GPU");
    int ort = 0;
    for (int i = 0; i < b->n_targets; i++) ort |= b->t[i] == &b->ort;
    if (cpu)
        fprintf(f, "  measured: %s on this machine, one thread (wall clock; varies\n"
                   "    run to run); price and power are the cpu target's in %s\n",
                ort ? "cpu = the reference executor, ort = ONNX Runtime (best of 3)" : "cpu = the reference executor",
                b->ts->path);
    for (int i = 0; i < b->n_rows; i++)
        if (b->rows[i].ub_need_bytes)
            fprintf(f, "  --resident: %s batch %lld needs %.1f MiB of unified buffer for its activations, more than "
                    "the chip has: each layer's operands over the host link\n", b->rows[i].target,
                    (long long)b->rows[i].batch, (double)b->rows[i].ub_need_bytes / (1 << 20));
    fprintf(f, "  cost = price_usd_per_hour x latency (one chip, back to back); energy = busy_w x latency\n");
    for (int i = 0; i < b->n_verify; i++)
        if (b->verify[i].note[0])
            fprintf(f, "  functional check: %s batch %lld %s\n", b->verify[i].target,
                    (long long)b->verify[i].batch, b->verify[i].note);
        else
            fprintf(f, "  functional check: %s batch %lld, %d MXU layers against the reference executor, "
                   "worst NMSE %.2e\n", b->verify[i].target, (long long)b->verify[i].batch,
                b->verify[i].n_compared, b->verify[i].max_nmse);
}

void tpu_bench_print(const struct tpu_bench *b, FILE *f)
{
    char c[10][32];
    fprintf(f, "bench %s\n", b->model);
    fprintf(f, "%-8s %6s %-10s %11s %11s %12s %6s %11s %11s %11s %11s %6s\n", "target", "batch", "source",
            "ms/batch", "ms/inf", "inf/s", "util%", "J/inf", "USD/1M inf", "inf/J", "inf/USD", "host%");
    for (int i = 0; i < b->n_rows; i++) {
        const struct tpu_bench_row *r = &b->rows[i];
        fprintf(f, "%-8s %6lld %-10s %11s %11s %12s %6s %11s %11s %11s %11s %6s\n", r->target,
                (long long)r->batch, r->source, num(c[0], 32, "%.4f", r->latency_s * 1e3),
                num(c[1], 32, "%.5f", r->m.latency_per_inf_s * 1e3), num(c[2], 32, "%.1f", r->m.inf_per_s),
                num(c[3], 32, "%.2f", r->util * 100), num(c[4], 32, "%.3e", r->m.energy_per_inf_j),
                num(c[5], 32, "%.4f", r->m.usd_per_million), num(c[6], 32, "%.1f", r->m.inf_per_j),
                num(c[7], 32, "%.4g", r->m.inf_per_usd),
                r->kind == TPU_TARGET_TPU ? num(c[8], 32, "%.1f", 100 * r->host_s / r->latency_s) : "");
    }
    if (b->slo_s > 0) fprintf(f, "best batch under the %.3f ms SLO:\n", b->slo_s * 1e3);
    else fprintf(f, "best batch (no SLO given: highest throughput):\n");
    for (int i = 0; i < b->n_targets; i++) {
        int r = best_under_slo(b, i);
        if (r < 0) fprintf(f, "  %-8s none meets the SLO\n", b->t[i]->name);
        else fprintf(f, "  %-8s batch %lld, %.1f inf/s, %.4f ms/batch\n", b->t[i]->name,
                     (long long)b->rows[r].batch, b->rows[r].m.inf_per_s, b->rows[r].latency_s * 1e3);
    }
    fprintf(f, "winner per metric:\n");
    for (int m = 0; m < 4; m++) {
        int r = tpu_bench_winner(b, m);
        if (r >= 0) fprintf(f, "  %-22s %s at batch %lld (%s)\n", metric_names[m], b->rows[r].target,
                            (long long)b->rows[r].batch, b->rows[r].source);
    }
    print_notes(b, f);
}

/*---- Files ----*/
static FILE *open_tmp(struct tpu_ctx *ctx, const char *path, char *tmp, size_t n)
{
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) tpu_err(ctx, TPU_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

static enum tpu_status close_tmp(struct tpu_ctx *ctx, FILE *f, const char *tmp, const char *path)
{
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (!bad && rename(tmp, path) == 0) return TPU_STATUS_OK;
    remove(tmp);
    return tpu_err(ctx, TPU_ERR_IO, "%s: write failed", path);
}

/* JSON number or null. */
static void jnum(FILE *f, const char *key, double v, const char *sep)
{
    if (isfinite(v)) fprintf(f, "\"%s\": %.9g%s", key, v, sep);
    else fprintf(f, "\"%s\": null%s", key, sep);
}

static void json_row(FILE *f, const struct tpu_bench_row *r)
{
    fprintf(f, "    {\"target\": \"%s\", \"kind\": \"%s\", \"batch\": %lld, \"source\": \"%s\", ", r->target,
            r->kind == TPU_TARGET_TPU ? "tpu" : r->kind == TPU_TARGET_GPU ? "gpu" : "cpu",
            (long long)r->batch, r->source);
    jnum(f, "latency_seconds", r->latency_s, ", ");
    jnum(f, "latency_seconds_per_inference", r->m.latency_per_inf_s, ", ");
    jnum(f, "device_seconds", r->device_s, ", ");
    jnum(f, "host_ops_seconds", r->host_s, ", ");
    fprintf(f, "\"host_ops\": %d, ", r->n_host_ops);
    if (r->ub_need_bytes)                  /* --resident, the plan too big: not resident */
        fprintf(f, "\"resident_ub_need_bytes\": %llu, ", (unsigned long long)r->ub_need_bytes);
    jnum(f, "throughput_per_second", r->m.inf_per_s, ", ");
    jnum(f, "utilization", r->util, ", ");
    jnum(f, "ops_per_batch", r->ops, ", ");
    jnum(f, "energy_joules_per_inference", r->m.energy_per_inf_j, ", ");
    jnum(f, "dollars_per_million", r->m.usd_per_million, ", ");
    jnum(f, "inferences_per_joule", r->m.inf_per_j, ", ");
    jnum(f, "inferences_per_dollar", r->m.inf_per_usd, "}");
}

/* Copies s without quotes, backslashes and control characters (messages in JSON). */
static const char *json_safe(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) buf[k++] = (*s == '"' || *s == '\\' || (unsigned char)*s < 32) ? '\'' : *s;
    buf[k] = 0;
    return buf;
}

enum tpu_status tpu_bench_write_json(struct tpu_ctx *ctx, const struct tpu_bench *b, const char *path)
{
    char tmp[4200], esc[512], esc2[512];
    FILE *f = open_tmp(ctx, path, tmp, sizeof tmp);
    if (!f) return TPU_ERR_IO;
    fprintf(f, "{\n  \"model\": \"%s\",\n  \"targets_file\": \"%s\",\n  \"assumptions\": \"docs/cost-model.md\",\n"
            "  \"tpu_activations_resident\": %s,\n  \"tpu_precision_passes\": %d,\n"
            "  \"tpu_host_ops_timing\": \"%s\",\n  \"gpu_timing\": \"%s\",\n", json_safe(b->model, esc, sizeof esc),
            json_safe(b->ts->path, esc2, sizeof esc2),
            b->resident ? "true" : "false", b->passes,
            b->host_model ? "modelled (cpu roofline)" : "measured (reference kernels, this machine)",
            b->calibrated_nodes ? "calibrated where measured, else modelled" : "modelled (roofline)");
    jnum(f, "slo_seconds", b->slo_s > 0 ? b->slo_s : NAN, ",\n  ");
    fprintf(f, "\"results\": [\n");
    for (int i = 0; i < b->n_rows; i++) { json_row(f, &b->rows[i]); fprintf(f, i + 1 < b->n_rows ? ",\n" : "\n"); }
    fprintf(f, "  ],\n  \"best_under_slo\": [");
    for (int i = 0; i < b->n_targets; i++) {
        int r = best_under_slo(b, i);
        fprintf(f, "%s{\"target\": \"%s\", \"batch\": ", i ? ", " : "", b->t[i]->name);
        if (r < 0) fprintf(f, "null}");
        else fprintf(f, "%lld}", (long long)b->rows[r].batch);
    }
    fprintf(f, "],\n  \"winners\": {");
    for (int m = 0; m < 4; m++) {
        int r = tpu_bench_winner(b, m);
        fprintf(f, "%s\"%s\": ", m ? ", " : "", metric_names[m]);
        if (r < 0) fprintf(f, "null");
        else fprintf(f, "{\"target\": \"%s\", \"batch\": %lld}", b->rows[r].target, (long long)b->rows[r].batch);
    }
    fprintf(f, "},\n  \"functional_checks\": [");
    for (int i = 0; i < b->n_verify; i++)
        fprintf(f, "%s{\"target\": \"%s\", \"batch\": %lld, \"layers_compared\": %d, \"max_nmse\": %.6g, "
                "\"note\": \"%s\"}", i ? ", " : "", b->verify[i].target, (long long)b->verify[i].batch,
                b->verify[i].n_compared, b->verify[i].max_nmse, json_safe(b->verify[i].note, esc, sizeof esc));
    fprintf(f, "]\n}\n");
    return close_tmp(ctx, f, tmp, path);
}

static void cnum(FILE *f, double v, const char *sep)
{
    if (isfinite(v)) fprintf(f, "%.9g%s", v, sep);
    else fprintf(f, "%s", sep);
}

enum tpu_status tpu_bench_write_csv(struct tpu_ctx *ctx, const struct tpu_bench *b, const char *path)
{
    char tmp[4200];
    FILE *f = open_tmp(ctx, path, tmp, sizeof tmp);
    if (!f) return TPU_ERR_IO;
    fprintf(f, "target,batch,source,latency_seconds,latency_seconds_per_inference,device_seconds,host_ops_seconds,"
               "throughput_per_second,utilization,energy_joules_per_inference,dollars_per_million,"
               "inferences_per_joule,inferences_per_dollar\n");
    for (int i = 0; i < b->n_rows; i++) {
        const struct tpu_bench_row *r = &b->rows[i];
        fprintf(f, "%s,%lld,%s,", r->target, (long long)r->batch, r->source);
        cnum(f, r->latency_s, ","), cnum(f, r->m.latency_per_inf_s, ","), cnum(f, r->device_s, ",");
        cnum(f, r->host_s, ","), cnum(f, r->m.inf_per_s, ","), cnum(f, r->util, ",");
        cnum(f, r->m.energy_per_inf_j, ","), cnum(f, r->m.usd_per_million, ",");
        cnum(f, r->m.inf_per_j, ","), cnum(f, r->m.inf_per_usd, "\n");
    }
    return close_tmp(ctx, f, tmp, path);
}

/*---- Charts ----*/
static enum tpu_status chart_roofline(struct tpu_ctx *ctx, const struct tpu_bench *b, const char *dir)
{
    struct tpu_svg_roof roofs[TPU_BENCH_MAX_TARGETS];
    char names[TPU_BENCH_MAX_TARGETS][64], path[4200], title[160];
    for (int i = 0; i < b->n_targets; i++) {
        snprintf(names[i], sizeof names[i], "%s %s", b->t[i]->name, tpu_precision_name(b->prec[i]));
        roofs[i] = (struct tpu_svg_roof){ names[i], tpu_target_peak(b->t[i], b->prec[i]),
                                          tpu_target_get(b->t[i], TPU_TF_MEM_BW_BYTES_PER_S) };
    }
    struct tpu_svg_point *pts = tpu_calloc(ctx, (size_t)b->n_points + 1, sizeof *pts);
    if (!pts) return TPU_ERR_NOMEM;
    int n = 0;
    for (int i = 0; i < b->n_points; i++) {
        const struct tpu_bench_point *p = &b->points[i];
        if (p->bytes > 0 && p->seconds > 0)
            pts[n++] = (struct tpu_svg_point){ NULL, p->ops / p->bytes, p->ops / p->seconds, p->roof };
    }
    snprintf(path, sizeof path, "%s/roofline.svg", dir);
    snprintf(title, sizeof title, "Layers at batch %lld (matrix ops; TPUs simulated, GPUs modelled)",
             (long long)b->batches[b->n_batches - 1]);
    struct tpu_svg_chart c = tpu_svg_chart_default(title, "ops per byte", "attained ops/s");
    enum tpu_status rc = tpu_svg_roofline(ctx, path, &c, roofs, b->n_targets, pts, n);
    free(pts);
    return rc;
}

static enum tpu_status chart_lines_bars(struct tpu_ctx *ctx, const struct tpu_bench *b, const char *dir)
{
    static double x[TPU_BENCH_MAX_BATCHES], ips[TPU_BENCH_MAX_TARGETS][TPU_BENCH_MAX_BATCHES];
    static double usd[TPU_BENCH_MAX_BATCHES][TPU_BENCH_MAX_TARGETS];
    struct tpu_svg_series s[TPU_BENCH_MAX_TARGETS], cs[TPU_BENCH_MAX_BATCHES];
    const char *groups[TPU_BENCH_MAX_TARGETS];
    char bnames[TPU_BENCH_MAX_BATCHES][32], path[4200];
    for (int j = 0; j < b->n_batches; j++) x[j] = (double)b->batches[j];
    for (int i = 0; i < b->n_targets; i++) {
        groups[i] = b->t[i]->name;
        for (int j = 0; j < b->n_batches; j++) {
            int r = tpu_bench_row(b, i, j);
            ips[i][j] = r < 0 ? NAN : b->rows[r].m.inf_per_s;
            usd[j][i] = r < 0 ? NAN : b->rows[r].m.usd_per_million;
        }
        s[i] = (struct tpu_svg_series){ b->t[i]->name, b->n_batches, x, ips[i], NULL };
    }
    for (int j = 0; j < b->n_batches; j++) {
        snprintf(bnames[j], sizeof bnames[j], "batch %lld", (long long)b->batches[j]);
        cs[j] = (struct tpu_svg_series){ bnames[j], b->n_targets, NULL, usd[j], NULL };
    }
    snprintf(path, sizeof path, "%s/throughput.svg", dir);
    struct tpu_svg_chart c = tpu_svg_chart_default("Throughput against batch (see notes: simulated / modelled / "
                                                   "measured)", "batch", "inferences/s");
    c.x_log = c.y_log = c.x_ticks_at_data = true;
    enum tpu_status rc = tpu_svg_line_chart(ctx, path, &c, s, b->n_targets);
    if (rc) return rc;
    snprintf(path, sizeof path, "%s/cost.svg", dir);
    struct tpu_svg_chart cb = tpu_svg_chart_default("USD per million inferences", "target", "USD per 1M inferences");
    cb.y_log = true;
    return tpu_svg_bar_chart(ctx, path, &cb, groups, b->n_targets, cs, b->n_batches);
}

enum tpu_status tpu_bench_write_svg(struct tpu_ctx *ctx, const struct tpu_bench *b, const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return tpu_err(ctx, TPU_ERR_IO, "%s: cannot create: %s", dir, strerror(errno));
    enum tpu_status rc = chart_roofline(ctx, b, dir);
    return rc ? rc : chart_lines_bars(ctx, b, dir);
}
