/*
** tests/test-ref-nn.c: shape functions, reference kernels and MAC counts of
** the dense, convolution, pooling, normalisation and quantised ops.
**
** Each case builds a one-node graph by hand, runs shape → alloc → ref and
** compares against an independent naive implementation written here (direct
** loops in double) or against hand-computed values. Bad-attribute cases must
** return TPU_ERR_SHAPE with a message naming what is wrong.
*/
#include "base/sgemm.h"
#include "ir/ir.h"
#include "testlib.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*---- One-node graph builder ----*/
struct tb {
    struct tpu_ctx   *ctx;
    struct tpu_graph *g;
    struct tpu_node  *n;
    void             *owned[16];      /* buffers freed with the builder */
    int               n_owned;
};

static void tb_init(struct tb *t, const char *op, int n_in, int n_out, int opset)
{
    memset(t, 0, sizeof *t);
    t->ctx = tpu_init();
    t->g = tpu_graph_new(t->ctx, "test.onnx");
    t->g->opset = opset;
    t->n = tpu_graph_add_node(t->g, op, n_in, n_out);
    t->n->attrs = tpu_arena_alloc(&t->g->arena, 16 * sizeof *t->n->attrs);
    for (int i = 0; i < n_out; i++) {
        char name[16];
        snprintf(name, sizeof name, "out%d", i);
        t->n->outputs[i] = tpu_graph_tensor_id(t->g, name);
    }
}

static void tb_free(struct tb *t)
{
    for (int i = 0; i < t->n_owned; i++) free(t->owned[i]);
    tpu_graph_free(t->g);
    tpu_free(t->ctx);
}

/* Input slot gets a tensor with the given dtype, dims and (borrowed) values. */
static struct tpu_tensor *tb_in(struct tb *t, int slot, enum tpu_dtype dt, int n_dims,
                                const int64_t *dims, const void *data)
{
    char name[16];
    snprintf(name, sizeof name, "in%d", slot);
    int id = tpu_graph_tensor_id(t->g, name);
    struct tpu_tensor *x = t->g->tensors[id];
    x->dtype = dt;
    tpu_tensor_set_shape(x, n_dims, dims);
    x->data = (void *)data;
    x->owner = data ? TPU_DATA_BORROWED : TPU_DATA_NONE;
    t->n->inputs[slot] = id;
    return x;
}

static struct tpu_attr *tb_attr(struct tb *t, const char *name, enum tpu_attr_type type)
{
    struct tpu_attr *a = &t->n->attrs[t->n->n_attrs++];
    a->name = name;
    a->type = type;
    return a;
}
static void tb_int(struct tb *t, const char *name, int64_t v) { tb_attr(t, name, TPU_ATTR_INT)->i = v; }
static void tb_float(struct tb *t, const char *name, float v) { tb_attr(t, name, TPU_ATTR_FLOAT)->f = v; }
static void tb_str(struct tb *t, const char *name, const char *v) { tb_attr(t, name, TPU_ATTR_STRING)->s = v; }
static void tb_ints(struct tb *t, const char *name, int n, const int64_t *v)
{
    struct tpu_attr *a = tb_attr(t, name, TPU_ATTR_INTS);
    a->n = n;
    a->ints = (int64_t *)v;
}

/* Shape function, allocation of every output, reference kernel. */
static enum tpu_status tb_run(struct tb *t)
{
    enum tpu_status rc = tpu_op_shape_fn(t->n->op)(t->g, t->n);
    if (rc) return rc;
    for (int i = 0; i < t->n->n_outputs; i++) {
        struct tpu_tensor *y = tpu_out(t->g, t->n, i);
        if (y && (rc = tpu_tensor_alloc(t->ctx, y))) return rc;
    }
    return tpu_op_ref_fn(t->n->op)(t->g, t->n);
}

static struct tpu_tensor *tb_out(struct tb *t, int i) { return tpu_out(t->g, t->n, i); }

/*---- Data ----*/
static uint32_t rng_state = 12345;
static double rnd(void)      /* deterministic, in [-1, 1) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (double)(rng_state >> 8) / (double)(1u << 23) - 1.0;
}

/* n random values, as float32 (returned, owned by t) and double (*d, owned by t). */
static float *rnd_f32(struct tb *t, int64_t n, double **d)
{
    float *f = malloc((size_t)(n + 1) * sizeof *f);
    double *dd = malloc((size_t)(n + 1) * sizeof *dd);
    for (int64_t i = 0; i < n; i++) f[i] = (float)rnd(), dd[i] = f[i];
    t->owned[t->n_owned++] = f;
    t->owned[t->n_owned++] = dd;
    *d = dd;
    return f;
}

static void *own(struct tb *t, void *p) { t->owned[t->n_owned++] = p; return p; }

/* Compares an output with expected doubles: |y - want| <= tol * (1 + |want|). */
static int close_to(const struct tpu_tensor *y, const double *want, int64_t n, double tol, char *why, size_t nwhy)
{
    if (tpu_tensor_numel(y) != n) {
        snprintf(why, nwhy, "numel %lld, expected %lld", (long long)tpu_tensor_numel(y), (long long)n);
        return 0;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = tpu_get_f64(y->data, y->dtype, (size_t)i);
        if (!(fabs(v - want[i]) <= tol * (1 + fabs(want[i])))) {
            snprintf(why, nwhy, "element %lld: got %.9g, expected %.9g", (long long)i, v, want[i]);
            return 0;
        }
    }
    return 1;
}

#define CHECK_CLOSE(y, want, n, tol) do { char cw_[256]; \
    TEST_CHECK(close_to((y), (want), (n), (tol), cw_, sizeof cw_), "%s", cw_); } while (0)

#define CHECK_DIMS(y, ...) do { int64_t e_[] = { __VA_ARGS__ }; int ne_ = (int)(sizeof e_ / sizeof e_[0]); \
    TEST_CHECK((y)->n_dims == ne_, "rank %d, expected %d", (y)->n_dims, ne_); \
    for (int i_ = 0; i_ < ne_; i_++) TEST_CHECK((y)->dims[i_] == e_[i_], "dim %d is %lld, expected %lld", \
        i_, (long long)(y)->dims[i_], (long long)e_[i_]); } while (0)

/* Runs the node expecting TPU_ERR_SHAPE whose message contains `frag`. */
#define CHECK_SHAPE_ERR(t, frag) do { enum tpu_status rc_ = tb_run(t); \
    TEST_CHECK(rc_ == TPU_ERR_SHAPE, "status %d (%s)", rc_, tpu_errmsg((t)->ctx)); \
    int has_ = strstr(tpu_errmsg((t)->ctx), (frag)) != NULL; \
    TEST_CHECK(has_, "message: %.300s", tpu_errmsg((t)->ctx)); } while (0)

/*---- Naive references (double, direct loops) ----*/
/* Window parameters of a test case, spatial dims padded to 3 with size 1. */
struct win {
    int     nsp;
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3], p0[3], p1[3], out[3];
};

static void win_init(struct win *w, int nsp, int64_t n, int64_t c, int64_t m, int64_t group)
{
    memset(w, 0, sizeof *w);
    w->nsp = nsp; w->n = n; w->c = c; w->m = m; w->group = group;
    for (int i = 0; i < 3; i++) w->in[i] = w->k[i] = w->s[i] = w->d[i] = w->out[i] = 1;
}

static int64_t prod3(const int64_t *v) { return v[0] * v[1] * v[2]; }

/* ONNX Conv, written as the spec's formula: y[n,m,o] = b[m] + sum x[n,c,o*s-p+k*d] w[m,c',k]. */
static void naive_conv(const struct win *w, const double *x, const double *wt, const double *b, double *y)
{
    int64_t cg = w->c / w->group, mg = w->m / w->group;
    for (int64_t n = 0; n < w->n; n++)
    for (int64_t m = 0; m < w->m; m++)
    for (int64_t o0 = 0; o0 < w->out[0]; o0++)
    for (int64_t o1 = 0; o1 < w->out[1]; o1++)
    for (int64_t o2 = 0; o2 < w->out[2]; o2++) {
        double acc = b ? b[m] : 0;
        for (int64_t cl = 0; cl < cg; cl++)
        for (int64_t k0 = 0; k0 < w->k[0]; k0++)
        for (int64_t k1 = 0; k1 < w->k[1]; k1++)
        for (int64_t k2 = 0; k2 < w->k[2]; k2++) {
            int64_t i0 = o0 * w->s[0] - w->p0[0] + k0 * w->d[0];
            int64_t i1 = o1 * w->s[1] - w->p0[1] + k1 * w->d[1];
            int64_t i2 = o2 * w->s[2] - w->p0[2] + k2 * w->d[2];
            if (i0 < 0 || i1 < 0 || i2 < 0 || i0 >= w->in[0] || i1 >= w->in[1] || i2 >= w->in[2]) continue;
            int64_t c = (m / mg) * cg + cl;
            acc += x[((n * w->c + c) * w->in[0] + i0) * w->in[1] * w->in[2] + i1 * w->in[2] + i2] *
                   wt[((m * cg + cl) * w->k[0] + k0) * w->k[1] * w->k[2] + k1 * w->k[2] + k2];
        }
        y[(((n * w->m + m) * w->out[0] + o0) * w->out[1] + o1) * w->out[2] + o2] = acc;
    }
}

/* ONNX ConvTranspose as a scatter: y[n, m, i*s - p + k*d] += x[n, c, i] w[c, m', k]. */
static void naive_conv_transpose(const struct win *w, const double *x, const double *wt, const double *b, double *y)
{
    int64_t cg = w->c / w->group, mg = w->m / w->group, osp = prod3(w->out);
    for (int64_t n = 0; n < w->n; n++)
        for (int64_t m = 0; m < w->m; m++)
            for (int64_t o = 0; o < osp; o++) y[(n * w->m + m) * osp + o] = b ? b[m] : 0;
    for (int64_t n = 0; n < w->n; n++)
    for (int64_t c = 0; c < w->c; c++)
    for (int64_t ml = 0; ml < mg; ml++)
    for (int64_t i0 = 0; i0 < w->in[0]; i0++)
    for (int64_t i1 = 0; i1 < w->in[1]; i1++)
    for (int64_t i2 = 0; i2 < w->in[2]; i2++)
    for (int64_t k0 = 0; k0 < w->k[0]; k0++)
    for (int64_t k1 = 0; k1 < w->k[1]; k1++)
    for (int64_t k2 = 0; k2 < w->k[2]; k2++) {
        int64_t o0 = i0 * w->s[0] - w->p0[0] + k0 * w->d[0];
        int64_t o1 = i1 * w->s[1] - w->p0[1] + k1 * w->d[1];
        int64_t o2 = i2 * w->s[2] - w->p0[2] + k2 * w->d[2];
        if (o0 < 0 || o1 < 0 || o2 < 0 || o0 >= w->out[0] || o1 >= w->out[1] || o2 >= w->out[2]) continue;
        int64_t m = (c / cg) * mg + ml;
        y[(((n * w->m + m) * w->out[0] + o0) * w->out[1] + o1) * w->out[2] + o2] +=
            x[(((n * w->c + c) * w->in[0] + i0) * w->in[1] + i1) * w->in[2] + i2] *
            wt[(((c * mg + ml) * w->k[0] + k0) * w->k[1] + k1) * w->k[2] + k2];
    }
}

/* MaxPool (with flat row-major indices) or AveragePool. */
static void naive_pool(const struct win *w, const double *x, double *y, int64_t *idx, int is_max, int include_pad)
{
    int64_t isp = prod3(w->in);
    for (int64_t nc = 0; nc < w->n * w->c; nc++)
    for (int64_t o0 = 0; o0 < w->out[0]; o0++)
    for (int64_t o1 = 0; o1 < w->out[1]; o1++)
    for (int64_t o2 = 0; o2 < w->out[2]; o2++) {
        double best = -INFINITY, sum = 0;
        int64_t bi = 0, cnt = 0;
        for (int64_t k0 = 0; k0 < w->k[0]; k0++)
        for (int64_t k1 = 0; k1 < w->k[1]; k1++)
        for (int64_t k2 = 0; k2 < w->k[2]; k2++) {
            int64_t i[3] = { o0 * w->s[0] - w->p0[0] + k0 * w->d[0], o1 * w->s[1] - w->p0[1] + k1 * w->d[1],
                             o2 * w->s[2] - w->p0[2] + k2 * w->d[2] };
            int inside = 1, in_pad = 1;
            for (int j = 0; j < 3; j++) {
                inside &= i[j] >= 0 && i[j] < w->in[j];
                in_pad &= i[j] >= -w->p0[j] && i[j] < w->in[j] + w->p1[j];
            }
            cnt += include_pad ? in_pad : inside;
            if (!inside) continue;
            int64_t at = (i[0] * w->in[1] + i[1]) * w->in[2] + i[2];
            double v = x[nc * isp + at];
            sum += v;
            if (v > best) { best = v; bi = nc * isp + at; }
        }
        int64_t oat = ((nc * w->out[0] + o0) * w->out[1] + o1) * w->out[2] + o2;
        y[oat] = is_max ? best : sum / (double)cnt;
        if (idx) idx[oat] = bi;
    }
}

