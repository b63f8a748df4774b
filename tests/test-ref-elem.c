/*
** tests/test-ref-elem.c: the elementwise and reduction shape functions
** (ir/shape_elem.c) and reference kernels (ref/ref_elem*.c, ref/ref_reduce.c)
** on one-node graphs built by hand: hand values, naive loops written here,
** every dtype class, broadcasting corners, reductions, ArgMax, TopK, errors.
*/
#include "ir/ir.h"
#include "testlib.h"
#include <dirent.h>
#include <math.h>
#include <unistd.h>

/*---- One-node graph helpers ----*/
static struct tpu_ctx *ctx;
static struct tpu_graph *g;

static void begin(void)
{
    ctx = tpu_init();
    g = tpu_graph_new(ctx, "t.onnx");
    g->opset = 17;
}

static void end(void)
{
    tpu_graph_free(g);
    tpu_free(ctx);
    g = NULL;
    ctx = NULL;
}

/* A tensor holding a copy of `data` (NULL: shape only). Returns its id. */
static int tens(const char *name, enum tpu_dtype dt, int n_dims, const int64_t *dims,
                const void *data)
{
    int id = tpu_graph_tensor_id(g, name);
    struct tpu_tensor *t = g->tensors[id];
    t->dtype = dt;
    tpu_tensor_set_shape(t, n_dims, dims);
    if (data) {
        size_t nb;
        if (tpu_tensor_nbytes(ctx, t, &nb) || tpu_tensor_alloc(ctx, t)) return -1;
        memcpy(t->data, data, nb);
    }
    return id;
}

#define D(...) ((const int64_t[]){ __VA_ARGS__ })
#define F32(...) ((const float[]){ __VA_ARGS__ })

static struct tpu_node *node(const char *op, int n_in, const int *ins, int n_out)
{
    struct tpu_node *n = tpu_graph_add_node(g, op, n_in, n_out);
    for (int i = 0; i < n_in; i++) n->inputs[i] = ins[i];
    for (int i = 0; i < n_out; i++) {
        char name[32];
        snprintf(name, sizeof name, "y%d_%d", g->n_nodes, i);
        n->outputs[i] = tpu_graph_tensor_id(g, name);
    }
    n->attrs = tpu_arena_alloc(&g->arena, 8 * sizeof *n->attrs);
    return n;
}
#define NODE(op, n_out, ...) node(op, (int)(sizeof((int[]){ __VA_ARGS__ }) / sizeof(int)), \
                                  (int[]){ __VA_ARGS__ }, n_out)

static struct tpu_attr *attr(struct tpu_node *n, const char *name, enum tpu_attr_type type)
{
    struct tpu_attr *a = &n->attrs[n->n_attrs++];
    a->name = name;
    a->type = type;
    return a;
}
static void attr_i(struct tpu_node *n, const char *name, int64_t v) { attr(n, name, TPU_ATTR_INT)->i = v; }
static void attr_f(struct tpu_node *n, const char *name, float v) { attr(n, name, TPU_ATTR_FLOAT)->f = v; }
static void attr_ints(struct tpu_node *n, const char *name, int k, const int64_t *v)
{
    struct tpu_attr *a = attr(n, name, TPU_ATTR_INTS);
    a->n = k;
    a->ints = tpu_arena_alloc(&g->arena, (size_t)(k ? k : 1) * sizeof *a->ints);
    memcpy(a->ints, v, (size_t)k * sizeof *v);
}

/* Shape function, allocation of every output, reference kernel. */
static enum tpu_status run(struct tpu_node *n)
{
    enum tpu_status rc = tpu_op_shape_fn(n->op)(g, n);
    if (rc) return rc;
    for (int i = 0; i < n->n_outputs; i++)
        if ((rc = tpu_tensor_alloc(ctx, tpu_out(g, n, i)))) return rc;
    return tpu_op_ref_fn(n->op)(g, n);
}

static struct tpu_tensor *Y(struct tpu_node *n, int i) { return tpu_out(g, n, i); }
static double yv(struct tpu_node *n, int i, size_t k) { return tpu_get_f64(Y(n, i)->data, Y(n, i)->dtype, k); }
static int64_t yi(struct tpu_node *n, int i, size_t k) { return tpu_get_i64(Y(n, i)->data, Y(n, i)->dtype, k); }

static bool close_to(double got, double want, double tol)
{
    if (isnan(want)) return isnan(got);
    if (isinf(want)) return got == want;
    return fabs(got - want) <= tol * (1 + fabs(want));
}

static bool same_dims(const struct tpu_tensor *t, int n_dims, const int64_t *dims)
{
    if (t->n_dims != n_dims) return false;
    for (int d = 0; d < n_dims; d++) if (t->dims[d] != dims[d]) return false;
    return true;
}

static uint32_t seed = 12345;
static float rnd(void)   /* deterministic, in [-2, 2) */
{
    seed = seed * 1664525u + 1013904223u;
    return (float)((seed >> 8) & 0xffff) / 16384.0f - 2.0f;
}

/*---- Unary ----*/
struct unary_case { const char *op; double x, want; };
static const struct unary_case unary_cases[] = {
    { "Relu", -1.5, 0 },            { "Relu", 2.25, 2.25 },
    { "LeakyRelu", -2, -2 * (double)0.01f },     { "LeakyRelu", 3, 3 },
    { "Sigmoid", 0, 0.5 },          { "Sigmoid", 2, 0.8807970779778823 },
    { "HardSigmoid", 1, (double)0.2f + 0.5 },      { "HardSigmoid", -3, 0 },       { "HardSigmoid", 3, 1 },
    { "HardSwish", 1, 0.6666666666666666 }, { "HardSwish", -3.5, 0 }, { "HardSwish", 3.5, 3.5 },
    { "Tanh", 1, 0.7615941559557649 },      { "Erf", 0.5, 0.5204998778130465 },
    { "Exp", 1, 2.718281828459045 },        { "Log", 2, 0.6931471805599453 },
    { "Sqrt", 2.25, 1.5 },          { "Neg", 1.5, -1.5 },           { "Abs", -1.75, 1.75 },
    { "Reciprocal", 4, 0.25 },      { "Softplus", 0, 0.6931471805599453 },
    { "Softplus", 30, 30.000000000000092 }, { "Softplus", -2, 0.1269280110429725 },
    { "Softsign", 1, 0.5 },         { "Softsign", -3, -0.75 },
    { "Elu", -1, -0.6321205588285577 },     { "Elu", 2, 2 },
    { "Selu", -1, -1.1113307412864784 },    { "Selu", 1, 1.0507010221481323 },
    { "Celu", -1, -0.6321205588285577 },    { "Celu", 1.5, 1.5 },
    { "ThresholdedRelu", 1, 0 },    { "ThresholdedRelu", 1.5, 1.5 },
    { "Floor", -1.5, -2 },          { "Ceil", -1.5, -1 },
    { "Round", 2.5, 2 },            { "Round", -2.5, -2 },          { "Round", 1.5, 2 },
    { "Round", 0.5, 0 },            { "Round", 2.75, 3 },
    { "Sign", -3, -1 },             { "Sign", 0, 0 },               { "Sign", 0.25, 1 },
    { "Sin", 1, 0.8414709848078965 },       { "Cos", 1, 0.5403023058681398 },
};

/* Every unary case in one dtype, each as a [1, 1] tensor, within rel tolerance tol. */
static int unary_table(enum tpu_dtype dt, double tol)
{
    for (size_t c = 0; c < sizeof unary_cases / sizeof unary_cases[0]; c++) {
        const struct unary_case *uc = &unary_cases[c];
        begin();
        uint8_t buf[8];
        tpu_set_f64(buf, dt, 0, uc->x);
        double x = tpu_get_f64(buf, dt, 0);
        struct tpu_node *n = NODE(uc->op, 1, tens("x", dt, 2, D(1, 1), buf));
        enum tpu_status rc = run(n);
        TEST_CHECK(rc == TPU_STATUS_OK, "%s: %s", uc->op, tpu_errmsg(ctx));
        TEST_CHECK(Y(n, 0)->dtype == dt && same_dims(Y(n, 0), 2, D(1, 1)), "%s shape", uc->op);
        TEST_CHECK(x == uc->x, "%s: %g is not exact in %s", uc->op, uc->x, tpu_dtype_name(dt));
        TEST_CHECK(close_to(yv(n, 0, 0), uc->want, tol), "%s(%g) = %.9g, want %.9g (%s)",
                   uc->op, x, yv(n, 0, 0), uc->want, tpu_dtype_name(dt));
        end();
    }
    return 0;
}
static int test_unary_f32(void)  { return unary_table(TPU_DTYPE_F32, 2e-7); }
static int test_unary_f64(void)  { return unary_table(TPU_DTYPE_F64, 1e-14); }
static int test_unary_f16(void)  { return unary_table(TPU_DTYPE_F16, 1e-3); }
static int test_unary_bf16(void) { return unary_table(TPU_DTYPE_BF16, 8e-3); }

