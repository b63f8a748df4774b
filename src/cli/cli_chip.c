/*
** cli/cli_chip.c: the chip subcommands of `tpusim`, over include/tpusim.h only.
**   tpusim asm FILE.s -o FILE.tpu       assemble
**   tpusim disasm FILE.tpu              print re-assemblable text
**   tpusim sim PROGRAM --chip C [...]   run a program (.tpu or .s) on a chip
**   tpusim chip C [--array RxC] [--set k=v]   print a resolved chip description
**   tpusim run MODEL --chip C [...]     lower, simulate, verify, report (C != ref)
**   tpusim check MODEL --chip C [...]   compatibility report (compile/check.c)
**   tpusim compile MODEL --chip C -o P  saved program file (compile/prog_file.c)
**   tpusim run P.tpu [--data DIR]       runs a saved program file
*/
#include "tpusim.h"
#include "cli_chip.h"
#include "report/bench.h"    /* tpu_bench_now_s */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char tpu_cli_chip_usage[] =
    "  run MODEL --chip tpu-v1|tpu-v4|tpu-v5e|FILE ...  simulated chip; check --chip, compile, asm, disasm, sim,\n"
    "        chip: chip programs and descriptions (tpusim chip --help for all options)\n";

static const char chip_usage_full[] =
    "  run MODEL --chip NAME|FILE [--array RxC] [--set key=value]... [--timing-only]\n"
    "      [--schedule tpu|scalesim] [--json FILE] [--seed N] [--host-ops]   run on a simulated chip\n"
    "      [--batch N] [--shape NAME=d0,d1,...] [--data DIR] [--outputs DIR] [--repeat N]\n"
    "      [--calib DIR | --calib-random N] [--calib-method minmax|percentile]\n"
    "      (int8 activation scales: calibrated over DIR/input_N.pb or DIR/*/input_N.pb, N random\n"
    "      inputs, or the run's own inputs; minmax = max |x|, percentile = 99.99th of |x|)\n"
    "      (--host-ops: ops other than Gemm/MatMul/Conv run on the host CPU; time estimated)\n"
    "      verifies the chip's outputs against DIR/output_N.pb (--data) or else the\n"
    "      reference executor on the same inputs: int8 chips cosine >= 0.99, bf16 chips\n"
    "      relative L2 <= 1e-2 (exit 1 outside); --batch N binds every input's dim 0;\n"
    "      --repeat N: the whole run (load, lowering, simulation, verification) N times in one\n"
    "      process, host wall time best and mean reported, every run's report checked identical\n"
    "      [--precision default|high|highest|auto]  bf16 chips: 1, 3 or 6 bf16 passes per matrix\n"
    "      product (XLA's Precision.DEFAULT / HIGH / HIGHEST on TPUs; the extra passes cost MXU time);\n"
    "      int8 chips: high = 16-bit weights (8b x 16b, half speed), highest = 16-bit weights and\n"
    "      activations (16b x 16b, quarter speed), as the TPU v1's MXU runs them; auto: per layer,\n"
    "      the fewest layers widened that keep the calibration inputs' outputs within a margin of\n"
    "      the bound against the reference executor (docs/compiler.md \"Precision auto\")\n"
    "  check MODEL --chip NAME|FILE [--batch N] [--json FILE]   where every node would run\n"
    "      (mxu, activation, vector, host, unsupported), why, shares of MACs and time\n"
    "  compile MODEL --chip NAME|FILE [run options] -o PROG.tpu   save chip, options and model\n"
    "      (with --calib DIR or --calib-random N: the calibrated int8 scales too)\n"
    "  run PROG.tpu [--data DIR] [--outputs DIR] [--json FILE]   run it (same as run MODEL --chip)\n"
    "  asm FILE.s -o FILE.tpu                assemble a chip program\n"
    "  disasm FILE.tpu                       disassemble a chip program\n"
    "  sim PROGRAM --chip NAME|FILE [--host-bytes N] [--timing-only] [--trace] [--json FILE]\n"
    "  chip NAME|FILE [--array RxC] [--set key=value]...  print a chip description\n";

