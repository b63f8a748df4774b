/*
** compile/verify.c: what a chip run is checked against, and the batch it runs
** at. tpu_chip_bind_batch fixes dim 0 of every graph input before the graph
** is prepared; tpu_chip_verify compares the chip's graph outputs with the
** expected ones (DIR/output_N.pb of --data, or else the reference executor
** re-run on the same inputs) by max abs error, relative L2, cosine and top-1
** agreement, and applies the documented bound of the chip's precision:
** int8 cosine >= 0.99, bf16 relative L2 <= 1e-2 (docs/compiler.md); a
** uint8/int8 output (a quantised model's) must match exactly.
**
** In:  a graph after tpu_chip_run_model (outputs hold the chip's values).
** Out: r->verify[], r->verify_failed; TPU_ERR_MISMATCH outside the bound.
*/
#include "compile/compile.h"
#include <math.h>
#include <string.h>
#include <unistd.h>

/*---- --batch ----*/
enum tpu_status tpu_chip_bind_batch(struct tpu_ctx *ctx, struct tpu_graph *g, int64_t batch)
{
    if (batch < 1 || batch > 65536)
        return tpu_err(ctx, TPU_ERR_USAGE, "--batch %lld: expected 1 to 65536", (long long)batch);
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *t = g->tensors[g->inputs[i]];
        if (t->is_const) continue;
        if (t->n_dims < 1)
            return tpu_tensor_err(g, t, TPU_ERR_SHAPE, "--batch %lld: the input has no batch "
                                  "dimension (rank %d)", (long long)batch, t->n_dims);
        if (t->data && t->dims[0] != batch)
            return tpu_tensor_err(g, t, TPU_ERR_SHAPE, "--batch %lld: the input's values (--data) "
                                  "have batch %lld", (long long)batch, (long long)t->dims[0]);
        if (t->dims[0] >= 0 && t->dims[0] != batch)
            return tpu_tensor_err(g, t, TPU_ERR_SHAPE, "--batch %lld: the input's batch dimension "
                                  "is fixed at %lld; export the model with a dynamic batch axis "
                                  "(torch.onnx.export(..., dynamic_axes={'%s': {0: 'batch'}})) or "
                                  "run with --batch %lld", (long long)batch, (long long)t->dims[0],
                                  t->name, (long long)t->dims[0]);
        t->dims[0] = batch;
    }
    return TPU_STATUS_OK;
}

/* tpu_graph_prepare, with what to do when the model has ops tpusim lacks. */
enum tpu_status tpu_chip_prepare(struct tpu_ctx *ctx, struct tpu_graph *g)
{
    enum tpu_status rc = tpu_graph_prepare(ctx, g, NULL, 0);
    if (rc != TPU_ERR_UNSUPPORTED) return rc;
    char msg[1700];
    snprintf(msg, sizeof msg, "%s", tpu_errmsg(ctx));
    tpu_err_clear(ctx);
    return tpu_err(ctx, rc, "%s\n(no chip lowering and no host kernel: replace the op with standard "
                   "ONNX ops or re-export the model; `tpusim check MODEL --chip NAME` lists every node)", msg);
}

/*---- Metrics ----*/
/* Values of a tensor as doubles (tpu_malloc'd), or NULL. */
double *tpu_tensor_to_f64(struct tpu_ctx *ctx, const struct tpu_tensor *t, int64_t n)
{
    double *v = tpu_malloc(ctx, (size_t)(n > 0 ? n : 1) * sizeof *v);
    for (int64_t i = 0; v && i < n; i++) v[i] = tpu_get_f64(t->data, t->dtype, (size_t)i);
    return v;
}

static int64_t argmax_row(const double *v, int64_t n)
{
    int64_t best = 0;
    for (int64_t i = 1; i < n; i++) if (v[i] > v[best]) best = i;
    return best;
}

/* Rows for top-1: a classifier output [.., C] with C > 1 and rank >= 2. */
int64_t tpu_verify_classes(const struct tpu_tensor *t)
{
    /* [N, C] or [N, T, C] (class scores, per step); rank 4 and up are maps
    ** (a detector's [N, 1, H, W]), where an argmax over the last axis means nothing */
    if (t->n_dims < 2 || t->n_dims > 3 || t->dims[t->n_dims - 1] < 2) return 0;
    return t->dims[t->n_dims - 1];
}

void tpu_verify_acc_add(struct tpu_verify_acc *a, const double *got, const double *exp, int64_t n,
                        int64_t classes)
{
    for (int64_t i = 0; i < n; i++) {
        double d = got[i] - exp[i];
        if (d != d) d = INFINITY;
        a->mx = fmax(a->mx, fabs(d));
        a->d2 += d * d; a->e2 += exp[i] * exp[i]; a->g2 += got[i] * got[i]; a->ge += got[i] * exp[i];
    }
    a->numel += n;
    a->classes = classes;
    int64_t rows = classes ? n / classes : 0;
    for (int64_t r = 0; r < rows; r++)
        a->same += argmax_row(got + r * classes, classes) == argmax_row(exp + r * classes, classes);
    a->rows += rows;
}

static void apply_bound(int bf16, struct tpu_chip_verify *v);

void tpu_verify_acc_finish(const struct tpu_verify_acc *a, int bf16, struct tpu_chip_verify *v)
{
    v->numel = a->numel;
    v->max_abs_error = a->mx;
    v->rel_l2 = a->e2 > 0 ? sqrt(a->d2 / a->e2) : sqrt(a->d2);
    v->cosine = a->e2 > 0 && a->g2 > 0 ? a->ge / (sqrt(a->e2) * sqrt(a->g2)) : (a->e2 == a->g2 ? 1.0 : 0.0);
    if (!isfinite(v->rel_l2)) v->cosine = 0;
    v->top1_rows = a->rows;
    v->top1_agreement = a->rows ? (double)a->same / (double)a->rows : 0;
    apply_bound(bf16, v);
}

