/*
** report/bench.c: the `tpusim bench` sweep — for each batch, the model is
** loaded with that batch, the host CPU pass (bench_host.c) times every node
** with the reference kernels (the `cpu` target's latency and the host-op time
** of the TPU targets), each TPU target is simulated timing-only node by node
** (tpu_bench_sim_graph), each GPU target is priced by the roofline model
** (gpu_model.c). bench_out.c prints and writes the result.
**
** In:  struct tpu_bench_opts (report/bench.h).
** Out: struct tpu_bench. Wall-clock time enters only the rows marked
**      "measured" (the cpu target and the host-op part of TPU rows).
*/
#include "report/bench_impl.h"
#include "compile/mm_node.h"
#include "compile/lower_vec.h"
#include "compile/ub_plan.h"
#include "ir/passes.h"
#include "tpusim.h"
#include <math.h>
#include <string.h>



/*---- Loading the model at one batch ----*/
/* Binds dim 0 of every non-constant graph input to batch. */
static enum tpu_status set_batch(struct tpu_graph *g, int64_t batch)
{
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *t = g->tensors[g->inputs[i]];
        if (t->is_const || t->n_dims < 1) continue;
        if (t->dims[0] < 0) t->dims[0] = batch;
        else if (t->dims[0] != batch)
            return tpu_tensor_err(g, t, TPU_ERR_USAGE, "the model's batch is fixed at %lld; batch %lld "
                                  "needs a model whose dim 0 is symbolic (export with a dynamic batch axis)",
                                  (long long)t->dims[0], (long long)batch);
        for (int d = 1; d < t->n_dims; d++) if (t->dims[d] < 0) t->dims[d] = 1;
    }
    return TPU_STATUS_OK;
}

static enum tpu_status load_at(struct sweep *s, int64_t batch, int prepare, struct tpu_graph **out)
{
    struct tpu_graph *g = NULL;
    enum tpu_status rc = tpu_load_onnx(s->ctx, s->o->model, &g);
    if (!rc) rc = set_batch(g, batch);
    if (!rc && prepare) rc = tpu_graph_prepare(s->ctx, g, NULL, 0);
    if (rc) { tpu_graph_free(g); g = NULL; }
    *out = g;
    return rc;
}

/*---- Rows ----*/
struct tpu_bench_row *tpu_bench_new_row(struct sweep *s, int ti, int64_t batch, const char *source)
{
    struct tpu_bench *b = s->b;
    struct tpu_bench_row *r = &b->rows[b->n_rows++];
    memset(r, 0, sizeof *r);
    snprintf(r->target, sizeof r->target, "%s", b->t[ti]->name);
    r->kind = b->t[ti]->kind;
    r->batch = batch;
    r->source = source;
    r->util = NAN;
    return r;
}

void tpu_bench_finish_row(struct sweep *s, int ti, struct tpu_bench_row *r)
{
    r->latency_s = r->device_s + r->host_s;
    if (r->latency_s <= 0) r->latency_s = 1e-12;       /* an empty model: keep the metrics finite */
    tpu_run_metrics(s->b->t[ti], r->batch, r->latency_s, &r->m);
}

static void add_point(struct sweep *s, int ti, const char *label, double ops, double bytes, double sec)
{
    struct tpu_bench *b = s->b;
    if (b->n_points == b->cap_points) {
        int cap = b->cap_points ? 2 * b->cap_points : 64;
        struct tpu_bench_point *n = tpu_realloc(s->ctx, b->points, (size_t)cap * sizeof *n);
        if (!n) { tpu_err_clear(s->ctx); return; }              /* chart only: drop the point */
        b->points = n;
        b->cap_points = cap;
    }
    struct tpu_bench_point *p = &b->points[b->n_points++];
    snprintf(p->label, sizeof p->label, "%s", label);
    p->roof = ti, p->ops = ops, p->bytes = bytes, p->seconds = sec;
}

/* Bytes a node moves at a precision: every input and output once. */
static double node_bytes(const struct tpu_graph *g, const struct tpu_node *n, enum tpu_precision p)
{
    double e = (double)tpu_precision_bytes(p), sum = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const struct tpu_tensor *t = n->inputs[i] >= 0 ? g->tensors[n->inputs[i]] : NULL;
        if (t && tpu_tensor_numel(t) > 0) sum += (double)tpu_tensor_numel(t) * e;
    }
    for (int o = 0; o < n->n_outputs; o++) {
        const struct tpu_tensor *t = n->outputs[o] >= 0 ? g->tensors[n->outputs[o]] : NULL;
        if (t && tpu_tensor_numel(t) > 0) sum += (double)tpu_tensor_numel(t) * e;
    }
    return sum;
}

