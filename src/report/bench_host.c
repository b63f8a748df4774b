/*
** report/bench_host.c: the host CPU side of `tpusim bench` — every node's
** reference kernel timed on this machine (the `cpu` target, and the host ops of
** the TPU targets), or the host ops priced by the `cpu` roofline
** (--host-model), and ONNX Runtime as the `ort` target (bench/ort_run.js).
**
** In:  a prepared graph at one batch (report/bench.c).
** Out: per-node host seconds; the cpu and ort rows. Wall-clock time is read
**      here only, and only for rows marked "measured".
*/
#include "report/bench_impl.h"
#include "ir/passes.h"
#include "tpusim.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

double tpu_bench_now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}


/*---- The host CPU pass: every node timed with its reference kernel ----*/

static enum tpu_status run_timed_node(struct tpu_graph *g, struct tpu_node *n, double *dt)
{
    enum tpu_status rc = tpu_op_shape_fn(n->op)(g, n);
    for (int o = 0; o < n->n_outputs && !rc; o++) {
        struct tpu_tensor *t = tpu_out(g, n, o);
        if (t) rc = tpu_tensor_alloc(g->ctx, t);
    }
    double t0 = tpu_bench_now_s();
    if (!rc) rc = tpu_op_ref_fn(n->op)(g, n);
    *dt = tpu_bench_now_s() - t0;
    if (rc && !*tpu_errmsg(g->ctx)) tpu_node_err(g, n, rc, "reference kernel failed");
    return rc;
}

static int releasable(const struct tpu_tensor *t) { return !t->is_const && !t->is_input && !t->is_output; }

enum tpu_status tpu_bench_host_pass(struct sweep *s, struct tpu_graph *g, struct host_times *h)
{
    const struct tpu_prep *p = tpu_graph_prep(g);
    h->node_s = tpu_calloc(s->ctx, (size_t)p->n_live + 1, sizeof *h->node_s);
    h->n_nodes = p->n_live;
    enum tpu_status rc = h->node_s ? tpu_graph_fill_random_inputs(s->ctx, g, 1) : TPU_ERR_NOMEM;
    int *last = rc ? NULL : tpu_malloc(s->ctx, ((size_t)g->n_tensors + 1) * sizeof *last);
    if (!rc && !last) rc = TPU_ERR_NOMEM;
    for (int t = 0; !rc && t < g->n_tensors; t++) last[t] = -1;
    for (int k = 0; !rc && k < p->n_live; k++)
        for (int i = 0; i < g->nodes[k].n_inputs; i++)
            if (g->nodes[k].inputs[i] >= 0) last[g->nodes[k].inputs[i]] = k;
    for (int k = 0; !rc && k < p->n_live; k++) {
        struct tpu_node *n = &g->nodes[k];
        double dt = 0;
        if (n->op == TPU_OP_UNKNOWN) rc = tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "op not supported by tpusim");
        else rc = run_timed_node(g, n, &dt);
        h->total_s += dt;
        h->node_s[k] = dt;
        if (s->o->node_times)
            fprintf(stderr, "tpusim bench: node %-40.40s %-12s %10.3f ms\n", n->name, n->op_type, dt * 1e3);
        for (int i = 0; !rc && i < n->n_inputs; i++) {
            int t = n->inputs[i];
            if (t >= 0 && last[t] == k && releasable(g->tensors[t])) tpu_tensor_drop_data(g->tensors[t]);
        }
    }
    free(last);
    return rc;
}


/* host_model: node_s[k] from the roofline model of the `cpu` target (fp32). */
enum tpu_status tpu_bench_model_host(struct sweep *s, const struct tpu_graph *g, int64_t batch, struct host_times *h)
{
    const struct tpu_target *cpu = tpu_targets_find(s->b->ts, "cpu");
    if (!cpu) return tpu_err(s->ctx, TPU_ERR_USAGE, "%s: no [cpu] target to price host ops with", s->b->ts->path);
    struct tpu_gpu_options go = tpu_gpu_options_default();
    go.precision = TPU_PREC_FP32, go.batch = batch, go.graph_batch = batch;
    struct tpu_gpu_result r;
    enum tpu_status rc = tpu_gpu_model_run(s->ctx, g, cpu, &go, &r);
    if (rc) return rc;
    for (int i = 0; i < r.n_nodes; i++)
        if (r.nodes[i].node_index >= 0 && r.nodes[i].node_index < h->n_nodes) h->node_s[r.nodes[i].node_index] = r.nodes[i].time_s;
    tpu_gpu_result_free(&r);
    return TPU_STATUS_OK;
}


void tpu_bench_run_cpu(struct sweep *s, int ti, int64_t batch, const struct host_times *h, double macs)
{
    struct tpu_bench_row *row = tpu_bench_new_row(s, ti, batch, "measured");
    row->device_s = h->total_s;
    row->ops = 2.0 * macs;
    tpu_bench_finish_row(s, ti, row);
}

/* ONNX Runtime on this machine: the graph's (seeded) inputs go to a temp
** folder, bench/ort_run.js runs the model there (best of 3 after a warm-up). */
static double ort_best_ms(const char *json)
{
    FILE *f = fopen(json, "r");
    char buf[4096] = "";
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = 0;
    const char *p = strstr(buf, "\"ort_ms_best\":");
    return p ? strtod(p + strlen("\"ort_ms_best\":"), NULL) : NAN;
}

enum tpu_status tpu_bench_run_ort(struct sweep *s, int ti, int64_t batch, struct tpu_graph *g, double macs)
{
    char dir[] = "/tmp/tpusim-bench-XXXXXX", path[4300], cmd[9000];
    if (strchr(s->o->model, '\''))
        return tpu_err(s->ctx, TPU_ERR_USAGE, "ort: model path must not contain a quote");
    if (!mkdtemp(dir)) return tpu_err(s->ctx, TPU_ERR_IO, "ort: cannot create a temp folder");
    enum tpu_status rc = TPU_STATUS_OK;
    int n_in = tpu_graph_n_inputs(g);
    for (int i = 0; i < n_in && !rc; i++) {
        snprintf(path, sizeof path, "%s/input_%d.pb", dir, i);
        rc = tpu_tensor_save_pb(s->ctx, path, tpu_graph_input(g, i));
    }
    double ms = NAN;
    if (!rc) {
        snprintf(cmd, sizeof cmd, "node bench/ort_run.js '%s' %s --repeat 3 --json %s/ort.json >%s/ort.log 2>&1",
                 s->o->model, dir, dir, dir);
        int st = system(cmd);
        snprintf(path, sizeof path, "%s/ort.json", dir);
        ms = st == 0 ? ort_best_ms(path) : NAN;
        if (!(ms > 0))
            rc = tpu_err(s->ctx, TPU_ERR_UNSUPPORTED, "ort: ONNX Runtime did not run the model (is node installed, "
                         "and onnxruntime-node by `sh tools/npm_install.sh build`? see bench/ort_run.js)");
    }
    for (int i = 0; i < n_in; i++) { snprintf(path, sizeof path, "%s/input_%d.pb", dir, i); remove(path); }
    snprintf(path, sizeof path, "%s/ort.json", dir); remove(path);
    snprintf(path, sizeof path, "%s/ort.log", dir); remove(path);
    rmdir(dir);
    if (rc) return rc;
    struct tpu_bench_row *row = tpu_bench_new_row(s, ti, batch, "measured");
    row->device_s = ms * 1e-3;
    row->ops = 2.0 * macs;
    tpu_bench_finish_row(s, ti, row);
    return TPU_STATUS_OK;
}

