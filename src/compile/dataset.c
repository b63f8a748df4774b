/*
** compile/dataset.c: a data set larger than one batch through the chip —
** `run MODEL --chip C --data DIR --batch N`. DIR/input_N.pb hold D rows
** (dim 0); each chunk of N rows (the last may be shorter) is a load of the
** model (the first chunk's is the one that learnt the inputs) bound to that
** batch, run on the chip (compile/run.c), and checked against the matching
** rows of DIR/output_N.pb or else the reference executor on the same rows. Layer rows and counters add up over the chunks; the
** verification sums too (compile/verify.c), so the metrics are over all D rows
** (the per-layer reference comparison is skipped: the outputs are verified).
**
** In:  a model path, a chip, DIR, N. Out: one struct tpu_chip_report for all
**      D rows; the chip's outputs, concatenated, in --outputs DIR.
*/
#include "compile/compile.h"
#include "ref/ref.h"
#include <string.h>
#include <unistd.h>

struct dataset {
    struct tpu_ctx             *ctx;
    const char                 *model, *dir;
    const struct tpu_chip      *chip;
    int                         n_in, n_out;
    struct tpu_tensor          *in[16], *exp[16];   /* whole data set; exp NULL: reference */
    int64_t                     rows;               /* D                              */
    float                      *out[16];            /* [D x per-row] chip outputs      */
    int64_t                     out_row[16];        /* values per row of each output   */
    struct tpu_tensor           out_shape[16];      /* first chunk's output, dims[0] = D */
    char                        out_name[16][128];
    struct tpu_verify_acc       acc[16];
    struct tpu_chip_report     *total;
};

static int64_t row_values(const struct tpu_tensor *t)
{
    int64_t n = 1;
    for (int i = 1; i < t->n_dims; i++) n *= t->dims[i];
    return n;
}

/* A view of rows [r0, r0 + n) of t (values borrowed). */
static struct tpu_tensor slice(const struct tpu_tensor *t, int64_t r0, int64_t n)
{
    struct tpu_tensor s = *t;
    s.dims[0] = n;
    s.data = (uint8_t *)t->data + (size_t)(r0 * row_values(t)) * tpu_dtype_size(t->dtype);
    s.owner = TPU_DATA_BORROWED;
    return s;
}

static enum tpu_status load_file(struct dataset *s, const char *what, int i, struct tpu_tensor **out)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s_%d.pb", s->dir, what, i);
    *out = tpu_tensor_load_pb(s->ctx, p);
    if (!*out) return s->ctx->status ? s->ctx->status : tpu_err(s->ctx, TPU_ERR_FORMAT, "%s: cannot load", p);
    if ((*out)->n_dims < 1 || (*out)->dims[0] != s->rows)
        return tpu_err(s->ctx, TPU_ERR_SHAPE, "%s: dim 0 is %lld, input_0.pb has %lld rows (a data set "
                       "for --batch is split along dim 0)", p, (long long)((*out)->n_dims >= 1 ? (*out)->dims[0] : 0),
                       (long long)s->rows);
    return TPU_STATUS_OK;
}

static enum tpu_status load_data(struct dataset *s, const struct tpu_graph *g)
{
    char p[4200];
    s->n_in = g->n_inputs;
    s->n_out = g->n_outputs;
    if (s->n_in > 16 || s->n_out > 16)
        return tpu_err(s->ctx, TPU_ERR_UNSUPPORTED, "%s: --data with --batch takes up to 16 inputs and outputs", s->model);
    snprintf(p, sizeof p, "%s/input_0.pb", s->dir);
    struct tpu_tensor *t0 = tpu_tensor_load_pb(s->ctx, p);
    if (!t0) return s->ctx->status ? s->ctx->status : tpu_err(s->ctx, TPU_ERR_FORMAT, "%s: cannot load", p);
    s->rows = t0->n_dims >= 1 ? t0->dims[0] : 0;
    if (s->rows < 1 || s->n_in < 1) tpu_tensor_free(t0);
    else s->in[0] = t0;                                 /* read once */
    if (s->rows < 1) return tpu_err(s->ctx, TPU_ERR_SHAPE, "%s: no batch dimension to split", p);
    enum tpu_status rc = TPU_STATUS_OK;
    for (int i = 1; i < s->n_in && !rc; i++) rc = load_file(s, "input", i, &s->in[i]);
    snprintf(p, sizeof p, "%s/output_0.pb", s->dir);
    for (int i = 0; i < s->n_out && !rc && access(p, F_OK) == 0; i++) rc = load_file(s, "output", i, &s->exp[i]);
    return rc;
}

/*---- One chunk ----*/
static enum tpu_status bind_chunk(struct dataset *s, struct tpu_graph *g, int64_t r0, int64_t n)
{
    enum tpu_status rc = tpu_chip_bind_batch(s->ctx, g, n);
    for (int i = 0; i < s->n_in && !rc; i++) {
        struct tpu_tensor v = slice(s->in[i], r0, n);
        rc = tpu_graph_view_input(s->ctx, g, i, &v);           /* s->in outlives g */
    }
    return rc ? rc : tpu_chip_prepare(s->ctx, g);
}

