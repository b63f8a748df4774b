/*
** cli/cli_bench.c: the command line of
**   tpusim bench MODEL --chips T1,T2,... --batch B1,B2,... [--slo-ms X]
**         [--price NAME=USD_PER_HOUR]... [--set NAME.KEY=VALUE]... [--targets FILE]
**         [--calib FILE] [--json FILE] [--csv FILE] [--svg DIR] [--no-verify] [--quiet]
**         [--host-model] [--resident] [--node-times]
**   tpusim run MODEL --chip C --trace FILE [--batch N]
** over report/bench.h. Exit codes: 0 ok, 2 bad input or usage.
*/
#include "cli_bench.h"
#include "report/bench.h"
#include "tpusim.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char tpu_cli_bench_usage[] =
    "  bench MODEL --chips T1,T2 --batch B1,B2 ...  compare targets (tpusim bench --help); run --trace FILE\n";

static const char bench_usage_full[] =
    "  bench MODEL --chips tpu-v1,tpu-v5e,h100,cpu --batch 1,8,64 [--slo-ms X]\n"
    "        [--price NAME=USD_PER_HOUR] [--set NAME.KEY=VALUE] [--targets FILE] [--calib FILE]\n"
    "        [--json FILE] [--csv FILE] [--svg DIR] [--no-verify] [--quiet] [--host-model] [--resident] [--node-times]\n"
    "        [--precision default|high|highest]\n"
    "        latency, throughput, energy and cost per target and batch (docs/cost-model.md);\n"
    "        --host-model: TPU host ops priced by the cpu roofline (deterministic), not measured;\n"
    "        --resident: activations stay on chip between chip nodes where the UB plan fits;\n"
    "        --precision default|high|highest: the TPUs' MXU passes as run --precision\n"
    "        --node-times: every node's measured host time on stderr\n"
    "  run MODEL --chip C --trace FILE [--batch N]   Chrome/Perfetto trace of a simulated run\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "tpusim: %s%s%s\nusage:\n%s", msg, arg ? " " : "", arg ? arg : "", bench_usage_full);
    return 2;
}

/* Splits a comma list of names into o->targets (pointers into a copy). */
static int parse_targets(struct tpu_bench_opts *o, char *list)
{
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (o->n_targets == TPU_BENCH_MAX_TARGETS) return usage_error("too many targets in --chips", NULL);
        o->targets[o->n_targets++] = tok;
    }
    return o->n_targets ? 0 : usage_error("--chips needs at least one target", NULL);
}

static int parse_batches(struct tpu_bench_opts *o, const char *list)
{
    const char *p = list;
    while (*p) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 1 || v > 1000000 || (*end && *end != ','))
            return usage_error("--batch expects numbers from 1 to 1000000 separated by commas, not", list);
        if (o->n_batches == TPU_BENCH_MAX_BATCHES) return usage_error("too many batches in --batch", list);
        o->batches[o->n_batches++] = v;
        p = *end ? end + 1 : end;
    }
    return o->n_batches ? 0 : usage_error("--batch needs at least one batch", NULL);
}

struct cli { struct tpu_bench_opts o; char chips[1024], price[TPU_BENCH_MAX_OVERRIDES][160]; const char *trace, *chip; };

static int parse_value(struct cli *c, const char *f, const char *v)
{
    struct tpu_bench_opts *o = &c->o;
    char *end;
    if (!strcmp(f, "--chips")) { snprintf(c->chips, sizeof c->chips, "%s", v); return parse_targets(o, c->chips); }
    if (!strcmp(f, "--batch")) return parse_batches(o, v);
    if (!strcmp(f, "--slo-ms")) {
        o->slo_s = strtod(v, &end) / 1e3;
        return (end == v || *end || !(o->slo_s > 0) || !isfinite(o->slo_s)) ? usage_error("--slo-ms expects a "
               "positive number, not", v) : 0;
    }
    if (!strcmp(f, "--price") || !strcmp(f, "--set")) {
        if (o->n_overrides == TPU_BENCH_MAX_OVERRIDES) return usage_error("too many overrides", NULL);
        char *dst = c->price[o->n_overrides];
        snprintf(dst, sizeof c->price[0], "%s%s", !strcmp(f, "--price") ? "price " : "", v);
        o->overrides[o->n_overrides++] = dst;
        return 0;
    }
    if (!strcmp(f, "--targets")) o->targets_path = v;
    else if (!strcmp(f, "--calib")) o->calib_path = v;
    else if (!strcmp(f, "--json")) o->json = v;
    else if (!strcmp(f, "--csv")) o->csv = v;
    else if (!strcmp(f, "--svg")) o->svg_dir = v;
    else if (!strcmp(f, "--trace")) c->trace = v;
    else if (!strcmp(f, "--precision")) {
        if (!strcmp(v, "auto"))
            return usage_error("--precision auto is for run and compile (it calibrates on values; bench times "
                               "without them): give bench default, high or highest, not", v);
        o->passes = tpu_precision_passes(v);
        if (!o->passes) return usage_error("--precision must be default, high or highest, not", v);
    }
    else if (!strcmp(f, "--chip")) c->chip = v;
    else return usage_error("unknown option", f);
    return 0;
}

