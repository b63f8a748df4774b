/*
** tests/test-passes.c: white-box tests of ir/passes.c (tpu_graph_prepare:
** bindings, validation, topological order, dead nodes, folding) and of the
** executor's input handling in ref/ref_exec.c and ref/ref_data.c, on graphs
** built by hand.
*/
#include "ref/ref.h"
#include "testlib.h"
#include <math.h>

/*---- Building graphs by hand ----*/
static struct tpu_graph *new_graph(struct tpu_ctx *ctx)
{
    struct tpu_graph *g = tpu_graph_new(ctx, "model.onnx");
    g->opset = 17;
    g->inputs = tpu_arena_alloc(&g->arena, 16 * sizeof(int));
    g->outputs = tpu_arena_alloc(&g->arena, 16 * sizeof(int));
    return g;
}

static int add_input(struct tpu_graph *g, const char *name, int n_dims, const int64_t *dims, const char *param0)
{
    int id = tpu_graph_tensor_id(g, name);
    struct tpu_tensor *t = g->tensors[id];
    t->dtype = TPU_DTYPE_F32;
    t->is_input = true;
    tpu_tensor_set_shape(t, n_dims, dims);
    t->dim_param[0] = param0;
    g->inputs[g->n_inputs++] = id;
    return id;
}

static void add_output(struct tpu_graph *g, const char *name)
{
    int id = tpu_graph_tensor_id(g, name);
    g->tensors[id]->is_output = true;
    g->outputs[g->n_outputs++] = id;
}

static int add_const_i64(struct tpu_graph *g, const char *name, int n_dims, const int64_t *dims,
                         const int64_t *vals, int n_vals)
{
    int id = tpu_graph_tensor_id(g, name);
    struct tpu_tensor *t = g->tensors[id];
    t->dtype = TPU_DTYPE_I64;
    tpu_tensor_set_shape(t, n_dims, dims);
    t->data = tpu_arena_alloc(&g->arena, (size_t)n_vals * sizeof(int64_t) + 1);
    memcpy(t->data, vals, (size_t)n_vals * sizeof(int64_t));
    t->owner = TPU_DATA_ARENA;
    t->is_const = true;
    return id;
}

/* node(g, "Add", "a", "x,y", "z"): inputs/outputs as comma lists of tensor names. */
static struct tpu_node *node(struct tpu_graph *g, const char *op, const char *name, const char *ins, const char *outs)
{
    char buf[256];
    int n_in = *ins ? 1 : 0, n_out = 1;
    for (const char *p = ins; *p; p++) n_in += *p == ',';
    for (const char *p = outs; *p; p++) n_out += *p == ',';
    struct tpu_node *n = tpu_graph_add_node(g, op, n_in, n_out);
    n->name = tpu_arena_strdup(&g->arena, name);
    for (int pass = 0; pass < 2; pass++) {
        snprintf(buf, sizeof buf, "%s", pass ? outs : ins);
        int k = 0;
        for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ","), k++)
            (pass ? n->outputs : n->inputs)[k] = tpu_graph_tensor_id(g, tok);
    }
    return n;
}

static const struct tpu_node *find_node(const struct tpu_graph *g, const char *name)
{
    for (int k = 0; k < g->n_nodes; k++)
        if (!strcmp(g->nodes[k].name, name)) return &g->nodes[k];
    return NULL;
}

static const int64_t dims_2x3[] = { 2, 3 };