/* The float32 fast loops on a longer tensor against the double definition. */
static int test_unary_f32_long(void)
{
    static const char *ops[] = { "Relu", "Sigmoid", "Tanh", "Erf", "Exp", "Abs", "Neg",
                                 "HardSwish", "HardSigmoid", "LeakyRelu", "Floor", "Round" };
    float x[1000];
    for (int i = 0; i < 1000; i++) x[i] = rnd() * 3;
    for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++) {
        begin();
        struct tpu_node *n = NODE(ops[o], 1, tens("x", TPU_DTYPE_F32, 3, D(10, 10, 10), x));
        TEST_CHECK(run(n) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
        for (int i = 0; i < 1000; i++) {
            double v = x[i], w;
            switch (o) {
            case 0: w = v > 0 ? v : 0; break;
            case 1: w = 1 / (1 + exp(-v)); break;
            case 2: w = tanh(v); break;
            case 3: w = erf(v); break;
            case 4: w = exp(v); break;
            case 5: w = fabs(v); break;
            case 6: w = -v; break;
            case 7: w = v * fmin(1, fmax(0, v / 6 + 0.5)); break;
            case 8: w = fmin(1, fmax(0, 0.2 * v + 0.5)); break;
            case 9: w = v < 0 ? 0.01 * v : v; break;
            case 10: w = floor(v); break;
            default: w = v - floor(v) == 0.5 ? 2 * round(v / 2) : round(v); break;
            }
            TEST_CHECK(close_to(yv(n, 0, (size_t)i), w, 1e-6), "%s(%g) = %g, want %g",
                       ops[o], v, yv(n, 0, (size_t)i), w);
        }
        end();
    }
    return 0;
}

/* float32 Tanh and Sigmoid round the exact (double) value correctly. */
static int test_unary_f32_rounding(void)
{
    enum { N_PTS = 40003 };
    static float x[N_PTS];
    for (int i = 0; i < N_PTS - 3; i++) x[i] = -10.0f + 20.0f * (float)i / (N_PTS - 4);
    x[N_PTS - 3] = 1e-5f;
    x[N_PTS - 2] = -3e-4f;
    x[N_PTS - 1] = 1e-30f;
    begin();
    int tx = tens("x", TPU_DTYPE_F32, 1, (int64_t[]){ N_PTS }, x);
    struct tpu_node *th = NODE("Tanh", 1, tx), *sg = NODE("Sigmoid", 1, tx);
    TEST_CHECK(!run(th) && !run(sg), "%s", tpu_errmsg(ctx));
    const float *yt = Y(th, 0)->data, *ys = Y(sg, 0)->data;
    for (int i = 0; i < N_PTS; i++) {
        TEST_CHECK(yt[i] == (float)tanh((double)x[i]), "tanh(%.9g) = %.9g", x[i], yt[i]);
        TEST_CHECK(ys[i] == (float)(1 / (1 + exp(-(double)x[i]))), "sigmoid(%.9g) = %.9g", x[i], ys[i]);
    }
    end();
    return 0;
}

static int test_unary_int(void)
{
    begin();
    const int64_t v[] = { -9007199254740993LL, 7, 0, -1, INT64_MIN + 1 };
    int x = tens("x", TPU_DTYPE_I64, 1, D(5), v);
    struct tpu_node *relu = NODE("Relu", 1, x), *neg = NODE("Neg", 1, x);
    struct tpu_node *ab = NODE("Abs", 1, x), *sg = NODE("Sign", 1, x);
    TEST_CHECK(!run(relu) && !run(neg) && !run(ab) && !run(sg), "%s", tpu_errmsg(ctx));
    TEST_CHECK(Y(ab, 0)->dtype == TPU_DTYPE_I64, "dtype");
    for (int i = 0; i < 5; i++) {
        TEST_CHECK(yi(relu, 0, i) == (v[i] > 0 ? v[i] : 0), "relu %d", i);
        TEST_CHECK(yi(neg, 0, i) == -v[i], "neg %d: %lld", i, (long long)yi(neg, 0, i));
        TEST_CHECK(yi(ab, 0, i) == llabs(v[i]), "abs %d: %lld", i, (long long)yi(ab, 0, i));
        TEST_CHECK(yi(sg, 0, i) == (v[i] > 0) - (v[i] < 0), "sign %d", i);
    }
    end();
    begin();
    const int8_t s8[] = { -128, -5, 5 };
    struct tpu_node *n8 = NODE("Abs", 1, tens("x", TPU_DTYPE_I8, 1, D(3), s8));
    TEST_CHECK(!run(n8), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yi(n8, 0, 0) == -128 && yi(n8, 0, 1) == 5 && yi(n8, 0, 2) == 5, "int8 abs wraps like C");
    const uint8_t b[] = { 1, 0, 1, 1 };
    struct tpu_node *nt = NODE("Not", 1, tens("b", TPU_DTYPE_BOOL, 2, D(2, 2), b));
    TEST_CHECK(!run(nt), "%s", tpu_errmsg(ctx));
    TEST_CHECK(Y(nt, 0)->dtype == TPU_DTYPE_BOOL, "Not gives bool");
    for (int i = 0; i < 4; i++) TEST_CHECK(yi(nt, 0, i) == !b[i], "not %d", i);
    end();
    return 0;
}

static int test_unary_dtype_errors(void)
{
    begin();
    const int32_t v[] = { 4 };
    struct tpu_node *n = NODE("Sqrt", 1, tens("x", TPU_DTYPE_I32, 1, D(1), v));
    TEST_CHECK(run(n) == TPU_ERR_SHAPE, "Sqrt of int32 must be refused");
    TEST_CHECK(strstr(tpu_errmsg(ctx), "node_0") && strstr(tpu_errmsg(ctx), "int32"), "%s", tpu_errmsg(ctx));
    end();
    begin();
    struct tpu_node *nt = NODE("Not", 1, tens("x", TPU_DTYPE_F32, 1, D(1), F32(1)));
    TEST_CHECK(run(nt) == TPU_ERR_SHAPE, "Not of float must be refused");
    end();
    return 0;
}

static int test_unary_attrs(void)
{
    begin();
    int x = tens("x", TPU_DTYPE_F32, 1, D(3), F32(-2, 0.5, 3));
    struct tpu_node *lr = NODE("LeakyRelu", 1, x), *hs = NODE("HardSigmoid", 1, x);
    struct tpu_node *el = NODE("Elu", 1, x), *tr = NODE("ThresholdedRelu", 1, x);
    attr_f(lr, "alpha", 0.5f);
    attr_f(hs, "alpha", 0.25f);
    attr_f(hs, "beta", 0.25f);
    attr_f(el, "alpha", 2.0f);
    attr_f(tr, "alpha", 0.25f);
    TEST_CHECK(!run(lr) && !run(hs) && !run(el) && !run(tr), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yv(lr, 0, 0) == -1 && yv(lr, 0, 2) == 3, "LeakyRelu alpha");
    TEST_CHECK(yv(hs, 0, 0) == 0 && yv(hs, 0, 1) == 0.375 && yv(hs, 0, 2) == 1, "HardSigmoid");
    TEST_CHECK(close_to(yv(el, 0, 0), 2 * (exp(-2) - 1), 1e-6), "Elu alpha");
    TEST_CHECK(yv(tr, 0, 0) == 0 && yv(tr, 0, 1) == 0.5, "ThresholdedRelu alpha");
    end();
    return 0;
}

/*---- Clip ----*/
static int test_clip(void)
{
    begin();
    const float xv[] = { -3, -1, 0, 1, 3, NAN };
    int x = tens("x", TPU_DTYPE_F32, 2, D(2, 3), xv);
    int lo = tens("lo", TPU_DTYPE_F32, 0, NULL, F32(-1.5));
    int hi = tens("hi", TPU_DTYPE_F32, 0, NULL, F32(2));
    int empty = tens("", TPU_DTYPE_UNDEFINED, -1, NULL, NULL);
    struct tpu_node *both = NODE("Clip", 1, x, lo, hi), *only_hi = NODE("Clip", 1, x, empty, hi);
    struct tpu_node *only_lo = NODE("Clip", 1, x, lo), *none = NODE("Clip", 1, x);
    struct tpu_node *swapped = NODE("Clip", 1, x, hi, lo);
    TEST_CHECK(!run(both) && !run(only_hi) && !run(only_lo) && !run(none) && !run(swapped),
               "%s", tpu_errmsg(ctx));
    const double w_both[] = { -1.5, -1, 0, 1, 2, NAN }, w_hi[] = { -3, -1, 0, 1, 2, NAN };
    const double w_lo[] = { -1.5, -1, 0, 1, 3, NAN };
    for (int i = 0; i < 6; i++) {
        TEST_CHECK(close_to(yv(both, 0, i), w_both[i], 0), "both %d: %g", i, yv(both, 0, i));
        TEST_CHECK(close_to(yv(only_hi, 0, i), w_hi[i], 0), "hi %d: %g", i, yv(only_hi, 0, i));
        TEST_CHECK(close_to(yv(only_lo, 0, i), w_lo[i], 0), "lo %d", i);
        TEST_CHECK(close_to(yv(none, 0, i), xv[i], 0), "none %d", i);
        if (i < 5) TEST_CHECK(yv(swapped, 0, i) == -1.5, "min > max gives max: %g", yv(swapped, 0, i));
    }
    end();
    begin();   /* opset 6 form: attributes */
    struct tpu_node *old = NODE("Clip", 1, tens("x", TPU_DTYPE_F64, 1, D(3), ((const double[]){ -5, 0.5, 5 })));
    old->opset = 6;
    attr_f(old, "min", -1);
    attr_f(old, "max", 1);
    TEST_CHECK(!run(old), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yv(old, 0, 0) == -1 && yv(old, 0, 1) == 0.5 && yv(old, 0, 2) == 1, "attribute bounds");
    end();
    begin();   /* integers */
    const int8_t v8[] = { -128, -10, 0, 10, 127 };
    const int8_t l8 = -5, h8 = 100;
    struct tpu_node *ci = NODE("Clip", 1, tens("x", TPU_DTYPE_I8, 1, D(5), v8),
                               tens("l", TPU_DTYPE_I8, 0, NULL, &l8), tens("h", TPU_DTYPE_I8, 0, NULL, &h8));
    TEST_CHECK(!run(ci), "%s", tpu_errmsg(ctx));
    const int w8[] = { -5, -5, 0, 10, 100 };
    for (int i = 0; i < 5; i++) TEST_CHECK(yi(ci, 0, i) == w8[i], "int8 clip %d: %lld", i, (long long)yi(ci, 0, i));
    const uint64_t vu[] = { 1ULL << 63, 5 }, hu = (1ULL << 63) - 1;
    int e2 = tens("", TPU_DTYPE_UNDEFINED, -1, NULL, NULL);
    struct tpu_node *cu = NODE("Clip", 1, tens("xu", TPU_DTYPE_U64, 1, D(2), vu), e2,
                               tens("hu", TPU_DTYPE_U64, 0, NULL, &hu));
    TEST_CHECK(!run(cu), "%s", tpu_errmsg(ctx));
    TEST_CHECK((uint64_t)yi(cu, 0, 0) == hu && yi(cu, 0, 1) == 5, "uint64 compares unsigned");
    end();
    return 0;
}

