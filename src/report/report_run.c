/*
** report/report_run.c: `tpusim run` — per output its shape, a checksum and
** the first values, and when expected outputs were given the max abs error,
** rel-L2 and the worst element; the timing of --repeat runs.
**
** In:  a graph after tpu_ref_run (ref/ref_exec.c), the comparison from
**      ref/ref_data.c and the CLI's run facts (struct tpu_run_info).
** Out: text to a FILE, JSON to a file (whole or not at all). The benchmark
**      scripts read the JSON keys ref_seconds_per_run and ref_seconds_best.
*/
#include "report/report.h"
#include <math.h>
#include <string.h>

#define N_SHOWN 6       /* values printed per output */

static double checksum(const struct tpu_tensor *t)
{
    double sum = 0;
    int64_t n = t->data ? tpu_tensor_numel(t) : 0;
    for (int64_t k = 0; k < n; k++) sum += tpu_get_f64(t->data, t->dtype, (size_t)k);
    return sum;
}

static const struct tpu_output_cmp *find_cmp(const struct tpu_run_info *ri, int i)
{
    return ri->cmp && i < ri->n_cmp ? &ri->cmp[i] : NULL;
}

/*---- Text ----*/
static void text_output(FILE *f, const struct tpu_tensor *t, const struct tpu_output_cmp *c)
{
    char buf[256];
    int64_t n = t->data ? tpu_tensor_numel(t) : 0;
    fprintf(f, "output '%s' %s %s: sum %.9g, first", t->name, tpu_dtype_name(t->dtype),
            tpu_shape_str(t, buf, sizeof buf), checksum(t));
    for (int64_t k = 0; k < n && k < N_SHOWN; k++) fprintf(f, " %.6g", tpu_get_f64(t->data, t->dtype, (size_t)k));
    fprintf(f, "%s\n", n > N_SHOWN ? " ..." : "");
    if (!c) return;
    fprintf(f, "  vs expected: max abs err %.3g, rel-L2 %.3g, %lld of %lld elements off -> %s\n",
            c->max_abs_err, c->rel_l2, (long long)c->n_bad, (long long)c->numel, c->n_bad ? "MISMATCH" : "ok");
    if (c->n_bad)
        fprintf(f, "  worst at index %lld: got %.9g, expected %.9g\n", (long long)c->worst_index,
                c->worst_got, c->worst_expected);
}

static void text_report(FILE *f, struct tpu_graph *g, const struct tpu_run_info *ri)
{
    fprintf(f, "run: %s on chip %s, inputs %s", g->path, ri->chip, ri->data_dir ? ri->data_dir : "random");
    if (!ri->data_dir) fprintf(f, " (seed %llu)", (unsigned long long)ri->seed);
    fprintf(f, "\n");
    for (int i = 0; i < g->n_outputs; i++) text_output(f, g->tensors[g->outputs[i]], find_cmp(ri, i));
    if (ri->n_repeat > 1)
        fprintf(f, "time: best %.6f s, mean %.6f s per run over %d runs (%d thread%s)\n", ri->seconds_best,
                ri->seconds_mean, ri->n_repeat, ri->n_threads, ri->n_threads == 1 ? "" : "s");
    if (ri->cmp) fprintf(f, "result: %s\n", ri->status == TPU_STATUS_OK ? "outputs match" : "outputs DO NOT match");
}

/*---- JSON ----*/
static void json_output(struct tpu_json *j, const struct tpu_tensor *t, const struct tpu_output_cmp *c)
{
    tpu_json_begin(j, NULL, '{');
    tpu_json_str(j, "name", t->name);
    tpu_json_str(j, "dtype", tpu_dtype_name(t->dtype));
    tpu_json_dims(j, "shape", t);
    tpu_json_num(j, "sum", checksum(t));
    if (c) {
        tpu_json_bool(j, "match", c->n_bad == 0);
        tpu_json_int(j, "elements_off", c->n_bad);
        tpu_json_num(j, "max_abs_err", c->max_abs_err);
        tpu_json_num(j, "rel_l2", c->rel_l2);
        tpu_json_int(j, "worst_index", c->worst_index);
        tpu_json_num(j, "worst_got", c->worst_got);
        tpu_json_num(j, "worst_expected", c->worst_expected);
    }
    tpu_json_end(j, '}');
}

static void json_report(FILE *f, struct tpu_graph *g, const struct tpu_run_info *ri)
{
    struct tpu_json j;
    tpu_json_init(&j, f);
    tpu_json_begin(&j, NULL, '{');
    tpu_json_str(&j, "model", g->path);
    tpu_json_str(&j, "chip", ri->chip);
    if (ri->data_dir) tpu_json_str(&j, "data", ri->data_dir);
    else tpu_json_int(&j, "seed", (int64_t)ri->seed);
    tpu_json_int(&j, "repeat", ri->n_repeat);
    tpu_json_int(&j, "threads", ri->n_threads);
    tpu_json_num(&j, "ref_seconds_per_run", ri->seconds_mean);
    tpu_json_num(&j, "ref_seconds_best", ri->seconds_best);
    tpu_json_begin(&j, "outputs", '[');
    for (int i = 0; i < g->n_outputs; i++) json_output(&j, g->tensors[g->outputs[i]], find_cmp(ri, i));
    tpu_json_end(&j, ']');
    tpu_json_str(&j, "status", ri->status == TPU_STATUS_OK ? "ok" : "mismatch");
    tpu_json_end(&j, '}');
}

enum tpu_status tpu_report_run(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_run_info *ri,
                               FILE *txt, const char *json_path)
{
    char tmp[4200];
    if (txt) text_report(txt, g, ri);
    if (!json_path) return TPU_STATUS_OK;
    FILE *f = tpu_file_begin(ctx, json_path, tmp, sizeof tmp);
    if (!f) return TPU_ERR_IO;
    json_report(f, g, ri);
    return tpu_file_commit(ctx, f, json_path, tmp, true);
}
