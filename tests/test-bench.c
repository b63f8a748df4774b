/*
** tests/test-bench.c: report/bench.c against the stages it is built on.
**   bench-1  tpu_bench_sim_graph (bench's own node loop) gives the same cycles
**            and MACs as compile/run.c's tpu_chip_run_model, timing-only;
**   bench-2  a GPU row equals what gpu_model.c and tpu_run_metrics give directly;
**   bench-3  winners and the SLO choice on hand-made rows;
**   bench-4  bad input: unknown target, no batches, missing model (no crash);
**   bench-5  tpu-v1's TOPS for the paper's MLP0 and LSTM0 stand-ins within 15%
**            of the measured 12.3 and 3.7 (SKIP until make_apps.py has run).
** Models: tests/models/bench/ (make_bench_models.py). Run from the repo root.
*/
#include "testlib.h"
#include "report/bench.h"
#include "report/gpu_model.h"
#include "compile/compile.h"
#include "ir/passes.h"
#include "tpusim.h"
#include <math.h>
#include <stdlib.h>

#define MLP "tests/models/bench/mlp_dyn.onnx"
#define CNN "tests/models/bench/cnn_dyn.onnx"

static struct tpu_graph *load_batch(struct tpu_ctx *ctx, const char *path, int64_t batch)
{
    struct tpu_graph *g = NULL;
    if (tpu_load_onnx(ctx, path, &g)) return NULL;
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *x = g->tensors[g->inputs[i]];
        if (!x->is_const && x->n_dims > 0 && x->dims[0] < 0) x->dims[0] = batch;
    }
    if (tpu_graph_prepare(ctx, g, NULL, 0)) { tpu_graph_free(g); return NULL; }
    return g;
}