/*---- Binary: broadcasting against a naive loop ----*/

/* Index into a tensor of rank na / dims da for flat output index i of (nr, dr). */
static size_t naive_index(size_t i, int nr, const int64_t *dr, int na, const int64_t *da)
{
    size_t idx = 0, mul = 1;
    for (int d = nr - 1; d >= 0; d--) {
        size_t c = i % (size_t)dr[d];
        i /= (size_t)dr[d];
        int ad = d - (nr - na);
        if (ad < 0) continue;
        if (da[ad] != 1) idx += c * mul;
        mul *= (size_t)da[ad];
    }
    return idx;
}

static double naive_bin(const char *op, double a, double b)
{
    if (!strcmp(op, "Add")) return (float)a + (float)b;
    if (!strcmp(op, "Sub")) return (float)a - (float)b;
    if (!strcmp(op, "Mul")) return (float)a * (float)b;
    if (!strcmp(op, "Div")) return (float)a / (float)b;
    if (!strcmp(op, "Pow")) return pow(fabs(a), b);
    if (!strcmp(op, "Greater")) return a > b;
    if (!strcmp(op, "LessOrEqual")) return a <= b;
    return NAN;
}

struct bcast_case { int na; int64_t da[4]; int nb; int64_t db[4]; int ny; int64_t dy[4]; };
static const struct bcast_case bcast_cases[] = {
    { 2, { 3, 4 }, 2, { 3, 4 }, 2, { 3, 4 } },                   /* same shape        */
    { 2, { 3, 4 }, 0, { 0 }, 2, { 3, 4 } },                      /* scalar b          */
    { 0, { 0 }, 3, { 2, 3, 4 }, 3, { 2, 3, 4 } },                /* scalar a          */
    { 2, { 3, 4 }, 1, { 4 }, 2, { 3, 4 } },                      /* row               */
    { 2, { 3, 4 }, 2, { 3, 1 }, 2, { 3, 4 } },                   /* column            */
    { 3, { 2, 3, 4 }, 2, { 3, 1 }, 3, { 2, 3, 4 } },             /* rank extension    */
    { 3, { 2, 1, 4 }, 2, { 3, 1 }, 3, { 2, 3, 4 } },             /* both broadcast    */
    { 4, { 2, 3, 1, 5 }, 4, { 1, 3, 4, 1 }, 4, { 2, 3, 4, 5 } }, /* interleaved       */
    { 4, { 2, 8, 5, 5 }, 3, { 8, 1, 1 }, 4, { 2, 8, 5, 5 } },    /* per-channel bias  */
    { 2, { 0, 3 }, 1, { 3 }, 2, { 0, 3 } },                      /* 0-size dim        */
    { 2, { 1, 1 }, 1, { 1 }, 2, { 1, 1 } },                      /* all ones          */
};

static int bcast_op(const char *op, bool pos_a)
{
    for (size_t c = 0; c < sizeof bcast_cases / sizeof bcast_cases[0]; c++) {
        const struct bcast_case *bc = &bcast_cases[c];
        float a[512], b[512];
        for (int i = 0; i < 512; i++) { a[i] = rnd(); b[i] = rnd(); if (pos_a) a[i] = fabsf(a[i]); }
        begin();
        struct tpu_node *n = NODE(op, 1, tens("a", TPU_DTYPE_F32, bc->na, bc->da, a),
                                  tens("b", TPU_DTYPE_F32, bc->nb, bc->db, b));
        TEST_CHECK(run(n) == TPU_STATUS_OK, "%s case %zu: %s", op, c, tpu_errmsg(ctx));
        struct tpu_tensor *y = Y(n, 0);
        TEST_CHECK(same_dims(y, bc->ny, bc->dy), "%s case %zu: output rank %d", op, c, y->n_dims);
        int64_t ny = tpu_tensor_numel(y);
        for (int64_t i = 0; i < ny; i++) {
            double av = a[naive_index((size_t)i, bc->ny, bc->dy, bc->na, bc->da)];
            double bv = b[naive_index((size_t)i, bc->ny, bc->dy, bc->nb, bc->db)];
            double w = naive_bin(op, av, bv);
            TEST_CHECK(close_to(yv(n, 0, (size_t)i), w, 1e-6), "%s case %zu elem %lld: %g vs %g",
                       op, c, (long long)i, yv(n, 0, (size_t)i), w);
        }
        end();
    }
    return 0;
}
static int test_bcast_add(void) { return bcast_op("Add", false); }
static int test_bcast_sub(void) { return bcast_op("Sub", false); }
static int test_bcast_mul(void) { return bcast_op("Mul", false); }
static int test_bcast_div(void) { return bcast_op("Div", false); }
static int test_bcast_pow(void) { return bcast_op("Pow", true); }
static int test_bcast_greater(void) { return bcast_op("Greater", false); }
static int test_bcast_le(void) { return bcast_op("LessOrEqual", false); }

/* Add in float64 / float16 / bfloat16 / int16 with broadcasting, via the generic path. */
static int test_bcast_dtypes(void)
{
    static const enum tpu_dtype dts[] = { TPU_DTYPE_F64, TPU_DTYPE_F16, TPU_DTYPE_BF16,
                                          TPU_DTYPE_I16, TPU_DTYPE_U32, TPU_DTYPE_I8 };
    for (size_t k = 0; k < sizeof dts / sizeof dts[0]; k++) {
        enum tpu_dtype dt = dts[k];
        uint8_t a[24 * 8], b[4 * 8];
        for (int i = 0; i < 24; i++) tpu_set_f64(a, dt, i, tpu_dtype_is_int(dt) ? i * 3 % 50 : rnd());
        for (int i = 0; i < 4; i++) tpu_set_f64(b, dt, i, tpu_dtype_is_int(dt) ? i + 1 : rnd());
        begin();
        struct tpu_node *n = NODE("Mul", 1, tens("a", dt, 3, D(2, 3, 4), a), tens("b", dt, 1, D(4), b));
        TEST_CHECK(!run(n), "%s: %s", tpu_dtype_name(dt), tpu_errmsg(ctx));
        TEST_CHECK(Y(n, 0)->dtype == dt, "dtype kept");
        for (int i = 0; i < 24; i++) {
            uint8_t w[8];
            tpu_set_f64(w, dt, 0, tpu_get_f64(a, dt, i) * tpu_get_f64(b, dt, i % 4));
            TEST_CHECK(yv(n, 0, i) == tpu_get_f64(w, dt, 0), "%s elem %d: %g vs %g",
                       tpu_dtype_name(dt), i, yv(n, 0, i), tpu_get_f64(w, dt, 0));
        }
        end();
    }
    return 0;
}

