/*
** ref/ref_exec.c: the reference executor — runs a prepared graph node by node
** on the CPU kernels of ops.def. This is the oracle every other path is
** compared against, so it is plain and deterministic.
**
** In:  a graph prepared by ir/passes.c whose inputs have values
**      (tpu_graph_set_input, tpu_graph_fill_random_inputs, ref/ref_data.c).
** Out: values of the graph outputs; intermediates are released after their
**      last consumer has run, so peak memory stays near what the model needs.
**      A released buffer goes to a small per-run pool and is handed, zeroed
**      again (the calloc semantics kernels may rely on), to a later output of
**      the same byte size: that saves the page faults of fresh big blocks.
*/
#include "ref/ref.h"
#include <math.h>
#include <string.h>

void openblas_set_num_threads(int n_threads);   /* OpenBLAS, no header needed */

void tpu_set_threads(int n_threads)
{
    openblas_set_num_threads(n_threads > 0 ? n_threads : 1);
}

/*---- Graph inputs and outputs ----*/
int tpu_graph_n_inputs(const struct tpu_graph *g)  { return g->n_inputs; }
int tpu_graph_n_outputs(const struct tpu_graph *g) { return g->n_outputs; }
const char *tpu_tensor_name(const struct tpu_tensor *t) { return t->name; }

struct tpu_tensor *tpu_graph_input(const struct tpu_graph *g, int i)
{
    return i >= 0 && i < g->n_inputs ? g->tensors[g->inputs[i]] : NULL;
}

struct tpu_tensor *tpu_graph_output(const struct tpu_graph *g, int i)
{
    return i >= 0 && i < g->n_outputs ? g->tensors[g->outputs[i]] : NULL;
}

/* Whether dim d of input i is fixed: by prepare when it ran, else by the file. */
static int64_t fixed_dim(const struct tpu_graph *g, int i, int d)
{
    const struct tpu_prep *p = tpu_graph_prep(g);
    const struct tpu_tensor *t = g->tensors[g->inputs[i]];
    if (p) return p->inputs[i].dims[d];
    return t->dim_param[d] ? -1 : t->dims[d];
}

static int declared_rank(const struct tpu_graph *g, int i)
{
    const struct tpu_prep *p = tpu_graph_prep(g);
    return p ? p->inputs[i].n_dims : g->tensors[g->inputs[i]]->n_dims;
}

/* Graph input i takes src's values: a copy, or (view) src's own memory,
** read only and outliving g. */
static enum tpu_status set_input(struct tpu_ctx *ctx, struct tpu_graph *g, int i,
                                 const struct tpu_tensor *src, bool view)
{
    char want[160], got[160];
    if (i < 0 || i >= g->n_inputs)
        return tpu_err(ctx, TPU_ERR_USAGE, "%s: the model has %d inputs, no input %d", g->path, g->n_inputs, i);
    struct tpu_tensor *t = g->tensors[g->inputs[i]];
    if (src->dtype != t->dtype)
        return tpu_tensor_err(g, t, TPU_ERR_SHAPE, "input is %s, the value given is %s",
                              tpu_dtype_name(t->dtype), tpu_dtype_name(src->dtype));
    int rank = declared_rank(g, i);
    bool fits = src->n_dims >= 0 && (rank < 0 || rank == src->n_dims);
    for (int d = 0; fits && rank >= 0 && d < rank; d++)
        fits = fixed_dim(g, i, d) < 0 || fixed_dim(g, i, d) == src->dims[d];
    if (!fits)
        return tpu_tensor_err(g, t, TPU_ERR_SHAPE, "input has shape %s, the value given has %s",
                              tpu_shape_str(t, want, sizeof want), tpu_shape_str(src, got, sizeof got));
    size_t n_bytes;
    enum tpu_status rc = tpu_tensor_nbytes(ctx, src, &n_bytes);
    if (rc) return rc;
    tpu_tensor_drop_data(t);
    tpu_tensor_set_shape(t, src->n_dims, src->dims);
    if (view) {
        t->data = src->data;
        t->owner = TPU_DATA_BORROWED;
        return TPU_STATUS_OK;
    }
    if ((rc = tpu_tensor_alloc(ctx, t))) return rc;
    if (n_bytes) memcpy(t->data, src->data, n_bytes);
    return TPU_STATUS_OK;
}

enum tpu_status tpu_graph_set_input(struct tpu_ctx *ctx, struct tpu_graph *g, int i,
                                    const struct tpu_tensor *src)
{
    return set_input(ctx, g, i, src, false);
}