/*---- TPU targets ----*/
/* Simulates every live node of the prepared g timing-only on s: the matrix
** ops the lowering accepts on the MXU, every other node on the host CPU for
** node_s[k] seconds (NULL: 0). layer(), when given, sees each node with its
** descriptor (NULL for host nodes) and its simulated cycles. */
enum tpu_status tpu_bench_sim_graph(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                    struct tpu_sim *s, const double *node_s, unsigned flags,
                                    struct tpu_bench_sim *out, tpu_bench_layer_fn layer, void *user)
{
    return tpu_bench_sim_graph_auto(ctx, g, chip, s, node_s, flags, NULL, out, layer, user);
}

enum tpu_status tpu_bench_sim_graph_auto(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                         struct tpu_sim *s, const double *node_s, unsigned flags,
                                         const struct tpu_prec_auto *pa, struct tpu_bench_sim *out,
                                         tpu_bench_layer_fn layer, void *user)
{
    memset(out, 0, sizeof *out);
    const struct tpu_prep *p = tpu_graph_prep(g);
    enum tpu_status rc = TPU_STATUS_OK;
    uint8_t *res = NULL;                         /* TPU_RESIDENT_* per node */
    if (flags & (TPU_BENCH_RESIDENT | TPU_BENCH_ALL_RESIDENT)) {
        struct tpu_ub_plan plan = { 0 };
        res = tpu_calloc(ctx, (size_t)(g->n_nodes ? g->n_nodes : 1), 1);
        rc = !res ? TPU_ERR_NOMEM : flags & TPU_BENCH_ALL_RESIDENT ? TPU_STATUS_OK
                                                                   : tpu_ub_residency(g, chip, res, &plan);
        if (res && (flags & TPU_BENCH_ALL_RESIDENT)) memset(res, TPU_RESIDENT_BOTH, (size_t)g->n_nodes);
        out->ub_need_bytes = plan.peak_bytes;
        out->ub_fits = !rc && (plan.fits || (flags & TPU_BENCH_ALL_RESIDENT));
    }
    int passes = (int)(flags >> 8 & 0xff);
    struct tpu_mm_node_opts mo = { 0, passes > 1 ? passes : 1, 0, 0 };   /* as run --timing-only */
    for (int k = 0; p && !rc && k < p->n_live; k++) {
        struct tpu_node *n = &g->nodes[k];
        struct tpu_mm_node m = { 0 };
        int on_chip = 0;
        if (tpu_mm_node_op(n->op)) {                 /* compile/mm_node.c: the lowering run uses */
            mo.resident = res ? res[k] : 0;
            mo.bf16_passes = tpu_prec_node_passes(pa, k, passes);   /* --precision auto: the node's */
            rc = tpu_mm_lower_node(ctx, g, n, chip, &mo, &m);
            on_chip = !rc;
            if (rc == TPU_ERR_UNSUPPORTED) { rc = TPU_STATUS_OK; tpu_err_clear(ctx); }   /* host op */
        }
        int64_t t0 = s->end;
        if (!rc && on_chip) {
            rc = tpu_sim_run(s, m.l.prog, NULL, m.l.host_bytes);
            out->macs += tpu_mm_macs(&m.l.d);
            out->n_chip++;
        } else if (!rc && tpu_vec_fused_act(g, n, chip, 1)) {
            /* run inside the MXU node before it (as compile/run.c): no time of its own */
        } else if (!rc && chip->vector_unit && tpu_vec_takes(g, n, chip)) {
            rc = tpu_vec_sim_timing(ctx, g, n, chip, s, res ? res[k] : 0);   /* as compile/run.c */
            out->n_chip++;
        } else if (!rc) {
            out->host_s += node_s ? node_s[k] : 0;
            out->n_host++;
        }
        if (!rc && layer) layer(user, g, n, on_chip ? &m.l.d : NULL, t0, s->end);
        tpu_mm_node_free(&m);
    }
    free(res);
    out->cycles = s->end;
    return rc;
}

struct point_ctx { struct sweep *s; int ti; double hz; };

static void layer_point(void *user, const struct tpu_graph *g, const struct tpu_node *n,
                        const struct tpu_mm_desc *d, int64_t t0, int64_t t1)
{
    struct point_ctx *pc = user;
    if (d && t1 > t0)
        add_point(pc->s, pc->ti, n->name, 2.0 * (double)tpu_mm_macs(d),
                  node_bytes(g, n, pc->s->b->prec[pc->ti]), (double)(t1 - t0) / pc->hz);
}