/* Attributes of a window on the node (only those given). */
static void tb_window_attrs(struct tb *t, const struct win *w, int with_kernel_shape)
{
    int64_t *v = own(t, calloc(16, sizeof *v));
    int nsp = w->nsp;
    for (int i = 0; i < nsp; i++) {
        v[i] = w->s[i]; v[3 + i] = w->d[i]; v[6 + i] = w->p0[i]; v[6 + nsp + i] = w->p1[i]; v[12 + i] = w->k[i];
    }
    tb_ints(t, "strides", nsp, v);
    tb_ints(t, "dilations", nsp, v + 3);
    tb_ints(t, "pads", 2 * nsp, v + 6);
    if (with_kernel_shape) tb_ints(t, "kernel_shape", nsp, v + 12);
}

static void win_out_fwd(struct win *w, int ceil_mode)
{
    for (int i = 0; i < 3; i++) {
        int64_t span = w->in[i] + w->p0[i] + w->p1[i] - (w->d[i] * (w->k[i] - 1) + 1);
        w->out[i] = (ceil_mode ? (span + w->s[i] - 1) / w->s[i] : span / w->s[i]) + 1;
        if (ceil_mode && (w->out[i] - 1) * w->s[i] >= w->in[i] + w->p0[i]) w->out[i]--;
    }
}

static void win_dims(const struct win *w, int64_t a, int64_t b, const int64_t *sp, int64_t *dims)
{
    dims[0] = a; dims[1] = b;
    for (int i = 0; i < w->nsp; i++) dims[2 + i] = sp[i];
}

/*---- Conv / ConvTranspose / pools: builders checked against the naive loops ----*/
/* When set, run_conv copies its float32 output here (conv_capture_n floats). */
static float *conv_capture;
static int64_t conv_capture_n;
/* run_conv's tolerance (see close_to); only the Winograd test changes it. */
static double conv_tol = 1e-5;

/* Float Conv of dtype dt against naive_conv; w->out is computed here unless
** auto_pad is given (then the caller sets pads and out as the spec implies). */
static int run_conv(struct win *w, int bias, enum tpu_dtype dt, const char *auto_pad)
{
    struct tb t;
    tb_init(&t, "Conv", bias ? 3 : 2, 1, 17);
    if (!auto_pad) win_out_fwd(w, 0);
    int64_t xd[5], wd[5], bd[1] = { w->m }, yd[5];
    win_dims(w, w->n, w->c, w->in, xd);
    win_dims(w, w->m, w->c / w->group, w->k, wd);
    win_dims(w, w->n, w->m, w->out, yd);
    int64_t nx = w->n * w->c * prod3(w->in), nw = w->m * (w->c / w->group) * prod3(w->k);
    int64_t ny = w->n * w->m * prod3(w->out);
    double *dx, *dw, *db, *want = own(&t, malloc((size_t)ny * sizeof *want));
    float *fx = rnd_f32(&t, nx, &dx), *fw = rnd_f32(&t, nw, &dw), *fb = rnd_f32(&t, w->m, &db);
    int f64 = dt == TPU_DTYPE_F64;
    tb_in(&t, 0, dt, w->nsp + 2, xd, f64 ? (void *)dx : fx);
    tb_in(&t, 1, dt, w->nsp + 2, wd, f64 ? (void *)dw : fw);
    if (bias) tb_in(&t, 2, dt, 1, bd, f64 ? (void *)db : fb);
    if (w->group != 1) tb_int(&t, "group", w->group);
    if (auto_pad) {
        int64_t *v = own(&t, calloc(6, sizeof *v));
        for (int i = 0; i < w->nsp; i++) v[i] = w->s[i], v[3 + i] = w->d[i];
        tb_str(&t, "auto_pad", auto_pad);
        tb_ints(&t, "strides", w->nsp, v);
        tb_ints(&t, "dilations", w->nsp, v + 3);
    } else tb_window_attrs(&t, w, w->nsp == 2);
    enum tpu_status rc = tb_run(&t);
    TEST_CHECK(rc == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    struct tpu_tensor *y = tb_out(&t, 0);
    TEST_CHECK(y->dtype == dt, "dtype %d", y->dtype);
    for (int i = 0; i < w->nsp + 2; i++)
        TEST_CHECK(y->dims[i] == yd[i], "dim %d: %lld vs %lld", i, (long long)y->dims[i], (long long)yd[i]);
    naive_conv(w, dx, dw, bias ? db : NULL, want);
    CHECK_CLOSE(y, want, ny, conv_tol);
    if (conv_capture && dt == TPU_DTYPE_F32 && ny <= conv_capture_n) memcpy(conv_capture, y->data, (size_t)ny * sizeof(float));
    int64_t macs = tpu_op_macs_fn(t.n->op)(t.g, t.n);
    TEST_CHECK(macs == ny * (w->c / w->group) * prod3(w->k), "macs %lld", (long long)macs);
    tb_free(&t);
    return 0;
}

/*---- float32 implicit-GEMM convolution (ref_nn_conv.c: conv_implicit_f32) ----*/
/* Shapes that cut the packed panels raggedly: output positions not a
** multiple of the panel width, windows crossing output lines, pads, strides,
** dilations, groups, batches, and channel*tap rows over one K block (384). */
static void implicit_case(int i, struct win *w)
{
    switch (i) {
    case 0: /* 2-D, batch 2, stride (2, 1), asymmetric pads, dilation (1, 2) */
        win_init(w, 2, 2, 5, 19, 1);
        w->in[0] = 13; w->in[1] = 11; w->k[0] = 3; w->k[1] = 3; w->s[0] = 2; w->d[1] = 2;
        w->p0[0] = 1; w->p1[0] = 2; w->p1[1] = 1;
        break;
    case 1: /* 50 channels x 9 taps = 450 rows: two K blocks; 3 batches */
        win_init(w, 2, 3, 50, 33, 1);
        w->in[0] = 9; w->in[1] = 10; w->k[0] = 3; w->k[1] = 3;
        w->p0[0] = w->p0[1] = w->p1[0] = w->p1[1] = 1;
        break;
    case 2: /* 2 groups of 4 -> 3 channels, 5x5 stride 2, pads 2 */
        win_init(w, 2, 2, 8, 6, 2);
        w->in[0] = 17; w->in[1] = 15; w->k[0] = 5; w->k[1] = 5; w->s[0] = w->s[1] = 2;
        w->p0[0] = w->p0[1] = w->p1[0] = w->p1[1] = 2;
        break;
    case 3: /* 1-D, stride 3, dilation 2, pads 3 */
        win_init(w, 1, 2, 7, 9, 1);
        w->in[0] = 67; w->k[0] = 4; w->s[0] = 3; w->d[0] = 2; w->p0[0] = 3; w->p1[0] = 3;
        break;
    case 4: /* 3-D, pads and stride 2 on the middle dim */
        win_init(w, 3, 1, 3, 4, 1);
        w->in[0] = 5; w->in[1] = 8; w->in[2] = 9; w->k[0] = 2; w->k[1] = 3; w->k[2] = 3;
        w->s[1] = 2; w->p0[1] = w->p1[1] = 1; w->p0[2] = 1;
        break;
    default: /* 7x7 stride 2 pad 3 (ResNet's stem), 36-wide output lines */
        win_init(w, 2, 1, 3, 16, 1);
        w->in[0] = 71; w->in[1] = 72; w->k[0] = 7; w->k[1] = 7; w->s[0] = w->s[1] = 2;
        w->p0[0] = w->p0[1] = w->p1[0] = w->p1[1] = 3;
        break;
    }
}
#define N_IMPLICIT_CASES 6

/* Every case on every sgemm path the CPU has: against the naive loops, and
** bit-identical to the stored-im2col path (TPUSIM_CONV_IM2COL=1), which
** shares tpu_sgemm's blocking and summation order. */
static int test_conv_implicit(void)
{
    static const char *paths[] = { "avx512", "avx2", "portable" };
    enum { CAP = 1 << 16 };
    float *a = malloc(CAP * sizeof *a), *b = malloc(CAP * sizeof *b);
    TEST_CHECK(a && b, "out of memory");
    int ran = 0;
    for (int pi = 0; pi < 3; pi++) {
        if (tpu_sgemm_force_impl(paths[pi])) continue;
        for (int i = 0; i < N_IMPLICIT_CASES; i++) {
            struct win w;
            implicit_case(i, &w);
            uint32_t seed = rng_state;
            conv_capture = a; conv_capture_n = CAP;
            int rc = run_conv(&w, i != 3, TPU_DTYPE_F32, NULL);
            int64_t ny = w.n * w.m * prod3(w.out);
            rng_state = seed;
            setenv("TPUSIM_CONV_IM2COL", "1", 1);
            conv_capture = b;
            if (!rc) rc = run_conv(&w, i != 3, TPU_DTYPE_F32, NULL);
            unsetenv("TPUSIM_CONV_IM2COL");
            conv_capture = NULL;
            if (rc) { tpu_sgemm_force_impl(NULL); free(a); free(b); return rc; }
            TEST_CHECK(ny <= CAP, "case %d too big for the capture", i);
            int64_t diff = -1;
            for (int64_t j = 0; j < ny && diff < 0; j++)
                if (memcmp(&a[j], &b[j], sizeof *a)) diff = j;
            if (diff >= 0) {
                tpu_sgemm_force_impl(NULL);
                float va = a[diff], vb = b[diff];
                free(a); free(b);
                TEST_CHECK(0, "%s case %d: implicit %.9g vs im2col %.9g at %lld", paths[pi], i, va, vb,
                           (long long)diff);
            }
            ran++;
        }
    }
    tpu_sgemm_force_impl(NULL);
    free(a);
    free(b);
    TEST_CHECK(ran >= N_IMPLICIT_CASES, "ran %d", ran);
    return 0;
}

/*---- float32 Winograd F(2x2,3x3) (ref_nn_winograd.c, TPUSIM_CONV_WINOGRAD=1) ----*/
/* Against the naive float64 loops, |got - want| <= tol * (1 + |want|): the
** transforms use only 0.5 and +-1 coefficients, but the 16 products sum
** values up to ~4x larger than the direct taps, so the error is a small
** multiple of a plain float dot product's. A numpy emulation of F(2x2,3x3)
** on values in [-1, 1] gave worst 8e-7 at C = 9 (2000 tiles) and 2.7e-5 at
** C = 400 (150 tiles; a sequential float dot product of the same 3600 terms:
** 1.9e-5), so tol is 1e-5 (run_conv's usual) up to C*9 = 450 terms and
** 1e-5 * C*9/450 beyond (8e-5 at C = 400).
** Ragged channel counts, odd H/W (a half output tile at the edges), pads 0,
** 1 and asymmetric, batches 1..3, C over one sgemm K block (384). */
static int test_conv_winograd(void)
{
    static const int cases[][8] = {      /* n, c, m, h, w, pad0 (both), pad1 (both), bias */
        { 1, 8, 8, 4, 4, 0, 0, 1 },
        { 2, 9, 11, 7, 9, 1, 1, 1 },
        { 3, 13, 8, 9, 6, 0, 1, 0 },
        { 1, 400, 10, 5, 5, 1, 1, 1 },
        { 2, 16, 17, 11, 3, 1, 0, 1 },
    };
    setenv("TPUSIM_CONV_WINOGRAD", "1", 1);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int *c = cases[i];
        struct win w;
        win_init(&w, 2, c[0], c[1], c[2], 1);
        w.in[0] = c[3]; w.in[1] = c[4]; w.k[0] = 3; w.k[1] = 3;
        w.p0[0] = w.p0[1] = c[5]; w.p1[0] = w.p1[1] = c[6];
        conv_tol = c[1] * 9 <= 450 ? 1e-5 : 1e-5 * c[1] * 9 / 450;
        int rc = run_conv(&w, c[7], TPU_DTYPE_F32, NULL);
        conv_tol = 1e-5;
        if (rc) { unsetenv("TPUSIM_CONV_WINOGRAD"); return rc; }
    }
    unsetenv("TPUSIM_CONV_WINOGRAD");
    return 0;
}

static int test_conv_2d_basic(void)
{
    struct win w;
    win_init(&w, 2, 1, 3, 4, 1);
    w.in[0] = 7; w.in[1] = 9; w.k[0] = 3; w.k[1] = 3;
    return run_conv(&w, 1, TPU_DTYPE_F32, NULL);
}