enum tpu_status tpu_graph_view_input(struct tpu_ctx *ctx, struct tpu_graph *g, int i,
                                     const struct tpu_tensor *src)
{
    return set_input(ctx, g, i, src, true);
}

/*---- Seeded random inputs ----*/
static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return *s = x;
}

static void fill_random(struct tpu_tensor *t, size_t n, uint64_t *state)
{
    for (size_t k = 0; k < n; k++) {
        uint64_t r = xorshift64(state);
        if (tpu_dtype_is_float(t->dtype))
            tpu_set_f64(t->data, t->dtype, k, (double)(r >> 11) * (2.0 / 9007199254740992.0) - 1.0);
        else if (t->dtype == TPU_DTYPE_BOOL)
            tpu_set_i64(t->data, t->dtype, k, (int64_t)(r >> 63));
        else
            tpu_set_i64(t->data, t->dtype, k, (int64_t)(r >> 62));   /* 0..3: valid as index or count */
    }
}

enum tpu_status tpu_graph_fill_random_inputs(struct tpu_ctx *ctx, struct tpu_graph *g, uint64_t seed)
{
    char buf[160];
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
    if (!state) state = 1;
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *t = g->tensors[g->inputs[i]];
        if (!tpu_tensor_shape_known(t))
            return tpu_tensor_err(g, t, TPU_ERR_SHAPE, "shape %s is not fully known; bind it with --shape %s=d0,d1,...",
                                  tpu_shape_str(t, buf, sizeof buf), t->name);
        if (!tpu_dtype_size(t->dtype))
            return tpu_tensor_err(g, t, TPU_ERR_UNSUPPORTED, "dtype %s is not supported", tpu_dtype_name(t->dtype));
        enum tpu_status rc = tpu_tensor_alloc(ctx, t);
        if (rc) return rc;
        fill_random(t, (size_t)tpu_tensor_numel(t), &state);
    }
    return TPU_STATUS_OK;
}

/*---- The run ----*/
/* Drops the values of everything computed by an earlier run. */
static void drop_runtime_values(struct tpu_graph *g)
{
    for (int t = 0; t < g->n_tensors; t++) {
        struct tpu_tensor *x = g->tensors[t];
        if (!x->is_const && !x->is_input) tpu_tensor_drop_data(x);
    }
}

/* last[t]: index of the last live node reading tensor t, -1 if none. */
static int *last_uses(struct tpu_graph *g, int n_live)
{
    int *last = tpu_malloc(g->ctx, ((size_t)g->n_tensors + 1) * sizeof *last);
    if (!last) return NULL;
    for (int t = 0; t < g->n_tensors; t++) last[t] = -1;
    for (int k = 0; k < n_live; k++)
        for (int i = 0; i < g->nodes[k].n_inputs; i++)
            if (g->nodes[k].inputs[i] >= 0) last[g->nodes[k].inputs[i]] = k;
    return last;
}

static bool releasable(const struct tpu_tensor *t)
{
    return !t->is_const && !t->is_input && !t->is_output;
}

/* Released intermediate buffers of this run, reused for same-size outputs. */
#define POOL_MAX 32
struct buf_pool {
    int    n;
    void  *data[POOL_MAX];
    size_t nbytes[POOL_MAX];
};

/* t's byte size, or 0 when unknown or over size_t (no error is recorded). */
static size_t value_bytes(const struct tpu_tensor *t)
{
    int64_t n = tpu_tensor_numel(t);
    size_t es = tpu_dtype_size(t->dtype), nbytes;
    return n < 0 || !es || tpu_mul_size((size_t)n, es, &nbytes) ? 0 : nbytes;
}

/* Releases t's values: into the pool when t owns a heap block, else dropped. */
static void release_tensor(struct tpu_graph *g, struct tpu_tensor *t, struct buf_pool *pool)
{
    size_t nbytes = value_bytes(t);
    if (t->owner == TPU_DATA_HEAP && t->data && pool->n < POOL_MAX && nbytes >= 4096) {
        pool->data[pool->n] = t->data;
        pool->nbytes[pool->n++] = nbytes;
        t->data = NULL;
        t->owner = TPU_DATA_NONE;
        return;
    }
    tpu_tensor_drop_data(t);
}