struct chip_args {
    const char *input, *chip, *array, *json, *out, *schedule, *data, *outputs, *calib, *calib_method;
    const char *precision;                /* --precision default|high|highest (bf16 chips) */
    int         calib_random;
    int         repeat;                   /* --repeat N: the run N times in one process, timed; 0: once */
    long long   batch;                    /* 0: the model's own */
    const char *sets[64];
    const char *shapes[16];
    int         n_shapes;
    int         n_sets, timing_only, host_ops, trace;
    unsigned long long seed, host_bytes;
    const char *calib_saved;              /* run PROG.tpu: its SCAL text, or NULL */
    size_t      calib_saved_len;
    struct tpu_prec_auto *prec;           /* --precision auto's choice: made by compile,
                                             loaded by run PROG.tpu; NULL: run selects */
};

static int fail(struct tpu_ctx *ctx, enum tpu_status rc)
{
    fprintf(stderr, "tpusim: %s\n", tpu_errmsg(ctx)[0] ? tpu_errmsg(ctx) : tpu_status_str(rc));
    return tpu_status_exit_code(rc);
}

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "tpusim: %s%s%s\nusage:\n%s", msg, arg ? " " : "", arg ? arg : "", chip_usage_full);
    return 2;
}

/* v as a count from 1 to hi for flag: 0, or the usage error's exit code. */
static int parse_count(const char *flag, const char *v, long long hi, long long *out)
{
    char *end, msg[96];
    *out = strtoll(v, &end, 10);
    if (end != v && !*end && *out >= 1 && *out <= hi) return 0;
    snprintf(msg, sizeof msg, "%s expects a number from 1 to %lld, not", flag, hi);
    return usage_error(msg, v);
}

/* Parses options after the subcommand; returns 0 or an exit code. */
static int parse_args(int argc, char **argv, struct chip_args *a)
{
    long long k;
    int bad;
    memset(a, 0, sizeof *a);
    a->schedule = "tpu";
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int takes = 1;
        if (strcmp(s, "--timing-only") == 0) { a->timing_only = 1; takes = 0; }
        else if (strcmp(s, "--help") == 0) return usage_error("chip commands", NULL);
        else if (strcmp(s, "--host-ops") == 0) { a->host_ops = 1; takes = 0; }
        else if (strcmp(s, "--trace") == 0) { a->trace = 1; takes = 0; }
        else if (!v && s[0] == '-') return usage_error("missing value after", s);
        else if (strcmp(s, "--chip") == 0) a->chip = v;
        else if (strcmp(s, "--array") == 0) a->array = v;
        else if (strcmp(s, "--json") == 0) a->json = v;
        else if (strcmp(s, "-o") == 0) a->out = v;
        else if (strcmp(s, "--data") == 0) a->data = v;
        else if (strcmp(s, "--calib") == 0) a->calib = v;
        else if (strcmp(s, "--calib-method") == 0) a->calib_method = v;
        else if (strcmp(s, "--precision") == 0) {
            if (!tpu_precision_passes(v) && strcmp(v, "auto") != 0)
                return usage_error("--precision must be default, high, highest or auto, not", v);
            a->precision = v;
        }
        else if (strcmp(s, "--calib-random") == 0) {
            if ((bad = parse_count(s, v, 100000, &k))) return bad;
            a->calib_random = (int)k;
        }
        else if (strcmp(s, "--outputs") == 0) a->outputs = v;
        else if (strcmp(s, "--repeat") == 0) {
            if ((bad = parse_count(s, v, 10000, &k))) return bad;
            a->repeat = (int)k;
        }
        else if (strcmp(s, "--batch") == 0) {
            if ((bad = parse_count(s, v, 65536, &a->batch))) return bad;
        }
        else if (strcmp(s, "--schedule") == 0) a->schedule = v;
        else if (strcmp(s, "--seed") == 0) a->seed = strtoull(v, NULL, 0);
        else if (strcmp(s, "--host-bytes") == 0) a->host_bytes = strtoull(v, NULL, 0);
        else if (strcmp(s, "--shape") == 0) {
            if (a->n_shapes == 16) return usage_error("too many --shape", NULL);
            a->shapes[a->n_shapes++] = v;
        } else if (strcmp(s, "--set") == 0) {
            if (a->n_sets == 64) return usage_error("too many --set", NULL);
            a->sets[a->n_sets++] = v;
        } else if (s[0] == '-') return usage_error("unknown option", s);
        else if (!a->input) { a->input = s; takes = 0; }
        else return usage_error("unexpected argument", s);
        i += takes;
    }
    if (a->calib_method && strcmp(a->calib_method, "minmax") != 0 && strcmp(a->calib_method, "percentile") != 0)
        return usage_error("--calib-method must be minmax or percentile, not", a->calib_method);
    if (a->calib && a->calib_random) return usage_error("give --calib DIR or --calib-random N, not both", NULL);
    if (strcmp(a->schedule, "tpu") != 0 && strcmp(a->schedule, "scalesim") != 0)
        return usage_error("--schedule must be tpu or scalesim, not", a->schedule);
    return 0;
}

