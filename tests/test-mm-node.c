/*
** tests/test-mm-node.c: the one lowering sequence of an MXU node
** (compile/mm_node.c, tpu_mm_lower_node) as its users see it.
**   mm-node-1  bench's timing loop (report/bench.c) and `run --timing-only`
**              (compile/run.c) give the same cycles, MACs and chip nodes on
**              models with grouped / depthwise convs (block-diagonal) and
**              ConvTranspose (PaddleOCR's detector), int8 and bf16 chips;
**   mm-node-2  a node the lowering refuses only for the chip's size (a unified
**              buffer too small) is refused alike by `check --chip`
**              (compile/place.c), bench (host op) and run (host with
**              --host-ops; an error naming the node without);
**   mm-node-3  compile -o's layer programs (compile/prog_file.c) are the
**              programs run lowers: one entry per MXU row of the run;
**   mm-node-4  the desc before the rewrites (d0) and the lowered one: a
**              depthwise conv is one block-diagonal GEMM with the op's MACs.
** Models: tests/models/, build/models and build/ocr (SKIP when absent).
** Run from the repo root.
*/
#include "testlib.h"
#include "compile/mm_node.h"
#include "compile/place.h"
#include "report/bench.h"
#include "ir/passes.h"
#include "tpusim.h"
#include <stdlib.h>
#include <unistd.h>

#define CONV_GROUP "tests/models/chip/conv_group.onnx"
#define FMNIST     "tests/models/fmnist_cnn.onnx"
#define MOBILENET  "build/models/mobilenet_v2_op17_dyn/model.onnx"
#define OCR_DET    "build/ocr/ocr_det/model.onnx"

/* The model with dim 0 of its inputs = batch and, when hw > 0, dims 2 and 3 = hw. */
static struct tpu_graph *load(struct tpu_ctx *ctx, const char *path, int64_t batch, int64_t hw, int prepare)
{
    struct tpu_graph *g = NULL;
    if (tpu_load_onnx(ctx, path, &g)) return NULL;
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *x = g->tensors[g->inputs[i]];
        if (x->is_const || x->n_dims < 1) continue;
        if (x->dims[0] < 0) x->dims[0] = batch;
        for (int d = 2; hw > 0 && d < 4 && d < x->n_dims; d++) x->dims[d] = hw;
    }
    if (prepare && tpu_graph_prepare(ctx, g, NULL, 0)) { tpu_graph_free(g); return NULL; }
    return g;
}