/* Gives t a zeroed block: a pooled one of exactly its size, else a new one. */
static enum tpu_status alloc_output(struct tpu_ctx *ctx, struct tpu_tensor *t, struct buf_pool *pool)
{
    size_t nbytes = value_bytes(t);
    if (nbytes >= 4096 && nbytes <= tpu_alloc_limit(ctx))
        for (int i = pool->n - 1; i >= 0; i--) {
            if (pool->nbytes[i] != nbytes) continue;
            tpu_tensor_drop_data(t);
            t->data = pool->data[i];
            t->owner = TPU_DATA_HEAP;
            memset(t->data, 0, nbytes);
            pool->n--;
            pool->data[i] = pool->data[pool->n];
            pool->nbytes[i] = pool->nbytes[pool->n];
            return TPU_STATUS_OK;
        }
    return tpu_tensor_alloc(ctx, t);
}

static void pool_free(struct buf_pool *pool)
{
    for (int i = 0; i < pool->n; i++) free(pool->data[i]);
    pool->n = 0;
}

/* Releases the node's inputs nobody reads later, and its outputs nobody reads. */
static void release_after(struct tpu_graph *g, const struct tpu_node *n, int k, const int *last,
                          struct buf_pool *pool)
{
    for (int i = 0; i < n->n_inputs; i++) {
        int t = n->inputs[i];
        if (t >= 0 && last[t] == k && releasable(g->tensors[t])) release_tensor(g, g->tensors[t], pool);
    }
    for (int o = 0; o < n->n_outputs; o++) {
        int t = n->outputs[o];
        if (t >= 0 && last[t] < k && releasable(g->tensors[t])) release_tensor(g, g->tensors[t], pool);
    }
}

/* Shape function, output allocation, kernel: one node. */
static enum tpu_status run_node(struct tpu_graph *g, struct tpu_node *n, struct buf_pool *pool)
{
    if (n->op == TPU_OP_UNKNOWN)
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "op %s is not supported by tpusim", n->op_type);
    enum tpu_status rc = tpu_op_shape_fn(n->op)(g, n);
    if (rc) return *tpu_errmsg(g->ctx) ? rc : tpu_node_err(g, n, rc, "shape inference failed");
    for (int o = 0; o < n->n_outputs; o++) {
        struct tpu_tensor *t = tpu_out(g, n, o);
        if (!t || !(rc = alloc_output(g->ctx, t, pool))) continue;
        if (rc == TPU_ERR_NOMEM && g->ctx->status == TPU_ERR_NOMEM) return rc;
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", tpu_errmsg(g->ctx));
        tpu_err_clear(g->ctx);
        return tpu_node_err(g, n, rc, "%s", msg);
    }
    rc = tpu_op_ref_fn(n->op)(g, n);
    if (rc && !*tpu_errmsg(g->ctx)) tpu_node_err(g, n, rc, "kernel failed");
    return rc;
}

static enum tpu_status check_inputs_bound(struct tpu_graph *g)
{
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *t = g->tensors[g->inputs[i]];
        if (!t->data || !tpu_tensor_shape_known(t))
            return tpu_tensor_err(g, t, TPU_ERR_USAGE, "graph input has no value");
    }
    return TPU_STATUS_OK;
}

enum tpu_status tpu_ref_run(struct tpu_ctx *ctx, struct tpu_graph *g)
{
    tpu_err_clear(ctx);
    const struct tpu_prep *p = tpu_graph_prep(g);
    if (!p) return tpu_err(ctx, TPU_ERR_USAGE, "%s: tpu_ref_run before tpu_graph_prepare", g->path);
    enum tpu_status rc = check_inputs_bound(g);
    if (rc) return rc;
    drop_runtime_values(g);
    int *last = last_uses(g, p->n_live);
    if (!last) return TPU_ERR_NOMEM;
    struct buf_pool pool = { 0 };
    for (int k = 0; k < p->n_live && !rc; k++) {
        struct tpu_node *n = &g->nodes[k];
        TPU_ASSERT(!n->dead);
        rc = run_node(g, n, &pool);
        release_after(g, n, k, last, &pool);
    }
    pool_free(&pool);
    free(last);
    for (int i = 0; i < g->n_outputs && !rc; i++) {
        struct tpu_tensor *t = g->tensors[g->outputs[i]];
        if (!t->data) rc = tpu_tensor_err(g, t, TPU_ERR_INTERNAL, "graph output has no value after the run");
    }
    return rc;
}

bool tpu_ref_close(double got, double expected, double rtol, double atol)
{
    if (got != got || expected != expected) return got != got && expected != expected;
    if (got == expected) return true;                       /* also equal infinities */
    if (isinf(got) || isinf(expected)) return false;
    double d = got > expected ? got - expected : expected - got;
    double e = expected < 0 ? -expected : expected;
    return d <= atol + rtol * e;
}