static enum tpu_status load_chip(struct tpu_ctx *ctx, const struct chip_args *a, const char *name,
                                 struct tpu_chip **chip)
{
    enum tpu_status rc = tpu_chip_load(ctx, name, chip);
    if (!rc && a->array) rc = tpu_chip_set_array(ctx, *chip, a->array);
    for (int i = 0; !rc && i < a->n_sets; i++) rc = tpu_chip_override(ctx, *chip, a->sets[i]);
    return rc;
}

static int finish_report(struct tpu_ctx *ctx, const struct chip_args *a, struct tpu_chip_report *r)
{
    tpu_chip_report_print(r, stdout);
    enum tpu_status rc = a->json ? tpu_chip_report_write_json(ctx, r, a->json) : TPU_STATUS_OK;
    tpu_chip_report_free(r);
    return rc ? fail(ctx, rc) : 0;
}

/* --shape NAME=d0,d1,... bindings (before --batch, which then sets dim 0). */
static enum tpu_status bind_shapes(struct tpu_ctx *ctx, const struct chip_args *a, struct tpu_graph *g)
{
    struct tpu_shape_binding b[16];
    for (int i = 0; i < a->n_shapes; i++) {
        enum tpu_status rc = tpu_shape_binding_parse(ctx, a->shapes[i], &b[i]);
        if (rc) return rc;
    }
    return a->n_shapes ? tpu_graph_bind_shapes(ctx, g, b, a->n_shapes) : TPU_STATUS_OK;
}

/* Binds --batch, then --data's inputs or seeded random ones (the same values
** feed the chip and, for verification, the reference executor). */
static enum tpu_status bind_run_inputs(struct tpu_ctx *ctx, const struct chip_args *a,
                                       struct tpu_graph *g)
{
    enum tpu_status rc = bind_shapes(ctx, a, g);
    if (rc) return rc;
    if (a->data && !a->timing_only) {              /* --batch must match the data's */
        if ((rc = tpu_graph_load_inputs(ctx, g, a->data))) return rc;
        if (a->batch && (rc = tpu_chip_bind_batch(ctx, g, a->batch))) return rc;
        return tpu_chip_prepare(ctx, g);
    }
    rc = a->batch ? tpu_chip_bind_batch(ctx, g, a->batch) : TPU_STATUS_OK;
    if (rc || a->timing_only) return rc;
    tpu_graph_default_dims(g, 1, NULL, 0);
    if ((rc = tpu_chip_prepare(ctx, g))) return rc;
    return tpu_graph_fill_random_inputs(ctx, g, a->seed ? a->seed : 1);
}

