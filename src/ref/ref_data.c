/*
** ref/ref_data.c: data sets in the ONNX backend-test layout around a run —
** DIR/input_N.pb fed in graph-input order, DIR/output_N.pb compared with the
** graph outputs (|got - exp| <= atol + rtol*|exp|, NaN equal to NaN; integer
** and bool outputs must be exact), graph outputs written back as output_N.pb.
**
** In:  a graph (ir/) and a directory; tensors read/written by onnx/
**      (tpu_tensor_load_pb, tpu_tensor_save_pb).
** Out: bound inputs, struct tpu_output_cmp per output, .pb files.
** Used by cli/main.c (`run --data/--outputs`) and report/conformance.c.
*/
#include "ref/ref.h"
#include <math.h>
#include <string.h>
#include <unistd.h>

static void data_path(char *buf, size_t n, const char *dir, const char *what, int i)
{
    snprintf(buf, n, "%s/%s_%d.pb", dir, what, i);
}

/* Re-records the context's error prefixed with the file it is about. */
static enum tpu_status blame_file(struct tpu_ctx *ctx, enum tpu_status rc, const char *path)
{
    char msg[1800];
    snprintf(msg, sizeof msg, "%s", tpu_errmsg(ctx));
    tpu_err_clear(ctx);
    return tpu_err(ctx, rc, "%s: %s", path, msg);
}

/* ONNX's backend-test data stores bfloat16 tensors as uint16 (numpy has no
** bfloat16); the bits are bfloat16 values, so they are taken as such. */
static void bf16_quirk(struct tpu_tensor *t, enum tpu_dtype want)
{
    if (t->dtype == TPU_DTYPE_U16 && want == TPU_DTYPE_BF16) t->dtype = TPU_DTYPE_BF16;
}

enum tpu_status tpu_graph_load_inputs(struct tpu_ctx *ctx, struct tpu_graph *g, const char *dir)
{
    char path[4096];
    tpu_err_clear(ctx);
    for (int i = 0; i < g->n_inputs; i++) {
        data_path(path, sizeof path, dir, "input", i);
        if (access(path, R_OK) != 0)
            return tpu_err(ctx, TPU_ERR_IO, "%s: cannot read it; the model has %d inputs (input '%s' is #%d)",
                           path, g->n_inputs, g->tensors[g->inputs[i]]->name, i);
        struct tpu_tensor *t = tpu_tensor_load_pb(ctx, path);
        if (!t) return ctx->status ? ctx->status : tpu_err(ctx, TPU_ERR_FORMAT, "%s: cannot load", path);
        bf16_quirk(t, g->tensors[g->inputs[i]]->dtype);
        enum tpu_status rc = tpu_graph_set_input(ctx, g, i, t);
        tpu_tensor_free(t);
        if (rc) return blame_file(ctx, rc, path);
    }
    data_path(path, sizeof path, dir, "input", g->n_inputs);
    if (access(path, F_OK) == 0)
        return tpu_err(ctx, TPU_ERR_SHAPE, "%s: the model has only %d inputs", path, g->n_inputs);
    return TPU_STATUS_OK;
}

/*---- Comparison ----*/
struct acc { double sum_d2, sum_e2, worst_ratio; };

static void compare_one(const struct tpu_tensor *got, const struct tpu_tensor *exp,
                        struct tpu_output_cmp *c)
{
    bool exact = !tpu_dtype_is_float(exp->dtype);
    struct acc a = { 0, 0, -1 };
    for (int64_t k = 0; k < c->numel; k++) {
        double x = tpu_get_f64(got->data, got->dtype, (size_t)k);
        double e = tpu_get_f64(exp->data, exp->dtype, (size_t)k);
        bool ok = exact ? tpu_get_i64(got->data, got->dtype, (size_t)k) == tpu_get_i64(exp->data, exp->dtype, (size_t)k)
                        : tpu_ref_close(x, e, TPU_CMP_RTOL, TPU_CMP_ATOL);
        double d = ok && (x != x || x == e) ? 0 : fabs(x - e);
        if (d != d) d = INFINITY;
        if (d > c->max_abs_err) c->max_abs_err = d;
        if (isfinite(d)) a.sum_d2 += d * d;
        if (isfinite(e)) a.sum_e2 += e * e;
        double ratio = isfinite(d) ? d / (TPU_CMP_ATOL + TPU_CMP_RTOL * fabs(e)) : INFINITY;
        if (!ok) c->n_bad++;
        if (ratio > a.worst_ratio) {
            a.worst_ratio = ratio;
            c->worst_index = k;
            c->worst_got = x;
            c->worst_expected = e;
        }
    }
    c->rel_l2 = a.sum_e2 > 0 ? sqrt(a.sum_d2 / a.sum_e2) : sqrt(a.sum_d2);
}