/* bench's loop against the runner, timing only; *n_mxu: the run's mxu rows. */
static int same_timing(const char *path, const char *chip_name, int64_t batch, int64_t hw, int *n_mxu)
{
    if (access(path, R_OK) != 0) TEST_SKIP("%s missing (make models)", path);
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, chip_name, &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    struct tpu_graph *g = load(ctx, path, batch, hw, 1);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    struct tpu_sim *s = tpu_sim_new(ctx, chip, 1);
    struct tpu_bench_sim r;
    TEST_CHECK(tpu_bench_sim_graph(ctx, g, chip, s, NULL, 0, &r, NULL, NULL) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    tpu_sim_free(s);
    tpu_graph_free(g);
    g = load(ctx, path, batch, hw, 0);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    struct tpu_chip_run_opts o = { .timing_only = 1, .seed = 1, .host_fallback = 1, .bf16_passes = 1 };  /* timing only, host ops */
    struct tpu_chip_report *rep = NULL;
    TEST_CHECK(tpu_chip_run_model(ctx, g, chip, &o, &rep) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    int mxu = 0, vec = 0;
    for (int i = 0; i < rep->n_rows; i++) {
        mxu += !strcmp(rep->rows[i].unit, "mxu");
        vec += !strcmp(rep->rows[i].unit, "vector");
    }
    TEST_CHECK(rep->ctr.cycles == r.cycles, "%s on %s: run %lld cycles, bench %lld", path, chip_name,
               (long long)rep->ctr.cycles, (long long)r.cycles);
    TEST_CHECK(rep->macs == r.macs, "MACs: run %lld, bench %lld", (long long)rep->macs, (long long)r.macs);
    TEST_CHECK(mxu + vec == r.n_chip, "chip nodes: run %d mxu + %d vector, bench %d", mxu, vec, r.n_chip);
    if (n_mxu) *n_mxu = mxu;
    tpu_chip_report_free(rep);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

static int t_group_v1(void)   { return same_timing(CONV_GROUP, "tpu-v1", 1, 0, NULL); }
static int t_group_v5e(void)  { return same_timing(CONV_GROUP, "tpu-v5e", 1, 0, NULL); }
static int t_mobile_v1(void)  { return same_timing(MOBILENET, "tpu-v1", 2, 0, NULL); }
static int t_mobile_v5e(void) { return same_timing(MOBILENET, "tpu-v5e", 1, 0, NULL); }
static int t_ocr_det_v1(void) { return same_timing(OCR_DET, "tpu-v1", 1, 64, NULL); }
static int t_ocr_det_v5e(void) { return same_timing(OCR_DET, "tpu-v5e", 1, 64, NULL); }

/* A unified buffer too small for fmnist's first conv: every user refuses it. */
static int t_refused_alike(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    chip->unified_buffer_bytes = 2048;
    struct tpu_graph *g = load(ctx, FMNIST, 1, 0, 1);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    struct tpu_node *conv = NULL;
    for (int i = 0; i < g->n_nodes && !conv; i++) if (g->nodes[i].op == TPU_OP_CONV) conv = &g->nodes[i];
    TEST_CHECK(conv, "no Conv in %s", FMNIST);
    char name[128];
    snprintf(name, sizeof name, "%s", conv->name);           /* g is loaded again below */
    struct tpu_mm_node_opts mo = { 0, 1, 0, 0 };
    enum tpu_status rc = tpu_mm_node_check(ctx, g, conv, chip, &mo, NULL);
    TEST_CHECK(rc == TPU_ERR_UNSUPPORTED && strstr(tpu_errmsg(ctx), "Unified Buffer"), "check: %d %s", rc,
               tpu_errmsg(ctx));
    tpu_err_clear(ctx);
    struct tpu_place p;
    tpu_place_node(g, conv, chip, &p);
    TEST_CHECK(p.unit == TPU_PLACE_HOST && strstr(p.reason, "Unified Buffer"), "check --chip: %s (%s)",
               tpu_place_class_name(p.unit), p.reason);
    struct tpu_sim *s = tpu_sim_new(ctx, chip, 1);
    struct tpu_bench_sim r;
    TEST_CHECK(tpu_bench_sim_graph(ctx, g, chip, s, NULL, 0, &r, NULL, NULL) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    tpu_sim_free(s);
    tpu_graph_free(g);
    struct tpu_chip_report *rep = NULL;
    struct tpu_chip_run_opts o = { .seed = 1, .host_fallback = 1, .bf16_passes = 1 };  /* values, host ops */
    g = load(ctx, FMNIST, 1, 0, 0);
    TEST_CHECK(tpu_chip_run_model(ctx, g, chip, &o, &rep) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    int mxu = 0, conv_host = 0;
    for (int i = 0; i < rep->n_rows; i++) {
        mxu += !strcmp(rep->rows[i].unit, "mxu");
        conv_host |= !strcmp(rep->rows[i].name, name) && !strcmp(rep->rows[i].unit, "host");
    }
    TEST_CHECK(conv_host, "run --host-ops: '%s' not on the host", name);
    TEST_CHECK(mxu == r.n_chip, "chip nodes: run %d, bench %d", mxu, r.n_chip);
    tpu_chip_report_free(rep);
    tpu_graph_free(g);
    o.host_fallback = 0;
    g = load(ctx, FMNIST, 1, 0, 0);
    rc = tpu_chip_run_model(ctx, g, chip, &o, &rep);
    TEST_CHECK(rc == TPU_ERR_UNSUPPORTED && strstr(tpu_errmsg(ctx), name) &&
               strstr(tpu_errmsg(ctx), "Unified Buffer"), "run without --host-ops: %d %s", rc, tpu_errmsg(ctx));
    tpu_graph_free(g);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

/* compile -o's LAYR: one entry per MXU layer the run has (weights constant). */
static int t_prog_layers(void)
{
    if (access(MOBILENET, R_OK) != 0) TEST_SKIP("%s missing (make models)", MOBILENET);
    int n_mxu = 0;
    if (same_timing(MOBILENET, "tpu-v1", 1, 0, &n_mxu)) return 1;
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    struct tpu_graph *g = load(ctx, MOBILENET, 1, 0, 1);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    uint8_t *blob = NULL;
    size_t len = 0;
    int n = 0;
    TEST_CHECK(tpu_prog_lower_layers(ctx, g, chip, &blob, &len, &n) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(n == n_mxu && n > 0, "LAYR %d programs, the run %d mxu rows", n, n_mxu);
    free(blob);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

/* A depthwise conv: d0 keeps the op (groups, its MACs); the program runs one
** block-diagonal GEMM and counts the op's MACs; the fusion plan is the Relu /
** Clip after it. */
static int t_depthwise_desc(void)
{
    if (access(MOBILENET, R_OK) != 0) TEST_SKIP("%s missing (make models)", MOBILENET);
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *chip = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &chip) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    struct tpu_graph *g = load(ctx, MOBILENET, 1, 0, 1);
    TEST_CHECK(g, "%s", tpu_errmsg(ctx));
    int seen = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        struct tpu_node *n = &g->nodes[i];
        if (n->dead || n->op != TPU_OP_CONV || tpu_attr_int(n, "group", 1) == 1) continue;
        struct tpu_mm_node m;
        struct tpu_mm_node_opts mo = { 1, 1, 0, 0 };
        TEST_CHECK(tpu_mm_lower_node(ctx, g, n, chip, &mo, &m) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
        int64_t op_macs = m.d0.groups * m.d0.M * m.d0.K * m.d0.N;
        TEST_CHECK(m.d0.groups > 1 && m.l.d.groups == 1, "%s: %lld groups lowered as %lld", n->name,
                   (long long)m.d0.groups, (long long)m.l.d.groups);
        TEST_CHECK(tpu_mm_macs(&m.l.d) == op_macs, "%s: %lld MACs, the op has %lld", n->name,
                   (long long)tpu_mm_macs(&m.l.d), (long long)op_macs);
        TEST_CHECK(m.l.d.N == m.d0.groups * m.d0.N && m.l.d.K == m.d0.groups * m.d0.K, "%s: block sizes", n->name);
        TEST_CHECK(!m.fz.f || m.l.d.act == m.fz.act, "%s: fused %s, act %d", n->name, m.fz.f->op_type, m.l.d.act);
        tpu_mm_node_free(&m);
        seen++;
    }
    TEST_CHECK(seen > 5, "%d depthwise convs", seen);
    tpu_graph_free(g);
    tpu_chip_free(chip);
    tpu_free(ctx);
    return 0;
}

static const struct test_case cases[] = {
    { "mm-node-1.1-bench-equals-run-grouped-tpu-v1", t_group_v1 },
    { "mm-node-1.2-bench-equals-run-grouped-tpu-v5e", t_group_v5e },
    { "mm-node-1.3-bench-equals-run-mobilenet-tpu-v1-b2", t_mobile_v1 },
    { "mm-node-1.4-bench-equals-run-mobilenet-tpu-v5e", t_mobile_v5e },
    { "mm-node-1.5-bench-equals-run-ocr-det-convtranspose-tpu-v1", t_ocr_det_v1 },
    { "mm-node-1.6-bench-equals-run-ocr-det-convtranspose-tpu-v5e", t_ocr_det_v5e },
    { "mm-node-2.1-ub-too-small-refused-alike", t_refused_alike },
    { "mm-node-3.1-prog-layers-are-run-mxu-layers", t_prog_layers },
    { "mm-node-4.1-depthwise-block-diagonal-desc", t_depthwise_desc },
};
TEST_MAIN(cases)