static int test_int_arith(void)
{
    begin();
    const int32_t a[] = { 7, -7, 7, -7, 5, INT32_MIN }, b[] = { 2, 2, -2, -2, 0, -1 };
    int ta = tens("a", TPU_DTYPE_I32, 1, D(6), a), tb = tens("b", TPU_DTYPE_I32, 1, D(6), b);
    struct tpu_node *dv = NODE("Div", 1, ta, tb);
    TEST_CHECK(!run(dv), "%s", tpu_errmsg(ctx));
    const int32_t w[] = { 3, -3, -3, 3, 0, INT32_MIN };   /* truncation; /0 -> 0; MIN/-1 wraps */
    for (int i = 0; i < 6; i++) TEST_CHECK(yi(dv, 0, i) == w[i], "div %d: %lld", i, (long long)yi(dv, 0, i));
    const int8_t c8[] = { 127, -128 }, d8[] = { 1, 1 };
    struct tpu_node *ad = NODE("Add", 1, tens("c", TPU_DTYPE_I8, 1, D(2), c8), tens("d", TPU_DTYPE_I8, 1, D(2), d8));
    struct tpu_node *sb = NODE("Sub", 1, tens("c2", TPU_DTYPE_I8, 1, D(2), c8), tens("d2", TPU_DTYPE_I8, 1, D(2), d8));
    TEST_CHECK(!run(ad) && !run(sb), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yi(ad, 0, 0) == -128 && yi(sb, 0, 1) == 127, "int8 wraps");
    const int64_t e[] = { 3037000499LL, 3, -2 }, f[] = { 3037000499LL, 39, 63 };
    int te = tens("e", TPU_DTYPE_I64, 1, D(3), e), tf = tens("f", TPU_DTYPE_I64, 1, D(3), f);
    struct tpu_node *ml = NODE("Mul", 1, te, tf), *pw = NODE("Pow", 1, te, tf);
    TEST_CHECK(!run(ml) && !run(pw), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yi(ml, 0, 0) == 9223372030926249001LL, "int64 mul exact: %lld", (long long)yi(ml, 0, 0));
    TEST_CHECK(yi(pw, 0, 1) == 4052555153018976267LL, "3^39 exact: %lld", (long long)yi(pw, 0, 1));
    TEST_CHECK(yi(pw, 0, 2) == INT64_MIN, "(-2)^63 = INT64_MIN: %lld", (long long)yi(pw, 0, 2));
    const uint64_t u1[] = { (1ULL << 63) + 1, 10 }, u2[] = { 1, 3 };
    int tu1 = tens("u1", TPU_DTYPE_U64, 1, D(2), u1), tu2 = tens("u2", TPU_DTYPE_U64, 1, D(2), u2);
    struct tpu_node *ls = NODE("Less", 1, tu1, tu2), *ud = NODE("Div", 1, tu1, tu2);
    TEST_CHECK(!run(ls) && !run(ud), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yi(ls, 0, 0) == 0 && yi(ls, 0, 1) == 0, "uint64 compares unsigned");
    TEST_CHECK((uint64_t)yi(ud, 0, 0) == u1[0] && yi(ud, 0, 1) == 3, "uint64 div");
    end();
    return 0;
}

/* ONNX Pow-15: base and exponent dtypes may differ; output has the base's dtype. */
static int test_pow_mixed(void)
{
    begin();
    const int32_t ib[] = { 2, 3, -2 };
    const float fe[] = { 0.5f, 2, 3 }, fb[] = { 1.5f, 4, -2 };
    const int64_t ie[] = { 2, 0, 3 };
    struct tpu_node *n1 = NODE("Pow", 1, tens("ib", TPU_DTYPE_I32, 1, D(3), ib), tens("fe", TPU_DTYPE_F32, 1, D(3), fe));
    struct tpu_node *n2 = NODE("Pow", 1, tens("fb", TPU_DTYPE_F32, 1, D(3), fb), tens("ie", TPU_DTYPE_I64, 1, D(3), ie));
    TEST_CHECK(!run(n1) && !run(n2), "%s", tpu_errmsg(ctx));
    TEST_CHECK(Y(n1, 0)->dtype == TPU_DTYPE_I32 && Y(n2, 0)->dtype == TPU_DTYPE_F32, "base dtype");
    TEST_CHECK(yi(n1, 0, 0) == 1 && yi(n1, 0, 1) == 9 && yi(n1, 0, 2) == -8, "int^float");
    TEST_CHECK(yv(n2, 0, 0) == 2.25 && yv(n2, 0, 1) == 1 && yv(n2, 0, 2) == -8, "float^int");
    end();
    return 0;
}

static int test_logic_compare(void)
{
    begin();
    const uint8_t a[] = { 0, 0, 1, 1, 1, 0 }, b[] = { 0, 1, 1 };
    int ta = tens("a", TPU_DTYPE_BOOL, 2, D(2, 3), a), tb = tens("b", TPU_DTYPE_BOOL, 1, D(3), b);
    struct tpu_node *an = NODE("And", 1, ta, tb), *orr = NODE("Or", 1, ta, tb), *xr = NODE("Xor", 1, ta, tb);
    struct tpu_node *eq = NODE("Equal", 1, ta, tb);
    TEST_CHECK(!run(an) && !run(orr) && !run(xr) && !run(eq), "%s", tpu_errmsg(ctx));
    for (int i = 0; i < 6; i++) {
        int x = a[i], y = b[i % 3];
        TEST_CHECK(yi(an, 0, i) == (x && y) && yi(orr, 0, i) == (x || y), "and/or %d", i);
        TEST_CHECK(yi(xr, 0, i) == (x != y) && yi(eq, 0, i) == (x == y), "xor/eq %d", i);
    }
    TEST_CHECK(Y(an, 0)->dtype == TPU_DTYPE_BOOL && Y(eq, 0)->dtype == TPU_DTYPE_BOOL, "bool out");
    const int64_t c[] = { 1, 5, 9 }, d[] = { 5 };
    int tc = tens("c", TPU_DTYPE_I64, 1, D(3), c), td = tens("d", TPU_DTYPE_I64, 0, NULL, d);
    struct tpu_node *lt = NODE("Less", 1, tc, td), *ge = NODE("GreaterOrEqual", 1, tc, td);
    struct tpu_node *e2 = NODE("Equal", 1, tc, td);
    TEST_CHECK(!run(lt) && !run(ge) && !run(e2), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yi(lt, 0, 0) == 1 && yi(lt, 0, 1) == 0 && yi(lt, 0, 2) == 0, "less");
    TEST_CHECK(yi(ge, 0, 0) == 0 && yi(ge, 0, 1) == 1 && yi(ge, 0, 2) == 1, "ge");
    TEST_CHECK(yi(e2, 0, 1) == 1 && yi(e2, 0, 0) == 0, "equal");
    struct tpu_node *bad = NODE("And", 1, tc, td);
    TEST_CHECK(run(bad) == TPU_ERR_SHAPE, "And on int64 must be refused");
    end();
    return 0;
}

