/*
** compile/calib.c: int8 post-training calibration — the per-tensor scale of
** every MXU node's activation input. The model is loaded a second time and
** run on the reference executor (fp32) over the calibration inputs: the
** files of --calib DIR (DIR/input_N.pb, or every DIR/<sub>/input_N.pb), N
** seeded random inputs (--calib-random N), or the run's own inputs. The
** statistic is max |x| (min/max, symmetric) or the 99.99th percentile of |x|;
** scale = statistic / 127. Weights are quantised per output channel by the
** lowering (compile/lower.c), not here. An input that is the output of a
** DequantizeLinear of int8 values keeps the model's scale (compile/qdq.c).
** `tpusim compile --calib DIR | --calib-random N` calibrates once and saves
** the scales in the program file as text (SCAL section, compile/prog_file.c):
**   how=<description>             then per MXU node with a scale:
**   <node index>\t<scale, C99 hex float>\t<node name>
** and `run prog.tpu` loads them back, checked node by node against the model.
**
** In:  the run's prepared graph g (its inputs hold the run's values).
** Out: scales[node index] (0 for non-MXU nodes), used by compile/run.c.
*/
#include "compile/compile.h"
#include "ir/passes.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CALIB_PERCENTILE 99.99
#define CALIB_MAX_VALUES (1 << 24)         /* per tensor; beyond it, every k-th value */

struct stat_buf {
    float   *v;                            /* |x| values (percentile), or NULL   */
    int64_t  n, cap;
    double   max_abs;
};

struct calib {
    struct tpu_ctx   *ctx;
    struct tpu_graph *g, *cg;              /* the run's graph, the calibration copy */
    int               percentile;
    struct stat_buf  *st;                  /* [g->n_nodes]                      */
    int               n_samples;
};

static int is_mxu_op(enum tpu_op op) { return op == TPU_OP_GEMM || op == TPU_OP_MATMUL || op == TPU_OP_CONV; }