static bool same_shape(const struct tpu_tensor *a, const struct tpu_tensor *b)
{
    if (a->n_dims != b->n_dims) return false;
    for (int d = 0; d < a->n_dims; d++) if (a->dims[d] != b->dims[d]) return false;
    return true;
}

/* Compares output i with its file; appends a line to msg when it differs. */
static enum tpu_status compare_output(struct tpu_ctx *ctx, struct tpu_graph *g, int i, const char *path,
                                      struct tpu_output_cmp *c, char *msg, size_t n_msg)
{
    struct tpu_tensor *got = g->tensors[g->outputs[i]];
    struct tpu_tensor *exp = tpu_tensor_load_pb(ctx, path);
    char s1[160], s2[160];
    size_t len = strlen(msg);
    if (!exp) return ctx->status ? ctx->status : tpu_err(ctx, TPU_ERR_FORMAT, "%s: cannot load", path);
    bf16_quirk(exp, got->dtype);
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", got->name);
    c->numel = tpu_tensor_numel(exp);
    enum tpu_status rc = TPU_STATUS_OK;
    if (!got->data || got->dtype != exp->dtype || !same_shape(got, exp)) {
        snprintf(msg + len, n_msg - len, "%soutput '%s' is %s %s, %.900s has %s %s", len ? "\n" : "", got->name,
                 tpu_dtype_name(got->dtype), tpu_shape_str(got, s1, sizeof s1), path,
                 tpu_dtype_name(exp->dtype), tpu_shape_str(exp, s2, sizeof s2));
        c->n_bad = c->numel > 0 ? c->numel : 1;
        c->max_abs_err = c->rel_l2 = INFINITY;
        rc = TPU_ERR_MISMATCH;
    } else {
        compare_one(got, exp, c);
        if (c->n_bad) {
            snprintf(msg + len, n_msg - len,
                     "%soutput '%s' (%.900s): %lld of %lld elements differ; worst at index %lld: got %.9g, expected %.9g",
                     len ? "\n" : "", got->name, path, (long long)c->n_bad, (long long)c->numel,
                     (long long)c->worst_index, c->worst_got, c->worst_expected);
            rc = TPU_ERR_MISMATCH;
        }
    }
    tpu_tensor_free(exp);
    return rc;
}

enum tpu_status tpu_graph_compare_outputs(struct tpu_ctx *ctx, struct tpu_graph *g, const char *dir,
                                          struct tpu_output_cmp *cmp, int max_cmp, int *n_cmp)
{
    char path[4096], msg[1800] = "";
    enum tpu_status worst = TPU_STATUS_OK;
    tpu_err_clear(ctx);
    *n_cmp = 0;
    for (int i = 0; i < g->n_outputs && i < max_cmp; i++) {
        data_path(path, sizeof path, dir, "output", i);
        if (access(path, R_OK) != 0)
            return tpu_err(ctx, TPU_ERR_IO, "%s: cannot read it; the model has %d outputs", path, g->n_outputs);
        enum tpu_status rc = compare_output(ctx, g, i, path, &cmp[i], msg, sizeof msg);
        if (rc && rc != TPU_ERR_MISMATCH) return rc;
        if (rc) worst = rc;
        (*n_cmp)++;
    }
    if (worst) return tpu_err(ctx, worst, "%s", msg);
    return TPU_STATUS_OK;
}

/*---- Writing outputs ----*/
/* Each file is whole or absent: tpu_tensor_save_pb writes a temp and renames. */
enum tpu_status tpu_graph_save_outputs(struct tpu_ctx *ctx, struct tpu_graph *g, const char *dir)
{
    char path[4096];
    tpu_err_clear(ctx);
    for (int i = 0; i < g->n_outputs; i++) {
        struct tpu_tensor *t = g->tensors[g->outputs[i]];
        if (!t->data) return tpu_tensor_err(g, t, TPU_ERR_USAGE, "graph output has no value to write");
        data_path(path, sizeof path, dir, "output", i);
        enum tpu_status rc = tpu_tensor_save_pb(ctx, path, t);   /* temp file + rename */
        if (rc) return rc;
    }
    return TPU_STATUS_OK;
}
