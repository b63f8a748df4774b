/*
** cli/main.c: the `tpusim` command. A thin layer over include/tpusim.h: parses
** the command line, calls the library, maps statuses to exit codes
** (0 ok, 1 outputs did not match, 2 bad input or usage). Every failure prints
** one message to stderr, "tpusim: <what went wrong>".
**
** Defaults:
**   --chip ref      the reference executor (other chips plug in here later)
**   --seed 1        random inputs when no --data is given
**   --repeat 1      runs timed per `run`
**   --threads 1     OpenBLAS threads: deterministic and fair for benchmarks
**   --timeout 60    seconds per conformance case
*/
#include "tpusim.h"
#include "cli_chip.h"     /* chip subcommands: asm, disasm, sim, chip, run --chip NAME */
#include "cli_bench.h"    /* bench; run --chip NAME --trace FILE */
#include "report/bench.h" /* tpu_bench_now_s: run --repeat timings */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_SHAPES 32
#define MAX_ROOTS  32

static int usage(void)
{
    fprintf(stderr,
        "usage: tpusim COMMAND [ARGS]\n"
        "  check MODEL [--shape NAME=d0,d1,...] [--json FILE]\n"
        "        what the model is and what tpusim supports of it\n"
        "  run MODEL --chip ref [--data DIR] [--outputs DIR] [--shape NAME=d0,...]\n"
        "        [--json FILE] [--seed N] [--repeat N] [--threads N]\n"
        "        run on the reference executor; with --data DIR (input_N.pb,\n"
        "        output_N.pb) compare with rtol 1e-3, atol 1e-7 (exit 1 on mismatch)\n"
        "  conformance ROOT... [--xfail FILE] [--out FILE] [--timeout S]\n"
        "        every ONNX backend-test case under each ROOT, one PASS/FAIL/SKIP line each\n");
    fputs(tpu_cli_chip_usage, stderr);
    fputs(tpu_cli_bench_usage, stderr);
    return 2;
}

static int fail(struct tpu_ctx *ctx, enum tpu_status rc)
{
    const char *msg = tpu_errmsg(ctx);
    fprintf(stderr, "tpusim: %s\n", *msg ? msg : tpu_status_str(rc));
    return tpu_status_exit_code(rc);
}

struct opts {
    const char              *model, *chip, *json, *data, *outputs, *xfail, *out;
    const char              *roots[MAX_ROOTS];
    int                      n_roots;
    struct tpu_shape_binding shapes[MAX_SHAPES];
    int                      n_shapes;
    unsigned long long       seed;
    long                     repeat, threads, timeout;
};

static int parse_count(const char *flag, const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "tpusim: %s %s: expected a number from %ld to %ld\n", flag, s, lo, hi);
        return 2;
    }
    *out = v;
    return 0;
}

/* One flag with its value at argv[*i]; returns 0 or an exit code. */
static int parse_flag(struct tpu_ctx *ctx, struct opts *o, int argc, char **argv, int *i)
{
    const char *f = argv[*i];
    if (*i + 1 >= argc) { fprintf(stderr, "tpusim: %s needs a value\n", f); return 2; }
    const char *v = argv[++*i];
    long seed;
    if (!strcmp(f, "--chip")) o->chip = v;
    else if (!strcmp(f, "--json")) o->json = v;
    else if (!strcmp(f, "--data")) o->data = v;
    else if (!strcmp(f, "--outputs")) o->outputs = v;
    else if (!strcmp(f, "--xfail")) o->xfail = v;
    else if (!strcmp(f, "--out")) o->out = v;
    else if (!strcmp(f, "--repeat")) return parse_count(f, v, 1, 1000000, &o->repeat);
    else if (!strcmp(f, "--threads")) return parse_count(f, v, 1, 1024, &o->threads);
    else if (!strcmp(f, "--timeout")) return parse_count(f, v, 1, 86400, &o->timeout);
    else if (!strcmp(f, "--seed")) {
        int rc = parse_count(f, v, 0, 2147483647L, &seed);
        o->seed = (unsigned long long)seed;
        return rc;
    } else if (!strcmp(f, "--shape")) {
        if (o->n_shapes == MAX_SHAPES) { fprintf(stderr, "tpusim: more than %d --shape\n", MAX_SHAPES); return 2; }
        enum tpu_status rc = tpu_shape_binding_parse(ctx, v, &o->shapes[o->n_shapes++]);
        if (rc) return fail(ctx, rc);
    } else {
        fprintf(stderr, "tpusim: unknown option '%s'\n", f);
        return usage();
    }
    return 0;
}