/* Keeps the chip's rows of output i (float32) and returns them as doubles. */
static enum tpu_status keep_output(struct dataset *s, struct tpu_graph *g, int i, int64_t r0, int64_t n,
                                   double **got)
{
    const struct tpu_tensor *t = g->tensors[g->outputs[i]];
    if (t->n_dims < 1 || t->dims[0] != n || !t->data)
        return tpu_tensor_err(g, t, TPU_ERR_UNSUPPORTED, "graph output is not batch-major (dim 0 = %lld "
                              "rows); run the data set without --batch", (long long)(t->n_dims >= 1 ? t->dims[0] : -1));
    if (!s->out[i]) {
        s->out_row[i] = row_values(t);
        s->out_shape[i] = *t;
        s->out_shape[i].dims[0] = s->rows;
        s->out_shape[i].dtype = TPU_DTYPE_F32;
        snprintf(s->out_name[i], sizeof s->out_name[i], "%s", t->name ? t->name : "");
        s->out_shape[i].name = s->out_name[i];         /* the graph's arena goes with the chunk */
        memset(s->out_shape[i].dim_param, 0, sizeof s->out_shape[i].dim_param);
        s->out_shape[i].data = NULL;
        s->out[i] = tpu_malloc(s->ctx, (size_t)(s->rows * s->out_row[i]) * sizeof(float));
        if (!s->out[i]) return TPU_ERR_NOMEM;
    }
    if (row_values(t) != s->out_row[i])
        return tpu_tensor_err(g, t, TPU_ERR_SHAPE, "graph output changes shape between chunks");
    *got = tpu_tensor_to_f64(s->ctx, t, n * s->out_row[i]);
    if (!*got) return TPU_ERR_NOMEM;
    for (int64_t k = 0; k < n * s->out_row[i]; k++) s->out[i][r0 * s->out_row[i] + k] = (float)(*got)[k];
    return TPU_STATUS_OK;
}

static enum tpu_status check_chunk(struct dataset *s, struct tpu_graph *g, int64_t r0, int64_t n)
{
    double *got[16] = { 0 };
    enum tpu_status rc = TPU_STATUS_OK;
    for (int i = 0; i < s->n_out && !rc; i++) rc = keep_output(s, g, i, r0, n, &got[i]);
    if (!rc && !s->exp[0]) rc = tpu_ref_run(s->ctx, g);
    for (int i = 0; i < s->n_out && !rc; i++) {
        struct tpu_tensor e = s->exp[i] ? slice(s->exp[i], r0, n) : *g->tensors[g->outputs[i]];
        double *ev = tpu_tensor_to_f64(s->ctx, &e, n * s->out_row[i]);
        if (!ev) { rc = TPU_ERR_NOMEM; break; }
        tpu_verify_acc_add(&s->acc[i], got[i], ev, n * s->out_row[i], tpu_verify_classes(g->tensors[g->outputs[i]]));
        free(ev);
    }
    for (int i = 0; i < s->n_out; i++) free(got[i]);
    return rc;
}

/* Adds part's layers and counters to the total (part is freed). */
static enum tpu_status merge(struct dataset *s, struct tpu_chip_report *part)
{
    struct tpu_chip_report *t = s->total;
    if (!t) { s->total = part; return TPU_STATUS_OK; }
    /* A shorter last chunk may be lowered into a different number of rows (a
    ** layer whose host input/output rows split or merge): rows are matched by
    ** name, op and unit in order; a row the total lacks is inserted after
    ** the last matched one. */
    int at = 0;
    for (int j = 0; j < part->n_rows; j++) {
        const struct tpu_layer_row *b = &part->rows[j];
        int i = at;
        while (i < t->n_rows && (strcmp(t->rows[i].name, b->name) != 0 || strcmp(t->rows[i].op, b->op) != 0 ||
                                 strcmp(t->rows[i].unit, b->unit) != 0)) i++;
        if (i == t->n_rows) {
            if (t->n_rows == t->cap_rows) {
                int cap = t->cap_rows ? 2 * t->cap_rows : 16;
                struct tpu_layer_row *nr = tpu_realloc(s->ctx, t->rows, (size_t)cap * sizeof *nr);
                if (!nr) { tpu_chip_report_free(part); return TPU_ERR_NOMEM; }
                t->rows = nr;
                t->cap_rows = cap;
            }
            memmove(&t->rows[at + 1], &t->rows[at], (size_t)(t->n_rows - at) * sizeof *t->rows);
            t->rows[at++] = *b;                      /* after the last matched row */
            t->n_rows++;
            continue;
        }
        at = i + 1;
        struct tpu_layer_row *a = &t->rows[i];
        a->cycles += b->cycles; a->macs += b->macs;
        a->active_cycles += b->active_cycles; a->stall_cycles += b->stall_cycles; a->shift_cycles += b->shift_cycles;
        if (b->compared && b->nmse > a->nmse) { a->nmse = b->nmse; a->max_abs_err = b->max_abs_err; }
    }
    int64_t *x = (int64_t *)&t->ctr;
    const int64_t *y = (const int64_t *)&part->ctr;
    for (size_t k = 0; k < sizeof t->ctr / sizeof(int64_t); k++) x[k] += y[k];
    t->cycles += part->cycles;
    t->device_cycles += part->device_cycles;
    t->macs += part->macs;
    tpu_chip_report_free(part);
    return TPU_STATUS_OK;
}

