/*
** tests/test-prec-auto.c: `--precision auto` (compile/auto_prec.c), the
** selection and its carriers as the library sees them.
**   prec-auto-1  on tests/models/prec_auto_mlp.onnx (int8 alone misses the
**                bound in one layer, make_prec_auto_model.py) the selection
**                widens exactly that layer (fc2) to 16-bit weights, meets
**                the margin, in few trials (on the first 2 of the 8 rows, then
**                confirmed on all 8); a run with the choice gives the
**                selection's calibration metric (same inputs, same values);
**   prec-auto-2  a model int8 suits (the Fashion-MNIST CNN) gets nothing
**                widened after one trial;
**   prec-auto-3  the PREC text of a program file round-trips; a bad node
**                index, pass count or a missing n_nodes is TPU_ERR_FORMAT;
**                tpu_prec_auto_bind fills the names and refuses another graph;
**   prec-auto-4  bench's node loop with the choice (the on-chip estimate's)
**                gives the cycles of a timing-only run with it (neither
**                all-int8's nor all-16-bit's);
**   prec-auto-5  tpu_prec_node_passes: the node's own passes, else the run's.
** Run from the repo root.
*/
#include "testlib.h"
#include "compile/mm_node.h"
#include "report/bench.h"
#include "tpusim.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MLP    "tests/models/prec_auto_mlp.onnx"
#define FMNIST "tests/models/fmnist_cnn.onnx"

/* path at batch, prepared, seeded random inputs (as `run --batch` binds it). */
static struct tpu_graph *load(struct tpu_ctx *ctx, const char *path, int64_t batch)
{
    struct tpu_graph *g = NULL;
    if (tpu_load_onnx(ctx, path, &g)) return NULL;
    if (tpu_chip_bind_batch(ctx, g, batch) || tpu_chip_prepare(ctx, g) || tpu_graph_fill_random_inputs(ctx, g, 1)) {
        tpu_graph_free(g);
        return NULL;
    }
    return g;
}

static int node_index(const struct tpu_graph *g, const char *name)
{
    for (int i = 0; i < g->n_nodes; i++) if (g->nodes[i].name && !strcmp(g->nodes[i].name, name)) return i;
    return -1;
}