static int test_conv_2d_strides_pads(void)
{
    struct win w;
    win_init(&w, 2, 2, 5, 6, 1);            /* asymmetric pads, ragged sizes */
    w.in[0] = 11; w.in[1] = 8; w.k[0] = 3; w.k[1] = 2; w.s[0] = 2; w.s[1] = 3;
    w.p0[0] = 1; w.p1[0] = 2; w.p0[1] = 0; w.p1[1] = 1;
    return run_conv(&w, 1, TPU_DTYPE_F32, NULL);
}

static int test_conv_2d_dilations(void)
{
    struct win w;
    win_init(&w, 2, 1, 4, 3, 1);
    w.in[0] = 10; w.in[1] = 12; w.k[0] = 3; w.k[1] = 3; w.d[0] = 2; w.d[1] = 3;
    w.p0[0] = w.p1[0] = 2; w.p0[1] = 1;
    return run_conv(&w, 0, TPU_DTYPE_F32, NULL);
}

static int test_conv_groups(void)
{
    struct win w;
    win_init(&w, 2, 2, 6, 4, 2);
    w.in[0] = 6; w.in[1] = 5; w.k[0] = 3; w.k[1] = 3; w.p0[0] = w.p1[0] = w.p0[1] = w.p1[1] = 1;
    return run_conv(&w, 1, TPU_DTYPE_F32, NULL);
}

static int test_conv_depthwise(void)
{
    struct win w;
    win_init(&w, 2, 2, 5, 10, 5);           /* channel multiplier 2, stride 2 */
    w.in[0] = 9; w.in[1] = 7; w.k[0] = 3; w.k[1] = 3; w.s[0] = w.s[1] = 2;
    w.p0[0] = w.p1[0] = w.p0[1] = w.p1[1] = 1;
    return run_conv(&w, 1, TPU_DTYPE_F32, NULL);
}

/* 3x3 depthwise rows wider than 16 lanes, ragged (the AVX-512 kernel):
** stride 1 and 2 along the row, asymmetric pads, channel multiplier 3. */
static int test_conv_depthwise_wide(void)
{
    struct win w;
    win_init(&w, 2, 2, 4, 12, 4);
    w.in[0] = 6; w.in[1] = 37; w.k[0] = 3; w.k[1] = 3; w.s[1] = 2;
    w.p0[0] = 1; w.p1[0] = 2; w.p0[1] = 1; w.p1[1] = 0;
    if (run_conv(&w, 1, TPU_DTYPE_F32, NULL)) return 1;
    w.s[0] = 2; w.s[1] = 1; w.in[1] = 40; w.p0[1] = 2; w.p1[1] = 1;
    if (run_conv(&w, 0, TPU_DTYPE_F32, NULL)) return 1;
    w.p0[0] = w.p1[0] = w.p0[1] = w.p1[1] = 0; w.s[0] = 1;     /* no padding */
    return run_conv(&w, 1, TPU_DTYPE_F32, NULL);
}

static int test_conv_depthwise_dil(void)
{
    struct win w;
    win_init(&w, 2, 1, 3, 3, 3);            /* dilation, asymmetric pads, float64 */
    w.in[0] = 8; w.in[1] = 9; w.k[0] = 3; w.k[1] = 2; w.d[0] = 2; w.d[1] = 3; w.s[1] = 2;
    w.p0[0] = 2; w.p1[0] = 1; w.p0[1] = 0; w.p1[1] = 3;
    if (run_conv(&w, 1, TPU_DTYPE_F64, NULL)) return 1;
    win_init(&w, 2, 2, 6, 6, 6);            /* 3x3 stride 1: the fused three-tap rows */
    w.in[0] = 9; w.in[1] = 11; w.k[0] = 3; w.k[1] = 3; w.p0[0] = w.p1[0] = 1; w.p0[1] = 2; w.p1[1] = 0;
    if (run_conv(&w, 1, TPU_DTYPE_F32, NULL)) return 1;
    w.d[1] = 2; w.s[1] = 2; w.p1[1] = 3;    /* with dilation and stride */
    if (run_conv(&w, 1, TPU_DTYPE_F32, NULL)) return 1;
    win_init(&w, 1, 2, 4, 4, 4);            /* 1-D depthwise, float32 */
    w.in[0] = 13; w.k[0] = 5; w.s[0] = 3; w.p0[0] = 2; w.p1[0] = 2;
    return run_conv(&w, 0, TPU_DTYPE_F32, NULL);
}

static int test_conv_pointwise(void)
{
    struct win w;
    win_init(&w, 2, 3, 17, 13, 1);          /* 1x1 stride 1: no im2col */
    w.in[0] = 5; w.in[1] = 6;
    return run_conv(&w, 1, TPU_DTYPE_F32, NULL);
}

static int test_conv_1d(void)
{
    struct win w;
    win_init(&w, 1, 2, 3, 5, 1);
    w.in[0] = 20; w.k[0] = 4; w.s[0] = 3; w.d[0] = 2; w.p0[0] = 3; w.p1[0] = 1;
    return run_conv(&w, 1, TPU_DTYPE_F32, NULL);
}

static int test_conv_3d(void)
{
    struct win w;
    win_init(&w, 3, 1, 2, 3, 1);
    w.in[0] = 5; w.in[1] = 6; w.in[2] = 7; w.k[0] = 2; w.k[1] = 3; w.k[2] = 2;
    w.s[2] = 2; w.p0[1] = 1; w.p1[1] = 1; w.p1[2] = 1;
    return run_conv(&w, 1, TPU_DTYPE_F32, NULL);
}

static int test_conv_f64(void)
{
    struct win w;
    win_init(&w, 2, 1, 4, 4, 2);
    w.in[0] = 6; w.in[1] = 6; w.k[0] = 3; w.k[1] = 3; w.s[0] = 2; w.p0[0] = 1;
    return run_conv(&w, 1, TPU_DTYPE_F64, NULL);
}

static int test_conv_auto_pad(void)
{
    /* in 7, k 3, s 2: out = ceil(7/2) = 4, total pad = (4-1)*2 + 3 - 7 = 2 → 1/1 */
    struct win w;
    win_init(&w, 2, 1, 2, 3, 1);
    w.in[0] = 7; w.in[1] = 8; w.k[0] = 3; w.k[1] = 4; w.s[0] = w.s[1] = 2;
    w.out[0] = 4; w.p0[0] = 1; w.p1[0] = 1;
    /* in 8, k 4, s 2: out 4, total pad = 6 + 4 - 8 = 2 → 1/1 */
    w.out[1] = 4; w.p0[1] = 1; w.p1[1] = 1;
    if (run_conv(&w, 1, TPU_DTYPE_F32, "SAME_UPPER")) return 1;
    /* in 6, k 2, s 1: out 6, total pad 1 → UPPER puts it at the end, LOWER at the beginning */
    win_init(&w, 2, 1, 2, 2, 1);
    w.in[0] = 6; w.in[1] = 5; w.k[0] = 2; w.k[1] = 2;
    w.out[0] = 6; w.out[1] = 5; w.p0[0] = 1; w.p0[1] = 1;
    if (run_conv(&w, 0, TPU_DTYPE_F32, "SAME_LOWER")) return 1;
    w.p0[0] = w.p0[1] = 0; w.p1[0] = w.p1[1] = 1;
    if (run_conv(&w, 0, TPU_DTYPE_F32, "SAME_UPPER")) return 1;
    w.p1[0] = w.p1[1] = 0; w.out[0] = 5; w.out[1] = 4;
    return run_conv(&w, 0, TPU_DTYPE_F32, "VALID");
}

static int test_conv_bad(void)
{
    int64_t xd[4] = { 1, 3, 5, 5 }, wd[4] = { 4, 3, 3, 3 }, wbad[4] = { 4, 2, 3, 3 }, pads[3] = { 1, 1, 1 };
    struct tb t;
    tb_init(&t, "Conv", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 4, wd, NULL);
    tb_ints(&t, "pads", 3, pads);
    CHECK_SHAPE_ERR(&t, "attribute 'pads' has 3 values, expected 4");
    tb_free(&t);
    tb_init(&t, "Conv", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 4, wbad, NULL);
    CHECK_SHAPE_ERR(&t, "channels");
    tb_free(&t);
    tb_init(&t, "Conv", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 3, wd, NULL);
    CHECK_SHAPE_ERR(&t, "rank");
    tb_free(&t);
    tb_init(&t, "Conv", 2, 1, 17);                      /* kernel larger than the input */
    int64_t big[4] = { 4, 3, 7, 3 };
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 4, big, NULL);
    CHECK_SHAPE_ERR(&t, "larger than the padded input");
    tb_free(&t);
    tb_init(&t, "Conv", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 4, wd, NULL);
    tb_str(&t, "auto_pad", "SAME");
    CHECK_SHAPE_ERR(&t, "auto_pad");
    tb_free(&t);
    tb_init(&t, "Conv", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 4, wd, NULL);
    int64_t zero[2] = { 0, 1 };
    tb_ints(&t, "strides", 2, zero);
    CHECK_SHAPE_ERR(&t, "'strides' value 0");
    tb_free(&t);
    tb_init(&t, "Conv", 2, 1, 17);                      /* huge dilation: refused before any overflow */
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 4, wd, NULL);
    int64_t huge[2] = { (int64_t)1 << 62, 1 };
    tb_ints(&t, "dilations", 2, huge);
    CHECK_SHAPE_ERR(&t, "'dilations' value 4611686018427387904 is too large");
    tb_free(&t);
    return 0;
}

static int test_conv_symbolic(void)
{
    int64_t xd[4] = { -1, 3, 32, -1 }, wd[4] = { 8, 3, 3, 3 };
    struct tb t;
    tb_init(&t, "Conv", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 4, wd, NULL);
    TEST_CHECK(tpu_op_shape_fn(t.n->op)(t.g, t.n) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_DIMS(tb_out(&t, 0), -1, 8, 30, -1);
    TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == 0, "unknown shape gives 0 MACs");
    tb_free(&t);
    return 0;
}

/* ConvTranspose; out computed from the spec formula unless output_shape given. */
static int run_conv_transpose(struct win *w, const int64_t *op, const int64_t *out_shape, const char *auto_pad)
{
    struct tb t;
    tb_init(&t, "ConvTranspose", 3, 1, 17);
    for (int i = 0; i < 3 && !out_shape && !auto_pad; i++)
        w->out[i] = w->s[i] * (w->in[i] - 1) + (op && i < w->nsp ? op[i] : 0) + w->d[i] * (w->k[i] - 1) + 1 -
                    w->p0[i] - w->p1[i];
    int64_t xd[5], wd[5], bd[1] = { w->m };
    win_dims(w, w->n, w->c, w->in, xd);
    win_dims(w, w->c, w->m / w->group, w->k, wd);
    int64_t nx = w->n * w->c * prod3(w->in), nw = w->c * (w->m / w->group) * prod3(w->k);
    int64_t ny = w->n * w->m * prod3(w->out);
    double *dx, *dw, *db, *want = own(&t, malloc((size_t)ny * sizeof *want));
    float *fx = rnd_f32(&t, nx, &dx), *fw = rnd_f32(&t, nw, &dw), *fb = rnd_f32(&t, w->m, &db);
    tb_in(&t, 0, TPU_DTYPE_F32, w->nsp + 2, xd, fx);
    tb_in(&t, 1, TPU_DTYPE_F32, w->nsp + 2, wd, fw);
    tb_in(&t, 2, TPU_DTYPE_F32, 1, bd, fb);
    if (w->group != 1) tb_int(&t, "group", w->group);
    if (out_shape || auto_pad) {
        int64_t *v = own(&t, calloc(6, sizeof *v));
        for (int i = 0; i < w->nsp; i++) v[i] = w->s[i], v[3 + i] = w->d[i];
        tb_ints(&t, "strides", w->nsp, v);
        tb_ints(&t, "dilations", w->nsp, v + 3);
        if (out_shape) tb_ints(&t, "output_shape", w->nsp, out_shape);
        if (auto_pad) tb_str(&t, "auto_pad", auto_pad);
    } else tb_window_attrs(&t, w, 0);
    if (op) tb_ints(&t, "output_padding", w->nsp, op);
    enum tpu_status rc = tb_run(&t);
    TEST_CHECK(rc == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    struct tpu_tensor *y = tb_out(&t, 0);
    for (int i = 0; i < w->nsp; i++)
        TEST_CHECK(y->dims[2 + i] == w->out[i], "spatial dim %d: %lld vs %lld", i, (long long)y->dims[2 + i],
                   (long long)w->out[i]);
    naive_conv_transpose(w, dx, dw, db, want);
    CHECK_CLOSE(y, want, ny, 1e-5);
    TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == nx * (w->m / w->group) * prod3(w->k), "macs");
    tb_free(&t);
    return 0;
}