/* One chunk on g (freed here), or on a fresh load of the model when g is NULL. */
static enum tpu_status run_chunk(struct dataset *s, const struct tpu_chip_run_opts *o,
                                 const struct tpu_chip_calib *k, int64_t r0, int64_t n, struct tpu_graph *g)
{
    struct tpu_chip_report *r = NULL;
    enum tpu_status rc = g ? TPU_STATUS_OK : tpu_load_onnx(s->ctx, s->model, &g);
    if (!rc) rc = bind_chunk(s, g, r0, n);
    struct tpu_chip_run_opts co = *o;
    co.onchip = o->onchip && r0 == 0;                  /* the first batch's: merge keeps its report */
    if (!rc) rc = tpu_chip_run_model_ex(s->ctx, g, s->chip, &co, k, TPU_RUN_NO_LAYER_COMPARE, &r);
    if (!rc) rc = check_chunk(s, g, r0, n);
    if (!rc) rc = merge(s, r);
    else tpu_chip_report_free(r);
    tpu_graph_free(g);
    return rc;
}

/*---- The whole set ----*/
static enum tpu_status finish(struct dataset *s)
{
    struct tpu_chip_report *t = s->total;
    t->batch = s->rows;
    struct tpu_sim_counters kc = t->ctr;
    kc.cycles = t->cycles;                     /* static energy over the reported time */
    tpu_sim_energy(s->chip, &kc, &t->energy);
    t->verify = tpu_calloc(s->ctx, (size_t)s->n_out + 1, sizeof *t->verify);
    if (!t->verify) return TPU_ERR_NOMEM;
    t->n_verify = s->n_out;
    snprintf(t->verify_against, sizeof t->verify_against, "%s",
             s->exp[0] ? "expected outputs (--data)" : "reference executor (fp32)");
    for (int i = 0; i < s->n_out; i++) {
        snprintf(t->verify[i].name, sizeof t->verify[i].name, "%s", s->out_shape[i].name ? s->out_shape[i].name : "?");
        tpu_verify_acc_finish(&s->acc[i], t->bf16, &t->verify[i]);
        if (!t->verify[i].within) t->verify_failed = 1;
    }
    return TPU_STATUS_OK;
}

static enum tpu_status save(struct dataset *s, const char *dir)
{
    enum tpu_status rc = TPU_STATUS_OK;
    for (int i = 0; i < s->n_out && !rc; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/output_%d.pb", dir, i);
        struct tpu_tensor t = s->out_shape[i];
        t.data = s->out[i];
        t.owner = TPU_DATA_BORROWED;
        rc = tpu_tensor_save_pb(s->ctx, p, &t);
    }
    return rc;
}

enum tpu_status tpu_chip_run_data(struct tpu_ctx *ctx, const char *model, const struct tpu_chip *chip,
                                  const struct tpu_chip_run_opts *o, const struct tpu_chip_calib *k,
                                  const char *data_dir, int64_t batch, const char *outputs_dir,
                                  struct tpu_chip_report **out)
{
    *out = NULL;
    struct dataset s = { .ctx = ctx, .model = model, .dir = data_dir, .chip = chip };
    enum tpu_status rc = batch >= 1 ? TPU_STATUS_OK : tpu_err(ctx, TPU_ERR_USAGE, "--batch must be >= 1");
    struct tpu_graph *g0 = NULL;
    if (!rc) rc = tpu_load_onnx(ctx, model, &g0);
    if (!rc) rc = load_data(&s, g0);                            /* learns D */
    for (int64_t r0 = 0; !rc && r0 < s.rows; r0 += batch) {   /* g0 runs the first chunk */
        rc = run_chunk(&s, o, k, r0, s.rows - r0 < batch ? s.rows - r0 : batch, g0);
        g0 = NULL;
    }
    tpu_graph_free(g0);
    if (!rc) rc = finish(&s);
    if (!rc && outputs_dir) rc = save(&s, outputs_dir);
    for (int i = 0; i < 16; i++) { tpu_tensor_free(s.in[i]); tpu_tensor_free(s.exp[i]); free(s.out[i]); }
    if (rc) { tpu_chip_report_free(s.total); return rc; }
    *out = s.total;
    if (s.total->verify_failed)
        return tpu_err(ctx, TPU_ERR_MISMATCH, "%s: the chip's outputs are outside the %s bound (%s) against "
                       "the %s", model, s.total->bf16 ? "bf16" : "int8", s.total->verify[0].bound,
                       s.total->verify_against);
    return TPU_STATUS_OK;
}