static enum tpu_status run_tpu(struct sweep *s, int ti, int64_t batch, const struct host_times *h,
                               struct tpu_graph *g, int last_batch)
{
    const struct tpu_chip *c = s->chip[ti];
    struct tpu_sim *sim = tpu_sim_new(s->ctx, c, 1);
    if (!sim) return s->ctx->status ? s->ctx->status : TPU_ERR_NOMEM;
    struct tpu_bench_sim r;
    struct point_ctx pc = { s, ti, c->clock_mhz * 1e6 };
    enum tpu_status rc = tpu_bench_sim_graph(s->ctx, g, c, sim, h->node_s, (s->o->resident ? TPU_BENCH_RESIDENT : 0) | TPU_BENCH_PASSES(s->b->passes), &r, last_batch ? layer_point : NULL, &pc);
    struct tpu_sim_energy e;
    if (!rc) tpu_sim_energy(c, &sim->ctr, &e);
    tpu_sim_free(sim);
    if (rc) return rc;
    struct tpu_bench_row *row = tpu_bench_new_row(s, ti, batch, "simulated");
    row->device_s = (double)r.cycles / pc.hz;
    row->host_s = r.host_s;
    row->n_host_ops = r.n_host;
    row->ub_need_bytes = s->o->resident && !r.ub_fits ? r.ub_need_bytes : 0;
    row->ops = 2.0 * (double)r.macs;
    double slots = (double)r.cycles * (double)(c->array_rows * c->array_cols * c->mxu_count);
    row->util = slots > 0 ? (double)r.macs / slots : 0;
    tpu_bench_finish_row(s, ti, row);
    /* Energy: the simulator's (events + static power) plus the host ops at the
    ** cpu target's busy power. */
    const struct tpu_target *cpu = tpu_targets_find(s->b->ts, "cpu");
    double host_w = cpu ? tpu_target_get(cpu, TPU_TF_BUSY_W) : NAN;
    double j = e.total_j + (r.host_s > 0 ? r.host_s * host_w : 0);
    row->m.energy_per_inf_j = j / (double)batch;
    row->m.inf_per_j = j > 0 ? (double)batch / j : NAN;
    return TPU_STATUS_OK;
}

/* One functional run: values through the chip, each MXU layer against ref/.
** A model the functional path cannot run (a matrix op the lowering rejects)
** is recorded with the reason, not an error: the timing sweep still stands. */
static enum tpu_status verify_tpu(struct sweep *s, int ti, int64_t batch)
{
    struct tpu_graph *g = NULL;
    struct tpu_chip_report *r = NULL;
    struct tpu_chip_run_opts co = { .seed = 1, .host_fallback = 1, .bf16_passes = s->b->passes };   /* values, host ops, --precision */
    enum tpu_status rc = load_at(s, batch, 0, &g);      /* tpu_chip_run_model prepares it */
    if (!rc) rc = tpu_graph_fill_random_inputs(s->ctx, g, 1);
    if (!rc) rc = tpu_chip_run_model(s->ctx, g, s->chip[ti], &co, &r);
    tpu_graph_free(g);
    struct tpu_bench_verify *v = &s->b->verify[s->b->n_verify++];
    snprintf(v->target, sizeof v->target, "%s", s->b->t[ti]->name);
    v->batch = batch;
    if (rc == TPU_ERR_UNSUPPORTED || rc == TPU_ERR_SHAPE) {
        snprintf(v->note, sizeof v->note, "not run: %s", tpu_errmsg(s->ctx));
        tpu_err_clear(s->ctx);
        return TPU_STATUS_OK;
    }
    if (rc) return rc;
    for (int i = 0; i < r->n_rows; i++)
        if (r->rows[i].compared) {
            v->n_compared++;
            v->max_nmse = fmax(v->max_nmse, r->rows[i].nmse);
        }
    tpu_chip_report_free(r);
    return TPU_STATUS_OK;
}