/*---- Validation ----*/
static int test_cycle(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    add_input(g, "x", 2, dims_2x3, NULL);
    node(g, "Add", "add_1", "x,b", "a");
    node(g, "Relu", "relu_1", "a", "b");
    add_output(g, "b");
    enum tpu_status rc = tpu_graph_prepare(ctx, g, NULL, 0);
    TEST_CHECK(rc == TPU_ERR_FORMAT, "rc %d", rc);
    TEST_CHECK(strstr(tpu_errmsg(ctx), "is on a cycle") && strstr(tpu_errmsg(ctx), "model.onnx: node '"),
               "%s", tpu_errmsg(ctx));
    TEST_CHECK(strstr(tpu_errmsg(ctx), "add_1") && strstr(tpu_errmsg(ctx), "relu_1"), "%s", tpu_errmsg(ctx));
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

static int test_dangling_all_reported(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    add_input(g, "x", 2, dims_2x3, NULL);
    node(g, "Add", "x_plus_foo", "x,foo", "a");
    node(g, "Mul", "a_times_bar", "a,bar", "y");
    add_output(g, "y");
    enum tpu_status rc = tpu_graph_prepare(ctx, g, NULL, 0);
    const char *m = tpu_errmsg(ctx);
    TEST_CHECK(rc == TPU_ERR_FORMAT, "rc %d", rc);
    TEST_CHECK(strstr(m, "model.onnx: node 'x_plus_foo' (Add): input 'foo' is not produced by any node, "
                         "nor a graph input or initializer"), "%s", m);
    TEST_CHECK(strstr(m, "node 'a_times_bar' (Mul): input 'bar'"), "second error missing: %s", m);
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

static int test_arity_and_double_producer(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    add_input(g, "x", 2, dims_2x3, NULL);
    node(g, "Add", "lonely_add", "x", "a");
    node(g, "Relu", "r1", "x", "y");
    node(g, "Neg", "r2", "x", "y");
    add_output(g, "y");
    enum tpu_status rc = tpu_graph_prepare(ctx, g, NULL, 0);
    const char *m = tpu_errmsg(ctx);
    TEST_CHECK(rc == TPU_ERR_FORMAT, "rc %d", rc);
    TEST_CHECK(strstr(m, "node 'lonely_add' (Add): has 1 inputs; Add takes 2 to 2"), "%s", m);
    TEST_CHECK(strstr(m, "node 'r2' (Neg): output 'y' is also produced by node 'r1'"), "%s", m);
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

static int test_unknown_ops_all_listed(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    add_input(g, "x", 2, dims_2x3, NULL);
    node(g, "FooOp", "foo_1", "x", "a");
    node(g, "BarOp", "bar_1", "a", "y");
    node(g, "BazOp", "dead_baz", "x", "unused");
    add_output(g, "y");
    enum tpu_status rc = tpu_graph_prepare(ctx, g, NULL, 0);
    const char *m = tpu_errmsg(ctx);
    TEST_CHECK(rc == TPU_ERR_UNSUPPORTED, "rc %d: %s", rc, m);
    TEST_CHECK(strstr(m, "node 'foo_1' (FooOp): op FooOp is not supported"), "%s", m);
    TEST_CHECK(strstr(m, "node 'bar_1' (BarOp): op BarOp is not supported"), "%s", m);
    TEST_CHECK(!strstr(m, "BazOp"), "a dead node must not be reported: %s", m);
    TEST_CHECK(!tpu_node_supported(g, find_node(g, "foo_1")), "foo_1 marked supported");
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/*---- Order and dead nodes ----*/
static int test_topo_order_and_dead_nodes(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    add_input(g, "x", 2, dims_2x3, NULL);
    node(g, "Relu", "last", "b", "y");         /* file order: consumers first */
    node(g, "Neg", "middle", "a", "b");
    node(g, "Abs", "first", "x", "a");
    node(g, "Sigmoid", "unused_1", "x", "u1");
    node(g, "Tanh", "unused_2", "u1", "u2");
    add_output(g, "y");
    enum tpu_status rc = tpu_graph_prepare(ctx, g, NULL, 0);
    TEST_CHECK(rc == TPU_STATUS_OK || rc == TPU_ERR_UNSUPPORTED, "rc %d: %s", rc, tpu_errmsg(ctx));
    const struct tpu_prep *p = tpu_graph_prep(g);
    TEST_CHECK(p && p->n_dead == 2 && p->n_live == 3, "dead %d live %d", p ? p->n_dead : -1, p ? p->n_live : -1);
    TEST_CHECK(!strcmp(g->nodes[0].name, "first") && !strcmp(g->nodes[1].name, "middle") &&
               !strcmp(g->nodes[2].name, "last"), "order %s %s %s", g->nodes[0].name, g->nodes[1].name,
               g->nodes[2].name);
    TEST_CHECK(g->nodes[3].dead && g->nodes[4].dead, "unused nodes must be dead");
    for (int k = 0; k < 3; k++)
        TEST_CHECK(tpu_out(g, &g->nodes[k], 0)->producer == k, "producer of node %d not renumbered", k);
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/*---- Folding the exporters' dynamic-batch chain ----*/
/* y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0), [0]), [-1])) with x [N,3,4], N bound to 2. */
static int test_fold_shape_chain(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    int64_t xd[] = { -1, 3, 4 }, one = 1, zero = 0, minus1 = -1;
    add_input(g, "x", 3, xd, "N");
    add_const_i64(g, "idx0", 0, NULL, &zero, 1);
    add_const_i64(g, "axes0", 1, &one, &zero, 1);
    add_const_i64(g, "rest", 1, &one, &minus1, 1);
    node(g, "Shape", "shape", "x", "s");
    node(g, "Gather", "gather", "s,idx0", "n");
    node(g, "Unsqueeze", "unsqueeze", "n,axes0", "n1");
    node(g, "Concat", "concat", "n1,rest", "shp");
    struct tpu_node *cat = &g->nodes[3];
    cat->attrs = tpu_arena_alloc(&g->arena, sizeof *cat->attrs);
    cat->attrs[0] = (struct tpu_attr){ .name = "axis", .type = TPU_ATTR_INT, .i = 0 };
    cat->n_attrs = 1;
    node(g, "Reshape", "reshape", "x,shp", "y");
    add_output(g, "y");
    struct tpu_shape_binding b = { .name = "x", .n_dims = 3, .dims = { 2, 3, 4 } };
    enum tpu_status rc = tpu_graph_prepare(ctx, g, &b, 1);
    if (rc == TPU_ERR_UNSUPPORTED && strstr(tpu_errmsg(ctx), "not implemented"))
        TEST_SKIP("needs the shape kernels: %s", tpu_errmsg(ctx));
    TEST_CHECK(rc == TPU_STATUS_OK, "rc %d: %s", rc, tpu_errmsg(ctx));
    const struct tpu_prep *p = tpu_graph_prep(g);
    TEST_CHECK(p->n_folded == 4 && p->n_live == 1, "folded %d live %d", p->n_folded, p->n_live);
    struct tpu_tensor *shp = g->tensors[tpu_graph_find_tensor(g, "shp")];
    TEST_CHECK(shp->is_const && shp->data && tpu_tensor_numel(shp) == 2, "shp not folded");
    const int64_t *v = shp->data;
    TEST_CHECK(v[0] == 2 && v[1] == -1, "shp = [%lld,%lld]", (long long)v[0], (long long)v[1]);
    struct tpu_tensor *y = g->tensors[tpu_graph_find_tensor(g, "y")];
    TEST_CHECK(y->n_dims == 2 && y->dims[0] == 2 && y->dims[1] == 12, "y shape");
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/* The Shape fold needs no kernel: with dims known it is computed in passes.c. */
static int test_fold_shape_only(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    int64_t xd[] = { -1, 3, 4 };
    add_input(g, "x", 3, xd, "N");
    node(g, "Shape", "shape", "x", "s");
    add_output(g, "s");
    struct tpu_shape_binding b = { .name = "x", .n_dims = 3, .dims = { 7, 3, 4 } };
    enum tpu_status rc = tpu_graph_prepare(ctx, g, &b, 1);
    if (rc == TPU_ERR_UNSUPPORTED && strstr(tpu_errmsg(ctx), "not implemented"))
        TEST_SKIP("needs shape_shape: %s", tpu_errmsg(ctx));
    TEST_CHECK(rc == TPU_STATUS_OK, "rc %d: %s", rc, tpu_errmsg(ctx));
    struct tpu_tensor *s = g->tensors[tpu_graph_find_tensor(g, "s")];
    const int64_t *v = s->data;
    TEST_CHECK(s->is_const && v && v[0] == 7 && v[1] == 3 && v[2] == 4, "Shape not folded to [7,3,4]");
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/*---- Symbolic dims ----*/
static int test_bind_symbolic_dims(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    int64_t xd[] = { -1, 3 };
    add_input(g, "x", 2, xd, "batch");
    node(g, "Relu", "relu", "x", "y");
    add_output(g, "y");
    struct tpu_shape_binding bad[3];
    TEST_CHECK(tpu_shape_binding_parse(ctx, "x=5,3", &bad[0]) == 0, "parse: %s", tpu_errmsg(ctx));
    TEST_CHECK(bad[0].name_len == 1 && bad[0].n_dims == 2 && bad[0].dims[0] == 5, "parsed wrongly");
    TEST_CHECK(tpu_shape_binding_parse(ctx, "x=5,,3", &bad[1]) == TPU_ERR_USAGE, "empty dim accepted");
    tpu_err_clear(ctx);
    TEST_CHECK(tpu_shape_binding_parse(ctx, "x=-2", &bad[1]) == TPU_ERR_USAGE, "negative dim accepted");
    tpu_err_clear(ctx);
    tpu_shape_binding_parse(ctx, "x=5,4", &bad[1]);             /* the model fixes dim 1 to 3 */
    tpu_shape_binding_parse(ctx, "nope=1", &bad[2]);
    TEST_CHECK(tpu_graph_bind_shapes(ctx, g, &bad[1], 2) == TPU_ERR_USAGE, "bad bindings accepted");
    TEST_CHECK(strstr(tpu_errmsg(ctx), "fixes it to 3") && strstr(tpu_errmsg(ctx), "no input named 'nope'"),
               "%s", tpu_errmsg(ctx));
    TEST_CHECK(tpu_graph_bind_shapes(ctx, g, &bad[0], 1) == 0, "%s", tpu_errmsg(ctx));
    struct tpu_tensor *x = g->tensors[g->inputs[0]];
    TEST_CHECK(x->dims[0] == 5 && x->dims[1] == 3, "x not bound to [5,3]");
    tpu_graph_free(g);

    g = new_graph(ctx);                                         /* unbound: defaults to 1 */
    add_input(g, "x", 2, xd, "batch");
    node(g, "Relu", "relu", "x", "y");
    add_output(g, "y");
    char notes[256];
    TEST_CHECK(tpu_graph_default_dims(g, 1, notes, sizeof notes) == 1, "one dim to default");
    TEST_CHECK(strstr(notes, "input 'x': dim 0 ('batch')") && g->tensors[g->inputs[0]]->dims[0] == 1, "%s", notes);
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/*---- Executor input handling ----*/
static int test_random_inputs_deterministic(void)
{
    struct tpu_ctx *ctx = tpu_init();
    float first[6];
    for (int round = 0; round < 3; round++) {
        struct tpu_graph *g = new_graph(ctx);
        add_input(g, "x", 2, dims_2x3, NULL);
        TEST_CHECK(tpu_graph_fill_random_inputs(ctx, g, round == 2 ? 99 : 7) == 0, "%s", tpu_errmsg(ctx));
        const float *v = g->tensors[g->inputs[0]]->data;
        for (int k = 0; k < 6; k++) TEST_CHECK(v[k] >= -1 && v[k] <= 1, "value %g out of [-1,1]", v[k]);
        if (round == 0) memcpy(first, v, sizeof first);
        if (round == 1) TEST_CHECK(!memcmp(first, v, sizeof first), "same seed, different values");
        if (round == 2) TEST_CHECK(memcmp(first, v, sizeof first), "different seed, same values");
        tpu_graph_free(g);
    }
    struct tpu_graph *g = new_graph(ctx);
    int64_t xd[] = { -1, 3 };
    add_input(g, "x", 2, xd, "N");
    TEST_CHECK(tpu_graph_fill_random_inputs(ctx, g, 1) == TPU_ERR_SHAPE, "unbound dim accepted");
    TEST_CHECK(strstr(tpu_errmsg(ctx), "--shape x="), "%s", tpu_errmsg(ctx));
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

static int test_set_input_checks(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    int64_t xd[] = { -1, 3 }, bad_dims[] = { 4, 2 }, ok_dims[] = { 4, 3 };
    add_input(g, "x", 2, xd, "N");
    float vals[12] = { 0 };
    struct tpu_tensor src = { .name = "x", .dtype = TPU_DTYPE_F32, .n_dims = 2, .data = vals };
    memcpy(src.dims, bad_dims, sizeof bad_dims);
    TEST_CHECK(tpu_graph_set_input(ctx, g, 0, &src) == TPU_ERR_SHAPE, "fixed dim mismatch accepted");
    TEST_CHECK(strstr(tpu_errmsg(ctx), "tensor 'x'") && strstr(tpu_errmsg(ctx), "[4,2]"), "%s", tpu_errmsg(ctx));
    tpu_err_clear(ctx);
    src.dtype = TPU_DTYPE_I32;
    memcpy(src.dims, ok_dims, sizeof ok_dims);
    TEST_CHECK(tpu_graph_set_input(ctx, g, 0, &src) == TPU_ERR_SHAPE, "dtype mismatch accepted");
    tpu_err_clear(ctx);
    src.dtype = TPU_DTYPE_F32;
    TEST_CHECK(tpu_graph_set_input(ctx, g, 0, &src) == 0, "%s", tpu_errmsg(ctx));
    TEST_CHECK(g->tensors[g->inputs[0]]->dims[0] == 4, "dims not taken from the value");
    TEST_CHECK(tpu_ref_run(ctx, g) == TPU_ERR_USAGE, "run before prepare accepted");
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/* Prepared with the batch open, the graph runs batch 2 and then batch 3; the
** intermediate is freed after its last consumer, the output is kept. */
static int test_batch_changes_between_runs(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    int64_t xd[] = { -1, 3 };
    add_input(g, "x", 2, xd, "N");
    node(g, "Neg", "neg", "x", "mid");
    node(g, "Relu", "relu", "mid", "y");
    add_output(g, "y");
    enum tpu_status rc = tpu_graph_prepare(ctx, g, NULL, 0);
    if (rc == TPU_ERR_UNSUPPORTED && strstr(tpu_errmsg(ctx), "not implemented"))
        TEST_SKIP("needs Neg/Relu: %s", tpu_errmsg(ctx));
    TEST_CHECK(rc == TPU_STATUS_OK, "rc %d: %s", rc, tpu_errmsg(ctx));
    float vals[9] = { 1, -2, 3, -4, 5, -6, 7, -8, 9 };
    for (int batch = 2; batch <= 3; batch++) {
        struct tpu_tensor src = { .name = "x", .dtype = TPU_DTYPE_F32, .n_dims = 2, .dims = { batch, 3 }, .data = vals };
        TEST_CHECK(tpu_graph_set_input(ctx, g, 0, &src) == 0, "%s", tpu_errmsg(ctx));
        TEST_CHECK(tpu_ref_run(ctx, g) == 0, "batch %d: %s", batch, tpu_errmsg(ctx));
        struct tpu_tensor *y = tpu_graph_output(g, 0), *mid = g->tensors[tpu_graph_find_tensor(g, "mid")];
        TEST_CHECK(y->dims[0] == batch && tpu_tensor_numel(y) == 3 * batch, "batch %d: y has %lld elements",
                   batch, (long long)tpu_tensor_numel(y));
        const float *v = y->data;
        for (int k = 0; k < 3 * batch; k++)
            TEST_CHECK(v[k] == (vals[k] < 0 ? -vals[k] : 0), "y[%d] = %g", k, v[k]);
        TEST_CHECK(mid->data == NULL, "intermediate kept after its last consumer");
    }
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/* Intermediates of >= 4 KiB go back to a per-run pool and are reused, zeroed,
** for later outputs of the same size: a chain of same-size nodes with an
** input read twice (x feeds the last Add) gives exact values run after run,
** across batch changes, and only the output keeps its values. */
static int test_buffer_reuse(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = new_graph(ctx);
    int64_t xd[] = { -1, 1024 };
    add_input(g, "x", 2, xd, "N");
    node(g, "Neg", "n1", "x", "a");
    node(g, "Neg", "n2", "a", "b");
    node(g, "Relu", "r1", "b", "c");
    node(g, "Neg", "n3", "c", "d");
    node(g, "Add", "add", "d,x", "y");
    add_output(g, "y");
    enum tpu_status rc = tpu_graph_prepare(ctx, g, NULL, 0);
    if (rc == TPU_ERR_UNSUPPORTED && strstr(tpu_errmsg(ctx), "not implemented"))
        TEST_SKIP("needs Neg/Relu/Add: %s", tpu_errmsg(ctx));
    TEST_CHECK(rc == TPU_STATUS_OK, "rc %d: %s", rc, tpu_errmsg(ctx));
    static float vals[4 * 1024];
    for (int k = 0; k < 4 * 1024; k++) vals[k] = (float)((k * 37) % 101 - 50);
    const int batches[] = { 2, 4, 2, 4 };
    for (int r = 0; r < 4; r++) {
        struct tpu_tensor src = { .name = "x", .dtype = TPU_DTYPE_F32, .n_dims = 2,
                                  .dims = { batches[r], 1024 }, .data = vals };
        TEST_CHECK(tpu_graph_set_input(ctx, g, 0, &src) == 0, "%s", tpu_errmsg(ctx));
        TEST_CHECK(tpu_ref_run(ctx, g) == 0, "run %d: %s", r, tpu_errmsg(ctx));
        const float *v = tpu_graph_output(g, 0)->data;
        for (int k = 0; k < batches[r] * 1024; k++) {
            float want = vals[k] < 0 ? vals[k] : 0;     /* x - relu(x) */
            TEST_CHECK(v[k] == want, "run %d: y[%d] = %g, want %g", r, k, v[k], want);
        }
        static const char *const mids[] = { "a", "b", "c", "d" };
        for (int i = 0; i < 4; i++)
            TEST_CHECK(g->tensors[tpu_graph_find_tensor(g, mids[i])]->data == NULL, "run %d: %s kept", r, mids[i]);
    }
    tpu_graph_free(g);
    tpu_free(ctx);
    return 0;
}

/* The n-th allocation fails, for every n: prepare and run return NOMEM (or
** finish), never crash, and leak nothing (checked under ASan). */
static struct tpu_graph *oom_graph(struct tpu_ctx *ctx)
{
    struct tpu_graph *g = new_graph(ctx);
    int64_t xd[] = { -1, 3 }, two = 2, shp[] = { 3, -1 };
    add_input(g, "x", 2, xd, "N");
    add_const_i64(g, "shp", 1, &two, shp, 2);
    node(g, "Neg", "neg", "x", "mid");
    node(g, "Reshape", "reshape", "mid,shp", "r");
    node(g, "Relu", "relu", "r", "y");
    node(g, "Abs", "dead", "x", "unused");
    add_output(g, "y");
    return g;
}

static int test_oom_sweep(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_shape_binding b = { .name = "x", .n_dims = 2, .dims = { 2, 3 } };
    int n_nomem = 0;
    bool finished = false;
    for (long n = 1; n < 400 && !finished; n++) {
        struct tpu_graph *g = oom_graph(ctx);
        tpu_err_clear(ctx);
        tpu_set_alloc_fail(ctx, n);
        enum tpu_status rc = tpu_graph_prepare(ctx, g, &b, 1);
        if (rc == TPU_STATUS_OK) rc = tpu_graph_fill_random_inputs(ctx, g, 1);
        if (rc == TPU_STATUS_OK) rc = tpu_ref_run(ctx, g);
        tpu_set_alloc_fail(ctx, 0);
        if (rc == TPU_ERR_NOMEM) n_nomem++;
        else finished = true;
        TEST_CHECK(rc == TPU_ERR_NOMEM || rc == TPU_STATUS_OK || rc == TPU_ERR_UNSUPPORTED,
                   "n=%ld: rc %d: %s", n, rc, tpu_errmsg(ctx));
        TEST_CHECK(rc != TPU_ERR_NOMEM || strstr(tpu_errmsg(ctx), "memory"), "n=%ld: %s", n, tpu_errmsg(ctx));
        tpu_graph_free(g);
    }
    TEST_CHECK(finished && n_nomem >= 3, "finished %d after %d injected failures", finished, n_nomem);
    tpu_free(ctx);
    return 0;
}

static int test_compare_rule(void)
{
    TEST_CHECK(tpu_ref_close(NAN, NAN, 1e-3, 1e-7), "NaN equals NaN");
    TEST_CHECK(!tpu_ref_close(NAN, 1.0, 1e-3, 1e-7) && !tpu_ref_close(1.0, NAN, 1e-3, 1e-7), "NaN vs number");
    TEST_CHECK(tpu_ref_close(INFINITY, INFINITY, 1e-3, 1e-7), "inf equals inf");
    TEST_CHECK(!tpu_ref_close(-INFINITY, INFINITY, 1e-3, 1e-7), "-inf vs inf");
    TEST_CHECK(tpu_ref_close(1000.9, 1000.0, 1e-3, 1e-7), "within rtol");
    TEST_CHECK(!tpu_ref_close(1001.1, 1000.0, 1e-3, 1e-7), "outside rtol");
    TEST_CHECK(tpu_ref_close(5e-8, 0.0, 1e-3, 1e-7) && !tpu_ref_close(2e-7, 0.0, 1e-3, 1e-7), "atol at 0");
    return 0;
}

static const struct test_case cases[] = {
    { "passes-cycle", test_cycle },
    { "passes-dangling-all-reported", test_dangling_all_reported },
    { "passes-arity-double-producer", test_arity_and_double_producer },
    { "passes-unknown-ops", test_unknown_ops_all_listed },
    { "passes-topo-dead", test_topo_order_and_dead_nodes },
    { "passes-fold-shape-chain", test_fold_shape_chain },
    { "passes-fold-shape", test_fold_shape_only },
    { "passes-bind-dims", test_bind_symbolic_dims },
    { "exec-random-inputs", test_random_inputs_deterministic },
    { "exec-set-input", test_set_input_checks },
    { "exec-batch-change", test_batch_changes_between_runs },
    { "exec-buffer-reuse", test_buffer_reuse },
    { "exec-oom-sweep", test_oom_sweep },
    { "exec-compare-rule", test_compare_rule },
};
TEST_MAIN(cases)