static int parse(int argc, char **argv, struct cli *c)
{
    memset(c, 0, sizeof *c);
    c->o.progress = 1;
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (!strcmp(s, "--help") || !strcmp(s, "-h")) return usage_error("bench and run --trace", NULL);
        if (!strcmp(s, "--no-verify")) c->o.no_verify = 1;
        else if (!strcmp(s, "--quiet")) c->o.progress = 0;
        else if (!strcmp(s, "--host-model")) c->o.host_model = 1;
        else if (!strcmp(s, "--resident")) c->o.resident = 1;
        else if (!strcmp(s, "--node-times")) c->o.node_times = 1;
        else if (s[0] == '-' && s[1]) {
            if (i + 1 >= argc) return usage_error("missing value after", s);
            int rc = parse_value(c, s, argv[++i]);
            if (rc) return rc;
        } else if (!c->o.model) c->o.model = s;
        else return usage_error("unexpected argument", s);
    }
    if (!c->o.model) return usage_error("no MODEL given", NULL);
    return 0;
}

static int fail(struct tpu_ctx *ctx, enum tpu_status rc)
{
    fprintf(stderr, "tpusim: %s\n", tpu_errmsg(ctx)[0] ? tpu_errmsg(ctx) : tpu_status_str(rc));
    return tpu_status_exit_code(rc);
}

static int cmd_bench(struct tpu_ctx *ctx, struct cli *c)
{
    if (!c->o.n_targets) return usage_error("bench needs --chips", NULL);
    if (!c->o.n_batches) { c->o.batches[0] = 1; c->o.n_batches = 1; }
    struct tpu_bench *b = NULL;
    enum tpu_status rc = tpu_bench_run(ctx, &c->o, &b);
    if (rc) return fail(ctx, rc);
    tpu_bench_print(b, stdout);
    if (c->o.json) rc = tpu_bench_write_json(ctx, b, c->o.json);
    if (!rc && c->o.csv) rc = tpu_bench_write_csv(ctx, b, c->o.csv);
    if (!rc && c->o.svg_dir) rc = tpu_bench_write_svg(ctx, b, c->o.svg_dir);
    tpu_bench_free(b);
    return rc ? fail(ctx, rc) : 0;
}

static int cmd_trace(struct tpu_ctx *ctx, struct cli *c)
{
    if (!c->chip || !strcmp(c->chip, "ref")) return usage_error("--trace needs --chip NAME|FILE (a simulated chip)", NULL);
    if (c->o.n_batches > 1) return usage_error("--trace takes one --batch", NULL);
    int64_t batch = c->o.n_batches ? c->o.batches[0] : 1;
    enum tpu_status rc = tpu_bench_trace(ctx, c->o.model, c->chip, batch, c->trace, stdout);
    return rc ? fail(ctx, rc) : 0;
}

int tpu_cli_bench_handles(int argc, char **argv)
{
    if (argc < 2) return 0;
    if (!strcmp(argv[1], "bench")) return 1;
    if (strcmp(argv[1], "run") != 0) return 0;
    for (int i = 2; i + 1 < argc; i++) if (!strcmp(argv[i], "--trace") && argv[i + 1][0] != '-') return 1;
    return 0;
}

int tpu_cli_bench_main(int argc, char **argv)
{
    struct cli *c = calloc(1, sizeof *c);
    struct tpu_ctx *ctx = tpu_init();
    if (!c || !ctx) { fprintf(stderr, "tpusim: out of memory\n"); free(c); tpu_free(ctx); return 2; }
    int rc = parse(argc, argv, c);
    if (!rc) rc = !strcmp(argv[1], "bench") ? cmd_bench(ctx, c) : cmd_trace(ctx, c);
    tpu_free(ctx);
    free(c);
    return rc;
}