/*---- Statistics ----*/
static enum tpu_status add_values(struct calib *c, struct stat_buf *s, const struct tpu_tensor *t)
{
    int64_t n = tpu_tensor_numel(t), step = 1;
    if (!t->data || t->dtype != TPU_DTYPE_F32 || n <= 0) return TPU_STATUS_OK;
    const float *x = t->data;
    for (int64_t i = 0; i < n; i++) s->max_abs = fmax(s->max_abs, fabsf(x[i]));
    if (!c->percentile) return TPU_STATUS_OK;
    while (s->n + n / step > CALIB_MAX_VALUES) step *= 2;
    int64_t want = s->n + n / step + 1;
    if (want > s->cap) {
        float *nv = tpu_realloc(c->ctx, s->v, (size_t)want * sizeof *nv);
        if (!nv) return TPU_ERR_NOMEM;
        s->v = nv;
        s->cap = want;
    }
    for (int64_t i = 0; i < n; i += step) s->v[s->n++] = fabsf(x[i]);
    return TPU_STATUS_OK;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static double statistic(struct calib *c, struct stat_buf *s)
{
    if (!c->percentile || s->n == 0) return s->max_abs;
    qsort(s->v, (size_t)s->n, sizeof *s->v, cmp_float);
    int64_t k = (int64_t)ceil(CALIB_PERCENTILE / 100.0 * (double)s->n) - 1;
    return s->v[k < 0 ? 0 : k >= s->n ? s->n - 1 : k];
}

/*---- One sample ----*/
/* Keeps the MXU nodes' inputs alive through the run (the executor frees
** intermediate values after their last use unless they are outputs). */
static enum tpu_status mark_targets(struct calib *c)
{
    if (c->cg->n_nodes != c->g->n_nodes)
        return tpu_err(c->ctx, TPU_ERR_INTERNAL, "%s: calibration copy has %d nodes, the run %d",
                       c->g->path, c->cg->n_nodes, c->g->n_nodes);
    for (int i = 0; i < c->cg->n_nodes; i++) {
        struct tpu_node *n = &c->cg->nodes[i];
        if (n->dead || !is_mxu_op(n->op)) continue;
        if (c->g->nodes[i].op != n->op || strcmp(c->g->nodes[i].name, n->name) != 0)
            return tpu_err(c->ctx, TPU_ERR_INTERNAL, "%s: calibration copy orders node '%s' differently",
                           c->g->path, n->name);
        struct tpu_tensor *t = tpu_in(c->cg, n, 0);
        if (t && !t->is_const && !t->is_input) t->is_output = true;
    }
    return TPU_STATUS_OK;
}

static enum tpu_status collect(struct calib *c)
{
    enum tpu_status rc = tpu_ref_run(c->ctx, c->cg);
    for (int i = 0; i < c->cg->n_nodes && !rc; i++) {
        struct tpu_node *n = &c->cg->nodes[i];
        if (!n->dead && is_mxu_op(n->op)) rc = add_values(c, &c->st[i], tpu_in(c->cg, n, 0));
    }
    c->n_samples++;
    return rc;
}

/* Binds the calibration copy's input dims to the run's (for random and own inputs). */
static void copy_input_dims(struct calib *c)
{
    for (int i = 0; i < c->g->n_inputs; i++) {
        struct tpu_tensor *t = c->cg->tensors[c->cg->inputs[i]], *s = c->g->tensors[c->g->inputs[i]];
        if (t->n_dims == s->n_dims) memcpy(t->dims, s->dims, sizeof(int64_t) * (size_t)s->n_dims);
    }
}

static enum tpu_status prepare_copy(struct calib *c)
{
    enum tpu_status rc = tpu_graph_prep(c->cg) ? TPU_STATUS_OK : tpu_graph_prepare(c->ctx, c->cg, NULL, 0);
    return rc ? rc : tpu_graph_prep(c->cg) && c->n_samples == 0 ? mark_targets(c) : rc;
}

/*---- Sources ----*/
static enum tpu_status from_own_inputs(struct calib *c)
{
    copy_input_dims(c);
    enum tpu_status rc = prepare_copy(c);
    for (int i = 0; i < c->g->n_inputs && !rc; i++)
        rc = tpu_graph_set_input(c->ctx, c->cg, i, c->g->tensors[c->g->inputs[i]]);
    return rc ? rc : collect(c);
}

static enum tpu_status from_random(struct calib *c, int n, uint64_t seed)
{
    copy_input_dims(c);
    enum tpu_status rc = prepare_copy(c);
    for (int k = 0; k < n && !rc; k++) {
        rc = tpu_graph_fill_random_inputs(c->ctx, c->cg, seed + (uint64_t)k * 7919u);
        if (!rc) rc = collect(c);
    }
    return rc;
}

static int has_input0(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/input_0.pb", dir);
    return access(p, R_OK) == 0;
}

static enum tpu_status one_dir(struct calib *c, const char *dir)
{
    enum tpu_status rc = tpu_graph_load_inputs(c->ctx, c->cg, dir);
    if (!rc) rc = prepare_copy(c);
    if (!rc) rc = collect(c);
    if (rc && rc != TPU_ERR_NOMEM) {
        char msg[1600];
        snprintf(msg, sizeof msg, "%s", tpu_errmsg(c->ctx));
        tpu_err_clear(c->ctx);
        return tpu_err(c->ctx, rc, "--calib: %s (calibration inputs must fit the model's inputs)", msg);
    }
    return rc;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

enum tpu_status tpu_calib_sets(struct tpu_ctx *ctx, const char *dir, char ***paths, int *n_paths)
{
    *paths = NULL;
    *n_paths = 0;
    char **names = NULL;
    int n = 0, cap = 0;
    if (has_input0(dir)) {
        names = malloc(sizeof *names);
        if (!names || !(names[0] = strdup(dir))) { free(names); return tpu_err(ctx, TPU_ERR_NOMEM, "out of memory"); }
        *paths = names;
        *n_paths = 1;
        return TPU_STATUS_OK;
    }
    DIR *d = opendir(dir);
    if (!d) return tpu_err(ctx, TPU_ERR_IO, "--calib %s: cannot open the folder", dir);
    enum tpu_status rc = TPU_STATUS_OK;
    for (struct dirent *e; !rc && (e = readdir(d));) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (e->d_name[0] == '.' || !has_input0(p)) continue;
        if (n == cap) {
            char **grown = realloc(names, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *names);
            if (!grown) { rc = tpu_err(ctx, TPU_ERR_NOMEM, "out of memory"); break; }
            names = grown;
        }
        if (!(names[n] = strdup(p))) rc = tpu_err(ctx, TPU_ERR_NOMEM, "out of memory");
        else n++;
    }
    closedir(d);
    if (!rc && !n) rc = tpu_err(ctx, TPU_ERR_IO, "--calib %s: no input_0.pb in it nor in its subfolders", dir);
    if (rc) { tpu_calib_sets_free(names, n); return rc; }
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    *paths = names;
    *n_paths = n;
    return TPU_STATUS_OK;
}

void tpu_calib_sets_free(char **paths, int n_paths)
{
    for (int i = 0; i < n_paths; i++) free(paths[i]);
    free(paths);
}

/* Every calibration set under dir (tpu_calib_sets). */
static enum tpu_status from_dir(struct calib *c, const char *dir)
{
    char **sets;
    int n;
    enum tpu_status rc = tpu_calib_sets(c->ctx, dir, &sets, &n);
    for (int i = 0; !rc && i < n; i++) rc = one_dir(c, sets[i]);
    tpu_calib_sets_free(sets, n);
    return rc;
}

/*---- Entry ----*/
enum tpu_status tpu_calibrate(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_calib_opts *o,
                              float **scales_out, int *n_samples)
{
    *scales_out = NULL;
    struct calib c = { ctx, g, NULL, o->percentile, NULL, 0 };
    c.st = tpu_calloc(ctx, (size_t)g->n_nodes + 1, sizeof *c.st);
    float *scales = tpu_calloc(ctx, (size_t)g->n_nodes + 1, sizeof *scales);
    enum tpu_status rc = c.st && scales ? tpu_load_onnx(ctx, g->path, &c.cg) : TPU_ERR_NOMEM;
    if (!rc && o->dir) rc = from_dir(&c, o->dir);
    else if (!rc && o->n_random) rc = from_random(&c, o->n_random, o->seed ? o->seed : 1);
    else if (!rc) rc = from_own_inputs(&c);
    for (int i = 0; !rc && i < g->n_nodes; i++) {
        if (g->nodes[i].dead || !is_mxu_op(g->nodes[i].op)) continue;
        float model_scale;
        if (tpu_mm_qdq_input_scale(g, &g->nodes[i], &model_scale)) { scales[i] = model_scale; continue; }
        double s = statistic(&c, &c.st[i]);            /* QDQ inputs keep the model's scale */
        scales[i] = s > 0 ? (float)(s / 127.0) : 1.0f;
    }
    for (int i = 0; c.st && i < g->n_nodes; i++) free(c.st[i].v);
    free(c.st);
    tpu_graph_free(c.cg);
    if (rc) { free(scales); return rc; }
    *scales_out = scales;
    *n_samples = c.n_samples;
    return TPU_STATUS_OK;
}

void tpu_calib_describe(const struct tpu_calib_opts *o, int n_samples, char *s, size_t n)
{
    const char *method = o->percentile ? "percentile 99.99 of |x|" : "min/max";
    if (o->dir) snprintf(s, n, "int8 %s over %d input set(s) of --calib %s", method, n_samples, o->dir);
    else if (o->n_random) snprintf(s, n, "int8 %s over %d seeded random inputs (--calib-random)", method, n_samples);
    else snprintf(s, n, "int8 %s on the run's own inputs (reference executor, fp32)", method);
}

/*---- Saved scales (program files) ----*/
enum tpu_status tpu_calib_saved_text(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                     const struct tpu_chip_calib *k, uint64_t seed, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    if (chip->mxu_dtype != TPU_MXU_INT8 || (!k->dir && !k->n_random)) return TPU_STATUS_OK;
    struct tpu_calib_opts co = { k->dir, k->n_random, k->percentile, seed + 1 };   /* as run.c */
    float *scales = NULL;
    int n_samples = 0;
    enum tpu_status rc = tpu_calibrate(ctx, g, &co, &scales, &n_samples);
    if (rc) return rc;
    char how[200], *s = NULL;
    tpu_calib_describe(&co, n_samples, how, sizeof how);
    FILE *f = open_memstream(&s, len);
    if (!f) { free(scales); return tpu_err(ctx, TPU_ERR_NOMEM, "calibration text"); }
    fprintf(f, "how=%s\n", how);
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && is_mxu_op(g->nodes[i].op) && scales[i] > 0)
            fprintf(f, "%d\t%a\t%s\n", i, (double)scales[i], g->nodes[i].name);
    free(scales);
    if (fclose(f) != 0 || !s) { free(s); *len = 0; return tpu_err(ctx, TPU_ERR_NOMEM, "calibration text"); }
    *text = s;
    return TPU_STATUS_OK;
}