/* Prints the report; a run outside the bounds still prints it, then exits 1. */
static int run_result(struct tpu_ctx *ctx, const struct chip_args *a, enum tpu_status rc,
                      struct tpu_chip_report *r)
{
    if (rc == TPU_ERR_MISMATCH && r) {
        finish_report(ctx, a, r);
        fprintf(stderr, "tpusim: %s\n", tpu_errmsg(ctx));
        if (!a->precision || (strcmp(a->precision, "highest") != 0 && strcmp(a->precision, "auto") != 0))
            fprintf(stderr, "tpusim: hint: --precision auto runs only the layers that need it with more "
                    "bits (16-bit operands, or 3 or 6 bf16 passes), chosen on the calibration inputs "
                    "(docs/compiler.md, \"Precision auto\")\n");
        return 1;
    }
    if (rc) tpu_chip_report_free(r);
    return rc ? fail(ctx, rc) : finish_report(ctx, a, r);
}

/* a->input loaded and bound as a run binds it (shapes, --batch, chip
** placement), without input values. */
static enum tpu_status load_bound(struct tpu_ctx *ctx, const struct chip_args *a, struct tpu_graph **out)
{
    struct tpu_graph *g = NULL;
    enum tpu_status rc = tpu_load_onnx(ctx, a->input, &g);
    if (!rc) rc = bind_shapes(ctx, a, g);
    if (!rc && a->batch) rc = tpu_chip_bind_batch(ctx, g, a->batch);
    if (!rc) { tpu_graph_default_dims(g, 1, NULL, 0); rc = tpu_chip_prepare(ctx, g); }
    if (rc) { tpu_graph_free(g); g = NULL; }
    *out = g;
    return rc;
}

/* One whole run of a->input on chip: the data set in chunks (--data with
** --batch), or the model on its inputs, verified. --precision auto selects
** into *pa on the first run and reuses that choice after. */
static enum tpu_status run_once(struct tpu_ctx *ctx, const struct chip_args *a, const struct tpu_chip *chip,
                                struct tpu_chip_run_opts *o, const struct tpu_chip_calib *k,
                                struct tpu_prec_auto **pa, struct tpu_chip_report **r)
{
    int want_auto = !a->prec && a->precision && strcmp(a->precision, "auto") == 0 && !*pa;
    enum tpu_status rc = TPU_STATUS_OK;
    if (a->data && a->batch && !a->timing_only) {        /* the data set in chunks */
        if (want_auto && !(rc = tpu_prec_auto_select(ctx, a->input, NULL, a->data, chip, o, k, pa)))
            o->prec_auto = *pa;
        return rc ? rc : tpu_chip_run_data(ctx, a->input, chip, o, k, a->data, a->batch, a->outputs, r);
    }
    struct tpu_graph *g = NULL;
    rc = tpu_load_onnx(ctx, a->input, &g);
    if (!rc) rc = bind_run_inputs(ctx, a, g);
    if (!rc && want_auto && !(rc = tpu_prec_auto_select(ctx, a->input, g, a->data, chip, o, k, pa)))
        o->prec_auto = *pa;
    if (!rc) rc = tpu_chip_run_model_calib(ctx, g, chip, o, k, r);
    if (!rc && a->outputs) rc = tpu_graph_save_outputs(ctx, g, a->outputs);   /* the chip's values */
    if (!rc) rc = tpu_chip_verify(ctx, g, *r, a->data);
    tpu_graph_free(g);
    return rc;
}