static int test_conv_transpose_2d(void)
{
    struct win w;
    win_init(&w, 2, 2, 3, 4, 1);
    w.in[0] = 4; w.in[1] = 5; w.k[0] = 3; w.k[1] = 2; w.s[0] = 2; w.s[1] = 3;
    w.p0[0] = 1; w.p1[0] = 0; w.p0[1] = 1; w.p1[1] = 2;
    int64_t op[2] = { 1, 0 };
    return run_conv_transpose(&w, op, NULL, NULL);
}

static int test_conv_transpose_groups_dil(void)
{
    struct win w;
    win_init(&w, 2, 1, 4, 6, 2);
    w.in[0] = 5; w.in[1] = 3; w.k[0] = 2; w.k[1] = 3; w.d[0] = 2; w.d[1] = 2; w.s[0] = 2;
    return run_conv_transpose(&w, NULL, NULL, NULL);
}

static int test_conv_transpose_1d_3d(void)
{
    struct win w;
    win_init(&w, 1, 1, 2, 3, 1);
    w.in[0] = 6; w.k[0] = 3; w.s[0] = 2; w.p0[0] = 1; w.p1[0] = 1;
    if (run_conv_transpose(&w, NULL, NULL, NULL)) return 1;
    win_init(&w, 3, 1, 2, 2, 1);
    w.in[0] = 3; w.in[1] = 2; w.in[2] = 3; w.k[0] = 2; w.k[1] = 2; w.k[2] = 3; w.s[2] = 2;
    return run_conv_transpose(&w, NULL, NULL, NULL);
}

static int test_conv_transpose_output_shape(void)
{
    /* in 3, k 3, s 3: full = 3*2 + 3 = 9; output_shape 8 → total pad 1 */
    struct win w;
    win_init(&w, 2, 1, 1, 2, 1);
    w.in[0] = 3; w.in[1] = 3; w.k[0] = 3; w.k[1] = 3; w.s[0] = 3; w.s[1] = 2;
    int64_t os[2] = { 8, 7 };                /* dim 1: full = 2*2 + 3 = 7, total 0 */
    w.out[0] = 8; w.out[1] = 7;
    w.p0[0] = 1; w.p1[0] = 0;                /* NOTSET: the odd pad element goes first */
    if (run_conv_transpose(&w, NULL, os, NULL)) return 1;
    /* SAME_UPPER: out = in * s = 9 and 6; dim 1 total = 7 - 6 = 1 → at the end */
    w.out[0] = 9; w.out[1] = 6; w.p0[0] = 0; w.p1[0] = 0; w.p0[1] = 0; w.p1[1] = 1;
    return run_conv_transpose(&w, NULL, NULL, "SAME_UPPER");
}

/* MaxPool / AveragePool against naive_pool. */
static int run_pool(struct win *w, const char *op, int ceil_mode, int include_pad, int with_idx, enum tpu_dtype dt)
{
    struct tb t;
    int is_max = op[0] == 'M';
    tb_init(&t, op, 1, with_idx ? 2 : 1, 17);
    win_out_fwd(w, ceil_mode);
    int64_t xd[5], nx = w->n * w->c * prod3(w->in), ny = w->n * w->c * prod3(w->out);
    win_dims(w, w->n, w->c, w->in, xd);
    double *dx, *want = own(&t, malloc((size_t)ny * sizeof *want));
    int64_t *widx = own(&t, malloc((size_t)ny * sizeof *widx));
    float *fx = rnd_f32(&t, nx, &dx);
    tb_in(&t, 0, dt, w->nsp + 2, xd, dt == TPU_DTYPE_F64 ? (void *)dx : fx);
    tb_window_attrs(&t, w, 1);
    if (ceil_mode) tb_int(&t, "ceil_mode", 1);
    if (include_pad) tb_int(&t, "count_include_pad", 1);
    enum tpu_status rc = tb_run(&t);
    TEST_CHECK(rc == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    for (int i = 0; i < w->nsp; i++)
        TEST_CHECK(tb_out(&t, 0)->dims[2 + i] == w->out[i], "dim %d: %lld vs %lld", i,
                   (long long)tb_out(&t, 0)->dims[2 + i], (long long)w->out[i]);
    naive_pool(w, dx, want, widx, is_max, include_pad);
    CHECK_CLOSE(tb_out(&t, 0), want, ny, 1e-6);
    if (with_idx) {
        struct tpu_tensor *it = tb_out(&t, 1);
        TEST_CHECK(it->dtype == TPU_DTYPE_I64, "indices dtype");
        for (int64_t i = 0; i < ny; i++)
            TEST_CHECK(((int64_t *)it->data)[i] == widx[i], "index %lld: %lld vs %lld", (long long)i,
                       (long long)((int64_t *)it->data)[i], (long long)widx[i]);
    }
    TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == 0, "pools have no MACs");
    tb_free(&t);
    return 0;
}

static int test_maxpool(void)
{
    struct win w;
    win_init(&w, 2, 2, 3, 3, 1);
    w.in[0] = 9; w.in[1] = 8; w.k[0] = 3; w.k[1] = 3; w.s[0] = w.s[1] = 2; w.p0[0] = w.p1[0] = w.p0[1] = w.p1[1] = 1;
    if (run_pool(&w, "MaxPool", 0, 0, 1, TPU_DTYPE_F32)) return 1;
    w.d[0] = 2; w.p1[1] = 0;                                        /* dilation */
    if (run_pool(&w, "MaxPool", 0, 0, 1, TPU_DTYPE_F32)) return 1;
    if (run_pool(&w, "MaxPool", 0, 0, 0, TPU_DTYPE_F32)) return 1;  /* no Indices: line kernel */
    w.d[1] = 3; w.p0[1] = 2;
    if (run_pool(&w, "MaxPool", 0, 0, 0, TPU_DTYPE_F32)) return 1;
    win_init(&w, 2, 1, 2, 2, 1);                                    /* ceil_mode */
    w.in[0] = 6; w.in[1] = 7; w.k[0] = 3; w.k[1] = 2; w.s[0] = 2; w.s[1] = 2;
    if (run_pool(&w, "MaxPool", 1, 0, 1, TPU_DTYPE_F32)) return 1;
    return run_pool(&w, "MaxPool", 1, 0, 0, TPU_DTYPE_F64);
}

/* Stride-2 rows longer than one 16-lane vector, ragged (the AVX-512 row
** kernel of the no-Indices path), with pads and without. */
static int test_maxpool_wide(void)
{
    struct win w;
    win_init(&w, 2, 2, 3, 3, 1);
    w.in[0] = 5; w.in[1] = 71; w.k[0] = 3; w.k[1] = 3; w.s[0] = w.s[1] = 2;
    w.p0[0] = w.p1[0] = w.p0[1] = w.p1[1] = 1;
    if (run_pool(&w, "MaxPool", 0, 0, 0, TPU_DTYPE_F32)) return 1;
    w.p0[1] = w.p1[1] = 0; w.in[1] = 66; w.k[1] = 2;
    if (run_pool(&w, "MaxPool", 0, 0, 0, TPU_DTYPE_F32)) return 1;
    win_init(&w, 1, 1, 2, 2, 1);
    w.in[0] = 35; w.k[0] = 1; w.s[0] = 2;
    return run_pool(&w, "MaxPool", 0, 0, 0, TPU_DTYPE_F32);
}

static int test_maxpool_1d_3d(void)
{
    struct win w;
    win_init(&w, 1, 1, 3, 3, 1);
    w.in[0] = 11; w.k[0] = 4; w.s[0] = 3; w.p0[0] = 2;
    if (run_pool(&w, "MaxPool", 0, 0, 1, TPU_DTYPE_F32)) return 1;
    win_init(&w, 3, 1, 2, 2, 1);
    w.in[0] = 4; w.in[1] = 5; w.in[2] = 6; w.k[0] = 2; w.k[1] = 2; w.k[2] = 3; w.s[2] = 2;
    return run_pool(&w, "MaxPool", 0, 0, 1, TPU_DTYPE_F32);
}

static int test_avgpool(void)
{
    struct win w;
    win_init(&w, 2, 2, 3, 3, 1);
    w.in[0] = 7; w.in[1] = 6; w.k[0] = 3; w.k[1] = 2; w.s[0] = 2; w.s[1] = 1;
    w.p0[0] = 1; w.p1[0] = 1; w.p0[1] = 1; w.p1[1] = 0;
    if (run_pool(&w, "AveragePool", 0, 0, 0, TPU_DTYPE_F32)) return 1;
    if (run_pool(&w, "AveragePool", 0, 1, 0, TPU_DTYPE_F32)) return 1;
    win_init(&w, 2, 1, 2, 2, 1);                                    /* ceil_mode: partial windows */
    w.in[0] = 7; w.in[1] = 8; w.k[0] = 3; w.k[1] = 3; w.s[0] = 2; w.s[1] = 3;
    if (run_pool(&w, "AveragePool", 1, 0, 0, TPU_DTYPE_F32)) return 1;
    if (run_pool(&w, "AveragePool", 1, 1, 0, TPU_DTYPE_F32)) return 1;
    win_init(&w, 1, 1, 2, 2, 1);
    w.in[0] = 10; w.k[0] = 3; w.s[0] = 2; w.p0[0] = 2; w.p1[0] = 1;
    return run_pool(&w, "AveragePool", 0, 1, 0, TPU_DTYPE_F64);
}

static int test_maxpool_hand(void)
{
    /* ONNX MaxPool storage_order = 1: indices are column-major over the spatial dims */
    static const float x[6] = { 1, 9, 3, 4, 5, 6 };                 /* 2 x 3 */
    int64_t xd[4] = { 1, 1, 2, 3 }, ks[2] = { 2, 2 };
    struct tb t;
    tb_init(&t, "MaxPool", 1, 2, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, x);
    tb_ints(&t, "kernel_shape", 2, ks);
    tb_int(&t, "storage_order", 1);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    const float *y = tb_out(&t, 0)->data;
    const int64_t *idx = tb_out(&t, 1)->data;
    CHECK_DIMS(tb_out(&t, 0), 1, 1, 1, 2);
    TEST_CHECK(y[0] == 9 && y[1] == 9, "%g %g", y[0], y[1]);
    TEST_CHECK(idx[0] == 2 && idx[1] == 2, "col-major index of (0,1) is 0 + 2*1 = 2: %lld %lld",
               (long long)idx[0], (long long)idx[1]);
    tb_free(&t);
    tb_init(&t, "MaxPool", 1, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, x);
    CHECK_SHAPE_ERR(&t, "'kernel_shape' is required");
    tb_free(&t);
    return 0;
}

static int test_global_pool(void)
{
    static const float x[12] = { 1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, 7 };   /* 1 x 2 x 2 x 3 */
    int64_t xd[4] = { 1, 2, 2, 3 };
    struct tb t;
    tb_init(&t, "GlobalAveragePool", 1, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, x);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_DIMS(tb_out(&t, 0), 1, 2, 1, 1);
    double avg[2] = { 3.5, -8.0 / 6 };
    CHECK_CLOSE(tb_out(&t, 0), avg, 2, 1e-6);
    tb_free(&t);
    tb_init(&t, "GlobalMaxPool", 1, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, x);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    double mx[2] = { 6, 7 };
    CHECK_CLOSE(tb_out(&t, 0), mx, 2, 0);
    tb_free(&t);
    int64_t bad[2] = { 2, 6 };
    tb_init(&t, "GlobalMaxPool", 1, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 2, bad, x);
    CHECK_SHAPE_ERR(&t, "rank 2");
    tb_free(&t);
    return 0;
}