static enum tpu_status saved_err(struct tpu_ctx *ctx, const struct tpu_graph *g, int line, const char *why)
{
    return tpu_err(ctx, TPU_ERR_FORMAT, "%s: saved calibration (SCAL) line %d: %s", g->path, line, why);
}

/* One "index\tscale\tname" line into scales[], checked against g. */
static enum tpu_status saved_line(struct tpu_ctx *ctx, const struct tpu_graph *g, int ln, char *line, float *scales)
{
    char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL, *end;
    if (!t2) return saved_err(ctx, g, ln, "not 'index<TAB>scale<TAB>node name'");
    *t1 = *t2 = 0;
    errno = 0;
    long idx = strtol(line, &end, 10);
    if (end == line || *end || errno || idx < 0 || idx >= g->n_nodes)
        return saved_err(ctx, g, ln, "node index out of range");
    double v = strtod(t1 + 1, &end);
    if (end == t1 + 1 || *end || !(v > 0) || v > 1e30) return saved_err(ctx, g, ln, "scale not a number > 0");
    const struct tpu_node *n = &g->nodes[idx];
    if (n->dead || !is_mxu_op(n->op) || strcmp(n->name, t2 + 1) != 0) {
        char msg[600];
        snprintf(msg, sizeof msg, "saved for node '%.200s', the model's node %ld is '%.200s' (%s)", t2 + 1, idx,
                 n->name, n->dead ? "removed" : tpu_op_name(n->op));
        return saved_err(ctx, g, ln, msg);
    }
    scales[idx] = (float)v;
    return TPU_STATUS_OK;
}

enum tpu_status tpu_calib_load_saved(struct tpu_ctx *ctx, const struct tpu_graph *g, const char *text, size_t len,
                                     float **scales_out, char *how, size_t how_n)
{
    *scales_out = NULL;
    how[0] = 0;
    float *scales = tpu_calloc(ctx, (size_t)g->n_nodes + 1, sizeof *scales);
    if (!scales) return TPU_ERR_NOMEM;
    enum tpu_status rc = TPU_STATUS_OK;
    size_t at = 0;
    for (int ln = 1; at < len && !rc; ln++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        char line[1200];
        if (n >= sizeof line) rc = saved_err(ctx, g, ln, "line too long");
        else {
            memcpy(line, text + at, n);
            line[n] = 0;
            if (ln == 1 && strncmp(line, "how=", 4) == 0) snprintf(how, how_n, "%s", line + 4);
            else if (ln == 1) rc = saved_err(ctx, g, ln, "no how= line first");
            else rc = saved_line(ctx, g, ln, line, scales);
        }
        at += n + 1;
    }
    if (rc) { free(scales); return rc; }
    *scales_out = scales;
    return TPU_STATUS_OK;
}