/* Cycles of bench's loop and of the compiler's runner agree on a model the
** lowering takes whole (the host ops cost 0 cycles in both). */
static int cycles_match(const char *model, const char *chip_name, int64_t batch, int n_host)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, chip_name, &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    struct tpu_graph *g = load_batch(ctx, model, batch);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    struct tpu_sim *s = tpu_sim_new(ctx, chip, 1);
    struct tpu_bench_sim r;
    TEST_CHECK(tpu_bench_sim_graph(ctx, g, chip, s, NULL, 0, &r, NULL, NULL) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    tpu_sim_free(s);
    tpu_graph_free(g);
    struct tpu_graph *g2 = NULL;
    TEST_CHECK(tpu_load_onnx(ctx, model, &g2) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    g2->tensors[g2->inputs[0]]->dims[0] = batch;
    struct tpu_chip_run_opts o = { .timing_only = 1, .seed = 1, .host_fallback = 1, .bf16_passes = 1 };
    struct tpu_chip_report *rep = NULL;
    TEST_CHECK(tpu_chip_run_model(ctx, g2, chip, &o, &rep) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(rep->ctr.cycles == r.cycles, "%s %s batch %lld: run.c %lld cycles, bench %lld", model, chip_name,
               (long long)batch, (long long)rep->ctr.cycles, (long long)r.cycles);
    TEST_CHECK(rep->macs == r.macs, "MACs %lld vs %lld", (long long)rep->macs, (long long)r.macs);
    /* 2 MXU layers, plus the MaxPool on a vector unit; the Relu is fused into
    ** ACTIVATE (neither chip nor host node), the CNN's Flatten on the host */
    TEST_CHECK(r.n_chip == 2 + chip->vector_unit && r.n_host == n_host, "%d chip, %d host nodes (want %d)",
               r.n_chip, r.n_host, n_host);
    tpu_chip_report_free(rep);
    tpu_graph_free(g2);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

static int test_sim_mlp_v1(void) { return cycles_match(MLP, "tpu-v1", 16, 0); }
static int test_sim_cnn_v5e(void) { return cycles_match(CNN, "tpu-v5e", 4, 1); }

static int test_gpu_row(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_bench_opts o = { .model = MLP, .targets = { "h100" }, .n_targets = 1, .batches = { 1, 32 },
                                .n_batches = 2 };
    struct tpu_bench *b = NULL;
    TEST_CHECK(tpu_bench_run(ctx, &o, &b) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(b->n_rows == 2, "%d rows", b->n_rows);
    struct tpu_graph *g = load_batch(ctx, MLP, 32);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    struct tpu_gpu_options go = tpu_gpu_options_default();
    go.batch = go.graph_batch = 32;
    struct tpu_gpu_result r;
    TEST_CHECK(tpu_gpu_model_run(ctx, g, b->t[0], &go, &r) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    const struct tpu_bench_row *row = &b->rows[tpu_bench_row(b, 0, 1)];
    struct tpu_run_metrics m;
    tpu_run_metrics(b->t[0], 32, r.time_s, &m);
    TEST_CHECK(row->latency_s == r.time_s, "%.9g vs %.9g", row->latency_s, r.time_s);
    TEST_CHECK(row->m.usd_per_million == m.usd_per_million, "%.9g vs %.9g", row->m.usd_per_million, m.usd_per_million);
    TEST_CHECK(row->m.energy_per_inf_j == m.energy_per_inf_j, "energy");
    TEST_CHECK(!strcmp(row->source, "modelled"), "%s", row->source);
    TEST_CHECK(b->n_points > 0, "no roofline points");
    tpu_gpu_result_free(&r);
    tpu_graph_free(g);
    tpu_bench_free(b);
    tpu_free(ctx);
    return 0;
}

static int test_winners(void)
{
    static struct tpu_bench b;
    memset(&b, 0, sizeof b);
    static const struct { const char *t; int64_t batch; double lat, usd, j; } rows[] = {
        { "a", 1, 1e-3, 5, 1 }, { "a", 8, 4e-3, 2, 0.5 }, { "b", 1, 2e-3, 1, 2 }, { "b", 8, 20e-3, 3, 0.1 },
    };
    for (int i = 0; i < 4; i++) {
        struct tpu_bench_row *r = &b.rows[b.n_rows++];
        snprintf(r->target, sizeof r->target, "%s", rows[i].t);
        r->batch = rows[i].batch;
        r->latency_s = rows[i].lat;
        r->m.latency_s = rows[i].lat;
        r->m.latency_per_inf_s = rows[i].lat / (double)rows[i].batch;
        r->m.inf_per_s = (double)rows[i].batch / rows[i].lat;
        r->m.usd_per_million = rows[i].usd;
        r->m.energy_per_inf_j = rows[i].j;
    }
    TEST_CHECK(tpu_bench_winner(&b, 0) == 1, "latency/inf: %d", tpu_bench_winner(&b, 0));   /* 0.5 ms */
    TEST_CHECK(tpu_bench_winner(&b, 1) == 1, "throughput: %d", tpu_bench_winner(&b, 1));
    TEST_CHECK(tpu_bench_winner(&b, 2) == 3, "energy: %d", tpu_bench_winner(&b, 2));
    TEST_CHECK(tpu_bench_winner(&b, 3) == 2, "cost: %d", tpu_bench_winner(&b, 3));
    b.rows[1].m.usd_per_million = NAN;                        /* unknown values never win */
    b.rows[2].m.usd_per_million = NAN;
    TEST_CHECK(tpu_bench_winner(&b, 3) == 3, "cost with NaN: %d", tpu_bench_winner(&b, 3));
    return 0;
}

static int test_bad_input(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_bench *b = NULL;
    struct tpu_bench_opts o = { .model = MLP, .targets = { "nosuch" }, .n_targets = 1, .batches = { 1 }, .n_batches = 1 };
    TEST_CHECK(tpu_bench_run(ctx, &o, &b) == TPU_ERR_USAGE && !b, "unknown target accepted");
    TEST_CHECK(strstr(tpu_errmsg(ctx), "nosuch"), "%s", tpu_errmsg(ctx));
    o.targets[0] = "h100";
    o.n_batches = 0;
    TEST_CHECK(tpu_bench_run(ctx, &o, &b) == TPU_ERR_USAGE && !b, "no batches accepted");
    o.n_batches = 1;
    o.model = "tests/models/bench/nosuch.onnx";
    TEST_CHECK(tpu_bench_run(ctx, &o, &b) != TPU_STATUS_OK && !b, "missing model accepted");
    tpu_free(ctx);
    return 0;
}

/* The TPU v1 paper's measured TOPS (Table 3 row 9) for MLP0 and LSTM0, against
** the stand-ins of bench/tpu-v1-paper/make_apps.py (generated, ~290 MB, so a
** SKIP when absent) simulated with every activation resident, the vector
** layers' too (not simulated: on the host here, on the paper's chip). */
static int paper_tops(const char *app, int64_t batch, double paper)
{
    char path[256];
    snprintf(path, sizeof path, "build/tpu-v1-paper-sym/%s.onnx", app);
    FILE *f = fopen(path, "rb");
    if (!f) TEST_SKIP("%s missing: /usr/bin/python3 bench/tpu-v1-paper/make_apps.py --symbolic-batch "
                      "-o build/tpu-v1-paper-sym", path);
    fclose(f);
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    struct tpu_graph *g = load_batch(ctx, path, batch);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    struct tpu_sim *s = tpu_sim_new(ctx, chip, 1);
    struct tpu_bench_sim r;
    TEST_CHECK(tpu_bench_sim_graph(ctx, g, chip, s, NULL, TPU_BENCH_ALL_RESIDENT, &r, NULL,
                                   NULL) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    double tops = 2.0 * (double)r.macs / ((double)r.cycles / (chip->clock_mhz * 1e6)) / 1e12;
    TEST_CHECK(fabs(tops / paper - 1) <= 0.15, "%s: %.2f TOPS simulated, paper %.1f", app, tops, paper);
    if (getenv("TPUSIM_VERBOSE")) printf("  %s: %.2f TOPS simulated, paper %.1f\n", app, tops, paper);
    tpu_sim_free(s);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

static int test_paper_mlp0(void) { return paper_tops("mlp0", 200, 12.3); }
static int test_paper_lstm0(void) { return paper_tops("lstm0", 64, 3.7); }

static const struct test_case cases[] = {
    { "bench-1.1-sim-loop-matches-runner-mlp-v1", test_sim_mlp_v1 },
    { "bench-1.2-sim-loop-matches-runner-cnn-v5e", test_sim_cnn_v5e },
    { "bench-2.1-gpu-row", test_gpu_row },
    { "bench-3.1-winners", test_winners },
    { "bench-4.1-bad-input", test_bad_input },
    { "bench-5.1-paper-mlp0-tops", test_paper_mlp0 },
    { "bench-5.2-paper-lstm0-tops", test_paper_lstm0 },
};
TEST_MAIN(cases)