/*---- MatMul / Gemm ----*/
/* Batched numpy matmul in double: a (ra dims), b (rb dims), broadcasting by hand. */
static int run_matmul(int ra, const int64_t *da, int rb, const int64_t *db, int ry, const int64_t *dy,
                      enum tpu_dtype dt)
{
    struct tb t;
    tb_init(&t, "MatMul", 2, 1, 17);
    int64_t na = 1, nb = 1, ny = 1;
    for (int i = 0; i < ra; i++) na *= da[i];
    for (int i = 0; i < rb; i++) nb *= db[i];
    for (int i = 0; i < ry; i++) ny *= dy[i];
    double *xa, *xb, *want = own(&t, calloc((size_t)ny + 1, sizeof *want));
    float *fa = rnd_f32(&t, na, &xa), *fb = rnd_f32(&t, nb, &xb);
    tb_in(&t, 0, dt, ra, da, dt == TPU_DTYPE_F64 ? (void *)xa : fa);
    tb_in(&t, 1, dt, rb, db, dt == TPU_DTYPE_F64 ? (void *)xb : fb);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    struct tpu_tensor *y = tb_out(&t, 0);
    TEST_CHECK(y->n_dims == ry, "rank %d vs %d", y->n_dims, ry);
    for (int i = 0; i < ry; i++) TEST_CHECK(y->dims[i] == dy[i], "dim %d", i);
    /* 4-D views: a (A0, A1, M, K), b (B0, B1, K, N), out (max, max, M, N) */
    int64_t a4[4] = { 1, 1, 1, 1 }, b4[4] = { 1, 1, 1, 1 };
    if (ra == 1) a4[3] = da[0]; else for (int i = 0; i < ra; i++) a4[4 - ra + i] = da[i];
    if (rb == 1) b4[2] = db[0]; else for (int i = 0; i < rb; i++) b4[4 - rb + i] = db[i];
    int64_t M = a4[2], K = a4[3], N = b4[3], B0 = a4[0] > b4[0] ? a4[0] : b4[0], B1 = a4[1] > b4[1] ? a4[1] : b4[1];
    for (int64_t i0 = 0; i0 < B0; i0++)
    for (int64_t i1 = 0; i1 < B1; i1++)
    for (int64_t m = 0; m < M; m++)
    for (int64_t n = 0; n < N; n++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++) {
            int64_t ia = (((a4[0] == 1 ? 0 : i0) * a4[1] + (a4[1] == 1 ? 0 : i1)) * M + m) * K + k;
            int64_t ib = (((b4[0] == 1 ? 0 : i0) * b4[1] + (b4[1] == 1 ? 0 : i1)) * K + k) * N + n;
            acc += xa[ia] * xb[ib];
        }
        want[((i0 * B1 + i1) * M + m) * N + n] = acc;
    }
    CHECK_CLOSE(y, want, ny, 1e-5);
    TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == ny * K, "macs %lld", (long long)tpu_op_macs_fn(t.n->op)(t.g, t.n));
    tb_free(&t);
    return 0;
}

static int test_matmul(void)
{
    int64_t a[] = { 7, 13 }, b[] = { 13, 5 }, y[] = { 7, 5 };
    if (run_matmul(2, a, 2, b, 2, y, TPU_DTYPE_F32)) return 1;
    int64_t v[] = { 13 }, yv[] = { 5 };                                       /* 1-D x 2-D */
    if (run_matmul(1, v, 2, b, 1, yv, TPU_DTYPE_F32)) return 1;
    int64_t ya[] = { 7 };                                                     /* 2-D x 1-D */
    if (run_matmul(2, a, 1, v, 1, ya, TPU_DTYPE_F32)) return 1;
    if (run_matmul(1, v, 1, v, 0, NULL, TPU_DTYPE_F32)) return 1;             /* dot: rank 0 */
    int64_t ba[] = { 2, 1, 3, 4 }, bb[] = { 5, 4, 6 }, by[] = { 2, 5, 3, 6 }; /* batch broadcast */
    if (run_matmul(4, ba, 3, bb, 4, by, TPU_DTYPE_F32)) return 1;
    int64_t fa[] = { 3, 4, 9 }, fb[] = { 9, 2 }, fy[] = { 3, 4, 2 };          /* batches fold into M */
    if (run_matmul(3, fa, 2, fb, 3, fy, TPU_DTYPE_F32)) return 1;
    int64_t ga[] = { 6, 5 }, gb[] = { 2, 5, 3 }, gy[] = { 2, 6, 3 };          /* A broadcast over B */
    if (run_matmul(2, ga, 3, gb, 3, gy, TPU_DTYPE_F32)) return 1;
    return run_matmul(3, fa, 2, fb, 3, fy, TPU_DTYPE_F64);
}

static int test_matmul_f16(void)
{
    /* float16 goes through the float64 path; these values and sums are exact in f16 */
    static const float av[6] = { 1, 2, 0.5f, -1, 4, 0.25f }, bv[6] = { 2, -1, 0.5f, 3, 8, 0.125f };
    uint16_t a[6], b[6];
    for (int i = 0; i < 6; i++) a[i] = tpu_f32_to_f16(av[i]), b[i] = tpu_f32_to_f16(bv[i]);
    int64_t ad[2] = { 2, 3 }, bd[2] = { 3, 2 };
    struct tb t;
    tb_init(&t, "MatMul", 2, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_F16, 2, ad, a);
    tb_in(&t, 1, TPU_DTYPE_F16, 2, bd, b);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    TEST_CHECK(tb_out(&t, 0)->dtype == TPU_DTYPE_F16, "dtype");
    double want[4] = { 1 * 2 + 2 * 0.5 + 0.5 * 8, 1 * -1 + 2 * 3 + 0.5 * 0.125,
                       -1 * 2 + 4 * 0.5 + 0.25 * 8, -1 * -1 + 4 * 3 + 0.25 * 0.125 };
    CHECK_CLOSE(tb_out(&t, 0), want, 4, 0);
    tb_free(&t);
    return 0;
}

static int test_matmul_bad(void)
{
    int64_t a[] = { 3, 4 }, b[] = { 5, 2 }, c[] = { 2, 4, 2 }, d[] = { 3, 4, 2 };
    struct tb t;
    tb_init(&t, "MatMul", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 2, a, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 2, b, NULL);
    CHECK_SHAPE_ERR(&t, "inner dimensions differ");
    tb_free(&t);
    int64_t a3[] = { 3, 3, 4 };
    tb_init(&t, "MatMul", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 3, a3, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 3, c, NULL);
    CHECK_SHAPE_ERR(&t, "batch dimensions do not broadcast");
    tb_free(&t);
    tb_init(&t, "MatMul", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 3, a3, NULL);
    tb_in(&t, 1, TPU_DTYPE_F64, 3, d, NULL);
    CHECK_SHAPE_ERR(&t, "dtype float64");
    tb_free(&t);
    return 0;
}

/* Gemm with every attribute against the formula in double. */
static int run_gemm_dt(int64_t M, int64_t N, int64_t K, int ta, int tb_, float alpha, float beta, int rc_,
                       const int64_t *cd, enum tpu_dtype dt)
{
    struct tb t;
    tb_init(&t, "Gemm", cd ? 3 : 2, 1, 13);
    int64_t ad[2] = { ta ? K : M, ta ? M : K }, bd[2] = { tb_ ? N : K, tb_ ? K : N };
    int64_t nc = 1;
    for (int i = 0; cd && i < rc_; i++) nc *= cd[i];
    double *xa, *xb, *xc, *want = own(&t, malloc((size_t)(M * N) * sizeof *want));
    float *fa = rnd_f32(&t, M * K, &xa), *fb = rnd_f32(&t, K * N, &xb), *fc = rnd_f32(&t, nc, &xc);
    int f64 = dt == TPU_DTYPE_F64;
    tb_in(&t, 0, dt, 2, ad, f64 ? (void *)xa : fa);
    tb_in(&t, 1, dt, 2, bd, f64 ? (void *)xb : fb);
    if (cd) tb_in(&t, 2, dt, rc_, cd, f64 ? (void *)xc : fc);
    if (ta) tb_int(&t, "transA", 1);
    if (tb_) tb_int(&t, "transB", 1);
    if (alpha != 1) tb_float(&t, "alpha", alpha);
    if (beta != 1) tb_float(&t, "beta", beta);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_DIMS(tb_out(&t, 0), M, N);
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
                acc += xa[ta ? k * M + m : m * K + k] * xb[tb_ ? n * K + k : k * N + n];
            double c = 0;
            if (cd) {
                int64_t rows = rc_ == 2 ? cd[0] : 1, cols = rc_ >= 1 ? cd[rc_ - 1] : 1;
                c = xc[(rows == 1 ? 0 : m) * cols + (cols == 1 ? 0 : n)];
            }
            want[m * N + n] = alpha * acc + beta * c;
        }
    CHECK_CLOSE(tb_out(&t, 0), want, M * N, 1e-5);
    TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == M * N * K, "macs");
    tb_free(&t);
    return 0;
}

static int run_gemm(int64_t M, int64_t N, int64_t K, int ta, int tb_, float alpha, float beta, int rc_, const int64_t *cd)
{
    return run_gemm_dt(M, N, K, ta, tb_, alpha, beta, rc_, cd, TPU_DTYPE_F32);
}

static int test_gemm(void)
{
    int64_t cmn[2] = { 7, 5 }, cn[1] = { 5 }, cm1[2] = { 7, 1 }, c1[1] = { 1 };
    if (run_gemm(7, 5, 11, 0, 0, 1, 1, 0, NULL)) return 1;
    if (run_gemm(7, 5, 11, 1, 0, 0.5f, 2, 2, cmn)) return 1;
    if (run_gemm(7, 5, 11, 0, 1, 1, 1, 1, cn)) return 1;
    if (run_gemm(7, 5, 11, 1, 1, -1.5f, 0.25f, 2, cm1)) return 1;
    if (run_gemm(7, 5, 11, 0, 0, 1, 1, 0, c1)) return 1;              /* scalar C */
    if (run_gemm_dt(7, 5, 11, 1, 1, 0.5f, 2, 1, cn, TPU_DTYPE_F64)) return 1;
    return run_gemm(7, 5, 11, 0, 1, 1, 1, 1, c1);
}

static int test_gemm_bad(void)
{
    int64_t a[] = { 3, 4 }, b[] = { 3, 5 }, c[] = { 2, 5 };
    struct tb t;
    tb_init(&t, "Gemm", 2, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_F32, 2, a, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 2, b, NULL);
    CHECK_SHAPE_ERR(&t, "K = 4 but B' has K = 3");
    tb_free(&t);
    tb_init(&t, "Gemm", 3, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_F32, 2, a, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 2, b, NULL);
    tb_in(&t, 2, TPU_DTYPE_F32, 2, c, NULL);
    tb_int(&t, "transA", 1);
    CHECK_SHAPE_ERR(&t, "does not broadcast to [4,5]");
    tb_free(&t);
    return 0;
}

/*---- Einsum ----*/
static int test_einsum(void)
{
    /* batched matmul against a direct triple loop */
    struct tb t;
    tb_init(&t, "Einsum", 2, 1, 12);
    tb_str(&t, "equation", "bij, bjk -> bik");
    int64_t ad[3] = { 2, 3, 4 }, bd[3] = { 2, 4, 5 };
    double *a, *b, want[30];
    rnd_f32(&t, 24, &a);
    rnd_f32(&t, 40, &b);
    tb_in(&t, 0, TPU_DTYPE_F64, 3, ad, a);
    tb_in(&t, 1, TPU_DTYPE_F64, 3, bd, b);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_DIMS(tb_out(&t, 0), 2, 3, 5);
    for (int bb = 0; bb < 2; bb++)
        for (int i = 0; i < 3; i++)
            for (int k = 0; k < 5; k++) {
                double acc = 0;
                for (int j = 0; j < 4; j++) acc += a[(bb * 3 + i) * 4 + j] * b[(bb * 4 + j) * 5 + k];
                want[(bb * 3 + i) * 5 + k] = acc;
            }
    CHECK_CLOSE(tb_out(&t, 0), want, 30, 1e-12);
    TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == 2 * 3 * 4 * 5, "macs");
    tb_free(&t);

    /* implicit output (sorted single labels): "ji" is a transpose, "ij,ij" a full sum */
    static const double m23[6] = { 1, 2, 3, 4, 5, 6 };
    int64_t d23[2] = { 2, 3 };
    tb_init(&t, "Einsum", 1, 1, 12);
    tb_str(&t, "equation", "ji");
    tb_in(&t, 0, TPU_DTYPE_F64, 2, d23, m23);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_DIMS(tb_out(&t, 0), 3, 2);
    double tr[6] = { 1, 4, 2, 5, 3, 6 };
    CHECK_CLOSE(tb_out(&t, 0), tr, 6, 0);
    tb_free(&t);

    tb_init(&t, "Einsum", 2, 1, 12);
    tb_str(&t, "equation", "ij,ij");
    tb_in(&t, 0, TPU_DTYPE_F64, 2, d23, m23);
    tb_in(&t, 1, TPU_DTYPE_F64, 2, d23, m23);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    TEST_CHECK(tb_out(&t, 0)->n_dims == 0, "rank %d", tb_out(&t, 0)->n_dims);
    double ss = 91;
    CHECK_CLOSE(tb_out(&t, 0), &ss, 1, 0);
    tb_free(&t);

    /* ellipsis with a diagonal: "...ii->...i" */
    static const double m233[18] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18 };
    int64_t d233[3] = { 2, 3, 3 };
    tb_init(&t, "Einsum", 1, 1, 12);
    tb_str(&t, "equation", "...ii ->...i");
    tb_in(&t, 0, TPU_DTYPE_F64, 3, d233, m233);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_DIMS(tb_out(&t, 0), 2, 3);
    double diag[6] = { 1, 5, 9, 10, 14, 18 };
    CHECK_CLOSE(tb_out(&t, 0), diag, 6, 0);
    tb_free(&t);

    /* float32 row sums "ij->i" */
    static const float f23[6] = { 1, 2, 3, 4, 5, 6.5f };
    tb_init(&t, "Einsum", 1, 1, 12);
    tb_str(&t, "equation", "ij->i");
    tb_in(&t, 0, TPU_DTYPE_F32, 2, d23, f23);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    double rs[2] = { 6, 15.5 };
    CHECK_CLOSE(tb_out(&t, 0), rs, 2, 0);
    tb_free(&t);
    return 0;
}

