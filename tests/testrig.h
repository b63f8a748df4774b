/*
** tests/testrig.h: a one-node graph built by hand, for the kernel tests
** (tests/test-ref-*.c): rig_new(op, n_in, n_out), rig_in() for each input
** (dtype, dims, values), attr_*() for attributes, rig_run() (shape +
** allocation + kernel), out() and dims_are(), first_diff_i64(), names_node() and the
** literal-array macros D(), F(), N(), DIMS(). The including file sets
** RIG_OPSET (the node's opset) first when 17 is not what it wants.
*/
#ifndef TPU_TESTRIG_H
#define TPU_TESTRIG_H
#include "ir/ir.h"
#include <string.h>
#ifndef RIG_OPSET
#define RIG_OPSET 17
#endif

/*---- A one-node graph ----*/
struct rig {
    struct tpu_ctx   *ctx;
    struct tpu_graph *g;
    struct tpu_node  *n;
};

static inline void rig_free(struct rig *r)
{
    tpu_graph_free(r->g);
    tpu_free(r->ctx);
}

static inline struct rig rig_new(const char *op, int n_in, int n_out)
{
    struct rig r = { tpu_init(), NULL, NULL };
    r.g = tpu_graph_new(r.ctx, "test.onnx");
    r.g->opset = RIG_OPSET;
    r.n = tpu_graph_add_node(r.g, op, n_in, n_out);
    for (int i = 0; i < n_out; i++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", i);
        r.n->outputs[i] = tpu_graph_tensor_id(r.g, name);
    }
    return r;
}

/* Input i with dtype, dims and (optionally) values. */
static inline void rig_in(struct rig *r, int i, enum tpu_dtype dt, int nd, const int64_t *dims, const void *vals)
{
    char name[16];
    snprintf(name, sizeof name, "in%d", i);
    int id = tpu_graph_tensor_id(r->g, name);
    struct tpu_tensor *t = r->g->tensors[id];
    t->dtype = dt;
    tpu_tensor_set_shape(t, nd, dims);
    if (vals && tpu_tensor_alloc(r->ctx, t) == TPU_STATUS_OK) {
        size_t nb = 0;
        tpu_tensor_nbytes(r->ctx, t, &nb);
        memcpy(t->data, vals, nb);
    }
    r->n->inputs[i] = id;
}

static inline struct tpu_attr *rig_attr(struct rig *r, const char *name, enum tpu_attr_type type)
{
    struct tpu_attr *a = tpu_arena_alloc(&r->g->arena, (size_t)(r->n->n_attrs + 1) * sizeof *a);
    if (r->n->n_attrs) memcpy(a, r->n->attrs, (size_t)r->n->n_attrs * sizeof *a);
    r->n->attrs = a;
    a += r->n->n_attrs++;
    a->name = name;
    a->type = type;
    return a;
}

static inline void attr_int(struct rig *r, const char *name, int64_t v) { rig_attr(r, name, TPU_ATTR_INT)->i = v; }
static inline void attr_float(struct rig *r, const char *name, float v) { rig_attr(r, name, TPU_ATTR_FLOAT)->f = v; }
static inline void attr_str(struct rig *r, const char *name, const char *v) { rig_attr(r, name, TPU_ATTR_STRING)->s = v; }

static inline void attr_ints(struct rig *r, const char *name, int k, const int64_t *v)
{
    struct tpu_attr *a = rig_attr(r, name, TPU_ATTR_INTS);
    a->n = k;
    a->ints = (int64_t *)v;
}

/* Shape function, allocation of every output, reference kernel. */
static inline enum tpu_status rig_run(struct rig *r)
{
    enum tpu_status rc = tpu_op_shape_fn(r->n->op)(r->g, r->n);
    for (int i = 0; i < r->n->n_outputs && !rc; i++)
        if (tpu_out(r->g, r->n, i)) rc = tpu_tensor_alloc(r->ctx, tpu_out(r->g, r->n, i));
    return rc ? rc : tpu_op_ref_fn(r->n->op)(r->g, r->n);
}

static inline struct tpu_tensor *out(struct rig *r, int i) { return tpu_out(r->g, r->n, i); }

static inline int dims_are(const struct tpu_tensor *t, int nd, const int64_t *dims)
{
    if (t->n_dims != nd) return 0;
    for (int i = 0; i < nd; i++)
        if (t->dims[i] != dims[i]) return 0;
    return 1;
}

/* Index of the first element that differs from want[0..k), or -1 (0 when
** the count differs). */
static inline long first_diff_i64(const struct tpu_tensor *t, const int64_t *want, long k)
{
    if (tpu_tensor_numel(t) != k) return 0;
    for (long i = 0; i < k; i++)
        if (tpu_get_i64(t->data, t->dtype, (size_t)i) != want[i]) return i;
    return -1;
}

/* The last error names the rig's node, its op and its file. */
static inline int names_node(const struct rig *r, const char *op)
{
    const char *m = tpu_errmsg(r->ctx);
    return strstr(m, "node_0") && strstr(m, op) && strstr(m, "test.onnx");
}

/* Literal arrays for expected values: DIMS(t, 2, 3) is dims_are(t, 2, {2, 3}). */
#define D(...) ((const int64_t[]){ __VA_ARGS__ })
#define F(...) ((const float[]){ __VA_ARGS__ })
#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define DIMS(t, ...) dims_are(t, N(D(__VA_ARGS__)), D(__VA_ARGS__))

#endif
