/*
** compile/auto_prec.c: `--precision auto`, per-layer mixed precision chosen
** by calibration (run and compile -o). Accuracy-aware quantisation as
** production toolchains do it: keep the cheap mode where it costs nothing,
** widen the layers the outputs are sensitive to. The modes are the MXU's own
** (the TPU v1 paper: 8b x 16b at half speed, 16b x 16b at quarter speed;
** compile/wide.c) and the bf16 multi-pass products (compile/precision.c).
**
** On the calibration inputs (--calib DIR, --calib-random N, else the run's
** own inputs; at most TPU_AUTO_MAX_SAMPLES sets) the target is the reference
** executor's fp32 outputs (never --data's expected outputs). Trials are chip
** runs (compile/run.c) with a per-node pass count:
**   1. all layers at the base precision; within the margin: done.
**   2. for the cheaper widening P = 3 (16-bit weights / 3 bf16 passes), then
**      the stronger P = 6 if needed: every eligible layer at P. Within the
**      margin: rank the layers by how much widening cuts their own error
**      (nmse of the layer's output against the reference kernel on the same
**      inputs, base run minus widened run: two instrumented runs), then
**      binary-search the shortest ranked prefix that meets the margin; then
**      try its TPU_AUTO_MAX_PRUNE largest layers (MACs) back at the base one
**      by one, keeping each that the margin does without.
**   3. if even every layer at 6 misses: say so, run every layer at 6.
** Margins (inside the run's bounds, compile/verify.c): int8 cosine >= 0.995,
** bf16 rel_l2 <= 5e-3; the worst output and sample counts. Ties in the
** ranking go by node order; everything is deterministic.
** TPUSIM_AUTO_RANK=exact ranks by one trial per layer instead (the metric
** with only that layer widened; for measuring the cheaper ranking).
**
** In:  a model path, the run's bound graph or --data DIR, a chip, options.
** Out: struct tpu_prec_auto (include/tpusim.h): passes per node, summary.
*/
#include "compile/mm_node.h"
#include "tpusim.h"
#include "report/report.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TPU_AUTO_INT8_MIN_COSINE 0.995         /* margin inside cosine >= 0.99  */
#define TPU_AUTO_BF16_MAX_REL_L2 5e-3          /* margin inside rel_l2 <= 1e-2  */
#define TPU_AUTO_MAX_SAMPLES     4             /* calibration input sets used   */
#define TPU_AUTO_MAX_ROWS        2             /* rows of the run's own inputs  */
#define TPU_AUTO_MAX_PRUNE       4             /* widened layers tried back     */

struct sample {
    struct tpu_graph *g;                       /* inputs bound, prepared         */
    double          **ref;                     /* [n_outputs] reference values  */
    int64_t          *numel;
};

struct sel {
    struct tpu_ctx           *ctx;
    const struct tpu_chip    *chip;
    struct tpu_chip_run_opts  to;              /* trial run options             */
    struct tpu_chip_calib     k;               /* trial calibration             */
    struct sample             s[TPU_AUTO_MAX_SAMPLES];
    int                       ns, n, bf16, trials;
    struct sample             sub;             /* own inputs: the first rows    */
    int64_t                   rows, all_rows;  /* sub's rows (0: no sub), all   */
    int                       use_sub;         /* 1: trials run on sub          */
    int                       escalated;       /* 1: sub's choice missed on all rows */
    int                       unprune;         /* 1: it missed, the prefix before
                                                  pruning met on all rows       */
    int                       pruned;          /* layers prune put back          */
    uint8_t                  *elig[2];         /* [n]: widenable to 3, to 6     */
    int64_t                  *macs;            /* [n]: MXU nodes' MACs, else 0  */
    double                   *nmse_a, *nmse_b; /* [n]: instrumented trials      */
    uint8_t                  *cfg;             /* [n]: a trial's passes         */
    uint8_t                  *unpruned;        /* [n]: the prefix before prune  */
};

const char *tpu_prec_mode_name(int bf16, int passes)
{
    if (bf16) return passes == 6 ? "bf16x6" : passes == 3 ? "bf16x3" : "bf16";
    return passes == 6 ? "16x16" : passes == 3 ? "w16" : "int8";
}

static const char *mode_words(int bf16, int passes)
{
    if (bf16) return passes == 6 ? "6 bf16 passes" : "3 bf16 passes";
    return passes == 6 ? "16-bit weights and activations" : "16-bit weights";
}

static int meets(const struct sel *S, double m)
{
    return S->bf16 ? m <= TPU_AUTO_BF16_MAX_REL_L2 : m >= TPU_AUTO_INT8_MIN_COSINE;
}