static int test_einsum_bad(void)
{
    static const double m[6] = { 0 };
    int64_t d23[2] = { 2, 3 }, d43[2] = { 4, 3 };
    static const char *eqs[] = { "ijk->i", "ij->k", "i#->i", "ij,jk->ik", "ij->ii" };
    static const char *frags[] = { "label count", "not in any input", "bad character", "more terms", "repeats" };
    for (int i = 0; i < 5; i++) {
        struct tb t;
        tb_init(&t, "Einsum", 1, 1, 12);
        tb_str(&t, "equation", eqs[i]);
        tb_in(&t, 0, TPU_DTYPE_F64, 2, d23, m);
        CHECK_SHAPE_ERR(&t, frags[i]);
        tb_free(&t);
    }
    struct tb t;
    tb_init(&t, "Einsum", 2, 1, 12);
    tb_str(&t, "equation", "ij,ij->i");
    tb_in(&t, 0, TPU_DTYPE_F64, 2, d23, m);
    tb_in(&t, 1, TPU_DTYPE_F64, 2, d43, m);
    CHECK_SHAPE_ERR(&t, "two different sizes");
    tb_free(&t);
    return 0;
}

/*---- Normalisation and softmax ----*/
static int test_batch_norm(void)
{
    int64_t xd[4] = { 2, 3, 2, 2 }, cd[1] = { 3 };
    static const float sc[3] = { 1, 0.5f, -2 }, bi[3] = { 0, 1, 0.25f }, mean[3] = { 0.1f, -0.2f, 0.3f },
                       var[3] = { 1, 0.25f, 4 };
    struct tb t;
    tb_init(&t, "BatchNormalization", 5, 1, 15);
    double *dx;
    float *fx = rnd_f32(&t, 24, &dx);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, fx);
    tb_in(&t, 1, TPU_DTYPE_F32, 1, cd, sc);
    tb_in(&t, 2, TPU_DTYPE_F32, 1, cd, bi);
    tb_in(&t, 3, TPU_DTYPE_F32, 1, cd, mean);
    tb_in(&t, 4, TPU_DTYPE_F32, 1, cd, var);
    tb_float(&t, "epsilon", 1e-3f);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    double want[24];
    for (int i = 0; i < 24; i++) {
        int c = (i / 4) % 3;
        want[i] = sc[c] * (dx[i] - mean[c]) / sqrt((double)var[c] + (double)1e-3f) + bi[c];
    }
    CHECK_CLOSE(tb_out(&t, 0), want, 24, 1e-6);
    tb_free(&t);
    int64_t bad[1] = { 4 };
    tb_init(&t, "BatchNormalization", 5, 1, 15);
    tb_in(&t, 0, TPU_DTYPE_F32, 4, xd, NULL);
    for (int i = 1; i < 5; i++) tb_in(&t, i, TPU_DTYPE_F32, 1, i == 3 ? bad : cd, NULL);
    CHECK_SHAPE_ERR(&t, "input_mean has shape [4], expected [3]");
    tb_free(&t);
    {
        /* training mode: batch statistics; running = input * momentum + batch * (1 - momentum) */
        static const float xt[8] = { 1, 2, 3, 6, -1, -1, 5, 5 };      /* N=2, C=2, 2 values */
        static const float one2[2] = { 1, 1 }, zero2[2] = { 0, 0 }, m2[2] = { 4, 0 }, v2[2] = { 2, 8 };
        int64_t x2[3] = { 2, 2, 2 }, c2[1] = { 2 };
        struct tb u;
        tb_init(&u, "BatchNormalization", 5, 3, 15);
        tb_in(&u, 0, TPU_DTYPE_F32, 3, x2, xt);
        tb_in(&u, 1, TPU_DTYPE_F32, 1, c2, one2);
        tb_in(&u, 2, TPU_DTYPE_F32, 1, c2, zero2);
        tb_in(&u, 3, TPU_DTYPE_F32, 1, c2, m2);
        tb_in(&u, 4, TPU_DTYPE_F32, 1, c2, v2);
        tb_int(&u, "training_mode", 1);
        tb_float(&u, "momentum", 0.75f);
        tb_float(&u, "epsilon", 0);
        TEST_CHECK(tb_run(&u) == TPU_STATUS_OK, "%s", tpu_errmsg(u.ctx));
        /* channel 0: {1,2,-1,-1} mean 0.25 var 1.6875; channel 1: {3,6,5,5} mean 4.75 var 1.1875 */
        double rm[2] = { 4 * 0.75 + 0.25 * 0.25, 0 * 0.75 + 4.75 * 0.25 };
        double rv[2] = { 2 * 0.75 + 1.6875 * 0.25, 8 * 0.75 + 1.1875 * 0.25 };
        double yt[8] = { 0.75 / sqrt(1.6875), 1.75 / sqrt(1.6875), -1.75 / sqrt(1.1875), 1.25 / sqrt(1.1875),
                         -1.25 / sqrt(1.6875), -1.25 / sqrt(1.6875), 0.25 / sqrt(1.1875), 0.25 / sqrt(1.1875) };
        CHECK_CLOSE(tb_out(&u, 0), yt, 8, 1e-6);
        CHECK_CLOSE(tb_out(&u, 1), rm, 2, 1e-7);
        CHECK_CLOSE(tb_out(&u, 2), rv, 2, 1e-7);
        tb_free(&u);
    }
    return 0;
}

static int test_instance_norm(void)
{
    int64_t xd[3] = { 2, 3, 5 }, cd[1] = { 3 };
    static const float sc[3] = { 1, 2, -1 }, bi[3] = { 0.5f, 0, 1 };
    struct tb t;
    tb_init(&t, "InstanceNormalization", 3, 1, 6);
    double *dx;
    float *fx = rnd_f32(&t, 30, &dx);
    struct tpu_tensor *x = tb_in(&t, 0, TPU_DTYPE_F32, 3, xd, fx);
    tb_in(&t, 1, TPU_DTYPE_F32, 1, cd, sc);
    tb_in(&t, 2, TPU_DTYPE_F32, 1, cd, bi);
    /* InstanceNormalization's shape function (shape_first) is owned elsewhere: set Y by hand */
    struct tpu_tensor *y = tb_out(&t, 0);
    y->dtype = x->dtype;
    tpu_tensor_set_shape(y, 3, xd);
    TEST_CHECK(tpu_tensor_alloc(t.ctx, y) == TPU_STATUS_OK, "alloc");
    TEST_CHECK(tpu_op_ref_fn(t.n->op)(t.g, t.n) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    double want[30];
    for (int nc = 0; nc < 6; nc++) {
        double m = 0, v = 0;
        for (int j = 0; j < 5; j++) m += dx[nc * 5 + j] / 5;
        for (int j = 0; j < 5; j++) v += (dx[nc * 5 + j] - m) * (dx[nc * 5 + j] - m) / 5;
        for (int j = 0; j < 5; j++)
            want[nc * 5 + j] = sc[nc % 3] * (dx[nc * 5 + j] - m) / sqrt(v + (double)1e-5f) + bi[nc % 3];
    }
    CHECK_CLOSE(y, want, 30, 1e-5);
    tb_free(&t);
    return 0;
}

static int run_layer_norm(int axis, int n_sd, const int64_t *sd)
{
    int64_t xd[3] = { 2, 3, 4 };
    int ax = axis < 0 ? axis + 3 : axis;
    struct tb t;
    tb_init(&t, "LayerNormalization", 3, 3, 17);
    double *dx, *ds, *db, want[24], wmean[24], winv[24];
    int64_t ns = 1;
    for (int i = 0; i < n_sd; i++) ns *= sd[i];
    float *fx = rnd_f32(&t, 24, &dx), *fs = rnd_f32(&t, ns, &ds), *fb = rnd_f32(&t, ns, &db);
    tb_in(&t, 0, TPU_DTYPE_F32, 3, xd, fx);
    tb_in(&t, 1, TPU_DTYPE_F32, n_sd, sd, fs);
    tb_in(&t, 2, TPU_DTYPE_F32, n_sd, sd, fb);
    tb_int(&t, "axis", axis);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    int64_t inner = 1;
    for (int i = ax; i < 3; i++) inner *= xd[i];
    for (int64_t o = 0; o < 24 / inner; o++) {
        double m = 0, v = 0;
        for (int64_t j = 0; j < inner; j++) m += dx[o * inner + j] / (double)inner;
        for (int64_t j = 0; j < inner; j++) v += (dx[o * inner + j] - m) * (dx[o * inner + j] - m) / (double)inner;
        wmean[o] = m;
        winv[o] = 1 / sqrt(v + (double)1e-5f);
        for (int64_t j = 0; j < inner; j++) {
            int64_t sj = j % ns;              /* scale covers the trailing ns elements */
            want[o * inner + j] = (dx[o * inner + j] - m) * winv[o] * ds[sj] + db[sj];
        }
    }
    CHECK_CLOSE(tb_out(&t, 0), want, 24, 1e-5);
    CHECK_CLOSE(tb_out(&t, 1), wmean, 24 / inner, 1e-6);
    CHECK_CLOSE(tb_out(&t, 2), winv, 24 / inner, 1e-5);
    const struct tpu_tensor *mt = tb_out(&t, 1);
    int mean_ok = mt->n_dims == 3 && mt->dims[2] == 1 && mt->dims[0] == (ax > 0 ? 2 : 1);
    TEST_CHECK(mean_ok, "Mean dims");
    tb_free(&t);
    return 0;
}

static int test_layer_norm(void)
{
    int64_t s4[1] = { 4 }, s34[2] = { 3, 4 }, s234[3] = { 2, 3, 4 };
    if (run_layer_norm(-1, 1, s4)) return 1;
    if (run_layer_norm(1, 2, s34)) return 1;
    if (run_layer_norm(1, 1, s4)) return 1;                  /* scale broadcast over dim 1 */
    if (run_layer_norm(0, 3, s234)) return 1;
    int64_t xd[3] = { 2, 3, 4 }, bad[1] = { 3 };
    struct tb t;
    tb_init(&t, "LayerNormalization", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 3, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 1, bad, NULL);
    CHECK_SHAPE_ERR(&t, "Scale has shape [3]");
    tb_free(&t);
    tb_init(&t, "LayerNormalization", 2, 1, 17);
    tb_in(&t, 0, TPU_DTYPE_F32, 3, xd, NULL);
    tb_in(&t, 1, TPU_DTYPE_F32, 1, s4, NULL);
    tb_int(&t, "axis", 3);
    CHECK_SHAPE_ERR(&t, "'axis' is 3, out of range");
    tb_free(&t);
    return 0;
}

/* Softmax / LogSoftmax; Y's shape is set by hand (shape_first is owned elsewhere). */
static int run_softmax(const char *op, int opset, int axis, int has_axis)
{
    int64_t xd[3] = { 2, 3, 4 };
    struct tb t;
    tb_init(&t, op, 1, 1, opset);
    double *dx, want[24];
    float *fx = rnd_f32(&t, 24, &dx);
    fx[5] = 1000.0f, dx[5] = 1000.0;                        /* stability: no overflow */
    struct tpu_tensor *y = tb_out(&t, 0);
    tb_in(&t, 0, TPU_DTYPE_F32, 3, xd, fx);
    if (has_axis) tb_int(&t, "axis", axis);
    y->dtype = TPU_DTYPE_F32;
    tpu_tensor_set_shape(y, 3, xd);
    TEST_CHECK(tpu_tensor_alloc(t.ctx, y) == TPU_STATUS_OK, "alloc");
    TEST_CHECK(tpu_op_ref_fn(t.n->op)(t.g, t.n) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    int ax = axis < 0 ? axis + 3 : axis;
    int64_t outer = 1, len = 1, stride = 1;
    for (int i = 0; i < ax; i++) outer *= xd[i];
    for (int i = ax; i < 3; i++) { if (opset < 13 || i == ax) len *= xd[i]; else stride *= xd[i]; }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t s = 0; s < stride; s++) {
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < len; j++) mx = fmax(mx, dx[(o * len + j) * stride + s]);
            for (int64_t j = 0; j < len; j++) sum += exp(dx[(o * len + j) * stride + s] - mx);
            for (int64_t j = 0; j < len; j++) {
                double v = dx[(o * len + j) * stride + s] - mx;
                want[(o * len + j) * stride + s] = op[0] == 'L' ? v - log(sum) : exp(v) / sum;
            }
        }
    CHECK_CLOSE(y, want, 24, 1e-6);
    tb_free(&t);
    return 0;
}