static void metrics(const double *got, const double *exp, int64_t n, int64_t classes, int bf16,
                    struct tpu_chip_verify *v)
{
    struct tpu_verify_acc a = { 0 };
    tpu_verify_acc_add(&a, got, exp, n, classes);
    tpu_verify_acc_finish(&a, bf16, v);
}

static void apply_bound(int bf16, struct tpu_chip_verify *v)
{
    if (bf16) {
        v->bound = "rel_l2 <= 0.01";
        v->within = v->rel_l2 <= TPU_VERIFY_BF16_MAX_REL_L2;
    } else {
        v->bound = "cosine >= 0.99";
        v->within = v->cosine >= TPU_VERIFY_INT8_MIN_COSINE;
    }
}

/*---- Expected values ----*/
static int has_expected(const char *dir)
{
    char path[4096];
    if (!dir) return 0;
    snprintf(path, sizeof path, "%s/output_0.pb", dir);
    return access(path, F_OK) == 0;
}

/* Expected values of output i: DIR/output_i.pb, or the graph's (after a reference run). */
static enum tpu_status expected(struct tpu_ctx *ctx, struct tpu_graph *g, const char *dir, int i,
                                int64_t numel, double **out)
{
    const struct tpu_tensor *t = g->tensors[g->outputs[i]];
    if (!dir) { *out = tpu_tensor_to_f64(ctx, t, numel); return *out ? TPU_STATUS_OK : TPU_ERR_NOMEM; }
    char path[4096];
    snprintf(path, sizeof path, "%s/output_%d.pb", dir, i);
    struct tpu_tensor *e = tpu_tensor_load_pb(ctx, path);
    if (!e) return ctx->status ? ctx->status : tpu_err(ctx, TPU_ERR_FORMAT, "%s: cannot load", path);
    enum tpu_status rc = TPU_STATUS_OK;
    if (tpu_tensor_numel(e) != numel)
        rc = tpu_err(ctx, TPU_ERR_SHAPE, "%s: %lld values, the chip's output '%s' has %lld", path,
                     (long long)tpu_tensor_numel(e), t->name, (long long)numel);
    else if (!(*out = tpu_tensor_to_f64(ctx, e, numel))) rc = TPU_ERR_NOMEM;
    tpu_tensor_free(e);
    return rc;
}

/* The chip's outputs, copied before the reference run overwrites them. */
static enum tpu_status snapshot(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_chip_report *r,
                                double **got)
{
    for (int i = 0; i < g->n_outputs; i++) {
        const struct tpu_tensor *t = g->tensors[g->outputs[i]];
        struct tpu_chip_verify *v = &r->verify[i];
        snprintf(v->name, sizeof v->name, "%s", t->name ? t->name : "?");
        v->numel = tpu_tensor_numel(t);
        if (!t->data || v->numel < 0)
            return tpu_tensor_err(g, t, TPU_ERR_INTERNAL, "graph output has no value after the chip run");
        if (!(got[i] = tpu_tensor_to_f64(ctx, t, v->numel))) return TPU_ERR_NOMEM;
        v->top1_rows = tpu_verify_classes(t);           /* classes, for now */
    }
    return TPU_STATUS_OK;
}

static enum tpu_status compare_all(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_chip_report *r,
                                   const char *dir, double **got)
{
    enum tpu_status rc = TPU_STATUS_OK;
    for (int i = 0; i < g->n_outputs && !rc; i++) {
        struct tpu_chip_verify *v = &r->verify[i];
        double *exp = NULL;
        rc = expected(ctx, g, dir, i, v->numel, &exp);
        if (!rc) metrics(got[i], exp, v->numel, v->top1_rows, r->bf16, v);
        enum tpu_dtype dt = g->tensors[g->outputs[i]]->dtype;
        if (!rc && (dt == TPU_DTYPE_U8 || dt == TPU_DTYPE_I8)) {    /* quantised output: bytes */
            v->bound = "exact (uint8/int8 output)";
            v->within = v->max_abs_error == 0;
        }
        free(exp);
        if (!rc && !v->within) r->verify_failed = 1;
    }
    return rc;
}

enum tpu_status tpu_chip_verify(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_chip_report *r,
                                const char *data_dir)
{
    if (r->timing_only) return TPU_STATUS_OK;
    const char *dir = has_expected(data_dir) ? data_dir : NULL;
    free(r->verify);
    r->n_verify = 0;
    r->verify = tpu_calloc(ctx, (size_t)(g->n_outputs > 0 ? g->n_outputs : 1), sizeof *r->verify);
    double **got = tpu_calloc(ctx, (size_t)(g->n_outputs > 0 ? g->n_outputs : 1), sizeof *got);
    enum tpu_status rc = r->verify && got ? snapshot(ctx, g, r, got) : TPU_ERR_NOMEM;
    snprintf(r->verify_against, sizeof r->verify_against, "%s",
             dir ? "expected outputs (--data)" : "reference executor (fp32)");
    if (!rc && !dir) rc = tpu_ref_run(ctx, g);
    if (!rc) rc = compare_all(ctx, g, r, dir, got);
    if (!rc) r->n_verify = g->n_outputs;
    for (int i = 0; got && i < g->n_outputs; i++) free(got[i]);
    free(got);
    if (rc) return rc;
    if (r->verify_failed)
        return tpu_err(ctx, TPU_ERR_MISMATCH, "%s: the chip's outputs are outside the %s bound "
                       "(%s) against the %s", g->path, r->bf16 ? "bf16" : "int8",
                       r->verify[0].bound, r->verify_against);
    return TPU_STATUS_OK;
}