/* --repeat N: run_once N times, the host wall time of each; every report must
** equal the first (the simulation is deterministic), the last is kept. */
static enum tpu_status run_repeated(struct tpu_ctx *ctx, const struct chip_args *a, const struct tpu_chip *chip,
                                    struct tpu_chip_run_opts *o, const struct tpu_chip_calib *k,
                                    struct tpu_prec_auto **pa, struct tpu_chip_report **r)
{
    struct tpu_chip_report *first = NULL;
    double best = 0, total = 0;
    enum tpu_status rc = TPU_STATUS_OK;
    int n = a->repeat ? a->repeat : 1;
    for (int i = 0; i < n; i++) {
        if (i > 1) tpu_chip_report_free(*r);
        *r = NULL;
        double t0 = tpu_bench_now_s();
        rc = run_once(ctx, a, chip, o, k, pa, r);
        double dt = tpu_bench_now_s() - t0;
        if (rc && rc != TPU_ERR_MISMATCH) break;
        best = i == 0 || dt < best ? dt : best;
        total += dt;
        if (i == 0) first = *r;
        else if (tpu_chip_report_same(ctx, first, *r) == TPU_ERR_INTERNAL) { rc = TPU_ERR_INTERNAL; break; }
    }
    if (first && first != *r) tpu_chip_report_free(first);
    if (a->repeat && *r && (!rc || rc == TPU_ERR_MISMATCH)) tpu_chip_report_set_wall(*r, n, best, total / n);
    return rc;
}

/* Runs a->input on chip (a->chip is loaded when chip is NULL); frees chip. */
static int run_on(struct tpu_ctx *ctx, const struct chip_args *a, struct tpu_chip *chip)
{
    struct tpu_chip_report *r = NULL;
    struct tpu_chip_run_opts o = { a->timing_only, strcmp(a->schedule, "scalesim") == 0, a->seed,
                                   a->host_ops, tpu_precision_passes(a->precision), 1, 1, NULL };  /* free_dead, onchip */
    struct tpu_chip_calib k = { a->calib, a->calib_random,
                                a->calib_method && strcmp(a->calib_method, "percentile") == 0,
                                a->calib_saved, a->calib_saved_len };
    struct tpu_prec_auto *pa = NULL;              /* selected by the first run (--precision auto) */
    o.prec_auto = a->prec;
    enum tpu_status rc = chip ? TPU_STATUS_OK : load_chip(ctx, a, a->chip, &chip);
    if (!rc) rc = run_repeated(ctx, a, chip, &o, &k, &pa, &r);
    tpu_chip_free(chip);
    int ec = run_result(ctx, a, rc, r);            /* the report borrows pa */
    tpu_prec_auto_free(pa);
    return ec;
}

/*---- Program files (compile/prog_file.c) ----*/
/* a->input loaded and bound as a run binds it (shapes, batch, chip placement),
** its MXU layers lowered (none for --timing-only: no weight values); with
** calib, the int8 scales of --calib DIR / --calib-random N as SCAL text. */
static enum tpu_status lower_for_prog(struct tpu_ctx *ctx, const struct chip_args *a, const struct tpu_chip *chip,
                                      uint8_t **layers, size_t *len, int *n_layers, struct tpu_prog_opts *calib)
{
    struct tpu_graph *g = NULL;
    enum tpu_status rc = load_bound(ctx, a, &g);
    if (!rc && a->prec) rc = tpu_prec_auto_bind(ctx, g, a->prec);      /* names and counts for the report */
    if (!rc && !a->timing_only)
        rc = tpu_prog_lower_layers_auto(ctx, g, chip, tpu_precision_passes(a->precision), a->prec, a->host_ops,
                                        layers, len, n_layers);
    if (!rc && calib && !a->timing_only) {
        struct tpu_chip_calib k = { a->calib, a->calib_random,
                                    a->calib_method && strcmp(a->calib_method, "percentile") == 0, NULL, 0 };
        rc = tpu_calib_saved_text(ctx, g, chip, &k, a->seed, &calib->calib_text, &calib->calib_len);
    }
    tpu_graph_free(g);
    return rc;
}

static int is_tpu_name(const char *path)          /* "*.tpu": run it as a program file */
{
    size_t n = strlen(path);
    return n > 4 && strcmp(path + n - 4, ".tpu") == 0;
}