static int test_softmax(void)
{
    if (run_softmax("Softmax", 11, 1, 0)) return 1;           /* opset 11 default axis 1: rows of 12 */
    if (run_softmax("Softmax", 11, 0, 1)) return 1;
    if (run_softmax("Softmax", 13, -1, 0)) return 1;          /* opset 13 default axis -1 */
    if (run_softmax("Softmax", 13, 1, 1)) return 1;           /* along dim 1, stride 4 */
    if (run_softmax("LogSoftmax", 13, 0, 1)) return 1;
    return run_softmax("LogSoftmax", 9, 1, 1);
}

/*---- Quantisation ----*/
static int test_quantize(void)
{
    /* uint8, scale 0.5, zp 10: round half to even (0.25/0.5 = 0.5 → 0; 0.75 → 2; 1.25 → 2), saturate */
    static const float x[10] = { 0, 1, 2.5f, -3, 1000, 0.25f, 0.75f, 1.25f, -100, 2.49f };
    static const float sc = 0.5f;
    static const uint8_t zp = 10;
    static const double want[10] = { 10, 12, 15, 4, 255, 10, 12, 12, 0, 15 };
    int64_t xd[1] = { 10 };
    struct tb t;
    tb_init(&t, "QuantizeLinear", 3, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_F32, 1, xd, x);
    tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &sc);
    tb_in(&t, 2, TPU_DTYPE_U8, 0, NULL, &zp);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    TEST_CHECK(tb_out(&t, 0)->dtype == TPU_DTYPE_U8, "dtype");
    CHECK_CLOSE(tb_out(&t, 0), want, 10, 0);
    tb_free(&t);

    /* int8, scale 1, zp -1: saturation at both ends, -0.5 → -0 */
    static const float xi[4] = { -200, 127.5f, -0.5f, 3.5f };
    static const float one = 1;
    static const int8_t zpi = -1;
    static const double wi[4] = { -128, 127, -1, 3 };
    int64_t d4[1] = { 4 };
    tb_init(&t, "QuantizeLinear", 3, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_F32, 1, d4, xi);
    tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &one);
    tb_in(&t, 2, TPU_DTYPE_I8, 0, NULL, &zpi);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_CLOSE(tb_out(&t, 0), wi, 4, 0);
    tb_free(&t);

    /* per-axis (axis 1 of 2 x 3): scales 1, 2, 4 and zero points 0, 1, 2; no zp → uint8 */
    static const float xa[6] = { 1, 2, 4, 8, 8, 8 }, sa[3] = { 1, 2, 4 };
    static const uint8_t za[3] = { 0, 1, 2 };
    static const double wa[6] = { 1, 2, 3, 8, 5, 4 };
    int64_t d23[2] = { 2, 3 }, d3[1] = { 3 };
    tb_init(&t, "QuantizeLinear", 3, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_F32, 2, d23, xa);
    tb_in(&t, 1, TPU_DTYPE_F32, 1, d3, sa);
    tb_in(&t, 2, TPU_DTYPE_U8, 1, d3, za);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_CLOSE(tb_out(&t, 0), wa, 6, 0);
    tb_free(&t);
    tb_init(&t, "QuantizeLinear", 2, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_F32, 2, d23, xa);
    tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &one);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    TEST_CHECK(tb_out(&t, 0)->dtype == TPU_DTYPE_U8, "default output dtype is uint8");
    tb_free(&t);
    /* per-axis scale of the wrong length */
    tb_init(&t, "QuantizeLinear", 2, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_F32, 2, d23, xa);
    tb_in(&t, 1, TPU_DTYPE_F32, 1, d3, sa);
    tb_int(&t, "axis", 0);
    CHECK_SHAPE_ERR(&t, "scale has shape [3], expected [2]");
    tb_free(&t);
    return 0;
}

static int test_dequantize(void)
{
    static const uint8_t x[3] = { 0, 128, 255 }, zp = 128;
    static const float sc = 0.5f;
    static const double want[3] = { -64, 0, 63.5 };
    int64_t d3[1] = { 3 };
    struct tb t;
    tb_init(&t, "DequantizeLinear", 3, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_U8, 1, d3, x);
    tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &sc);
    tb_in(&t, 2, TPU_DTYPE_U8, 0, NULL, &zp);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    TEST_CHECK(tb_out(&t, 0)->dtype == TPU_DTYPE_F32, "dtype");
    CHECK_CLOSE(tb_out(&t, 0), want, 3, 0);
    tb_free(&t);
    /* per-axis int8 along axis 0 of 2 x 2 */
    static const int8_t xi[4] = { -128, 127, 10, -10 }, zi[2] = { 0, -10 };
    static const float si[2] = { 2, 0.25f };
    static const double wi[4] = { -256, 254, 5, 0 };
    int64_t d22[2] = { 2, 2 }, d2[1] = { 2 };
    tb_init(&t, "DequantizeLinear", 3, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_I8, 2, d22, xi);
    tb_in(&t, 1, TPU_DTYPE_F32, 1, d2, si);
    tb_in(&t, 2, TPU_DTYPE_I8, 1, d2, zi);
    tb_int(&t, "axis", 0);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_CLOSE(tb_out(&t, 0), wi, 4, 0);
    tb_free(&t);
    /* int32 without zero point */
    static const int32_t x32[2] = { -100000, 7 };
    static const double w32[2] = { -50000, 3.5 };
    tb_init(&t, "DequantizeLinear", 2, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_I32, 1, d2, x32);
    tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &sc);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    CHECK_CLOSE(tb_out(&t, 0), w32, 2, 0);
    tb_free(&t);
    /* zero point of another dtype */
    static const int8_t zbad = 0;
    tb_init(&t, "DequantizeLinear", 3, 1, 13);
    tb_in(&t, 0, TPU_DTYPE_U8, 1, d3, x);
    tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &sc);
    tb_in(&t, 2, TPU_DTYPE_I8, 0, NULL, &zbad);
    CHECK_SHAPE_ERR(&t, "x_zero_point has dtype int8");
    tb_free(&t);
    return 0;
}

/* Round half to even of acc / 2^sh (sh >= 0), in integers. */
static int64_t rhe_shift(int64_t acc, int sh)
{
    if (sh == 0) return acc;
    int64_t d = (int64_t)1 << sh, q = acc >= 0 ? acc / d : -((-acc + d - 1) / d), r = acc - q * d;
    if (2 * r > d || (2 * r == d && (q & 1))) q++;
    return q;
}

static int64_t clamp_u8(int64_t v) { return v < 0 ? 0 : v > 255 ? 255 : v; }

static void rnd_u8(uint8_t *p, int n) { for (int i = 0; i < n; i++) p[i] = (uint8_t)((rnd() + 1) * 128); }

static int test_qlinear_matmul(void)
{
    /* scales 0.5 * 0.25 / y_scale: y_scale 0.125 → multiplier 1; 0.25 → 1/2 (ties to even) */
    enum { M = 3, K = 7, N = 5 };
    uint8_t a[M * K], b[K * N], azp = 3, bzp = 250, yzp = 100;
    rnd_u8(a, M * K);
    rnd_u8(b, K * N);
    static const float as = 0.5f, bs = 0.25f, ys_[2] = { 0.125f, 0.25f };
    int64_t ad[2] = { M, K }, bd[2] = { K, N };
    for (int v = 0; v < 2; v++) {
        struct tb t;
        tb_init(&t, "QLinearMatMul", 8, 1, 13);
        tb_in(&t, 0, TPU_DTYPE_U8, 2, ad, a);
        tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &as);
        tb_in(&t, 2, TPU_DTYPE_U8, 0, NULL, &azp);
        tb_in(&t, 3, TPU_DTYPE_U8, 2, bd, b);
        tb_in(&t, 4, TPU_DTYPE_F32, 0, NULL, &bs);
        tb_in(&t, 5, TPU_DTYPE_U8, 0, NULL, &bzp);
        tb_in(&t, 6, TPU_DTYPE_F32, 0, NULL, &ys_[v]);
        tb_in(&t, 7, TPU_DTYPE_U8, 0, NULL, &yzp);
        TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
        double want[M * N];
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                int64_t acc = 0;
                for (int k = 0; k < K; k++) acc += (int64_t)(a[m * K + k] - azp) * (b[k * N + n] - bzp);
                want[m * N + n] = (double)clamp_u8(rhe_shift(acc, v) + yzp);
            }
        CHECK_CLOSE(tb_out(&t, 0), want, M * N, 0);
        TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == M * N * K, "macs");
        tb_free(&t);
    }
    return 0;
}

static int test_matmul_integer(void)
{
    enum { M = 4, K = 9, N = 3 };
    int8_t a[M * K];
    uint8_t b[K * N], bzp[N] = { 1, 128, 255 };
    int8_t azp = -5;
    for (int i = 0; i < M * K; i++) a[i] = (int8_t)(rnd() * 127);
    rnd_u8(b, K * N);
    int64_t ad[2] = { M, K }, bd[2] = { K, N }, nd[1] = { N };
    struct tb t;
    tb_init(&t, "MatMulInteger", 4, 1, 10);
    tb_in(&t, 0, TPU_DTYPE_I8, 2, ad, a);
    tb_in(&t, 1, TPU_DTYPE_U8, 2, bd, b);
    tb_in(&t, 2, TPU_DTYPE_I8, 0, NULL, &azp);
    tb_in(&t, 3, TPU_DTYPE_U8, 1, nd, bzp);                 /* per-column zero point */
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    TEST_CHECK(tb_out(&t, 0)->dtype == TPU_DTYPE_I32, "int32 output");
    double want[M * N];
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int64_t acc = 0;
            for (int k = 0; k < K; k++) acc += (int64_t)(a[m * K + k] - azp) * (b[k * N + n] - bzp[n]);
            want[m * N + n] = (double)acc;
        }
    CHECK_CLOSE(tb_out(&t, 0), want, M * N, 0);
    tb_free(&t);
    tb_init(&t, "MatMulInteger", 2, 1, 10);
    int64_t fd[2] = { K, N };
    tb_in(&t, 0, TPU_DTYPE_F32, 2, ad, NULL);
    tb_in(&t, 1, TPU_DTYPE_U8, 2, fd, NULL);
    CHECK_SHAPE_ERR(&t, "A has dtype float32, expected int8 or uint8");
    tb_free(&t);
    return 0;
}

