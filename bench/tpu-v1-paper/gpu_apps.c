/*
** bench/tpu-v1-paper/gpu_apps.c: prices the six Table 1 apps (built by
** make_apps.py) with the analytical GPU/CPU model on every non-TPU target, and
** draws the bench charts for them: a preview of what `tpusim bench` will print
** for GPUs, and a user of report/targets.h, gpu_model.h and svg.h.
**
** In:  DIR/<app>.onnx from make_apps.py, data/targets.txt.
** Out: a table on stdout; SVG charts in DIR/charts/.
** Build and run: sh bench/tpu-v1-paper/run_gpu_apps.sh (compiles against build/libtpusim.a).
*/
#include "ir/ir.h"
#include "report/gpu_model.h"
#include "report/svg.h"
#include "report/targets.h"
#include <math.h>
#include <string.h>
#include <sys/stat.h>

static const struct { const char *name; int64_t batch; } apps[] = {     /* Table 1 batches */
    { "mlp0", 200 }, { "mlp1", 168 }, { "lstm0", 64 }, { "lstm1", 96 }, { "cnn0", 8 }, { "cnn1", 32 },
};
#define N_APPS 6
static const char *const gpus[] = { "h100", "h200", "a100", "l4", "k80", "cpu" };
#define N_GPUS 6
static const double batches[] = { 1, 8, 16, 32, 64, 96, 168, 200, 256 };   /* incl. every Table 1 batch */
#define N_BATCHES 9
#define B64 4                                      /* index of batch 64 */

/* Precision per target: bf16 where published, else fp32 (K80, Haswell). */
static enum tpu_precision prec_for(const struct tpu_target *t)
{
    return isfinite(tpu_target_peak(t, TPU_PREC_BF16)) ? TPU_PREC_BF16 : TPU_PREC_FP32;
}

static struct tpu_graph *load_app(struct tpu_ctx *ctx, const char *dir, const char *app)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s.onnx", dir, app);
    struct tpu_graph *g = NULL;
    if (tpu_load_onnx(ctx, path, &g) != TPU_STATUS_OK || tpu_graph_prepare(ctx, g, NULL, 0) != TPU_STATUS_OK) {
        fprintf(stderr, "%s\n", tpu_errmsg(ctx));
        tpu_graph_free(g);
        return NULL;
    }
    return g;
}

static int price(struct tpu_ctx *ctx, const struct tpu_graph *g, const struct tpu_target *t, int64_t graph_batch,
                 int64_t batch, struct tpu_gpu_result *r)
{
    struct tpu_gpu_options o = tpu_gpu_options_default();
    o.precision = prec_for(t), o.batch = batch, o.graph_batch = graph_batch;
    if (tpu_gpu_model_run(ctx, g, t, &o, r) == TPU_STATUS_OK) return 0;
    fprintf(stderr, "%s\n", tpu_errmsg(ctx));
    return -1;
}

/* Roofline of one app's layers (matmul-like nodes) on h100 at its Table 1 batch. */
static void roofline_chart(struct tpu_ctx *ctx, const char *dir, const char *app, const struct tpu_gpu_result *r,
                           const struct tpu_targets *ts)
{
    struct tpu_svg_point *pts = calloc((size_t)r->n_nodes, sizeof *pts);
    int n = 0;
    for (int i = 0; pts && i < r->n_nodes; i++) {
        const struct tpu_gpu_node *nd = &r->nodes[i];
        if (!nd->matmul_like || nd->calibrated) continue;
        pts[n++] = (struct tpu_svg_point){ nd->name, nd->flops / (nd->weight_bytes + nd->act_bytes),
                                           nd->flops / nd->time_s, 0 };
    }
    const struct tpu_target *h = tpu_targets_find(ts, "h100"), *v1 = tpu_targets_find(ts, "tpu-v1");
    struct tpu_svg_roof roofs[] = {
        { "h100 bf16", tpu_target_peak(h, TPU_PREC_BF16), tpu_target_get(h, TPU_TF_MEM_BW_BYTES_PER_S) },
        { "tpu-v1 int8", tpu_target_peak(v1, TPU_PREC_INT8), tpu_target_get(v1, TPU_TF_MEM_BW_BYTES_PER_S) },
    };
    char path[600], title[128];
    snprintf(path, sizeof path, "%s/charts/roofline_%s_h100.svg", dir, app);
    snprintf(title, sizeof title, "%s: layers on h100 at batch %lld (modelled)", app, (long long)r->batch);
    struct tpu_svg_chart c = tpu_svg_chart_default(title, "FLOP per byte", "attained FLOP/s");
    if (pts && tpu_svg_roofline(ctx, path, &c, roofs, 2, pts, n) != TPU_STATUS_OK) fprintf(stderr, "%s\n", tpu_errmsg(ctx));
    free(pts);
}