/* run prog.tpu: the saved chip and options; --data, --outputs, --json from the line. */
static int run_prog(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (a->chip || a->array || a->n_sets || a->n_shapes || a->batch || a->calib || a->calib_random || a->precision ||
        a->calib_method || a->timing_only || a->host_ops || a->seed || strcmp(a->schedule, "tpu") != 0)
        return usage_error("run PROG.tpu takes only --data, --outputs and --json; the rest is in", a->input);
    struct tpu_prog_opts po;
    struct tpu_chip *chip = NULL;
    char dir[4096], model[4200];
    uint8_t *saved = NULL, *now = NULL;
    size_t saved_len = 0, now_len = 0;
    int n_layers = 0;
    enum tpu_status rc = tpu_prog_load(ctx, a->input, &chip, &po, &saved, &saved_len, dir, model, sizeof dir);
    if (rc) return fail(ctx, rc);
    struct chip_args b = *a;
    b.input = model;
    b.batch = po.batch;
    b.host_ops = po.host_ops;
    b.timing_only = po.timing_only;
    b.schedule = po.schedule_scalesim ? "scalesim" : "tpu";
    b.calib_random = po.calib_random;
    b.calib_method = po.calib_percentile ? "percentile" : NULL;
    b.calib_saved = po.calib_text;
    b.calib_saved_len = po.calib_len;
    b.seed = po.seed;
    b.n_shapes = po.n_shapes;
    for (int i = 0; i < po.n_shapes; i++) b.shapes[i] = po.shapes[i];
    b.precision = po.bf16_passes == 3 ? "high" : po.bf16_passes == 6 ? "highest" : NULL;
    b.prec = NULL;
    if (po.prec_text) rc = tpu_prec_auto_parse(ctx, a->input, po.prec_text, po.prec_len, &b.prec);
    if (!rc) rc = lower_for_prog(ctx, &b, chip, &now, &now_len, &n_layers, NULL);  /* the saved programs are */
    if (!rc) rc = tpu_prog_check_layers(ctx, a->input, saved, saved_len, now, now_len);  /* what runs */
    free(saved);
    free(now);
    free(po.prec_text);
    if (rc) {
        tpu_chip_free(chip); tpu_prog_cleanup(dir); free(po.calib_text); tpu_prec_auto_free(b.prec);
        return fail(ctx, rc);
    }
    int ec = run_on(ctx, &b, chip);
    tpu_prog_cleanup(dir);
    free(po.calib_text);
    tpu_prec_auto_free(b.prec);
    return ec;
}

static int cmd_run(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input) return usage_error("run: no model given", NULL);
    if (tpu_prog_is_file(a->input) || (!a->chip && is_tpu_name(a->input))) return run_prog(ctx, a);
    return run_on(ctx, a, NULL);
}

/* compile --precision auto: the selection a run of the model with these
** options makes (its own inputs: seeded random ones, as run binds them),
** as the program file's PREC text. */
static enum tpu_status compile_auto(struct tpu_ctx *ctx, const struct chip_args *a, const struct tpu_chip *chip,
                                    struct tpu_prec_auto **pa, struct tpu_prog_opts *po)
{
    struct tpu_graph *g = NULL;
    struct tpu_chip_run_opts o = { a->timing_only, strcmp(a->schedule, "scalesim") == 0, a->seed,
                                   a->host_ops, 0, 1, 0, NULL };
    struct tpu_chip_calib k = { a->calib, a->calib_random,
                                a->calib_method && strcmp(a->calib_method, "percentile") == 0, NULL, 0 };
    enum tpu_status rc = tpu_load_onnx(ctx, a->input, &g);
    if (!rc) rc = bind_run_inputs(ctx, a, g);
    if (!rc) rc = tpu_prec_auto_select(ctx, a->input, g, NULL, chip, &o, &k, pa);
    if (!rc && !(po->prec_text = tpu_prec_auto_text(*pa, &po->prec_len))) rc = TPU_ERR_NOMEM;
    tpu_graph_free(g);
    return rc;
}