/*---- GPU and CPU targets ----*/
static enum tpu_status run_gpu(struct sweep *s, int ti, int64_t batch, const struct tpu_graph *g, int last_batch)
{
    struct tpu_gpu_options go = tpu_gpu_options_default();
    go.precision = s->b->prec[ti], go.batch = batch, go.graph_batch = batch;
    go.model_name = s->model_name, go.calib = s->calib;
    struct tpu_gpu_result r;
    enum tpu_status rc = tpu_gpu_model_run(s->ctx, g, s->b->t[ti], &go, &r);
    if (rc) return rc;
    struct tpu_bench_row *row = tpu_bench_new_row(s, ti, batch, r.n_calibrated ? "calibrated" : "modelled");
    s->b->calibrated_nodes += r.n_calibrated;
    row->device_s = r.time_s;
    double macs = 0;
    for (int i = 0; i < r.n_nodes; i++) macs += r.nodes[i].macs;
    row->ops = 2.0 * macs;
    double peak = tpu_target_peak(s->b->t[ti], s->b->prec[ti]);
    row->util = r.time_s > 0 && isfinite(peak) ? row->ops / r.time_s / peak : NAN;
    tpu_bench_finish_row(s, ti, row);
    for (int i = 0; last_batch && i < r.n_nodes; i++) {
        const struct tpu_gpu_node *n = &r.nodes[i];
        if (n->matmul_like && n->time_s > 0)
            add_point(s, ti, n->name, n->flops, n->weight_bytes + n->act_bytes, n->time_s);
    }
    tpu_gpu_result_free(&r);
    return TPU_STATUS_OK;
}

static double graph_macs(const struct tpu_graph *g)
{
    double m = 0;
    const struct tpu_prep *p = tpu_graph_prep(g);
    for (int k = 0; p && k < p->n_live; k++) m += (double)tpu_gpu_node_macs(g, &g->nodes[k]);
    return m;
}

/*---- The sweep ----*/
static enum tpu_status one_batch(struct sweep *s, int bi)
{
    struct tpu_bench *b = s->b;
    int64_t batch = b->batches[bi];
    int last = bi == b->n_batches - 1, need_host = 0, measure = 0, ort = 0;
    for (int i = 0; i < b->n_targets; i++) {
        ort |= b->t[i] == &b->ort;
        need_host |= b->t[i]->kind == TPU_TARGET_TPU;
        measure |= (b->t[i]->kind == TPU_TARGET_CPU && b->t[i] != &b->ort) ||
                   (b->t[i]->kind == TPU_TARGET_TPU && !s->o->host_model);
    }
    struct tpu_graph *g = NULL;
    struct host_times h = { 0, NULL, 0 };
    double t0 = tpu_bench_now_s();
    enum tpu_status rc = load_at(s, batch, 1, &g);
    if (!rc && measure) rc = tpu_bench_host_pass(s, g, &h);
    else if (!rc && ort) rc = tpu_graph_fill_random_inputs(s->ctx, g, 1);
    if (!rc && !measure && need_host) {
        h.n_nodes = tpu_graph_prep(g)->n_live;
        h.node_s = tpu_calloc(s->ctx, (size_t)h.n_nodes + 1, sizeof *h.node_s);
        if (!h.node_s) rc = TPU_ERR_NOMEM;
    }
    if (!rc && need_host && s->o->host_model) rc = tpu_bench_model_host(s, g, batch, &h);
    if (rc) { tpu_graph_free(g); free(h.node_s); return rc; }
    double macs = graph_macs(g);
    for (int i = 0; i < b->n_targets && !rc; i++) {
        if (s->o->progress)
            fprintf(stderr, "tpusim bench: batch %lld, %s (%.1f s)\n", (long long)batch, b->t[i]->name,
                    tpu_bench_now_s() - t0);
        if (b->t[i]->kind == TPU_TARGET_TPU) rc = run_tpu(s, i, batch, &h, g, last);
        else if (b->t[i]->kind == TPU_TARGET_GPU) rc = run_gpu(s, i, batch, g, last);
        else if (b->t[i] == &b->ort) rc = tpu_bench_run_ort(s, i, batch, g, macs);
        else tpu_bench_run_cpu(s, i, batch, &h, macs);
        if (!rc && bi == 0 && b->t[i]->kind == TPU_TARGET_TPU && !s->o->no_verify) {
            if (s->o->progress) fprintf(stderr, "tpusim bench: functional check on %s\n", b->t[i]->name);
            rc = verify_tpu(s, i, batch);
        }
    }
    tpu_graph_free(g);
    free(h.node_s);
    return rc;
}