/*---- Calibration samples ----*/
static void free_sample(struct sample *s, int n_out)
{
    for (int i = 0; s->ref && i < n_out; i++) free(s->ref[i]);
    free(s->ref);
    free(s->numel);
    tpu_graph_free(s->g);
    memset(s, 0, sizeof *s);
}

/* The rows of the run's own inputs a sample takes: TPU_AUTO_MAX_ROWS when
** every input of g (as loaded) has a free batch dim 0 and like more rows;
** else all (0). */
static int64_t own_rows(const struct tpu_graph *g, const struct tpu_graph *like)
{
    int64_t rows = 0;
    for (int i = 0; i < g->n_inputs && i < like->n_inputs; i++) {
        const struct tpu_tensor *t = g->tensors[g->inputs[i]], *l = like->tensors[like->inputs[i]];
        if (t->is_const) continue;
        if (t->n_dims < 1 || t->dims[0] >= 0 || l->n_dims != t->n_dims || !l->data) return 0;
        if (rows && l->dims[0] != rows) return 0;
        rows = l->dims[0];
    }
    return rows > TPU_AUTO_MAX_ROWS ? TPU_AUTO_MAX_ROWS : 0;
}

/* A fresh load of model: inputs from dir, else like's dims with seeded random
** values (random) or like's own values (with first_rows, their first
** TPU_AUTO_MAX_ROWS rows when own_rows allows, else none: out->g stays NULL);
** then the reference outputs. */
static enum tpu_status new_sample(struct sel *S, const char *model, struct tpu_graph *like, const char *dir,
                                  int random, uint64_t seed, int first_rows, struct sample *out)
{
    struct tpu_graph *g = NULL;
    enum tpu_status rc = tpu_load_onnx(S->ctx, model, &g);
    out->g = g;
    int64_t rows = !rc && first_rows ? own_rows(g, like) : 0;
    if (!rc && first_rows && !rows) { tpu_graph_free(g); out->g = NULL; return TPU_STATUS_OK; }
    if (!rc && dir) rc = tpu_graph_load_inputs(S->ctx, g, dir);
    if (!rc && !dir && like)
        for (int i = 0; i < g->n_inputs && i < like->n_inputs; i++) {
            struct tpu_tensor *t = g->tensors[g->inputs[i]], *l = like->tensors[like->inputs[i]];
            if (t->n_dims == l->n_dims) memcpy(t->dims, l->dims, sizeof(int64_t) * (size_t)l->n_dims);
            if (rows && !t->is_const) t->dims[0] = rows;
        }
    if (!rc) { tpu_graph_default_dims(g, 1, NULL, 0); rc = tpu_chip_prepare(S->ctx, g); }
    if (!rc && !dir && random) rc = tpu_graph_fill_random_inputs(S->ctx, g, seed);
    else if (!rc && !dir)
        for (int i = 0; i < g->n_inputs && !rc; i++) {
            struct tpu_tensor v = *like->tensors[like->inputs[i]];      /* a view: the first rows */
            if (rows && !v.is_const) { v.dims[0] = rows; v.owner = TPU_DATA_BORROWED; }
            rc = tpu_graph_set_input(S->ctx, g, i, &v);
        }
    if (!rc && rows) { S->rows = rows; S->all_rows = like->tensors[like->inputs[0]]->dims[0]; }
    if (!rc) rc = tpu_ref_run(S->ctx, g);
    if (!rc) {
        out->ref = tpu_calloc(S->ctx, (size_t)g->n_outputs + 1, sizeof *out->ref);
        out->numel = tpu_calloc(S->ctx, (size_t)g->n_outputs + 1, sizeof *out->numel);
        if (!out->ref || !out->numel) rc = TPU_ERR_NOMEM;
    }
    for (int i = 0; !rc && i < g->n_outputs; i++) {
        const struct tpu_tensor *t = g->tensors[g->outputs[i]];
        out->numel[i] = tpu_tensor_numel(t);
        if (!t->data || out->numel[i] < 0)
            rc = tpu_tensor_err(g, t, TPU_ERR_INTERNAL, "graph output has no reference value");
        else if (!(out->ref[i] = tpu_tensor_to_f64(S->ctx, t, out->numel[i]))) rc = TPU_ERR_NOMEM;
    }
    return rc;
}