/* compile MODEL --chip C [options] -o prog.tpu: checks the model binds and fits
** the chip, then saves chip, options and model (run options as for run); with
** --calib DIR or --calib-random N on an int8 chip, the calibrated scales too. */
static int cmd_compile(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input || !a->chip || !a->out) return usage_error("compile: needs MODEL, --chip and -o PROG.tpu", NULL);
    if (a->data || a->outputs || a->json)
        return usage_error("compile: --data, --outputs and --json are not saved in a program file "
                           "(give them to run PROG.tpu)", NULL);
    struct tpu_prog_opts po;
    memset(&po, 0, sizeof po);
    po.batch = a->batch;
    po.host_ops = a->host_ops;
    po.timing_only = a->timing_only;
    po.schedule_scalesim = strcmp(a->schedule, "scalesim") == 0;
    po.calib_random = a->calib_random;
    po.calib_percentile = a->calib_method && strcmp(a->calib_method, "percentile") == 0;
    po.seed = a->seed;
    po.bf16_passes = tpu_precision_passes(a->precision);
    po.n_shapes = a->n_shapes;
    for (int i = 0; i < a->n_shapes; i++) {
        if (strlen(a->shapes[i]) >= sizeof po.shapes[0]) return usage_error("--shape too long:", a->shapes[i]);
        snprintf(po.shapes[i], sizeof po.shapes[0], "%s", a->shapes[i]);
    }
    struct tpu_chip *chip = NULL;
    uint8_t *layers = NULL;
    size_t layers_len = 0;
    int n_layers = 0;
    struct chip_args b = *a;
    enum tpu_status rc = load_chip(ctx, a, a->chip, &chip);
    if (!rc && a->precision && strcmp(a->precision, "auto") == 0) rc = compile_auto(ctx, a, chip, &b.prec, &po);
    if (!rc) rc = lower_for_prog(ctx, &b, chip, &layers, &layers_len, &n_layers, &po);
    if (!rc) rc = tpu_prog_save(ctx, a->input, chip, &po, layers, layers_len, a->out);
    if (!rc) printf("%s: %d MXU layer program(s), chip %s%s%s\n", a->out, n_layers, tpu_chip_name(chip),
                    po.calib_text ? ", calibrated int8 scales saved" : "",
                    po.prec_text ? ", --precision auto's per-layer choice saved" : "");
    free(layers);
    free(po.calib_text);
    free(po.prec_text);
    tpu_prec_auto_free(b.prec);
    tpu_chip_free(chip);
    return rc ? fail(ctx, rc) : 0;
}

/* check MODEL --chip NAME [--batch N] [--json FILE]: the compatibility report. */
static int cmd_check(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input) return usage_error("check: no model given", NULL);
    struct tpu_chip *chip = NULL;
    struct tpu_graph *g = NULL;
    enum tpu_status rc = load_chip(ctx, a, a->chip, &chip);
    if (!rc) rc = tpu_load_onnx(ctx, a->input, &g);
    if (!rc) rc = bind_shapes(ctx, a, g);
    if (!rc && a->batch) rc = tpu_chip_bind_batch(ctx, g, a->batch);
    if (!rc) {
        tpu_graph_default_dims(g, 1, NULL, 0);
        rc = tpu_graph_prepare(ctx, g, NULL, 0);
        if (rc == TPU_ERR_UNSUPPORTED) rc = TPU_STATUS_OK;        /* reported per node */
    }
    if (!rc) rc = tpu_chip_check(ctx, g, chip, stdout, a->json);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    return rc ? fail(ctx, rc) : 0;
}

static enum tpu_status load_program(struct tpu_ctx *ctx, const char *path, struct tpu_program **p)
{
    size_t n = strlen(path);
    if (n > 2 && strcmp(path + n - 2, ".s") == 0) return tpu_program_assemble(ctx, path, p);
    return tpu_program_load(ctx, path, p);
}