/* ConvInteger and QLinearConv (per-channel w scale / zero point) against naive_conv on integers. */
static int test_conv_integer(void)
{
    struct win w;
    win_init(&w, 2, 1, 4, 2, 2);
    w.in[0] = 6; w.in[1] = 5; w.k[0] = 3; w.k[1] = 2; w.s[0] = 2; w.p0[0] = 1; w.p1[0] = 1; w.p1[1] = 1;
    win_out_fwd(&w, 0);
    int64_t nx = 4 * 30, nw = 2 * 2 * 6, ny = 2 * prod3(w.out);
    uint8_t x[120], wt[24], xzp = 7, wzp[2] = { 130, 120 }, yzp = 9;
    rnd_u8(x, (int)nx);
    rnd_u8(wt, (int)nw);
    double dx[120], dw[24], want[64], wq[64];
    for (int i = 0; i < nx; i++) dx[i] = x[i] - xzp;
    for (int i = 0; i < nw; i++) dw[i] = wt[i] - wzp[i / 12];
    naive_conv(&w, dx, dw, NULL, want);
    int64_t xd[4], wd[4], md[1] = { 2 };
    win_dims(&w, 1, 4, w.in, xd);
    win_dims(&w, 2, 2, w.k, wd);
    struct tb t;
    tb_init(&t, "ConvInteger", 4, 1, 10);
    tb_in(&t, 0, TPU_DTYPE_U8, 4, xd, x);
    tb_in(&t, 1, TPU_DTYPE_U8, 4, wd, wt);
    tb_in(&t, 2, TPU_DTYPE_U8, 0, NULL, &xzp);
    tb_in(&t, 3, TPU_DTYPE_U8, 1, md, wzp);
    tb_int(&t, "group", 2);
    tb_window_attrs(&t, &w, 1);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    TEST_CHECK(tb_out(&t, 0)->dtype == TPU_DTYPE_I32, "int32");
    CHECK_CLOSE(tb_out(&t, 0), want, ny, 0);
    TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == ny * 2 * 6, "macs");
    tb_free(&t);

    /* QLinearConv: x_scale 0.5, w_scale {0.25, 0.5}, y_scale 0.125 → multipliers 1 and 2; bias */
    static const float xs = 0.5f, ws[2] = { 0.25f, 0.5f }, ys = 0.125f;
    static const int32_t bias[2] = { -300, 41 };
    for (int i = 0; i < ny; i++) {
        int m = (int)(i / prod3(w.out));
        wq[i] = (double)clamp_u8(((int64_t)want[i] + bias[m]) * (m ? 2 : 1) + yzp);
    }
    tb_init(&t, "QLinearConv", 9, 1, 10);
    tb_in(&t, 0, TPU_DTYPE_U8, 4, xd, x);
    tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &xs);
    tb_in(&t, 2, TPU_DTYPE_U8, 0, NULL, &xzp);
    tb_in(&t, 3, TPU_DTYPE_U8, 4, wd, wt);
    tb_in(&t, 4, TPU_DTYPE_F32, 1, md, ws);
    tb_in(&t, 5, TPU_DTYPE_U8, 1, md, wzp);
    tb_in(&t, 6, TPU_DTYPE_F32, 0, NULL, &ys);
    tb_in(&t, 7, TPU_DTYPE_U8, 0, NULL, &yzp);
    tb_in(&t, 8, TPU_DTYPE_I32, 1, md, bias);
    tb_int(&t, "group", 2);
    tb_window_attrs(&t, &w, 1);
    TEST_CHECK(tb_run(&t) == TPU_STATUS_OK, "%s", tpu_errmsg(t.ctx));
    TEST_CHECK(tb_out(&t, 0)->dtype == TPU_DTYPE_U8, "uint8");
    CHECK_CLOSE(tb_out(&t, 0), wq, ny, 0);
    TEST_CHECK(tpu_op_macs_fn(t.n->op)(t.g, t.n) == ny * 2 * 6, "macs");
    tb_free(&t);
    /* per-channel w_scale of the wrong length */
    int64_t d3[1] = { 3 };
    static const float ws3[3] = { 1, 1, 1 };
    tb_init(&t, "QLinearConv", 8, 1, 10);
    tb_in(&t, 0, TPU_DTYPE_U8, 4, xd, x);
    tb_in(&t, 1, TPU_DTYPE_F32, 0, NULL, &xs);
    tb_in(&t, 2, TPU_DTYPE_U8, 0, NULL, &xzp);
    tb_in(&t, 3, TPU_DTYPE_U8, 4, wd, wt);
    tb_in(&t, 4, TPU_DTYPE_F32, 1, d3, ws3);
    tb_in(&t, 5, TPU_DTYPE_U8, 0, NULL, &xzp);
    tb_in(&t, 6, TPU_DTYPE_F32, 0, NULL, &ys);
    tb_in(&t, 7, TPU_DTYPE_U8, 0, NULL, &yzp);
    tb_int(&t, "group", 2);
    CHECK_SHAPE_ERR(&t, "w_scale has shape [3], expected a scalar or 2 values");
    tb_free(&t);
    return 0;
}

/*---- ONNX's own node tests (libonnx-testdata), run node by node ----*/
#define ONNX_NODE_DIR "/usr/share/libonnx-testdata/data"

/* Output i's expected values, compared with ONNX backend-test tolerances
** (rtol 1e-3, atol 1e-5) for floats, exactly for integers. */
static int node_case_compare(const struct tpu_tensor *y, const struct tpu_tensor *want, char *why, size_t nwhy)
{
    if (y->n_dims != want->n_dims || y->dtype != want->dtype) {
        snprintf(why, nwhy, "rank/dtype %d/%d, expected %d/%d", y->n_dims, y->dtype, want->n_dims, want->dtype);
        return 0;
    }
    for (int i = 0; i < y->n_dims; i++)
        if (y->dims[i] != want->dims[i]) { snprintf(why, nwhy, "dim %d differs", i); return 0; }
    for (int64_t i = 0, n = tpu_tensor_numel(y); i < n; i++) {
        double a = tpu_get_f64(y->data, y->dtype, (size_t)i), b = tpu_get_f64(want->data, want->dtype, (size_t)i);
        double tol = tpu_dtype_is_float(y->dtype) ? 1e-5 + 1e-3 * fabs(b) : 0;
        if (!(fabs(a - b) <= tol) && !(isnan(a) && isnan(b))) {
            snprintf(why, nwhy, "element %lld: got %.8g, expected %.8g", (long long)i, a, b);
            return 0;
        }
    }
    return 1;
}

/* Ops whose shape function is someone else's shape_first: Y takes X's shape. */
static int uses_shape_first(enum tpu_op op)
{
    return op == TPU_OP_SOFTMAX || op == TPU_OP_LOG_SOFTMAX || op == TPU_OP_INSTANCE_NORM;
}

static enum tpu_status run_graph_nodes(struct tpu_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        struct tpu_node *n = &g->nodes[i];
        if (n->op == TPU_OP_UNKNOWN) return tpu_err(g->ctx, TPU_ERR_UNSUPPORTED, "op %s", n->op_type);
        enum tpu_status rc = tpu_op_shape_fn(n->op)(g, n);
        if (rc == TPU_ERR_UNSUPPORTED && uses_shape_first(n->op)) {
            tpu_err_clear(g->ctx);
            struct tpu_tensor *x = tpu_in(g, n, 0), *y = tpu_out(g, n, 0);
            y->dtype = x->dtype;
            tpu_tensor_set_shape(y, x->n_dims, x->dims);
            rc = TPU_STATUS_OK;
        }
        if (rc) return rc;
        for (int k = 0; k < n->n_outputs; k++)
            if (tpu_out(g, n, k) && (rc = tpu_tensor_alloc(g->ctx, tpu_out(g, n, k)))) return rc;
        if ((rc = tpu_op_ref_fn(n->op)(g, n))) return rc;
    }
    return TPU_STATUS_OK;
}

/* 0 pass, 1 fail (why set), 2 skip (an op or feature outside this file's ops). */
static int run_node_case(const char *dir, char *why, size_t nwhy)
{
    char path[512];
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = NULL;
    int result = 1;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    enum tpu_status rc = tpu_load_onnx(ctx, path, &g);
    for (int i = 0; !rc && i < g->n_inputs; i++) {
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
        struct tpu_tensor *v = tpu_tensor_load_pb(ctx, path), *x = g->tensors[g->inputs[i]];
        if (!v) { rc = TPU_ERR_IO; break; }
        x->dtype = v->dtype;
        tpu_tensor_set_shape(x, v->n_dims, v->dims);
        size_t nb = 0;
        if (!(rc = tpu_tensor_alloc(ctx, x)) && !(rc = tpu_tensor_nbytes(ctx, x, &nb)) && nb)
            memcpy(x->data, v->data, nb);
        tpu_tensor_free(v);
    }
    if (!rc) rc = run_graph_nodes(g);
    if (rc == TPU_ERR_UNSUPPORTED) { result = 2; snprintf(why, nwhy, "%s", tpu_errmsg(ctx)); }
    else if (rc) snprintf(why, nwhy, "%s", tpu_errmsg(ctx));
    for (int i = 0; !rc && i < g->n_outputs; i++) {
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        struct tpu_tensor *want = tpu_tensor_load_pb(ctx, path);
        char w[200];
        if (!want || !node_case_compare(g->tensors[g->outputs[i]], want, w, sizeof w)) {
            snprintf(why, nwhy, "output %d: %s", i, want ? w : tpu_errmsg(ctx));
            rc = TPU_ERR_MISMATCH;
        }
        tpu_tensor_free(want);
    }
    if (!rc) result = 0;
    tpu_graph_free(g);
    tpu_free(ctx);
    return result;
}

static int node_case_wanted(const char *name)
{
    static const char *prefixes[] = {
        "test_conv", "test_basic_conv", "test_maxpool", "test_averagepool", "test_globalaveragepool",
        "test_globalmaxpool", "test_batchnorm", "test_instancenorm", "test_layer_normalization",
        "test_softmax", "test_logsoftmax", "test_matmul", "test_gemm", "test_einsum", "test_quantizelinear",
        "test_dequantizelinear", "test_qlinear", "test_Conv", "test_MaxPool", "test_AvgPool",
        "test_BatchNorm", "test_Linear", "test_Softmax", "test_LogSoftmax", "test_operator_conv",
        "test_operator_maxpool", "test_operator_mm", "test_operator_addmm", "test_GLU", "test_operator_basic",
    };
    if (strstr(name, "_expanded")) return 0;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(name, prefixes[i], strlen(prefixes[i])) == 0) return 1;
    return 0;
}

#include <dirent.h>
static int test_onnx_node_cases(void)
{
    static const char *sets[] = { "node", "pytorch-converted", "pytorch-operator" };
    int n_pass = 0, n_fail = 0, n_skip = 0, verbose = getenv("TPU_TEST_VERBOSE") != NULL;
    char first_fail[400] = "";
    for (int s = 0; s < 3; s++) {
        char base[256];
        snprintf(base, sizeof base, "%s/%s", ONNX_NODE_DIR, sets[s]);
        DIR *d = opendir(base);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!node_case_wanted(e->d_name)) continue;
            char dir[600], why[300] = "";
            snprintf(dir, sizeof dir, "%s/%s", base, e->d_name);
            int r = run_node_case(dir, why, sizeof why);
            n_pass += r == 0; n_fail += r == 1; n_skip += r == 2;
            if (r == 1 && !first_fail[0]) snprintf(first_fail, sizeof first_fail, "%.60s: %.300s", e->d_name, why);
            if (verbose && r) fprintf(stderr, "%s %s: %s\n", r == 1 ? "FAIL" : "SKIP", e->d_name, why);
        }
        closedir(d);
    }
    if (n_pass + n_fail + n_skip == 0) TEST_SKIP("no ONNX test data under %s", ONNX_NODE_DIR);
    fprintf(stderr, "onnx node cases: %d passed, %d failed, %d skipped (ops outside nn)\n", n_pass, n_fail, n_skip);
    TEST_CHECK(n_fail == 0, "%d failed; first: %s", n_fail, first_fail);
    return 0;
}

static const struct test_case cases[] = {
    { "ref-nn-conv-1.1", test_conv_2d_basic },
    { "ref-nn-conv-1.2", test_conv_2d_strides_pads },
    { "ref-nn-conv-1.3", test_conv_2d_dilations },
    { "ref-nn-conv-1.4", test_conv_groups },
    { "ref-nn-conv-1.5", test_conv_depthwise },
    { "ref-nn-conv-1.6", test_conv_pointwise },
    { "ref-nn-conv-1.10", test_conv_depthwise_dil },
    { "ref-nn-conv-1.11", test_conv_implicit },
    { "ref-nn-conv-winograd", test_conv_winograd },
    { "ref-nn-conv-1.12", test_conv_depthwise_wide },
    { "ref-nn-conv-1.7", test_conv_1d },
    { "ref-nn-conv-1.8", test_conv_3d },
    { "ref-nn-conv-1.9", test_conv_f64 },
    { "ref-nn-conv-2.1", test_conv_auto_pad },
    { "ref-nn-conv-3.1", test_conv_bad },
    { "ref-nn-conv-3.2", test_conv_symbolic },
    { "ref-nn-convtr-1.1", test_conv_transpose_2d },
    { "ref-nn-convtr-1.2", test_conv_transpose_groups_dil },
    { "ref-nn-convtr-1.3", test_conv_transpose_1d_3d },
    { "ref-nn-convtr-2.1", test_conv_transpose_output_shape },
    { "ref-nn-maxpool-1.1", test_maxpool },
    { "ref-nn-maxpool-1.2", test_maxpool_1d_3d },
    { "ref-nn-maxpool-1.3", test_maxpool_hand },
    { "ref-nn-maxpool-1.4", test_maxpool_wide },
    { "ref-nn-avgpool-1.1", test_avgpool },
    { "ref-nn-globalpool-1.1", test_global_pool },
    { "ref-nn-matmul-1.1", test_matmul },
    { "ref-nn-matmul-1.2", test_matmul_f16 },
    { "ref-nn-matmul-2.1", test_matmul_bad },
    { "ref-nn-gemm-1.1", test_gemm },
    { "ref-nn-gemm-2.1", test_gemm_bad },
    { "ref-nn-einsum-1.1", test_einsum },
    { "ref-nn-einsum-2.1", test_einsum_bad },
    { "ref-nn-batchnorm-1.1", test_batch_norm },
    { "ref-nn-instnorm-1.1", test_instance_norm },
    { "ref-nn-layernorm-1.1", test_layer_norm },
    { "ref-nn-softmax-1.1", test_softmax },
    { "ref-nn-quantize-1.1", test_quantize },
    { "ref-nn-dequantize-1.1", test_dequantize },
    { "ref-nn-qlinearmatmul-1.1", test_qlinear_matmul },
    { "ref-nn-matmulinteger-1.1", test_matmul_integer },
    { "ref-nn-convinteger-1.1", test_conv_integer },
    { "ref-nn-onnx-node-1.1", test_onnx_node_cases },
};
TEST_MAIN(cases)