static int parse(struct tpu_ctx *ctx, struct opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->chip = "ref";
    o->seed = 1;
    o->repeat = o->threads = 1;
    o->timeout = 60;
    for (int i = 2; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            int rc = parse_flag(ctx, o, argc, argv, &i);
            if (rc) return rc;
        } else if (o->n_roots < MAX_ROOTS) {
            o->roots[o->n_roots++] = argv[i];
        } else {
            fprintf(stderr, "tpusim: too many arguments\n");
            return 2;
        }
    }
    o->model = o->n_roots ? o->roots[0] : NULL;
    return 0;
}

static int need_one_model(const struct opts *o, const char *cmd)
{
    if (o->n_roots == 1) return 0;
    fprintf(stderr, "tpusim: %s takes exactly one MODEL\n", cmd);
    return usage();
}

/*---- check ----*/
static int cmd_check(struct tpu_ctx *ctx, const struct opts *o)
{
    struct tpu_graph *g = NULL;
    char notes[4096];
    enum tpu_status rc = tpu_load_onnx(ctx, o->model, &g);
    if (!rc) rc = tpu_graph_bind_shapes(ctx, g, o->shapes, o->n_shapes);
    if (rc) { tpu_graph_free(g); return fail(ctx, rc); }
    tpu_graph_default_dims(g, 1, notes, sizeof notes);
    rc = tpu_graph_prepare(ctx, g, NULL, 0);
    if (rc == TPU_STATUS_OK || rc == TPU_ERR_UNSUPPORTED)       /* unsupported ops: reported */
        rc = tpu_report_check(ctx, g, stdout, o->json, notes);
    tpu_graph_free(g);
    return rc ? fail(ctx, rc) : 0;
}

/*---- run ----*/
static enum tpu_status bind_inputs(struct tpu_ctx *ctx, struct tpu_graph *g, const struct opts *o)
{
    char notes[4096];
    enum tpu_status rc;
    if (o->data) {
        if ((rc = tpu_graph_load_inputs(ctx, g, o->data))) return rc;
        return tpu_graph_prepare(ctx, g, o->shapes, o->n_shapes);
    }
    if ((rc = tpu_graph_bind_shapes(ctx, g, o->shapes, o->n_shapes))) return rc;
    if (tpu_graph_default_dims(g, 1, notes, sizeof notes)) fprintf(stderr, "tpusim: note: %s", notes);
    if ((rc = tpu_graph_prepare(ctx, g, NULL, 0))) return rc;
    return tpu_graph_fill_random_inputs(ctx, g, o->seed);
}

static enum tpu_status timed_runs(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_run_info *ri)
{
    double total = 0;
    for (int r = 0; r < ri->n_repeat; r++) {
        double t0 = tpu_bench_now_s();
        enum tpu_status rc = tpu_ref_run(ctx, g);
        double dt = tpu_bench_now_s() - t0;
        if (rc) return rc;
        total += dt;
        if (r == 0 || dt < ri->seconds_best) ri->seconds_best = dt;
    }
    ri->seconds_mean = total / ri->n_repeat;
    return TPU_STATUS_OK;
}

/* A data folder with inputs only is run but not compared. */
static int has_expected_outputs(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/output_0.pb", dir);
    return access(path, F_OK) == 0;
}