/* ips[g][b] and usd[g][b] for one app: throughput and cost charts. */
static void app_charts(struct tpu_ctx *ctx, const char *dir, const char *app,
                       double ips[N_GPUS][N_BATCHES], double usd[N_GPUS][N_BATCHES])
{
    struct tpu_svg_series s[N_GPUS], cost[2];
    for (int i = 0; i < N_GPUS; i++) s[i] = (struct tpu_svg_series){ gpus[i], N_BATCHES, batches, ips[i], NULL };
    char path[600], title[128];
    snprintf(path, sizeof path, "%s/charts/throughput_%s.svg", dir, app);
    snprintf(title, sizeof title, "%s: throughput against batch (GPUs modelled)", app);
    struct tpu_svg_chart c = tpu_svg_chart_default(title, "batch", "inferences/s");
    c.x_log = c.y_log = c.x_ticks_at_data = true;
    if (tpu_svg_line_chart(ctx, path, &c, s, N_GPUS) != TPU_STATUS_OK) fprintf(stderr, "%s\n", tpu_errmsg(ctx));
    static double b1[N_GPUS], b64[N_GPUS];
    for (int i = 0; i < N_GPUS; i++) b1[i] = usd[i][0], b64[i] = usd[i][B64];
    cost[0] = (struct tpu_svg_series){ "batch 1", N_GPUS, NULL, b1, NULL };
    cost[1] = (struct tpu_svg_series){ "batch 64", N_GPUS, NULL, b64, NULL };
    snprintf(path, sizeof path, "%s/charts/cost_%s.svg", dir, app);
    snprintf(title, sizeof title, "%s: USD per million inferences (modelled)", app);
    struct tpu_svg_chart cb = tpu_svg_chart_default(title, "target", "USD per 1M inferences");
    cb.y_log = true;
    if (tpu_svg_bar_chart(ctx, path, &cb, gpus, N_GPUS, cost, 2) != TPU_STATUS_OK) fprintf(stderr, "%s\n", tpu_errmsg(ctx));
}

static void run_app(struct tpu_ctx *ctx, const char *dir, int a, const struct tpu_targets *ts)
{
    struct tpu_graph *g = load_app(ctx, dir, apps[a].name);
    if (!g) return;
    double ips[N_GPUS][N_BATCHES], usd[N_GPUS][N_BATCHES];
    for (int i = 0; i < N_GPUS; i++) {
        const struct tpu_target *t = tpu_targets_find(ts, gpus[i]);
        for (int b = 0; b < N_BATCHES; b++) {
            struct tpu_gpu_result r;
            ips[i][b] = usd[i][b] = NAN;
            if (!t || price(ctx, g, t, apps[a].batch, (int64_t)batches[b], &r)) continue;
            struct tpu_run_metrics m;
            tpu_run_metrics(t, (int64_t)batches[b], r.time_s, &m);
            ips[i][b] = m.inf_per_s, usd[i][b] = m.usd_per_million;
            int n_mem = 0;
            for (int k = 0; k < r.n_nodes; k++) n_mem += r.nodes[k].memory_bound && !r.nodes[k].free_view;
            printf("%-6s %-5s %-4s %5d %10.3f %12.0f %10.3g %10.3g %5d/%-3d %s\n", apps[a].name, gpus[i],
                   tpu_precision_name(r.precision), (int)batches[b], r.time_s * 1e3, m.inf_per_s,
                   m.energy_per_inf_j, m.usd_per_million, n_mem, r.n_kernels,
                   r.n_calibrated ? "calibrated" : "modelled");
            if (i == 0 && batches[b] == 64) roofline_chart(ctx, dir, apps[a].name, &r, ts);
            tpu_gpu_result_free(&r);
        }
    }
    app_charts(ctx, dir, apps[a].name, ips, usd);
    tpu_graph_free(g);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "build/tpu-v1-paper";
    const char *targets = argc > 2 ? argv[2] : "data/targets.txt";
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_targets *ts = NULL;
    if (tpu_targets_load(ctx, targets, &ts) != TPU_STATUS_OK) {
        fprintf(stderr, "%s\n", tpu_errmsg(ctx));
        return 2;
    }
    char charts[600];
    snprintf(charts, sizeof charts, "%s/charts", dir);
    mkdir(charts, 0777);
    printf("%-6s %-5s %-4s %5s %10s %12s %10s %10s %9s %s\n", "app", "target", "prec", "batch", "ms/batch",
           "inf/s", "J/inf", "USD/1M", "mem-bound", "source");
    for (int a = 0; a < N_APPS; a++) run_app(ctx, dir, a, ts);
    tpu_targets_free(ts);
    tpu_free(ctx);
    return 0;
}