/* --calib DIR: its first TPU_AUTO_MAX_SAMPLES sets (tpu_calib_sets: DIR
** itself, or its subfolders with input_0.pb in name order). */
static enum tpu_status samples_from_dir(struct sel *S, const char *model, const char *dir)
{
    char **sets;
    int n;
    enum tpu_status rc = tpu_calib_sets(S->ctx, dir, &sets, &n);
    for (int i = 0; !rc && i < n && S->ns < TPU_AUTO_MAX_SAMPLES; i++)
        rc = new_sample(S, model, NULL, sets[i], 0, 0, 0, &S->s[S->ns++]);
    tpu_calib_sets_free(sets, n);
    return rc;
}

/*---- Trials ----*/
static double worse(int bf16, double a, double b)
{
    if (isnan(a) || isnan(b)) return NAN;
    return bf16 ? fmax(a, b) : fmin(a, b);
}

/* One chip run per sample with passes cfg; *metric: the worst output's
** cosine (int8) / rel_l2 (bf16); nmse (may be NULL): each MXU node's largest
** layer nmse (layer comparison on). */
static enum tpu_status trial(struct sel *S, const uint8_t *cfg, double *nmse, double *metric)
{
    struct tpu_prec_auto t = { 0 };
    t.n_nodes = S->n;
    t.passes = (uint8_t *)cfg;
    S->to.prec_auto = &t;
    double m = S->bf16 ? 0 : 1;
    if (nmse) for (int i = 0; i < S->n; i++) nmse[i] = 0;
    enum tpu_status rc = TPU_STATUS_OK;
    struct sample *set = S->use_sub ? &S->sub : S->s;
    for (int j = 0; j < (S->use_sub ? 1 : S->ns) && !rc; j++) {
        const struct sample *sm = &set[j];
        struct tpu_graph *g = sm->g;
        struct tpu_chip_report *r = NULL;
        rc = tpu_chip_run_model_ex(S->ctx, g, S->chip, &S->to, &S->k, nmse ? 0 : TPU_RUN_NO_LAYER_COMPARE, &r);
        for (int i = 0; !rc && i < g->n_outputs; i++) {
            const struct tpu_tensor *o = g->tensors[g->outputs[i]];
            double *got = o->data && tpu_tensor_numel(o) == sm->numel[i]
                              ? tpu_tensor_to_f64(S->ctx, o, sm->numel[i]) : NULL;
            if (!got) { rc = o->data ? TPU_ERR_NOMEM : tpu_tensor_err(g, o, TPU_ERR_INTERNAL, "no chip value"); break; }
            struct tpu_verify_acc acc = { 0 };
            struct tpu_chip_verify v;
            tpu_verify_acc_add(&acc, got, sm->ref[i], sm->numel[i], 0);
            tpu_verify_acc_finish(&acc, S->bf16, &v);
            m = worse(S->bf16, m, S->bf16 ? v.rel_l2 : v.cosine);
            free(got);
        }
        for (int i = 0; !rc && nmse && i < r->n_rows; i++) {      /* rows carry the node's name */
            const struct tpu_layer_row *w = &r->rows[i];
            if (strcmp(w->unit, "mxu") != 0 || !w->compared) continue;
            for (int k = 0; k < S->n; k++)
                if (S->macs[k] && g->nodes[k].name && strcmp(g->nodes[k].name, w->name) == 0) {
                    nmse[k] = fmax(nmse[k], w->nmse);
                    break;
                }
        }
        tpu_chip_report_free(r);
    }
    S->to.prec_auto = NULL;
    S->trials++;
    *metric = m;
    return rc;
}

/* cfg = base 1, the first len of order[] at P. */
static void prefix_cfg(struct sel *S, const int *order, int len, int P)
{
    memset(S->cfg, 1, (size_t)S->n);
    for (int i = 0; i < len; i++) S->cfg[order[i]] = (uint8_t)P;
}