static int test_prelu(void)
{
    begin();
    float x[12];
    for (int i = 0; i < 12; i++) x[i] = (float)(i - 6);
    struct tpu_node *n = NODE("PRelu", 1, tens("x", TPU_DTYPE_F32, 4, D(1, 3, 2, 2), x),
                              tens("s", TPU_DTYPE_F32, 3, D(3, 1, 1), F32(0.1f, 0.2f, 0.3f)));
    TEST_CHECK(!run(n), "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(n, 0), 4, D(1, 3, 2, 2)), "X's shape");
    for (int i = 0; i < 12; i++) {
        double s = (i / 4 + 1) * 0.1f, w = x[i] < 0 ? (float)((float)s * x[i]) : x[i];
        TEST_CHECK(close_to(yv(n, 0, i), w, 1e-7), "elem %d: %g vs %g", i, yv(n, 0, i), w);
    }
    /* ONNX PRelu-6: a 1-D slope of X's channel count applies along axis 1. */
    struct tpu_node *old = NODE("PRelu", 1, tens("x6", TPU_DTYPE_F32, 3, D(1, 3, 4), x),
                                tens("s6", TPU_DTYPE_F32, 1, D(3), F32(0.5f, 0.25f, 2)));
    old->opset = 6;
    TEST_CHECK(!run(old), "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(old, 0), 3, D(1, 3, 4)), "PRelu-6 shape");
    for (int i = 0; i < 12; i++) {
        double w = x[i] < 0 ? (double[]){ 0.5, 0.25, 2 }[i / 4] * x[i] : x[i];
        TEST_CHECK(yv(old, 0, i) == w, "PRelu-6 elem %d: %g vs %g", i, yv(old, 0, i), w);
    }
    struct tpu_node *bad = NODE("PRelu", 1, tens("x2", TPU_DTYPE_F32, 1, D(3), x),
                                tens("s2", TPU_DTYPE_F32, 2, D(2, 3), x));
    TEST_CHECK(run(bad) == TPU_ERR_SHAPE, "slope [2,3] does not broadcast to X [3]");
    end();
    return 0;
}

static int test_bcast_errors(void)
{
    begin();
    struct tpu_node *n = NODE("Add", 1, tens("a", TPU_DTYPE_F32, 2, D(2, 3), NULL),
                              tens("b", TPU_DTYPE_F32, 1, D(4), NULL));
    TEST_CHECK(run(n) == TPU_ERR_SHAPE, "status");
    const char *m = tpu_errmsg(ctx);
    TEST_CHECK(strstr(m, "t.onnx") && strstr(m, "node_0"), "%s", m);
    TEST_CHECK(strstr(m, "[2,3]") && strstr(m, "[4]"), "%s", m);
    end();
    begin();
    struct tpu_node *d = NODE("Add", 1, tens("a", TPU_DTYPE_F32, 1, D(2), NULL),
                              tens("b", TPU_DTYPE_I64, 1, D(2), NULL));
    TEST_CHECK(run(d) == TPU_ERR_SHAPE, "dtype mismatch");
    m = tpu_errmsg(ctx);
    TEST_CHECK(strstr(m, "float32") && strstr(m, "int64"), "%s", m);
    end();
    begin();   /* unknown dims stay unknown; unknown rank gives unknown rank */
    struct tpu_node *u = NODE("Mul", 1, tens("a", TPU_DTYPE_F32, 2, D(-1, 3), NULL),
                              tens("b", TPU_DTYPE_F32, 1, D(3), NULL));
    TEST_CHECK(tpu_op_shape_fn(u->op)(g, u) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(u, 0), 2, D(-1, 3)), "[-1,3]");
    char buf[64];
    g->tensors[u->inputs[0]]->dim_param[0] = "N";
    TEST_CHECK(tpu_op_shape_fn(u->op)(g, u) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(!strcmp(tpu_shape_str(Y(u, 0), buf, sizeof buf), "[N,3]"), "symbolic dim kept: %s", buf);
    struct tpu_node *rs = NODE("ReduceMean", 1, u->inputs[0]);
    attr_ints(rs, "axes", 1, D(1));
    attr_i(rs, "keepdims", 0);
    TEST_CHECK(tpu_op_shape_fn(rs->op)(g, rs) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(!strcmp(tpu_shape_str(Y(rs, 0), buf, sizeof buf), "[N]"), "reduced: %s", buf);
    struct tpu_node *r = NODE("Mul", 1, tens("c", TPU_DTYPE_F32, -1, NULL, NULL),
                              tens("d", TPU_DTYPE_F32, 1, D(3), NULL));
    TEST_CHECK(tpu_op_shape_fn(r->op)(g, r) == TPU_STATUS_OK && Y(r, 0)->n_dims == -1, "rank -1");
    struct tpu_node *w = NODE("Where", 1, tens("c2", TPU_DTYPE_BOOL, 1, D(2), NULL),
                              tens("x2", TPU_DTYPE_F32, 1, D(3), NULL), tens("y2", TPU_DTYPE_F32, 1, D(1), NULL));
    TEST_CHECK(tpu_op_shape_fn(w->op)(g, w) == TPU_ERR_SHAPE, "Where [2] vs [3]");
    end();
    return 0;
}

/* Odd corners: 0-size outputs, unknown ranks, bad Clip bounds, one-input ops. */
static int test_corners(void)
{
    begin();
    const uint16_t h[] = { 0x3c00, 0x4000, 0x4200 };   /* f16 1, 2, 3 */
    struct tpu_node *mx = NODE("Max", 1, tens("h", TPU_DTYPE_F16, 2, D(3, 1), h),
                               tens("e", TPU_DTYPE_F16, 2, D(1, 0), NULL));
    TEST_CHECK(tpu_op_shape_fn(mx->op)(g, mx) == TPU_STATUS_OK, "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(mx, 0), 2, D(3, 0)), "[3,1] with [1,0] gives [3,0]");
    struct tpu_node *wh = NODE("Where", 1, tens("c", TPU_DTYPE_BOOL, 1, D(0), F32(0)),   /* no values */
                               tens("x", TPU_DTYPE_F32, 2, D(2, 1), F32(1, 2)),
                               tens("y", TPU_DTYPE_F32, 0, NULL, F32(3)));
    TEST_CHECK(run(wh) == TPU_STATUS_OK && same_dims(Y(wh, 0), 2, D(2, 0)), "Where to [2,0]: %s", tpu_errmsg(ctx));
    struct tpu_node *ra = NODE("ReduceMax", 1, tens("r", TPU_DTYPE_F32, -1, NULL, NULL));
    struct tpu_node *aa = NODE("ArgMin", 1, tens("r2", TPU_DTYPE_F32, -1, NULL, NULL));
    TEST_CHECK(!tpu_op_shape_fn(ra->op)(g, ra) && Y(ra, 0)->n_dims == -1, "reduce of unknown rank");
    TEST_CHECK(!tpu_op_shape_fn(aa->op)(g, aa) && Y(aa, 0)->n_dims == -1 &&
               Y(aa, 0)->dtype == TPU_DTYPE_I64, "arg of unknown rank");
    struct tpu_node *ae = NODE("ArgMax", 1, tens("z", TPU_DTYPE_F32, 2, D(0, 3), NULL));
    TEST_CHECK(tpu_op_shape_fn(ae->op)(g, ae) == TPU_ERR_SHAPE, "ArgMax over an empty axis");
    end();
    begin();
    struct tpu_node *cl = NODE("Clip", 1, tens("x", TPU_DTYPE_F32, 1, D(2), F32(1, 2)),
                               tens("lo", TPU_DTYPE_F32, 1, D(2), F32(0, 0)));
    TEST_CHECK(run(cl) == TPU_ERR_SHAPE && strstr(tpu_errmsg(ctx), "scalar"), "%s", tpu_errmsg(ctx));
    end();
    begin();
    struct tpu_node *miss = tpu_graph_add_node(g, "Add", 2, 1);
    miss->inputs[0] = tens("a", TPU_DTYPE_F32, 1, D(2), F32(1, 2));
    miss->outputs[0] = tpu_graph_tensor_id(g, "y");
    TEST_CHECK(run(miss) == TPU_ERR_SHAPE && strstr(tpu_errmsg(ctx), "missing"), "%s", tpu_errmsg(ctx));
    end();
    return 0;
}

/*---- Variadic and Where ----*/
static int test_variadic(void)
{
    begin();
    const float a[] = { 1, 2, 3, 4, 5, 6 }, b[] = { 10, 20, 30 }, c[] = { 100, -100 };
    int ta = tens("a", TPU_DTYPE_F32, 2, D(2, 3), a), tb = tens("b", TPU_DTYPE_F32, 1, D(3), b);
    int tc = tens("c", TPU_DTYPE_F32, 2, D(2, 1), c);
    struct tpu_node *s = NODE("Sum", 1, ta, tb, tc), *mn = NODE("Mean", 1, ta, tb, tc);
    struct tpu_node *mx = NODE("Max", 1, ta, tb, tc), *mi = NODE("Min", 1, ta, tb, tc);
    struct tpu_node *one = NODE("Sum", 1, tb);
    TEST_CHECK(!run(s) && !run(mn) && !run(mx) && !run(mi) && !run(one), "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(s, 0), 2, D(2, 3)), "shape");
    for (int i = 0; i < 6; i++) {
        double x = a[i], y = b[i % 3], z = c[i / 3];
        TEST_CHECK(yv(s, 0, i) == x + y + z, "sum %d", i);
        TEST_CHECK(close_to(yv(mn, 0, i), (x + y + z) / 3, 1e-7), "mean %d", i);
        TEST_CHECK(yv(mx, 0, i) == fmax(x, fmax(y, z)), "max %d", i);
        TEST_CHECK(yv(mi, 0, i) == fmin(x, fmin(y, z)), "min %d", i);
    }
    for (int i = 0; i < 3; i++) TEST_CHECK(yv(one, 0, i) == b[i], "one input");
    const float nv[] = { NAN, 1 }, ov[] = { 0, NAN };
    struct tpu_node *mnan = NODE("Max", 1, tens("n1", TPU_DTYPE_F32, 1, D(2), nv), tens("n2", TPU_DTYPE_F32, 1, D(2), ov));
    TEST_CHECK(!run(mnan) && isnan(yv(mnan, 0, 0)) && isnan(yv(mnan, 0, 1)), "Max propagates NaN");
    const int64_t i1[] = { INT64_MAX, -3 }, i2[] = { INT64_MAX - 1, 4 };
    struct tpu_node *im = NODE("Min", 1, tens("i1", TPU_DTYPE_I64, 1, D(2), i1), tens("i2", TPU_DTYPE_I64, 1, D(2), i2));
    TEST_CHECK(!run(im) && yi(im, 0, 0) == INT64_MAX - 1 && yi(im, 0, 1) == -3, "int64 min exact");
    end();
    return 0;
}

static int test_where(void)
{
    begin();
    const uint8_t c[] = { 1, 0 };
    const int64_t x[] = { 1, 2, 3 }, y[] = { -7 };
    struct tpu_node *n = NODE("Where", 1, tens("c", TPU_DTYPE_BOOL, 2, D(2, 1), c),
                              tens("x", TPU_DTYPE_I64, 2, D(1, 3), x), tens("y", TPU_DTYPE_I64, 0, NULL, y));
    TEST_CHECK(!run(n), "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(n, 0), 2, D(2, 3)) && Y(n, 0)->dtype == TPU_DTYPE_I64, "shape");
    const int64_t w[] = { 1, 2, 3, -7, -7, -7 };
    for (int i = 0; i < 6; i++) TEST_CHECK(yi(n, 0, i) == w[i], "elem %d", i);
    float xf[24], yf[24];
    uint8_t cf[4] = { 1, 0, 0, 1 };
    for (int i = 0; i < 24; i++) { xf[i] = rnd(); yf[i] = rnd(); }
    struct tpu_node *f = NODE("Where", 1, tens("cf", TPU_DTYPE_BOOL, 1, D(4), cf),
                              tens("xf", TPU_DTYPE_F32, 3, D(2, 3, 4), xf), tens("yf", TPU_DTYPE_F32, 3, D(2, 3, 4), yf));
    TEST_CHECK(!run(f), "%s", tpu_errmsg(ctx));
    for (int i = 0; i < 24; i++) TEST_CHECK(yv(f, 0, i) == (cf[i % 4] ? xf[i] : yf[i]), "f32 elem %d", i);
    struct tpu_node *bad = NODE("Where", 1, tens("cb", TPU_DTYPE_F32, 1, D(1), xf),
                                tens("xb", TPU_DTYPE_F32, 1, D(1), xf), tens("yb", TPU_DTYPE_F32, 1, D(1), yf));
    TEST_CHECK(run(bad) == TPU_ERR_SHAPE, "float condition refused");
    end();
    return 0;
}

/*---- Reductions ----*/

/* Naive reduction of x [2,3,4] over mask, by kind, into out (keepdims layout). */
static double naive_reduce(const char *op, const float *x, const bool *mask, int oi, int oj, int ok)
{
    double s = 0, p = 1, mx = -INFINITY, mn = INFINITY, l1 = 0, sq = 0, cnt = 0;
    for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) {
        if ((!mask[0] && i != oi) || (!mask[1] && j != oj) || (!mask[2] && k != ok)) continue;
        double v = x[(i * 3 + j) * 4 + k];
        s += v; p *= v; mx = fmax(mx, v); mn = fmin(mn, v); l1 += fabs(v); sq += v * v; cnt++;
    }
    if (!strcmp(op, "ReduceSum")) return s;
    if (!strcmp(op, "ReduceMean")) return s / cnt;
    if (!strcmp(op, "ReduceProd")) return p;
    if (!strcmp(op, "ReduceMax")) return mx;
    if (!strcmp(op, "ReduceMin")) return mn;
    if (!strcmp(op, "ReduceL1")) return l1;
    if (!strcmp(op, "ReduceL2")) return sqrt(sq);
    if (!strcmp(op, "ReduceSumSquare")) return sq;
    if (!strcmp(op, "ReduceLogSum")) return log(s);
    if (!strcmp(op, "ReduceLogSumExp")) {
        double e = 0;
        for (int i = 0; i < 24; i++) {
            int a = i / 12, b = i / 4 % 3, c = i % 4;
            if ((!mask[0] && a != oi) || (!mask[1] && b != oj) || (!mask[2] && c != ok)) continue;
            e += exp(x[i]);
        }
        return log(e);
    }
    return NAN;
}

static const char *reduce_ops[] = { "ReduceSum", "ReduceMean", "ReduceProd", "ReduceMax",
                                    "ReduceMin", "ReduceL1", "ReduceL2", "ReduceSumSquare",
                                    "ReduceLogSum", "ReduceLogSumExp" };

/* Every Reduce* over x [2,3,4] with axes {1}, {0,2}, {-1}, {} (all), with and
** without keepdims, axes as attribute (opset 11) and as input (opset 18). */
static int test_reduce_all_kinds(void)
{
    static const struct { int n; int64_t axes[3]; bool mask[3]; } sets[] = {
        { 1, { 1 }, { 0, 1, 0 } }, { 2, { 0, 2 }, { 1, 0, 1 } }, { 1, { -1 }, { 0, 0, 1 } },
        { 0, { 0 }, { 1, 1, 1 } }, { 2, { -3, 1 }, { 1, 1, 0 } },
    };
    float x[24];
    for (int i = 0; i < 24; i++) x[i] = fabsf(rnd()) + 0.25f;   /* positive: LogSum defined */
    for (size_t o = 0; o < sizeof reduce_ops / sizeof reduce_ops[0]; o++)
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
    for (int keep = 0; keep < 2; keep++)
    for (int as_input = 0; as_input < 2; as_input++) {
        begin();
        int tx = tens("x", TPU_DTYPE_F32, 3, D(2, 3, 4), x);
        struct tpu_node *n;
        if (as_input) {
            int ta = tens("axes", TPU_DTYPE_I64, 1, (int64_t[]){ sets[s].n }, sets[s].axes);
            n = NODE(reduce_ops[o], 1, tx, ta);
            n->opset = 18;
        } else {
            n = NODE(reduce_ops[o], 1, tx);
            n->opset = 11;
            if (sets[s].n) attr_ints(n, "axes", sets[s].n, sets[s].axes);
        }
        attr_i(n, "keepdims", keep);
        TEST_CHECK(!run(n), "%s: %s", reduce_ops[o], tpu_errmsg(ctx));
        int64_t want[3];
        int r = 0;
        for (int d = 0; d < 3; d++) {
            if (!sets[s].mask[d]) want[r++] = (int64_t[]){ 2, 3, 4 }[d];
            else if (keep) want[r++] = 1;
        }
        TEST_CHECK(same_dims(Y(n, 0), r, want), "%s set %zu keep %d: rank %d", reduce_ops[o], s, keep, Y(n, 0)->n_dims);
        size_t k = 0;
        for (int i = 0; i < (sets[s].mask[0] ? 1 : 2); i++)
        for (int j = 0; j < (sets[s].mask[1] ? 1 : 3); j++)
        for (int l = 0; l < (sets[s].mask[2] ? 1 : 4); l++, k++) {
            double w = naive_reduce(reduce_ops[o], x, sets[s].mask, i, j, l);
            TEST_CHECK(close_to(yv(n, 0, k), w, 1e-6), "%s set %zu out %zu: %.8g vs %.8g",
                       reduce_ops[o], s, k, yv(n, 0, k), w);
        }
        end();
    }
    return 0;
}

static int test_reduce_noop_and_errors(void)
{
    begin();
    const float x[] = { 1, 2, 3, 4, 5, 6 };
    int tx = tens("x", TPU_DTYPE_F32, 2, D(2, 3), x);
    int te = tens("axes", TPU_DTYPE_I64, 1, D(0), (const int64_t[]){ 0 });
    struct tpu_node *noop = NODE("ReduceSum", 1, tx, te), *all = NODE("ReduceSum", 1, tx, te);
    attr_i(noop, "noop_with_empty_axes", 1);
    attr_i(all, "keepdims", 0);
    TEST_CHECK(!run(noop) && !run(all), "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(noop, 0), 2, D(2, 3)), "noop keeps shape");
    for (int i = 0; i < 6; i++) TEST_CHECK(yv(noop, 0, i) == x[i], "noop %d", i);
    TEST_CHECK(Y(all, 0)->n_dims == 0 && yv(all, 0, 0) == 21, "reduce all: %g", yv(all, 0, 0));
    struct tpu_node *bad = NODE("ReduceMax", 1, tx);
    attr_ints(bad, "axes", 1, D(2));
    TEST_CHECK(run(bad) == TPU_ERR_SHAPE && strstr(tpu_errmsg(ctx), "out of range"), "%s", tpu_errmsg(ctx));
    end();
    begin();
    struct tpu_node *dup = NODE("ReduceMean", 1, tens("x", TPU_DTYPE_F32, 2, D(2, 3), x));
    attr_ints(dup, "axes", 2, D(1, -1));
    TEST_CHECK(run(dup) == TPU_ERR_SHAPE && strstr(tpu_errmsg(ctx), "twice"), "%s", tpu_errmsg(ctx));
    end();
    begin();   /* axes known only at run time: keepdims=1 keeps the rank, else unknown */
    int tx2 = tens("x", TPU_DTYPE_F32, 2, D(2, 3), NULL), ta = tens("a", TPU_DTYPE_I64, 1, D(1), NULL);
    struct tpu_node *k1 = NODE("ReduceSum", 1, tx2, ta), *k0 = NODE("ReduceSum", 1, tx2, ta);
    attr_i(k0, "keepdims", 0);
    TEST_CHECK(!tpu_op_shape_fn(k1->op)(g, k1) && same_dims(Y(k1, 0), 2, D(-1, -1)), "keepdims=1");
    TEST_CHECK(!tpu_op_shape_fn(k0->op)(g, k0) && Y(k0, 0)->n_dims == -1, "keepdims=0");
    end();
    return 0;
}

/* ONNX Reduce-18: reducing an empty set gives the op's identity. */
static int test_reduce_empty(void)
{
    static const struct { const char *op; double want; } cases[] = {
        { "ReduceSum", 0 }, { "ReduceProd", 1 }, { "ReduceMax", -INFINITY },
        { "ReduceMin", INFINITY }, { "ReduceL1", 0 }, { "ReduceL2", 0 },
        { "ReduceSumSquare", 0 }, { "ReduceLogSum", -INFINITY }, { "ReduceLogSumExp", -INFINITY },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        begin();
        struct tpu_node *n = NODE(cases[c].op, 1, tens("x", TPU_DTYPE_F32, 2, D(2, 0), F32(0)));
        attr_ints(n, "axes", 1, D(1));
        TEST_CHECK(!run(n), "%s: %s", cases[c].op, tpu_errmsg(ctx));
        TEST_CHECK(same_dims(Y(n, 0), 2, D(2, 1)), "%s shape", cases[c].op);
        TEST_CHECK(yv(n, 0, 0) == cases[c].want && yv(n, 0, 1) == cases[c].want, "%s: %g",
                   cases[c].op, yv(n, 0, 0));
        end();
    }
    begin();
    struct tpu_node *im = NODE("ReduceMax", 1, tens("x", TPU_DTYPE_I32, 2, D(0, 2), F32(0)));
    attr_ints(im, "axes", 1, D(0));
    struct tpu_node *um = NODE("ReduceMin", 1, tens("u", TPU_DTYPE_U8, 1, D(0), F32(0)));
    TEST_CHECK(!run(im) && !run(um), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yi(im, 0, 0) == INT32_MIN && yi(im, 0, 1) == INT32_MIN, "int32 empty max");
    TEST_CHECK(yi(um, 0, 0) == 255, "uint8 empty min: %lld", (long long)yi(um, 0, 0));
    end();
    return 0;
}

static int test_reduce_dtypes(void)
{
    begin();
    const int64_t v[] = { INT64_MAX - 10, 3, 7, -2, 5, 1 };
    int tx = tens("x", TPU_DTYPE_I64, 2, D(2, 3), v);
    struct tpu_node *s = NODE("ReduceSum", 1, tx, tens("a", TPU_DTYPE_I64, 1, D(1), D(1)));
    struct tpu_node *mx = NODE("ReduceMax", 1, tx), *pr = NODE("ReduceProd", 1, tx);
    attr_ints(mx, "axes", 1, D(0));
    attr_ints(pr, "axes", 1, D(0));
    attr_i(pr, "keepdims", 0);
    TEST_CHECK(!run(s) && !run(mx) && !run(pr), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yi(s, 0, 0) == INT64_MAX && yi(s, 0, 1) == 4, "int64 sum exact: %lld", (long long)yi(s, 0, 0));
    TEST_CHECK(yi(mx, 0, 0) == INT64_MAX - 10 && yi(mx, 0, 1) == 5 && yi(mx, 0, 2) == 7, "int64 max");
    TEST_CHECK(Y(pr, 0)->n_dims == 1 && yi(pr, 0, 1) == 15 && yi(pr, 0, 2) == 7, "int64 prod");
    const uint16_t h[] = { 0x3c00, 0x4000, 0x4200, 0x4400 };   /* f16 1, 2, 3, 4 */
    struct tpu_node *hm = NODE("ReduceMean", 1, tens("h", TPU_DTYPE_F16, 1, D(4), h));
    struct tpu_node *lse = NODE("ReduceLogSumExp", 1, tens("big", TPU_DTYPE_F32, 1, D(2), F32(1000, 1000)));
    TEST_CHECK(!run(hm) && !run(lse), "%s", tpu_errmsg(ctx));
    TEST_CHECK(Y(hm, 0)->dtype == TPU_DTYPE_F16 && yv(hm, 0, 0) == 2.5, "f16 mean %g", yv(hm, 0, 0));
    TEST_CHECK(close_to(yv(lse, 0, 0), 1000 + log(2), 1e-7), "no overflow: %g", yv(lse, 0, 0));
    end();
    return 0;
}

/*---- ArgMax / ArgMin ----*/
static int test_argmax(void)
{
    begin();
    const float x[] = { 2, 5, 5, 1,   7, 7, 0, 7,   3, 1, 1, 3 };
    int tx = tens("x", TPU_DTYPE_F32, 2, D(3, 4), x);
    struct tpu_node *first = NODE("ArgMax", 1, tx), *last = NODE("ArgMax", 1, tx);
    struct tpu_node *mn = NODE("ArgMin", 1, tx), *mnl = NODE("ArgMin", 1, tx), *ax0 = NODE("ArgMax", 1, tx);
    attr_i(first, "axis", -1);
    attr_i(last, "axis", 1);
    attr_i(last, "select_last_index", 1);
    attr_i(last, "keepdims", 0);
    attr_i(mn, "axis", 1);
    attr_i(mnl, "axis", 1);
    attr_i(mnl, "select_last_index", 1);
    TEST_CHECK(!run(first) && !run(last) && !run(mn) && !run(mnl) && !run(ax0), "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(first, 0), 2, D(3, 1)) && Y(first, 0)->dtype == TPU_DTYPE_I64, "keepdims shape");
    TEST_CHECK(same_dims(Y(last, 0), 1, D(3)), "no keepdims shape");
    TEST_CHECK(same_dims(Y(ax0, 0), 2, D(1, 4)), "default axis 0");
    const int64_t wf[] = { 1, 0, 0 }, wl[] = { 2, 3, 3 }, wm[] = { 3, 2, 1 }, wml[] = { 3, 2, 2 };
    const int64_t w0[] = { 1, 1, 0, 1 };
    for (int i = 0; i < 3; i++) {
        TEST_CHECK(yi(first, 0, i) == wf[i], "first %d: %lld", i, (long long)yi(first, 0, i));
        TEST_CHECK(yi(last, 0, i) == wl[i], "last %d: %lld", i, (long long)yi(last, 0, i));
        TEST_CHECK(yi(mn, 0, i) == wm[i] && yi(mnl, 0, i) == wml[i], "argmin %d", i);
    }
    for (int i = 0; i < 4; i++) TEST_CHECK(yi(ax0, 0, i) == w0[i], "axis 0 %d", i);
    const uint64_t u[] = { 1, 1ULL << 63, 5 };
    struct tpu_node *nu = NODE("ArgMax", 1, tens("u", TPU_DTYPE_U64, 1, D(3), u));
    TEST_CHECK(!run(nu) && yi(nu, 0, 0) == 1, "uint64 compared unsigned");
    struct tpu_node *bad = NODE("ArgMax", 1, tx);
    attr_i(bad, "axis", 2);
    TEST_CHECK(run(bad) == TPU_ERR_SHAPE, "axis out of range");
    end();
    return 0;
}

/*---- TopK ----*/
static int test_topk(void)
{
    begin();
    const float x[] = { 1, 3, 3, 2, 3,   0, -1, 4, 4, -1 };
    int tx = tens("x", TPU_DTYPE_F32, 2, D(2, 5), x);
    const int64_t k3 = 3, k2 = 2;
    struct tpu_node *big = NODE("TopK", 2, tx, tens("k3", TPU_DTYPE_I64, 1, D(1), &k3));
    struct tpu_node *small = NODE("TopK", 2, tx, tens("k2", TPU_DTYPE_I64, 1, D(1), &k2));
    attr_i(small, "largest", 0);
    TEST_CHECK(!run(big) && !run(small), "%s", tpu_errmsg(ctx));
    TEST_CHECK(same_dims(Y(big, 0), 2, D(2, 3)) && same_dims(Y(big, 1), 2, D(2, 3)), "shape");
    TEST_CHECK(Y(big, 1)->dtype == TPU_DTYPE_I64, "indices int64");
    const double wv[] = { 3, 3, 3, 4, 4, 0 };
    const int64_t wi[] = { 1, 2, 4, 2, 3, 0 };
    for (int i = 0; i < 6; i++)
        TEST_CHECK(yv(big, 0, i) == wv[i] && yi(big, 1, i) == wi[i], "largest %d: %g @%lld", i,
                   yv(big, 0, i), (long long)yi(big, 1, i));
    const double sv[] = { 1, 2, -1, -1 };
    const int64_t si[] = { 0, 3, 1, 4 };
    for (int i = 0; i < 4; i++)
        TEST_CHECK(yv(small, 0, i) == sv[i] && yi(small, 1, i) == si[i], "smallest %d: %g @%lld", i,
                   yv(small, 0, i), (long long)yi(small, 1, i));
    struct tpu_node *ax0 = NODE("TopK", 2, tx, tens("k1", TPU_DTYPE_I64, 1, D(1), D(1)));
    attr_i(ax0, "axis", 0);
    TEST_CHECK(!run(ax0) && same_dims(Y(ax0, 0), 2, D(1, 5)), "axis 0");
    const int64_t wa[] = { 0, 0, 1, 1, 0 };
    for (int i = 0; i < 5; i++) TEST_CHECK(yi(ax0, 1, i) == wa[i], "axis 0 idx %d", i);
    struct tpu_node *tooBig = NODE("TopK", 2, tx, tens("k9", TPU_DTYPE_I64, 1, D(1), D(9)));
    TEST_CHECK(run(tooBig) == TPU_ERR_SHAPE, "K > axis");
    struct tpu_node *unk = NODE("TopK", 2, tx, tens("kq", TPU_DTYPE_I64, 1, D(1), NULL));
    TEST_CHECK(!tpu_op_shape_fn(unk->op)(g, unk) && same_dims(Y(unk, 0), 2, D(2, -1)), "K unknown");
    end();
    begin();
    const int32_t iv[] = { 5, -3, 5, 9 };
    struct tpu_node *ti = NODE("TopK", 2, tens("i", TPU_DTYPE_I32, 1, D(4), iv), tens("k", TPU_DTYPE_I64, 1, D(1), D(2)));
    TEST_CHECK(!run(ti), "%s", tpu_errmsg(ctx));
    TEST_CHECK(yi(ti, 0, 0) == 9 && yi(ti, 0, 1) == 5 && yi(ti, 1, 0) == 3 && yi(ti, 1, 1) == 0, "int32 topk");
    end();
    return 0;
}

/* The small-k (insertion) and large-k (sort) paths against a naive selection,
** on values with many ties: same values, indices in the same order. */
static int test_topk_paths(void)
{
    float x[2 * 300];
    for (int i = 0; i < 600; i++) x[i] = (float)((int)(rnd() * 4)) / 2;   /* 17 distinct values */
    for (int largest = 0; largest < 2; largest++)
    for (int kk = 0; kk < 3; kk++) {
        int64_t k = (int64_t[]){ 10, 64, 150 }[kk];
        begin();
        struct tpu_node *n = NODE("TopK", 2, tens("x", TPU_DTYPE_F32, 2, D(2, 300), x),
                                  tens("k", TPU_DTYPE_I64, 1, D(1), &k));
        attr_i(n, "largest", largest);
        TEST_CHECK(!run(n), "%s", tpu_errmsg(ctx));
        for (int r = 0; r < 2; r++) {
            bool used[300] = { false };
            for (int64_t j = 0; j < k; j++) {   /* naive: best unused, smallest index on ties */
                int best = -1;
                for (int i = 0; i < 300; i++) {
                    if (used[i]) continue;
                    float v = x[r * 300 + i], b = best < 0 ? 0 : x[r * 300 + best];
                    if (best < 0 || (largest ? v > b : v < b)) best = i;
                }
                used[best] = true;
                size_t o = (size_t)(r * k + j);
                TEST_CHECK(yi(n, 1, o) == best && yv(n, 0, o) == x[r * 300 + best],
                           "largest=%d k=%lld row %d pos %lld: %lld, want %d", largest,
                           (long long)k, r, (long long)j, (long long)yi(n, 1, o), best);
            }
        }
        end();
    }
    return 0;
}

/* Allocation failures inside a kernel are errors, never crashes. */
static int test_topk_oom(void)
{
    begin();
    struct tpu_node *n = NODE("TopK", 2, tens("x", TPU_DTYPE_F32, 1, D(3), F32(1, 2, 3)),
                              tens("k", TPU_DTYPE_I64, 1, D(1), D(2)));
    TEST_CHECK(!tpu_op_shape_fn(n->op)(g, n), "%s", tpu_errmsg(ctx));
    TEST_CHECK(!tpu_tensor_alloc(ctx, Y(n, 0)) && !tpu_tensor_alloc(ctx, Y(n, 1)), "alloc");
    tpu_set_alloc_fail(ctx, 1);
    TEST_CHECK(tpu_op_ref_fn(n->op)(g, n) == TPU_ERR_NOMEM, "must report NOMEM");
    tpu_set_alloc_fail(ctx, 0);
    end();
    return 0;
}


/*---- ONNX's own node tests for these ops ----*/
#define ONNX_DATA_DIR "/usr/share/libonnx-testdata/data"

/* Is every node of g one of ours (shape + kernel in this stage)? */
static bool all_nodes_ours(const struct tpu_graph *gr)
{
    for (int i = 0; i < gr->n_nodes; i++) {
        enum tpu_op op = gr->nodes[i].op;
        if (op == TPU_OP_UNKNOWN) return false;
        tpu_ref_fn f = tpu_op_ref_fn(op);
        if (f != ref_unary && f != ref_clip && f != ref_binary && f != ref_variadic &&
            f != ref_where && f != ref_reduce && f != ref_arg && f != ref_topk)
            return false;
    }
    return gr->n_nodes > 0;
}

/* ONNX backend-test comparison: |got - want| <= atol + rtol * |want|, exact for ints. */
static bool pb_matches(const struct tpu_tensor *got, const struct tpu_tensor *want, char *why, size_t n)
{
    char sg[128], sw[128];
    if (got->dtype != want->dtype || got->n_dims != want->n_dims ||
        tpu_tensor_numel(got) != tpu_tensor_numel(want)) {
        snprintf(why, n, "%s %s vs %s %s", tpu_dtype_name(got->dtype), tpu_shape_str(got, sg, sizeof sg),
                 tpu_dtype_name(want->dtype), tpu_shape_str(want, sw, sizeof sw));
        return false;
    }
    for (int64_t i = 0; i < tpu_tensor_numel(want); i++) {
        bool ok;
        if (tpu_dtype_is_float(want->dtype)) {
            double a = tpu_get_f64(got->data, got->dtype, (size_t)i), b = tpu_get_f64(want->data, want->dtype, (size_t)i);
            ok = (isnan(a) && isnan(b)) || a == b || fabs(a - b) <= 1e-7 + 1e-3 * fabs(b);
            if (!ok) snprintf(why, n, "elem %lld: %.9g vs %.9g", (long long)i, a, b);
        } else {
            int64_t a = tpu_get_i64(got->data, got->dtype, (size_t)i), b = tpu_get_i64(want->data, want->dtype, (size_t)i);
            ok = a == b;
            if (!ok) snprintf(why, n, "elem %lld: %lld vs %lld", (long long)i, (long long)a, (long long)b);
        }
        if (!ok) return false;
    }
    return true;
}

/* Binds input_N.pb to the graph's non-constant inputs, runs every node, and
** compares output_N.pb. Returns 0 pass, 1 fail (why set), 2 not ours. */
static int onnx_case(const char *dir, char *why, size_t n)
{
    char path[512];
    struct tpu_graph *gr = NULL;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (tpu_load_onnx(ctx, path, &gr)) return 2;   /* sequences, strings: not this stage's */
    int rc = 2;
    if (!all_nodes_ours(gr)) goto out;
    rc = 1;
    g = gr;
    for (int i = 0, k = 0; i < gr->n_inputs; i++) {
        struct tpu_tensor *t = gr->tensors[gr->inputs[i]];
        if (t->is_const) continue;
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, k++);
        struct tpu_tensor *v = tpu_tensor_load_pb(ctx, path);
        if (!v) { snprintf(why, n, "%s", tpu_errmsg(ctx)); goto out; }
        t->dtype = v->dtype;
        tpu_tensor_set_shape(t, v->n_dims, v->dims);
        size_t nb = 0;
        bool bad = tpu_tensor_nbytes(ctx, t, &nb) || tpu_tensor_alloc(ctx, t);
        if (!bad && nb) memcpy(t->data, v->data, nb);
        tpu_tensor_free(v);
        if (bad) { snprintf(why, n, "%s", tpu_errmsg(ctx)); goto out; }
    }
    for (int i = 0; i < gr->n_nodes; i++) {
        if (run(&gr->nodes[i])) { snprintf(why, n, "%s", tpu_errmsg(ctx)); goto out; }
    }
    for (int i = 0; i < gr->n_outputs; i++) {
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        struct tpu_tensor *want = tpu_tensor_load_pb(ctx, path);
        if (!want) { snprintf(why, n, "%s", tpu_errmsg(ctx)); goto out; }
        bool ok = pb_matches(gr->tensors[gr->outputs[i]], want, why, n);
        tpu_tensor_free(want);
        if (!ok) goto out;
    }
    rc = 0;
out:
    tpu_graph_free(gr);
    g = NULL;
    return rc;
}

static int name_sort(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

/* Runs every case under ONNX_DATA_DIR/sub that uses only this stage's ops;
** adds to *n_run / *n_fail and appends failing names to fails. */
static int onnx_suite(const char *sub, int *n_run, int *n_fail, char *fails, size_t n_fails)
{
    char top[256], why[300];
    struct dirent **ents;
    snprintf(top, sizeof top, "%s/%s", ONNX_DATA_DIR, sub);
    int n_ents = scandir(top, &ents, NULL, name_sort);
    if (n_ents < 0) return -1;
    for (int e = 0; e < n_ents; e++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/%s", top, ents[e]->d_name);
        if (ents[e]->d_name[0] != '.') {
            ctx = tpu_init();
            int rc = onnx_case(dir, why, sizeof why);
            *n_run += rc != 2;
            if (getenv("TPU_TEST_VERBOSE") && rc != 2)
                printf("# onnx %s/%s: %s\n", sub, ents[e]->d_name, rc ? "FAIL" : "ok");
            if (rc == 1) {
                size_t k = strlen(fails);
                (*n_fail)++;
                printf("# onnx %s/%s: %s\n", sub, ents[e]->d_name, why);
                if (k < n_fails - 80) snprintf(fails + k, n_fails - k, " %s", ents[e]->d_name);
            }
            tpu_free(ctx);
            ctx = NULL;
        }
        free(ents[e]);
    }
    free(ents);
    return 0;
}

/* ONNX's own test cases (node, pytorch-*, simple) whose models use only
** the elementwise/reduction ops, against their stored outputs. */
static int test_onnx_node_tests(void)
{
    static const char *subs[] = { "node", "pytorch-converted", "pytorch-operator", "simple" };
    int n_run = 0, n_fail = 0;
    char fails[400] = "";
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (onnx_suite(subs[i], &n_run, &n_fail, fails, sizeof fails) < 0 && i == 0)
            TEST_SKIP("%s/node is not installed", ONNX_DATA_DIR);
    printf("# onnx test cases of elementwise/reduction ops: %d run, %d failed\n", n_run, n_fail);
    TEST_CHECK(n_run > 250, "only %d cases used these ops", n_run);
    TEST_CHECK(n_fail == 0, "%d of %d failed:%s", n_fail, n_run, fails);
    return 0;
}

static const struct test_case cases[] = {
    { "elem-unary-1.1", test_unary_f32 },
    { "elem-unary-1.2", test_unary_f64 },
    { "elem-unary-1.3", test_unary_f16 },
    { "elem-unary-1.4", test_unary_bf16 },
    { "elem-unary-1.5", test_unary_f32_long },
    { "elem-unary-1.6", test_unary_f32_rounding },
    { "elem-unary-2.1", test_unary_int },
    { "elem-unary-2.2", test_unary_dtype_errors },
    { "elem-unary-2.3", test_unary_attrs },
    { "elem-clip-1.1", test_clip },
    { "elem-bcast-1.1", test_bcast_add },
    { "elem-bcast-1.2", test_bcast_sub },
    { "elem-bcast-1.3", test_bcast_mul },
    { "elem-bcast-1.4", test_bcast_div },
    { "elem-bcast-1.5", test_bcast_pow },
    { "elem-bcast-1.6", test_bcast_greater },
    { "elem-bcast-1.7", test_bcast_le },
    { "elem-bcast-2.1", test_bcast_dtypes },
    { "elem-bcast-3.1", test_bcast_errors },
    { "elem-binary-1.1", test_int_arith },
    { "elem-binary-1.2", test_pow_mixed },
    { "elem-binary-1.3", test_logic_compare },
    { "elem-binary-1.4", test_prelu },
    { "elem-bcast-3.2", test_corners },
    { "elem-variadic-1.1", test_variadic },
    { "elem-where-1.1", test_where },
    { "reduce-1.1", test_reduce_all_kinds },
    { "reduce-1.2", test_reduce_noop_and_errors },
    { "reduce-1.3", test_reduce_empty },
    { "reduce-1.4", test_reduce_dtypes },
    { "reduce-arg-1.1", test_argmax },
    { "reduce-topk-1.1", test_topk },
    { "reduce-topk-1.2", test_topk_oom },
    { "reduce-topk-1.3", test_topk_paths },
    { "elem-onnx-1.1", test_onnx_node_tests },
};
TEST_MAIN(cases)