static enum tpu_status resolve_targets(struct sweep *s)
{
    struct tpu_bench *b = s->b;
    for (int i = 0; i < s->o->n_targets; i++) {
        const struct tpu_target *t = tpu_targets_find(b->ts, s->o->targets[i]);
        if (!t && !strcmp(s->o->targets[i], "ort") && (t = tpu_targets_find(b->ts, "cpu"))) {
            b->ort = *t;
            snprintf(b->ort.name, sizeof b->ort.name, "ort");
            snprintf(b->ort.desc, sizeof b->ort.desc, "ONNX Runtime CPU, this machine (price and power of [cpu])");
            t = &b->ort;
        }
        if (!t) return tpu_err(s->ctx, TPU_ERR_USAGE, "unknown target '%s' (see %s)", s->o->targets[i], b->ts->path);
        b->t[b->n_targets] = t;
        enum tpu_precision p = TPU_PREC_FP32;
        if (t->kind == TPU_TARGET_TPU) {
            enum tpu_status rc = tpu_chip_load(s->ctx, t->name, &s->chip[b->n_targets]);
            if (rc) return rc;
            p = s->chip[b->n_targets]->mxu_dtype == TPU_MXU_BF16 ? TPU_PREC_BF16 : TPU_PREC_INT8;
        } else if (t->kind == TPU_TARGET_GPU && isfinite(tpu_target_peak(t, TPU_PREC_BF16))) {
            p = TPU_PREC_BF16;
        }
        b->prec[b->n_targets++] = p;
    }
    return TPU_STATUS_OK;
}

static void set_model_name(struct sweep *s)
{
    const char *base = strrchr(s->o->model, '/');
    base = base ? base + 1 : s->o->model;
    snprintf(s->model_name, sizeof s->model_name, "%s", base);
    char *dot = strstr(s->model_name, ".onnx");
    if (dot) *dot = 0;
    snprintf(s->b->model, sizeof s->b->model, "%s", s->o->model);
}

enum tpu_status tpu_bench_run(struct tpu_ctx *ctx, const struct tpu_bench_opts *o, struct tpu_bench **out)
{
    *out = NULL;
    if (o->n_targets < 1 || o->n_batches < 1 || o->n_targets > TPU_BENCH_MAX_TARGETS ||
        o->n_batches > TPU_BENCH_MAX_BATCHES)
        return tpu_err(ctx, TPU_ERR_USAGE, "bench needs 1 to %d targets and 1 to %d batches",
                       TPU_BENCH_MAX_TARGETS, TPU_BENCH_MAX_BATCHES);
    struct sweep s = { ctx, o, tpu_calloc(ctx, 1, sizeof *s.b), { 0 }, NULL, "" };
    if (!s.b) return TPU_ERR_NOMEM;
    struct tpu_bench *b = s.b;
    memcpy(b->batches, o->batches, sizeof b->batches);
    b->n_batches = o->n_batches;
    b->slo_s = o->slo_s;
    b->host_model = o->host_model;
    b->resident = o->resident;
    b->passes = o->passes > 1 ? o->passes : 1;
    set_model_name(&s);
    enum tpu_status rc = tpu_targets_load(ctx, o->targets_path ? o->targets_path : "data/targets.txt", &b->ts);
    for (int i = 0; !rc && i < o->n_overrides; i++) rc = tpu_targets_override(ctx, b->ts, o->overrides[i]);
    if (!rc && o->calib_path) rc = tpu_calib_load(ctx, o->calib_path, &s.calib);
    if (!rc) rc = resolve_targets(&s);
    for (int bi = 0; !rc && bi < b->n_batches; bi++) rc = one_batch(&s, bi);
    for (int i = 0; i < TPU_BENCH_MAX_TARGETS; i++) tpu_chip_free(s.chip[i]);
    tpu_calib_free(s.calib);
    if (rc) { tpu_bench_free(b); return rc; }
    *out = b;
    return TPU_STATUS_OK;
}

void tpu_bench_free(struct tpu_bench *b)
{
    if (!b) return;
    tpu_targets_free(b->ts);
    free(b->points);
    free(b);
}

int tpu_bench_row(const struct tpu_bench *b, int target, int batch)
{
    for (int i = 0; i < b->n_rows; i++)
        if (!strcmp(b->rows[i].target, b->t[target]->name) && b->rows[i].batch == b->batches[batch]) return i;
    return -1;
}

static double metric_value(const struct tpu_bench_row *r, int metric)
{
    switch (metric) {
    case 0: return r->m.latency_per_inf_s;
    case 1: return -r->m.inf_per_s;
    case 2: return r->m.energy_per_inf_j;
    default: return r->m.usd_per_million;
    }
}

int tpu_bench_winner(const struct tpu_bench *b, int metric)
{
    int best = -1;
    for (int i = 0; i < b->n_rows; i++) {
        double v = metric_value(&b->rows[i], metric);
        if (isfinite(v) && (best < 0 || v < metric_value(&b->rows[best], metric))) best = i;
    }
    return best;
}