/* Sorts order[0..E) by key[order[i]], largest first, ties by node index
** (insertion sort: a few hundred layers at most, no global comparator state). */
static void sort_desc(int *order, int E, const double *key)
{
    for (int i = 1; i < E; i++) {
        int x = order[i], j = i;
        while (j > 0 && (key[order[j - 1]] < key[x] || (key[order[j - 1]] == key[x] && order[j - 1] > x))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
}

/* The widened layers of S->cfg (order[0..n)) with the most MACs, at most
** TPU_AUTO_MAX_PRUNE of them, each put back to the base precision for one
** trial and left there when the margin still holds (the ranking is a
** proxy: some of the prefix may not be needed). Ties by node order. */
static enum tpu_status prune(struct sel *S, const int *order, int n, double *best)
{
    int *big = tpu_calloc(S->ctx, (size_t)n + 1, sizeof *big);
    if (!big) return TPU_ERR_NOMEM;
    double *macs = tpu_calloc(S->ctx, (size_t)S->n + 1, sizeof *macs);
    if (!macs) { free(big); return TPU_ERR_NOMEM; }
    for (int k = 0; k < S->n; k++) macs[k] = (double)S->macs[k];
    memcpy(big, order, (size_t)n * sizeof *big);
    sort_desc(big, n, macs);
    free(macs);
    enum tpu_status rc = TPU_STATUS_OK;
    for (int i = 0; i < n && i < TPU_AUTO_MAX_PRUNE && !rc; i++) {
        uint8_t was = S->cfg[big[i]];
        double m;
        S->cfg[big[i]] = 1;
        rc = trial(S, S->cfg, NULL, &m);
        if (!rc && meets(S, m)) { *best = m; S->pruned++; }
        else S->cfg[big[i]] = was;
    }
    free(big);
    return rc;
}

/* Stage P: every eligible layer at P; met: the ranked prefix (S->cfg). */
static enum tpu_status stage(struct sel *S, int P, double base, int *order, int *n_order, int *met, double *best)
{
    const uint8_t *el = S->elig[P == 6];
    int E = 0;
    for (int k = 0; k < S->n; k++) if (el[k]) order[E++] = k;
    *n_order = E;
    *met = 0;
    if (!E) return TPU_STATUS_OK;
    prefix_cfg(S, order, E, P);
    double m_all;
    const char *how = getenv("TPUSIM_AUTO_RANK");
    int exact = how && strcmp(how, "exact") == 0;
    enum tpu_status rc = trial(S, S->cfg, exact ? NULL : S->nmse_b, &m_all);
    *best = m_all;
    if (rc || !meets(S, m_all)) return rc;
    double *benefit = tpu_calloc(S->ctx, (size_t)S->n, sizeof *benefit);
    if (!benefit) return TPU_ERR_NOMEM;
    for (int i = 0; i < E && !rc; i++) {
        int k = order[i];
        if (!exact) { benefit[k] = S->nmse_a[k] - S->nmse_b[k]; continue; }
        double m;
        prefix_cfg(S, &k, 1, P);
        rc = trial(S, S->cfg, NULL, &m);
        benefit[k] = S->bf16 ? base - m : m - base;
        if (isnan(benefit[k])) benefit[k] = -INFINITY;
    }
    if (!rc) sort_desc(order, E, benefit);
    free(benefit);
    int lo = 0, hi = E;                          /* prefix lo misses (the base), hi meets */
    while (!rc && hi - lo > 1) {
        int mid = lo + (hi - lo) / 2;
        double m;
        prefix_cfg(S, order, mid, P);
        rc = trial(S, S->cfg, NULL, &m);
        if (!rc && meets(S, m)) { hi = mid; *best = m; }
        else lo = mid;
    }
    if (rc) return rc;
    prefix_cfg(S, order, hi, P);
    *n_order = hi;
    *met = 1;
    memcpy(S->unpruned, S->cfg, (size_t)S->n);
    return prune(S, order, hi, best);
}

/* Which nodes the MXU takes at 1, 3 and 6 passes, and their MACs. */
static enum tpu_status eligible(struct sel *S, struct tpu_graph *g, struct tpu_prec_auto *a)
{
    for (int k = 0; k < S->n; k++) {
        struct tpu_node *n = &g->nodes[k];
        if (n->dead || !tpu_mm_node_op(n->op)) continue;
        struct tpu_mm_node_opts mo = { 0, 1, S->to.host_fallback, 0 };
        struct tpu_mm_desc d0;
        if (tpu_mm_node_check(S->ctx, g, n, S->chip, &mo, &d0)) { tpu_err_clear(S->ctx); continue; }
        S->macs[k] = tpu_mm_macs(&d0) > 0 ? tpu_mm_macs(&d0) : 1;
        a->n_mxu++;
        if (n->op == TPU_OP_QLINEAR_MATMUL || n->op == TPU_OP_QLINEAR_CONV) continue;   /* the model's own int8 */
        struct tpu_mm_node m;
        const struct tpu_node *f1 = NULL;
        if (!tpu_mm_lower_node(S->ctx, g, n, S->chip, &mo, &m)) f1 = m.fz.f;
        tpu_mm_node_free(&m);
        for (int j = 0; j < 2; j++) {           /* widened, the MXU still takes it and */
            mo.bf16_passes = j ? 6 : 3;          /* (without --host-ops) its activation */
            if (tpu_mm_lower_node(S->ctx, g, n, S->chip, &mo, &m)) tpu_err_clear(S->ctx);
            else S->elig[j][k] = S->to.host_fallback || m.fz.f == f1;
            tpu_mm_node_free(&m);
        }
    }
    return TPU_STATUS_OK;
}

/* The summary fields of a from a->passes (n_widened, share, names). */
static enum tpu_status summarise(struct tpu_ctx *ctx, struct tpu_graph *g, const int64_t *macs, struct tpu_prec_auto *a)
{
    int64_t all = 0, wide = 0;
    size_t len = 1;
    for (int k = 0; k < a->n_nodes; k++) {
        all += macs ? macs[k] : 0;
        if (a->passes[k] <= 1) continue;
        wide += macs ? macs[k] : 0;
        a->n_widened++;
        a->n_high += a->passes[k] == 3;
        a->n_highest += a->passes[k] == 6;
        len += strlen(g->nodes[k].name ? g->nodes[k].name : "") + 1;
    }
    if (macs) a->widened_mac_share = all > 0 ? (double)wide / (double)all : 0;
    free(a->widened);
    if (!(a->widened = tpu_calloc(ctx, len, 1))) return TPU_ERR_NOMEM;
    for (int k = 0; k < a->n_nodes; k++)
        if (a->passes[k] > 1) {
            strcat(a->widened, g->nodes[k].name ? g->nodes[k].name : "");
            strcat(a->widened, "\n");
        }
    return TPU_STATUS_OK;
}

/* The selection on the current samples (S->use_sub: the first rows). */
static enum tpu_status select_core(struct sel *S, struct tpu_prec_auto *a)
{
    int *order = tpu_calloc(S->ctx, (size_t)S->n + 1, sizeof *order);
    if (!order) return TPU_ERR_NOMEM;
    enum tpu_status rc = TPU_STATUS_OK;
    memset(S->cfg, 1, (size_t)S->n);
    if (!rc) rc = trial(S, S->cfg, S->nmse_a, &a->base_metric);
    a->calib_metric = a->base_metric;
    a->met = !rc && meets(S, a->base_metric);
    memset(a->passes, 1, (size_t)S->n);
    for (int P = 3; !rc && !a->met && P <= 6; P += 3) {
        int n_order = 0;
        double best = NAN;
        rc = stage(S, P, a->base_metric, order, &n_order, &a->met, &best);
        if (rc || (!a->met && (P == 3 || !n_order))) continue;
        memcpy(a->passes, S->cfg, (size_t)S->n);  /* met, or every layer at 6 missed: run it so */
        a->calib_metric = best;
    }
    free(order);
    return rc;
}

/* With a sub-sample (the run's own inputs, first rows): select on it, then
** one trial of the choice on all rows; if that misses the margin, one of the
** prefix before pruning (when prune dropped layers); if that misses too,
** select again on all rows. */
static enum tpu_status select_on(struct sel *S, struct tpu_graph *g, struct tpu_prec_auto *a)
{
    enum tpu_status rc = eligible(S, g, a);
    S->use_sub = S->sub.g != NULL;
    if (!rc) rc = select_core(S, a);
    if (!rc && S->use_sub) {
        S->use_sub = 0;
        double m;
        rc = trial(S, a->passes, NULL, &m);
        if (!rc && (meets(S, m) || !a->met)) a->calib_metric = m;
        else if (!rc && S->pruned && memcmp(S->unpruned, a->passes, (size_t)S->n) != 0 &&
                 !(rc = trial(S, S->unpruned, NULL, &m)) && meets(S, m)) {
            memcpy(a->passes, S->unpruned, (size_t)S->n);      /* the pruning fitted the first rows only */
            a->calib_metric = m;
            S->unprune = 1;
        } else if (!rc) { S->escalated = 1; rc = select_core(S, a); }
    }
    if (!rc) rc = summarise(S->ctx, g, S->macs, a);
    a->trials = S->trials;
    return rc;
}

/*---- Entry ----*/
static void describe_source(const struct sel *S, struct tpu_prec_auto *a, const struct tpu_chip_calib *k, int ns,
                            const char *data_dir, int own_data)
{
    char part[96] = "", tail[96] = "";
    if (S->rows) {
        snprintf(part, sizeof part, "the first %lld rows of ", (long long)S->rows);
        snprintf(tail, sizeof tail, ", then all %lld rows (%s)", (long long)S->all_rows,
                 S->escalated ? "the choice missed: selected again on all"
                 : S->unprune ? "the choice before pruning confirmed" : "the choice confirmed");
    }
    if (k && k->dir) snprintf(a->source, sizeof a->source, "%d input set(s) of --calib %s", ns, k->dir);
    else if (k && k->n_random)
        snprintf(a->source, sizeof a->source, "%d seeded random input(s) (--calib-random %d)", ns, k->n_random);
    else if (own_data && data_dir)
        snprintf(a->source, sizeof a->source, "%sthe run's own inputs (--data %s)%s", part, data_dir, tail);
    else snprintf(a->source, sizeof a->source, "%sthe run's own inputs%s", part, tail);
}

enum tpu_status tpu_prec_auto_select(struct tpu_ctx *ctx, const char *model_path, struct tpu_graph *like,
                                     const char *data_dir, const struct tpu_chip *chip,
                                     const struct tpu_chip_run_opts *o, const struct tpu_chip_calib *k,
                                     struct tpu_prec_auto **out)
{
    *out = NULL;
    if (o->timing_only)
        return tpu_err(ctx, TPU_ERR_USAGE, "--precision auto calibrates on values: not with --timing-only");
    struct sel S;
    memset(&S, 0, sizeof S);
    S.ctx = ctx;
    S.chip = chip;
    S.bf16 = tpu_chip_is_bf16(chip);
    S.to = *o;
    S.to.onchip = 0;
    S.to.free_dead = 1;
    S.to.bf16_passes = 1;
    static const struct tpu_chip_calib none = { 0 };
    S.k = k ? *k : none;
    struct tpu_graph *own = NULL;
    enum tpu_status rc = TPU_STATUS_OK;
    int own_data = !like && data_dir;
    if (own_data) {                                 /* run --data DIR --batch N: all of DIR's rows */
        rc = tpu_load_onnx(ctx, model_path, &own);
        if (!rc) rc = tpu_graph_load_inputs(ctx, own, data_dir);
        if (!rc) { tpu_graph_default_dims(own, 1, NULL, 0); rc = tpu_chip_prepare(ctx, own); }
        like = own;
    }
    if (!rc && !like) rc = tpu_err(ctx, TPU_ERR_INTERNAL, "--precision auto: no inputs to calibrate on");
    if (!rc && S.k.dir) rc = samples_from_dir(&S, model_path, S.k.dir);
    else if (!rc && S.k.n_random) {
        uint64_t seed = o->seed + 1 ? o->seed + 1 : 1;   /* the seeds compile/calib.c draws */
        int n = S.k.n_random < TPU_AUTO_MAX_SAMPLES ? S.k.n_random : TPU_AUTO_MAX_SAMPLES;
        for (int i = 0; i < n && !rc; i++)
            rc = new_sample(&S, model_path, like, NULL, 1, seed + (uint64_t)i * 7919u, 0, &S.s[S.ns++]);
    } else if (!rc) {                               /* own inputs: all rows, and the first few */
        S.ns = 1;
        rc = new_sample(&S, model_path, like, NULL, 0, 0, 0, &S.s[0]);
        if (!rc) rc = new_sample(&S, model_path, like, NULL, 0, 0, 1, &S.sub);
    }
    char *saved = NULL;
    size_t saved_len = 0;
    if (!rc && !S.bf16 && !S.k.saved && (S.k.dir || S.k.n_random)) {   /* calibrate once for every trial */
        rc = tpu_calib_saved_text(ctx, S.s[0].g, chip, &S.k, o->seed, &saved, &saved_len);
        if (!rc && saved) { S.k.saved = saved; S.k.saved_len = saved_len; }
    }
    struct tpu_prec_auto *a = rc ? NULL : tpu_calloc(ctx, 1, sizeof *a);
    if (!rc && !a) rc = TPU_ERR_NOMEM;
    if (!rc) {
        S.n = a->n_nodes = S.s[0].g->n_nodes;
        a->bf16 = S.bf16;
        a->passes = tpu_calloc(ctx, (size_t)S.n + 1, 1);
        S.cfg = tpu_calloc(ctx, (size_t)S.n + 1, 1);
        S.unpruned = tpu_calloc(ctx, (size_t)S.n + 1, 1);
        S.elig[0] = tpu_calloc(ctx, (size_t)S.n + 1, 1);
        S.elig[1] = tpu_calloc(ctx, (size_t)S.n + 1, 1);
        S.macs = tpu_calloc(ctx, (size_t)S.n + 1, sizeof *S.macs);
        S.nmse_a = tpu_calloc(ctx, (size_t)S.n + 1, sizeof *S.nmse_a);
        S.nmse_b = tpu_calloc(ctx, (size_t)S.n + 1, sizeof *S.nmse_b);
        if (!a->passes || !S.cfg || !S.unpruned || !S.elig[0] || !S.elig[1] || !S.macs || !S.nmse_a || !S.nmse_b) rc = TPU_ERR_NOMEM;
    }
    if (!rc) rc = select_on(&S, S.s[0].g, a);
    if (!rc) describe_source(&S, a, &S.k, S.ns, data_dir, own_data);
    for (int i = 0; i < S.ns; i++) free_sample(&S.s[i], S.s[i].g ? S.s[i].g->n_outputs : 0);
    free_sample(&S.sub, S.sub.g ? S.sub.g->n_outputs : 0);
    free(saved);
    free(S.cfg); free(S.unpruned); free(S.elig[0]); free(S.elig[1]); free(S.macs); free(S.nmse_a); free(S.nmse_b);
    tpu_graph_free(own);
    if (rc) { tpu_prec_auto_free(a); return rc; }
    *out = a;
    return TPU_STATUS_OK;
}

void tpu_prec_auto_free(struct tpu_prec_auto *a)
{
    if (!a) return;
    free(a->passes);
    free(a->widened);
    free(a);
}

/*---- Report ----*/
static void print_metric(FILE *f, int bf16, double m)
{
    fprintf(f, "%s %.6f", bf16 ? "rel_l2" : "cosine", m);
}

void tpu_prec_auto_print(const struct tpu_prec_auto *a, FILE *f)
{
    double share = 100.0 * a->widened_mac_share;
    fprintf(f, "precision auto: %d of %d MXU layers widened", a->n_widened, a->n_mxu);
    if (a->n_high) fprintf(f, ", %d to %s", a->n_high, mode_words(a->bf16, 3));
    if (a->n_highest) fprintf(f, ", %d to %s", a->n_highest, mode_words(a->bf16, 6));
    fprintf(f, " (%.1f%% of MACs); calibration ", share);
    print_metric(f, a->bf16, a->calib_metric);
    fprintf(f, " (%s alone ", a->bf16 ? "1 bf16 pass" : "int8");
    print_metric(f, a->bf16, a->base_metric);
    fprintf(f, "; margin %s %g)%s, %d trial run%s on %s against the reference executor (fp32)\n",
            a->bf16 ? "<=" : ">=", a->bf16 ? TPU_AUTO_BF16_MAX_REL_L2 : TPU_AUTO_INT8_MIN_COSINE,
            a->met ? "" : ": NOT met even with every layer widened, run widened", a->trials,
            a->trials == 1 ? "" : "s", a->source);
}

static void json_num(FILE *f, double x)
{
    if (isfinite(x)) fprintf(f, "%.9g", x);
    else fprintf(f, "null");
}

void tpu_prec_auto_json(const struct tpu_prec_auto *a, FILE *f)
{
    fprintf(f, "  \"precision\": \"auto\",\n  \"precision_auto\": {\"widened\": [");
    const char *s = a->widened ? a->widened : "";
    for (int i = 0; *s; i++) {
        const char *nl = strchr(s, '\n');
        size_t n = nl ? (size_t)(nl - s) : strlen(s);
        char name[512];
        snprintf(name, sizeof name, "%.*s", (int)(n < sizeof name ? n : sizeof name - 1), s);
        fprintf(f, "%s", i ? ", " : "");
        tpu_json_put_string(f, name);
        s += n + (nl ? 1 : 0);
    }
    fprintf(f, "], \"n_widened\": %d, \"n_high\": %d, \"n_highest\": %d, \"n_mxu\": %d, \"widened_mac_share\": ",
            a->n_widened, a->n_high, a->n_highest, a->n_mxu);
    json_num(f, a->widened_mac_share);
    fprintf(f, ", \"metric\": \"%s\", \"calib_metric\": ", a->bf16 ? "rel_l2" : "cosine");
    json_num(f, a->calib_metric);
    fprintf(f, ", \"base_metric\": ");
    json_num(f, a->base_metric);
    fprintf(f, ", \"margin\": %g, \"met\": %s, \"trials\": %d, \"calibration_inputs\": ",
            a->bf16 ? TPU_AUTO_BF16_MAX_REL_L2 : TPU_AUTO_INT8_MIN_COSINE, a->met ? "true" : "false", a->trials);
    tpu_json_put_string(f, a->source);
    fprintf(f, "},\n");
}

/*---- Program files: the PREC section ----*/
char *tpu_prec_auto_text(const struct tpu_prec_auto *a, size_t *len)
{
    char *s = NULL;
    FILE *f = open_memstream(&s, len);
    if (!f) return NULL;
    fprintf(f, "n_nodes=%d\nn_mxu=%d\ntrials=%d\nmet=%d\nbf16=%d\nbase_metric=%.17g\ncalib_metric=%.17g\n"
               "mac_share=%.17g\nsource=%s\n", a->n_nodes, a->n_mxu, a->trials, a->met, a->bf16, a->base_metric,
            a->calib_metric, a->widened_mac_share, a->source);
    for (int k = 0; k < a->n_nodes; k++)
        if (a->passes[k] > 1) fprintf(f, "node=%d %d\n", k, a->passes[k]);
    if (fclose(f) != 0) { free(s); return NULL; }
    return s;
}

static enum tpu_status parse_line(struct tpu_ctx *ctx, const char *path, char *line, struct tpu_prec_auto *a)
{
    char *eq = strchr(line, '=');
    if (!eq) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: PREC line without '=': '%s'", path, line);
    *eq = 0;
    const char *key = line, *v = eq + 1;
    if (!strcmp(key, "source")) { snprintf(a->source, sizeof a->source, "%s", v); return TPU_STATUS_OK; }
    char *end;
    double x = strtod(v, &end);
    if (end == v) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: PREC %s='%s' is not a number", path, key, v);
    if (!strcmp(key, "node")) {
        long p = strtol(end, &end, 10);
        if (!a->passes || x < 0 || x >= a->n_nodes || (p != 3 && p != 6) || *end)
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: PREC node=%s out of range", path, v);
        a->passes[(int)x] = (uint8_t)p;
        return TPU_STATUS_OK;
    }
    if (*end) return tpu_err(ctx, TPU_ERR_FORMAT, "%s: PREC %s='%s' is not a number", path, key, v);
    if (!strcmp(key, "n_nodes")) {
        if (a->passes || x < 0 || x > (1 << 24))
            return tpu_err(ctx, TPU_ERR_FORMAT, "%s: PREC n_nodes=%s out of range", path, v);
        a->n_nodes = (int)x;
        if (!(a->passes = tpu_calloc(ctx, (size_t)a->n_nodes + 1, 1))) return TPU_ERR_NOMEM;
        memset(a->passes, 1, (size_t)a->n_nodes);
    }
    else if (!strcmp(key, "n_mxu")) a->n_mxu = (int)x;
    else if (!strcmp(key, "trials")) a->trials = (int)x;
    else if (!strcmp(key, "met")) a->met = x != 0;
    else if (!strcmp(key, "bf16")) a->bf16 = x != 0;
    else if (!strcmp(key, "base_metric")) a->base_metric = x;
    else if (!strcmp(key, "calib_metric")) a->calib_metric = x;
    else if (!strcmp(key, "mac_share")) a->widened_mac_share = x;
    else return tpu_err(ctx, TPU_ERR_FORMAT, "%s: PREC key '%s' unknown", path, key);
    return TPU_STATUS_OK;
}

enum tpu_status tpu_prec_auto_parse(struct tpu_ctx *ctx, const char *path, const char *text, size_t len,
                                    struct tpu_prec_auto **out)
{
    *out = NULL;
    struct tpu_prec_auto *a = tpu_calloc(ctx, 1, sizeof *a);
    if (!a) return TPU_ERR_NOMEM;
    enum tpu_status rc = TPU_STATUS_OK;
    size_t at = 0;
    while (at < len && !rc) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        char line[512];
        if (n >= sizeof line) rc = tpu_err(ctx, TPU_ERR_FORMAT, "%s: PREC line too long", path);
        else {
            memcpy(line, text + at, n);
            line[n] = 0;
            rc = parse_line(ctx, path, line, a);
        }
        at += n + 1;
    }
    if (!rc && !a->passes) rc = tpu_err(ctx, TPU_ERR_FORMAT, "%s: PREC section without n_nodes", path);
    if (rc) { tpu_prec_auto_free(a); return rc; }
    *out = a;
    return TPU_STATUS_OK;
}

/* Names and counts of a loaded selection, from the graph it belongs to. */
enum tpu_status tpu_prec_auto_bind(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_prec_auto *a)
{
    if (a->n_nodes != g->n_nodes)
        return tpu_err(ctx, TPU_ERR_FORMAT, "%s: --precision auto's choice is for %d nodes, the model has %d",
                       g->path, a->n_nodes, g->n_nodes);
    a->n_widened = a->n_high = a->n_highest = 0;
    return summarise(ctx, g, NULL, a);
}