static int cmd_sim(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input || !a->chip) return usage_error("sim: needs PROGRAM and --chip", NULL);
    struct tpu_chip *chip = NULL;
    struct tpu_program *p = NULL;
    struct tpu_chip_report *r = NULL;
    enum tpu_status rc = load_chip(ctx, a, a->chip, &chip);
    if (!rc) rc = load_program(ctx, a->input, &p);
    if (!rc) rc = tpu_chip_run_program(ctx, p, chip, a->host_bytes, a->timing_only,
                                       a->trace ? stdout : NULL, &r);
    tpu_program_free(p);
    tpu_chip_free(chip);
    return rc ? fail(ctx, rc) : finish_report(ctx, a, r);
}

static int cmd_asm(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input || !a->out) return usage_error("asm: needs FILE.s and -o FILE.tpu", NULL);
    struct tpu_program *p = NULL;
    enum tpu_status rc = tpu_program_assemble(ctx, a->input, &p);
    if (!rc) rc = tpu_program_save(ctx, p, a->out);
    tpu_program_free(p);
    return rc ? fail(ctx, rc) : 0;
}

static int cmd_disasm(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input) return usage_error("disasm: needs FILE.tpu", NULL);
    struct tpu_program *p = NULL;
    enum tpu_status rc = tpu_program_load(ctx, a->input, &p);
    if (!rc) tpu_program_disasm(p, stdout);
    tpu_program_free(p);
    return rc ? fail(ctx, rc) : 0;
}

static int cmd_chip(struct tpu_ctx *ctx, const struct chip_args *a)
{
    if (!a->input) return usage_error("chip: needs NAME or FILE", NULL);
    struct tpu_chip *chip = NULL;
    enum tpu_status rc = load_chip(ctx, a, a->input, &chip);
    if (!rc) tpu_chip_describe(chip, stdout);
    tpu_chip_free(chip);
    return rc ? fail(ctx, rc) : 0;
}

static const char *chip_option(int argc, char **argv)
{
    for (int i = 2; i + 1 < argc; i++) if (strcmp(argv[i], "--chip") == 0) return argv[i + 1];
    return NULL;
}

int tpu_cli_chip_handles(int argc, char **argv)
{
    if (argc < 2) return 0;
    const char *cmd = argv[1], *chip = chip_option(argc, argv);
    if (strcmp(cmd, "run") == 0 && argc > 2 && (tpu_prog_is_file(argv[2]) || (!chip && is_tpu_name(argv[2]))))
        return 1;
    if (strcmp(cmd, "compile") == 0) return 1;
    if (strcmp(cmd, "run") == 0 || strcmp(cmd, "check") == 0) return chip && strcmp(chip, "ref") != 0;
    return strcmp(cmd, "asm") == 0 || strcmp(cmd, "disasm") == 0 || strcmp(cmd, "sim") == 0 ||
           strcmp(cmd, "chip") == 0;
}

int tpu_cli_chip_main(int argc, char **argv)
{
    struct chip_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc) return rc;
    struct tpu_ctx *ctx = tpu_init();
    if (!ctx) { fprintf(stderr, "tpusim: out of memory\n"); return 2; }
    const char *cmd = argv[1];
    tpu_set_threads(1);            /* OpenBLAS (reference kernels): one thread, deterministic */
    if (strcmp(cmd, "run") == 0) rc = cmd_run(ctx, &a);
    else if (strcmp(cmd, "check") == 0) rc = cmd_check(ctx, &a);
    else if (strcmp(cmd, "compile") == 0) rc = cmd_compile(ctx, &a);
    else if (strcmp(cmd, "sim") == 0) rc = cmd_sim(ctx, &a);
    else if (strcmp(cmd, "asm") == 0) rc = cmd_asm(ctx, &a);
    else if (strcmp(cmd, "disasm") == 0) rc = cmd_disasm(ctx, &a);
    else rc = cmd_chip(ctx, &a);
    tpu_free(ctx);
    return rc;
}