static int cmd_run(struct tpu_ctx *ctx, const struct opts *o)
{
    if (strcmp(o->chip, "ref") != 0) {
        fprintf(stderr, "tpusim: chip %s not available yet (only --chip ref)\n", o->chip);
        return 2;
    }
    tpu_set_threads((int)o->threads);
    struct tpu_run_info ri = { .chip = o->chip, .data_dir = o->data, .seed = o->seed,
                               .n_repeat = (int)o->repeat, .n_threads = (int)o->threads };
    struct tpu_graph *g = NULL;
    struct tpu_output_cmp *cmp = NULL;
    enum tpu_status rc = tpu_load_onnx(ctx, o->model, &g);
    if (!rc) rc = bind_inputs(ctx, g, o);
    if (!rc) rc = timed_runs(ctx, g, &ri);
    if (!rc && o->data && has_expected_outputs(o->data)) {
        int n = tpu_graph_n_outputs(g);
        cmp = calloc((size_t)n + 1, sizeof *cmp);
        rc = cmp ? tpu_graph_compare_outputs(ctx, g, o->data, cmp, n, &ri.n_cmp) : TPU_ERR_NOMEM;
        ri.cmp = cmp;
        ri.status = rc;
    }
    char mismatch[2048] = "";
    if (rc == TPU_ERR_MISMATCH) snprintf(mismatch, sizeof mismatch, "%s", tpu_errmsg(ctx));
    if (!rc && o->outputs) rc = tpu_graph_save_outputs(ctx, g, o->outputs);   /* only on success */
    if (!rc || rc == TPU_ERR_MISMATCH) {
        enum tpu_status rc2 = tpu_report_run(ctx, g, &ri, stdout, o->json);
        if (rc2) rc = rc2;
    }
    int code = 0;
    if (rc == TPU_ERR_MISMATCH) {
        fprintf(stderr, "tpusim: %s: outputs do not match:\n%s\n", o->model, mismatch);
        code = 1;
    } else if (rc) {
        code = fail(ctx, rc);
    }
    free(cmp);
    tpu_graph_free(g);
    return code;
}

/*---- conformance ----*/
static int cmd_conformance(struct tpu_ctx *ctx, const struct opts *o)
{
    if (!o->n_roots) { fprintf(stderr, "tpusim: conformance needs at least one ROOT\n"); return usage(); }
    struct tpu_conformance_opts co = { .roots = o->roots, .n_roots = o->n_roots, .xfail_path = o->xfail,
                                       .out_path = o->out, .timeout_s = (int)o->timeout };
    enum tpu_status rc = tpu_conformance_run(ctx, &co);
    if (rc == TPU_ERR_MISMATCH) return 1;
    return rc ? fail(ctx, rc) : 0;
}

int main(int argc, char **argv)
{
    /* Freed memory is kept for the next layer's buffers instead of going back
    ** to the kernel and faulting fresh zeroed pages in again (about 15% of a
    ** chip run's time, bench/sim_vs_ort.sh). */
    tpu_keep_freed_memory();
    if (argc < 2) return usage();
    if (tpu_cli_bench_handles(argc, argv)) return tpu_cli_bench_main(argc, argv);
    if (tpu_cli_chip_handles(argc, argv)) return tpu_cli_chip_main(argc, argv);
    struct tpu_ctx *ctx = tpu_init();
    struct opts *o = calloc(1, sizeof *o);
    if (!ctx || !o) { fprintf(stderr, "tpusim: out of memory\n"); return 2; }
    const char *cmd = argv[1];
    int code = parse(ctx, o, argc, argv);
    if (code) ;
    else if (!strcmp(cmd, "check")) code = need_one_model(o, cmd) ? 2 : cmd_check(ctx, o);
    else if (!strcmp(cmd, "run")) code = need_one_model(o, cmd) ? 2 : cmd_run(ctx, o);
    else if (!strcmp(cmd, "conformance")) code = cmd_conformance(ctx, o);
    else if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) { usage(); code = 0; }
    else { fprintf(stderr, "tpusim: unknown command '%s'\n", cmd); code = usage(); }
    free(o);
    tpu_free(ctx);
    return code;
}