static int t_mlp_selects_one(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    struct tpu_graph *g = load(ctx, MLP, 8);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    struct tpu_chip_run_opts o = { .host_fallback = 1, .free_dead = 1 };      /* --host-ops */
    struct tpu_prec_auto *a = NULL;
    TEST_CHECK(tpu_prec_auto_select(ctx, MLP, g, NULL, chip, &o, NULL, &a) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(a->met && a->n_mxu == 4 && a->n_widened == 1 && a->n_high == 1, "met %d, %d of %d widened",
               a->met, a->n_widened, a->n_mxu);
    int fc2 = node_index(g, "fc2");
    TEST_CHECK(fc2 >= 0 && a->passes[fc2] == 3, "fc2 at %d passes", fc2 >= 0 ? a->passes[fc2] : -1);
    TEST_CHECK(!strcmp(a->widened, "fc2\n"), "widened '%s'", a->widened);
    TEST_CHECK(a->base_metric < 0.995 && a->calib_metric >= 0.995, "cosine %.6f -> %.6f", a->base_metric,
               a->calib_metric);                 /* base: on the first 2 rows, the choice on all 8 */
    TEST_CHECK(a->trials >= 4 && a->trials <= 6, "%d trials", a->trials);   /* base, all, log2(4), confirm */
    TEST_CHECK(strstr(a->source, "the first 2 rows of the run's own inputs, then all 8 rows (the choice confirmed)"),
               "source '%s'", a->source);
    TEST_CHECK(a->widened_mac_share > 0.3 && a->widened_mac_share < 0.4, "share %.3f", a->widened_mac_share);
    /* the run with the choice, on the same inputs: the selection's metric */
    o.prec_auto = a;
    struct tpu_chip_report *r = NULL;
    TEST_CHECK(tpu_chip_run_model_calib(ctx, g, chip, &o, NULL, &r) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(tpu_chip_verify(ctx, g, r, NULL) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(r->n_verify == 1 && r->verify[0].cosine == a->calib_metric, "run cosine %.9f, selection %.9f",
               r->verify[0].cosine, a->calib_metric);
    int wide_rows = 0;
    for (int i = 0; i < r->n_rows; i++)
        if (!strcmp(r->rows[i].unit, "mxu")) wide_rows += r->rows[i].passes == 3;
    TEST_CHECK(wide_rows == 1 && r->prec_auto == a, "%d widened rows", wide_rows);
    tpu_chip_report_free(r);
    tpu_prec_auto_free(a);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

static int t_fmnist_none(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    struct tpu_graph *g = load(ctx, FMNIST, 2);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    struct tpu_chip_run_opts o = { .host_fallback = 1, .free_dead = 1 };
    struct tpu_prec_auto *a = NULL;
    TEST_CHECK(tpu_prec_auto_select(ctx, FMNIST, g, NULL, chip, &o, NULL, &a) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(a->met && a->n_widened == 0 && a->trials == 1 && a->n_mxu >= 3, "met %d, %d widened of %d, %d trials",
               a->met, a->n_widened, a->n_mxu, a->trials);
    TEST_CHECK(a->calib_metric == a->base_metric && a->base_metric >= 0.995, "cosine %.6f", a->base_metric);
    for (int i = 0; i < a->n_nodes; i++) TEST_CHECK(a->passes[i] == 1, "node %d at %d passes", i, a->passes[i]);
    o.timing_only = 1;
    struct tpu_prec_auto *b = NULL;
    TEST_CHECK(tpu_prec_auto_select(ctx, FMNIST, g, NULL, chip, &o, NULL, &b) == TPU_ERR_USAGE && !b,
               "timing only: %s", tpu_errmsg(ctx));
    tpu_err_clear(ctx);
    tpu_prec_auto_free(a);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

static int t_text(void)
{
    struct tpu_ctx *ctx = tpu_init();
    uint8_t passes[6] = { 1, 3, 1, 6, 1, 1 };
    struct tpu_prec_auto a = { 6, passes, 4, 2, 1, 1, 7, 1, 0, 0.25, 0.9, 0.996, "the run's own inputs", NULL };
    size_t len = 0;
    char *t = tpu_prec_auto_text(&a, &len);
    TEST_CHECK(t && len == strlen(t), "text");
    struct tpu_prec_auto *b = NULL;
    TEST_CHECK(tpu_prec_auto_parse(ctx, "p.tpu", t, len, &b) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(b->n_nodes == 6 && !memcmp(b->passes, passes, 6), "passes");
    TEST_CHECK(b->trials == 7 && b->met == 1 && b->n_mxu == 4 && b->base_metric == 0.9 && b->calib_metric == 0.996 &&
               b->widened_mac_share == 0.25 && !strcmp(b->source, a.source), "summary fields");
    tpu_prec_auto_free(b);
    free(t);
    static const char *bad[] = { "n_nodes=3\nnode=3 3\n", "n_nodes=3\nnode=1 4\n", "node=0 3\n", "n_nodes=3\nfoo=1\n",
                                 "trials=2\n" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        b = NULL;
        TEST_CHECK(tpu_prec_auto_parse(ctx, "p.tpu", bad[i], strlen(bad[i]), &b) == TPU_ERR_FORMAT && !b,
                   "'%s' accepted", bad[i]);
        tpu_err_clear(ctx);
    }
    /* bind: names from the graph it belongs to; another node count refused */
    struct tpu_graph *g = load(ctx, MLP, 1);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    char txt[64];
    snprintf(txt, sizeof txt, "n_nodes=%d\nnode=%d 6\n", g->n_nodes, node_index(g, "fc3"));
    TEST_CHECK(tpu_prec_auto_parse(ctx, "p.tpu", txt, strlen(txt), &b) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(tpu_prec_auto_bind(ctx, g, b) == TPU_STATUS_OK && b->n_widened == 1 && b->n_highest == 1 &&
               !strcmp(b->widened, "fc3\n"), "bind: '%s'", b->widened ? b->widened : "");
    b->n_nodes--;
    TEST_CHECK(tpu_prec_auto_bind(ctx, g, b) == TPU_ERR_FORMAT, "another graph's choice bound");
    tpu_err_clear(ctx);
    tpu_prec_auto_free(b);
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/* Timing-only cycles of g on chip with choice a (NULL: all int8), by run and by bench's loop. */
static int cycles_both(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                       const struct tpu_prec_auto *a, int passes, int64_t *run_c, int64_t *bench_c)
{
    struct tpu_chip_run_opts o = { .timing_only = 1, .host_fallback = 1, .bf16_passes = passes, .prec_auto = a };
    struct tpu_chip_report *r = NULL;
    if (tpu_chip_run_model(ctx, g, chip, &o, &r)) return 1;
    *run_c = r->cycles;
    tpu_chip_report_free(r);
    struct tpu_sim *s = tpu_sim_new(ctx, chip, 1);
    struct tpu_bench_sim b;
    enum tpu_status rc = tpu_bench_sim_graph_auto(ctx, g, chip, s, NULL, TPU_BENCH_PASSES(passes), a, &b, NULL, NULL);
    tpu_sim_free(s);
    *bench_c = b.cycles;
    return rc != TPU_STATUS_OK;
}

static int t_bench_loop(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    struct tpu_graph *g = load(ctx, MLP, 8);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    uint8_t *p = calloc((size_t)g->n_nodes, 1);
    TEST_CHECK(p, "memory");
    memset(p, 1, (size_t)g->n_nodes);
    p[node_index(g, "fc3")] = 6;
    struct tpu_prec_auto a = { g->n_nodes, p, 4, 1, 0, 1, 1, 1, 0, 0, 0, 0, "", NULL };
    int64_t r0, b0, r1, b1, r6, b6;
    TEST_CHECK(!cycles_both(ctx, g, chip, NULL, 1, &r0, &b0), "%s", tpu_errmsg(ctx));
    TEST_CHECK(!cycles_both(ctx, g, chip, &a, 1, &r1, &b1), "%s", tpu_errmsg(ctx));
    TEST_CHECK(!cycles_both(ctx, g, chip, NULL, 6, &r6, &b6), "%s", tpu_errmsg(ctx));
    TEST_CHECK(r0 == b0 && r1 == b1 && r6 == b6, "run/bench cycles: int8 %lld/%lld, auto %lld/%lld, 16x16 %lld/%lld",
               (long long)r0, (long long)b0, (long long)r1, (long long)b1, (long long)r6, (long long)b6);
    TEST_CHECK(r0 != r1 && r1 != r6, "the one layer's passes change nothing: cycles int8 %lld, one layer 16x16 %lld, all 16x16 %lld", (long long)r0,
               (long long)r1, (long long)r6);
    free(p);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

static int t_node_passes(void)
{
    uint8_t p[3] = { 1, 3, 6 };
    struct tpu_prec_auto a = { 3, p, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, "", NULL };
    TEST_CHECK(tpu_prec_node_passes(&a, 0, 6) == 1 && tpu_prec_node_passes(&a, 1, 1) == 3 &&
               tpu_prec_node_passes(&a, 2, 1) == 6, "the node's own");
    TEST_CHECK(tpu_prec_node_passes(&a, 3, 3) == 3 && tpu_prec_node_passes(&a, -1, 0) == 1, "out of range: the run's");
    TEST_CHECK(tpu_prec_node_passes(NULL, 1, 6) == 6 && tpu_prec_node_passes(NULL, 1, 0) == 1, "no choice: the run's");
    TEST_CHECK(!strcmp(tpu_prec_mode_name(0, 3), "w16") && !strcmp(tpu_prec_mode_name(1, 6), "bf16x6") &&
               !strcmp(tpu_prec_mode_name(0, 1), "int8"), "mode names");
    return 0;
}

static const struct test_case cases[] = {
    { "prec-auto-1.1-mlp-widens-the-one-layer", t_mlp_selects_one },
    { "prec-auto-2.1-fmnist-nothing-widened", t_fmnist_none },
    { "prec-auto-3.1-prec-text-round-trip", t_text },
    { "prec-auto-4.1-bench-loop-equals-run", t_bench_loop },
    { "prec-auto-5.1-node-passes", t_node_passes },
};
TEST_MAIN(cases)
