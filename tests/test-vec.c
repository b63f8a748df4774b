/*
** tests/test-vec.c: op-by-op chip-versus-reference test for every op the
** vector lowering (compile/lower_vec.c) places on the vector unit, on seeded
** random shapes — ragged ones (1, 7, 129, 1000+ elements, rank 1-4) and the
** broadcasting forms (same shape, scalar constant, per-column, per-row,
** general) — on tpu-v5e. Each case plans the node, lowers it, packs the
** inputs, simulates (sim/sim_vector.c) and unpacks, then compares with the
** reference kernel (ref/) on the same inputs:
**   - elementwise binary and unary ops: bit-exact (the vector unit computes
**     the same fp32 expression the reference's float32 loop computes; NaN
**     equals NaN);
**   - Softmax, LayerNormalization, ReduceSum/Mean, GlobalAveragePool,
**     BatchNormalization: the reference accumulates in double, the chip in
**     fp32 (VRSUM: 8 partial sums), so each element gets the standard worst-case
**     bound of an fp32 sum of len terms — (len + k) * u * (sum of the
**     magnitudes involved), u = 2^-24 — written next to each check;
**   - ReduceMax: exact.
** Plus chunking (a UB far smaller than the tensor), a row too long for the UB
** (refused), bad input (int64, no vector unit) and determinism.
*/
#include "compile/compile.h"
#include "compile/lower_vec.h"
#include "testlib.h"
#include "testrig.h"
#include <math.h>
#include <stdlib.h>

#define U 5.9604644775390625e-8               /* 2^-24: fp32 unit roundoff */

#define TEST_SEED 0x9E3779B97F4A7C15ull
#include "testrng.h"
static float uni_in(float lo, float hi) { return lo + (hi - lo) * (float)u01(); }

static struct tpu_chip *chip_v5e, *chip_v1;

static struct tpu_chip *chip(const char *name)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = NULL;
    if (tpu_chip_load(ctx, name, &c)) c = NULL;
    tpu_free(ctx);
    return c;
}

/* Input i: float32 dims, random values in [lo, hi); const marks an initializer. */
static float *in_f32(struct rig *r, int i, int nd, const int64_t *dims, float lo, float hi, int is_const)
{
    int64_t n = 1;
    for (int k = 0; k < nd; k++) n *= dims[k];
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    for (int64_t k = 0; k < n; k++) v[k] = uni_in(lo, hi);
    rig_in(r, i, TPU_DTYPE_F32, nd, dims, v);
    tpu_in(r->g, r->n, i)->is_const = is_const;
    free(v);
    return tpu_in(r->g, r->n, i)->data;
}

/* The chip's output of r's node: plan, lower, pack, simulate, unpack. NULL
** and why when the lowering refuses or the simulator faults. */
struct chip_out { float *y; int64_t n, cycles, chunks; char insns[96]; };

static int run_chip(struct rig *r, const struct tpu_chip *c, struct chip_out *o, char *why, size_t wn)
{
    struct tpu_vec_plan p;
    memset(o, 0, sizeof *o);
    if (!tpu_vec_plan_node(r->g, r->n, c, &p, why, wn)) return 1;
    struct tpu_program *prog = NULL;
    if (tpu_lower_vec(r->ctx, c, &p, &prog)) { snprintf(why, wn, "lower: %s", tpu_errmsg(r->ctx)); return 1; }
    uint8_t *host = calloc((size_t)p.host_bytes, 1);
    tpu_vec_pack(r->g, r->n, &p, host);
    struct tpu_sim *s = tpu_sim_new(r->ctx, c, 0);
    enum tpu_status rc = tpu_sim_run(s, prog, host, p.host_bytes);
    if (rc) snprintf(why, wn, "sim: %s", tpu_errmsg(r->ctx));
    o->y = malloc((size_t)p.out_numel * sizeof(float));
    if (!rc) tpu_vec_unpack(&p, host, o->y);
    o->n = p.out_numel;
    o->cycles = s->end;
    o->chunks = p.n_chunks;
    snprintf(o->insns, sizeof o->insns, "%s", p.insns);
    tpu_sim_free(s);
    tpu_program_free(prog);
    free(host);
    if (rc) { free(o->y); o->y = NULL; }
    return rc != 0;
}

static int same_bits(float a, float b) { return memcmp(&a, &b, 4) == 0 || (a != a && b != b); }

/* Chip vs reference, bit-exact. */
static int exact_case(struct rig *r, const char *what, const char *want_insn)
{
    char why[320];
    struct chip_out o;
    if (run_chip(r, chip_v5e, &o, why, sizeof why)) TEST_FAIL("%s: %s", what, why);
    if (rig_run(r)) { free(o.y); TEST_FAIL("%s: reference: %s", what, tpu_errmsg(r->ctx)); }
    const float *ref = out(r, 0)->data;
    if (tpu_tensor_numel(out(r, 0)) != o.n) { free(o.y); TEST_FAIL("%s: %lld values, reference %lld", what, (long long)o.n, (long long)tpu_tensor_numel(out(r, 0))); }
    for (int64_t i = 0; i < o.n; i++)
        if (!same_bits(o.y[i], ref[i])) {
            float got = o.y[i];
            free(o.y);
            TEST_FAIL("%s: element %lld: chip %.9g, reference %.9g", what, (long long)i, got, ref[i]);
        }
    int ok = !want_insn || strstr(o.insns, want_insn);
    char insns[96];
    snprintf(insns, sizeof insns, "%s", o.insns);
    free(o.y);
    if (!ok) TEST_FAIL("%s: lowered as %s, expected %s", what, insns, want_insn);
    return 0;
}

static void rand_dims(int *nd, int64_t *dims)
{
    static const int64_t sizes[] = { 1, 7, 129, 3, 16, 33, 1000, 2 };
    *nd = (int)pick(1, 4);
    int64_t n = 1;
    for (int i = 0; i < *nd; i++) {
        dims[i] = pick(0, 2) ? sizes[pick(0, 7)] : pick(1, 40);
        if (n * dims[i] > 300000) dims[i] = 1;
        n *= dims[i];
    }
}

/*---- Elementwise binary ----*/
static const char *const bin_ops[] = { "Add", "Sub", "Mul", "Div", "Max", "Min" };

/* form: 0 same shape, 1 scalar constant B, 2 scalar constant A, 3 trailing
** (per-column) B, 4 leading (per-row) B, 5 both broadcast, 6 A broadcast. */
static int binary_case(const char *op, int form, int nd, const int64_t *dims)
{
    struct rig r = rig_new(op, 2, 1);
    int64_t bd[TPU_MAX_DIMS], one = 1;
    const char *want = NULL;
    char what[200];
    int k = nd > 1 ? (int)pick(1, nd - 1) : 0;
    switch (form) {
    case 0: in_f32(&r, 0, nd, dims, -2, 2, 0); in_f32(&r, 1, nd, dims, 0.5f, 2, 0); want = "V"; break;
    case 1: in_f32(&r, 0, nd, dims, -2, 2, 0); in_f32(&r, 1, 1, &one, 0.5f, 2, 1); want = "VSOP"; break;
    case 2: in_f32(&r, 0, 0, &one, 0.5f, 2, 1); in_f32(&r, 1, nd, dims, 0.5f, 2, 0); want = "VSOP"; break;
    case 3:                                             /* B = dims[k..] */
        in_f32(&r, 0, nd, dims, -2, 2, 0); in_f32(&r, 1, nd - k, dims + k, 0.5f, 2, 0);
        int64_t lead = 1, trail = 1;                    /* VC* when B is smaller and fits the len slot */
        for (int i = 0; i < nd; i++) *(i < k ? &lead : &trail) *= dims[i];
        want = strcmp(op, "Max") && strcmp(op, "Min") && lead > 1 && trail <= 65535 ? "VC" : NULL;
        break;
    case 4:                                             /* B = dims[..k], 1s after */
        for (int i = 0; i < nd; i++) bd[i] = i < k ? dims[i] : 1;
        in_f32(&r, 0, nd, dims, -2, 2, 0); in_f32(&r, 1, nd, bd, 0.5f, 2, 0);
        break;
    case 5:                                             /* [d0, 1] op [1, d1] */
        bd[0] = dims[0]; bd[1] = 1;
        in_f32(&r, 0, 2, bd, -2, 2, 0);
        bd[0] = 1; bd[1] = nd > 1 ? dims[1] : 5;
        in_f32(&r, 1, 2, bd, 0.5f, 2, 0);
        break;
    default:                                            /* A = dims[k..], B full */
        in_f32(&r, 0, nd - k, dims + k, -2, 2, 0); in_f32(&r, 1, nd, dims, 0.5f, 2, 0);
        break;
    }
    snprintf(what, sizeof what, "%s form %d rank %d (%lld x ... numel %lld)", op, form, nd, (long long)dims[0],
             (long long)tpu_tensor_numel(tpu_in(r.g, r.n, 1)));
    int rc = exact_case(&r, what, want);
    rig_free(&r);
    return rc;
}

static int t_binary(void)
{
    for (int it = 0; it < 8; it++) {
        int nd;
        int64_t dims[TPU_MAX_DIMS];
        rand_dims(&nd, dims);
        for (int o = 0; o < 6; o++)
            for (int f = 0; f < 7; f++)
                if (binary_case(bin_ops[o], f, nd, dims)) return 1;
    }
    return 0;
}

/* Named layouts of the acceptance models: attention bias [1,128,768] + [768],
** squeeze-excite [1,C,H,W] * [1,C,1,1] with H*W > 65535 (rows split). */
static int t_binary_model_shapes(void)
{
    int64_t a[3] = { 1, 33, 768 }, se[4] = { 1, 3, 300, 260 };
    if (binary_case("Add", 3, 3, a)) return 1;
    struct rig r = rig_new("Mul", 2, 1);
    int64_t b[4] = { 1, 3, 1, 1 };
    in_f32(&r, 0, 4, se, -2, 2, 0);
    in_f32(&r, 1, 4, b, -2, 2, 0);
    int rc = exact_case(&r, "Mul [1,3,300,260] x [1,3,1,1]", "VBMUL");
    rig_free(&r);
    return rc;
}

static int t_pow(void)
{
    static const float ex[] = { 2.0f, 0.5f, 3.0f };
    for (int i = 0; i < 3; i++) {
        struct rig r = rig_new("Pow", 2, 1);
        int64_t d[2] = { 7, 129 }, one = 1;
        in_f32(&r, 0, 2, d, 0.01f, 3, 0);
        rig_in(&r, 1, TPU_DTYPE_F32, 1, &one, &ex[i]);
        tpu_in(r.g, r.n, 1)->is_const = true;
        char what[64];
        snprintf(what, sizeof what, "Pow x^%g", ex[i]);
        int rc = exact_case(&r, what, "VSOP");
        rig_free(&r);
        if (rc) return 1;
    }
    struct rig r = rig_new("Pow", 2, 1);                 /* non-constant exponent: refused */
    int64_t d = 5;
    in_f32(&r, 0, 1, &d, 0.1f, 2, 0);
    in_f32(&r, 1, 1, &d, 0.1f, 2, 0);
    char why[320];
    int takes = tpu_vec_plan_node(r.g, r.n, chip_v5e, &(struct tpu_vec_plan){ 0 }, why, sizeof why);
    rig_free(&r);
    TEST_CHECK(!takes && strstr(why, "scalar constant exponent"), "%s", why);
    return 0;
}

/*---- Unary ----*/
static int unary_case(const char *op, int nd, const int64_t *dims, float lo, float hi)
{
    struct rig r = rig_new(op, 1, 1);
    in_f32(&r, 0, nd, dims, lo, hi, 0);
    if (!strcmp(op, "HardSigmoid")) { attr_float(&r, "alpha", 0.3f); attr_float(&r, "beta", 0.4f); }
    char what[120];
    snprintf(what, sizeof what, "%s rank %d numel %lld", op, nd, (long long)tpu_tensor_numel(tpu_in(r.g, r.n, 0)));
    int rc = exact_case(&r, what, NULL);
    rig_free(&r);
    return rc;
}

static int t_unary(void)
{
    static const char *const ops[] = { "Relu", "Sigmoid", "Tanh", "Erf", "Sqrt", "Neg", "Abs", "Exp",
                                       "Reciprocal", "HardSigmoid", "HardSwish" };
    for (int it = 0; it < 5; it++) {
        int nd;
        int64_t dims[TPU_MAX_DIMS];
        rand_dims(&nd, dims);
        for (size_t o = 0; o < sizeof ops / sizeof ops[0]; o++)
            if (unary_case(ops[o], nd, dims, strcmp(ops[o], "Sqrt") ? -6 : 0, 6)) return 1;
    }
    int64_t one = 1;                                     /* tanh below 1e-4 and NaN/negative sqrt */
    if (unary_case("Tanh", 1, &one, -1e-4f, 1e-4f) || unary_case("Sqrt", 1, &one, -1, -0.5f)) return 1;
    return 0;
}

static int clip_case(int has_lo, int has_hi)
{
    struct rig r = rig_new("Clip", has_hi ? 3 : has_lo ? 2 : 1, 1);
    int64_t d[3] = { 3, 7, 129 };
    in_f32(&r, 0, 3, d, -8, 8, 0);
    float lo = -1.5f, hi = 6.0f;
    if (has_lo || has_hi) {
        if (has_lo) rig_in(&r, 1, TPU_DTYPE_F32, 0, NULL, &lo);
        else { rig_in(&r, 1, TPU_DTYPE_F32, 0, NULL, NULL); tpu_in(r.g, r.n, 1)->name = ""; }
        tpu_in(r.g, r.n, 1)->is_const = true;
    }
    if (has_hi) { rig_in(&r, 2, TPU_DTYPE_F32, 0, NULL, &hi); tpu_in(r.g, r.n, 2)->is_const = true; }
    char what[64];
    snprintf(what, sizeof what, "Clip lo %d hi %d", has_lo, has_hi);
    int rc = exact_case(&r, what, "VSOP");
    rig_free(&r);
    return rc;
}

static int t_clip(void) { return clip_case(1, 1) || clip_case(0, 1) || clip_case(1, 0) || clip_case(0, 0); }

/*---- Row ops with a tolerance ----*/
/* Chip and reference outputs of r's node (rig_run after the chip run: the
** reference overwrites nothing the chip read). */
/* Element i against its bound: |chip - ref| <= tol, or the same bits when
** tol < 0. Outside it: frees the run, says which element, returns 1. */
static int off_bound(struct rig *r, struct chip_out *o, const float *ref, int64_t i, double tol, const char *what)
{
    if (tol < 0 ? same_bits(o->y[i], ref[i]) : !(fabs((double)o->y[i] - ref[i]) > tol)) return 0;
    float got = o->y[i], want = ref[i];
    free(o->y);
    rig_free(r);
    snprintf(test_why, sizeof test_why, "%s: element %lld: chip %.9g, reference %.9g (bound %.3g)", what,
             (long long)i, got, want, tol);
    return 1;
}

static int both(struct rig *r, const struct tpu_chip *c, struct chip_out *o, const float **ref, const char *what)
{
    char why[320];
    if (run_chip(r, c, o, why, sizeof why)) TEST_FAIL("%s: %s", what, why);
    if (rig_run(r)) { free(o->y); TEST_FAIL("%s: reference: %s", what, tpu_errmsg(r->ctx)); }
    if (tpu_tensor_numel(out(r, 0)) != o->n) { free(o->y); TEST_FAIL("%s: value count differs", what); }
    *ref = out(r, 0)->data;
    return 0;
}

static int t_softmax(void)
{
    for (int it = 0; it < 12; it++) {
        int nd;
        int64_t dims[TPU_MAX_DIMS];
        rand_dims(&nd, dims);
        struct rig r = rig_new("Softmax", 1, 1);
        const float *x = in_f32(&r, 0, nd, dims, -8, 8, 0);
        int axis = (int)pick(-1, nd - 1);
        if (it % 4 == 3) r.n->opset = 11;                /* flattened at axis (default 1) */
        if (it % 4 != 3 || nd < 2) attr_int(&r, "axis", axis);
        (void)x;
        char what[120];
        snprintf(what, sizeof what, "Softmax rank %d axis %d opset %d", nd, axis, r.n->opset);
        struct chip_out o;
        const float *ref;
        if (both(&r, chip_v5e, &o, &ref, what)) { rig_free(&r); return 1; }
        /* y = e_i / S: expf <= 1 ulp (inputs x - max exact? no: one rounding),
        ** the fp32 sum of len terms <= (len - 1) u S, the division 1/2 ulp:
        ** |y - ref| <= (len + 4) u |ref|, len <= numel. */
        int64_t len = tpu_tensor_numel(tpu_in(r.g, r.n, 0));
        for (int64_t i = 0; i < o.n; i++)
            if (off_bound(&r, &o, ref, i, (double)(len + 4) * U * fabs(ref[i]) + 1e-30, what)) return 1;
        free(o.y);
        rig_free(&r);
    }
    return 0;
}

static int ln_case(int nd, const int64_t *dims, int axis, int with_bias, int param_rank)
{
    struct rig r = rig_new("LayerNormalization", with_bias ? 3 : 2, 1);
    in_f32(&r, 0, nd, dims, -3, 5, 0);
    int a = axis < 0 ? axis + nd : axis;
    const float *s = in_f32(&r, 1, param_rank, dims + nd - param_rank, 0.5f, 1.5f, 1);
    const float *b = with_bias ? in_f32(&r, 2, param_rank, dims + nd - param_rank, -1, 1, 1) : NULL;
    attr_int(&r, "axis", axis);
    char what[120];
    snprintf(what, sizeof what, "LayerNormalization rank %d axis %d bias %d", nd, axis, with_bias);
    struct chip_out o;
    const float *ref;
    if (both(&r, chip_v5e, &o, &ref, what)) { rig_free(&r); return 1; }
    int64_t len = 1, plen = 1;
    for (int i = a; i < nd; i++) len *= dims[i];
    for (int i = nd - param_rank; i < nd; i++) plen *= dims[i];
    const float *x = tpu_in(r.g, r.n, 0)->data;
    /* The mean is an fp32 sum of len terms: error <= len u mean|x|, which
    ** x - mean carries as an absolute error (scaled by inv_std |s|); the
    ** variance sum, rsqrt and the products add a few len u relative:
    ** |y - ref| <= (3 len + 16) u (|y - b| + |s| inv_std (mean|x| + |mean|)) + 2 u |ref|. */
    double mean = 0, mabs = 0, var = 0, inv = 0;
    for (int64_t i = 0; i < o.n; i++) {
        if (i % len == 0) {
            mean = mabs = var = 0;
            for (int64_t j = 0; j < len; j++) { mean += x[i + j]; mabs += fabs(x[i + j]); }
            mean /= (double)len; mabs /= (double)len;
            for (int64_t j = 0; j < len; j++) var += (x[i + j] - mean) * (x[i + j] - mean);
            inv = 1 / sqrt(var / (double)len + 1e-5);
        }
        double bi = b ? b[(i % len) % plen] : 0, si = s[(i % len) % plen];
        double tol = (3.0 * (double)len + 16) * U * (fabs(ref[i] - bi) + fabs(si) * inv * (mabs + fabs(mean))) +
                     2 * U * fabs(ref[i]) + 1e-30;
        if (off_bound(&r, &o, ref, i, tol, what)) return 1;
    }
    free(o.y);
    rig_free(&r);
    return 0;
}

static int t_layer_norm(void)
{
    int64_t d1[3] = { 2, 7, 768 }, d2[3] = { 3, 5, 129 }, d3[2] = { 1, 1 }, d4[4] = { 2, 3, 4, 1000 };
    return ln_case(3, d1, -1, 1, 1) || ln_case(3, d2, -1, 0, 1) || ln_case(3, d2, -2, 1, 2) ||
           ln_case(3, d2, -2, 1, 1) || ln_case(2, d3, -1, 1, 1) || ln_case(4, d4, 3, 1, 1);
}

/* ReduceSum/Mean/Max over contiguous axes [a0, a1]. */
static int reduce_case(const char *op, int nd, const int64_t *dims, int a0, int a1, int keep)
{
    struct rig r = rig_new(op, strcmp(op, "ReduceSum") ? 1 : 2, 1);
    const float *x = in_f32(&r, 0, nd, dims, -4, 4, 0);
    int64_t axes[TPU_MAX_DIMS], na = a1 - a0 + 1;
    for (int i = 0; i < na; i++) axes[i] = a0 + i - (i % 2 ? nd : 0);   /* some negative */
    if (!strcmp(op, "ReduceSum")) {
        rig_in(&r, 1, TPU_DTYPE_I64, 1, &na, axes);
        tpu_in(r.g, r.n, 1)->is_const = true;
    } else attr_ints(&r, "axes", (int)na, axes);
    attr_int(&r, "keepdims", keep);
    char what[120];
    snprintf(what, sizeof what, "%s rank %d axes %d..%d keepdims %d", op, nd, a0, a1, keep);
    struct chip_out o;
    const float *ref;
    if (both(&r, chip_v5e, &o, &ref, what)) { rig_free(&r); return 1; }
    int64_t outer = 1, len = 1, stride = 1;
    for (int i = 0; i < nd; i++) {
        if (i < a0) outer *= dims[i];
        else if (i <= a1) len *= dims[i];
        else stride *= dims[i];
    }
    int is_max = !strcmp(op, "ReduceMax"), mean = !strcmp(op, "ReduceMean");
    for (int64_t i = 0; i < o.n; i++) {
        /* fp32 sum of len terms, any order: |err| <= (len - 1) u sum|x|, the
        ** mean's division one more rounding; max: exact. */
        double mag = 0;
        int64_t ob = i / stride, s = i % stride;
        for (int64_t j = 0; j < len; j++) mag += fabs(x[(ob * len + j) * stride + s]);
        if (mean) mag /= (double)len;
        if (off_bound(&r, &o, ref, i, is_max ? -1 : ((double)len + 1) * U * mag + U * fabs(ref[i]), what)) return 1;
    }
    free(o.y);
    rig_free(&r);
    return 0;
}

static int t_reduce(void)
{
    static const char *const ops[] = { "ReduceSum", "ReduceMean", "ReduceMax" };
    int64_t d[4] = { 3, 7, 129, 2 }, e[2] = { 1, 1000 }, f[1] = { 1 };
    for (int o = 0; o < 3; o++)
        if (reduce_case(ops[o], 4, d, 3, 3, 1) || reduce_case(ops[o], 4, d, 2, 3, 0) ||
            reduce_case(ops[o], 4, d, 1, 2, 1) || reduce_case(ops[o], 4, d, 0, 0, 0) ||
            reduce_case(ops[o], 2, e, 1, 1, 0) || reduce_case(ops[o], 1, f, 0, 0, 1))
            return 1;
    return 0;
}

static int t_gap_batchnorm(void)
{
    int64_t dims[][4] = { { 1, 512, 7, 7 }, { 2, 3, 1, 1 }, { 3, 5, 13, 17 }, { 1, 2, 300, 260 } };
    for (int c = 0; c < 4; c++) {
        struct rig r = rig_new("GlobalAveragePool", 1, 1);
        const float *x = in_f32(&r, 0, 4, dims[c], -4, 4, 0);
        struct chip_out o;
        const float *ref;
        char what[48];
        snprintf(what, sizeof what, "GlobalAveragePool case %d", c);
        if (both(&r, chip_v5e, &o, &ref, what)) { rig_free(&r); return 1; }
        int64_t len = dims[c][2] * dims[c][3];
        for (int64_t i = 0; i < o.n; i++) {
            double mag = 0;                          /* as ReduceMean: (len + 1) u mean|x| + u |ref| */
            for (int64_t j = 0; j < len; j++) mag += fabs(x[i * len + j]);
            if (off_bound(&r, &o, ref, i, ((double)len + 1) * U * mag / (double)len + U * fabs(ref[i]), what)) return 1;
        }
        free(o.y);
        rig_free(&r);
    }
    for (int c = 0; c < 4; c++) {
        struct rig r = rig_new("BatchNormalization", 5, 1);
        int nd = c == 1 ? 2 : 4;
        int64_t ch = dims[c][1];
        const float *x = in_f32(&r, 0, nd, dims[c], -4, 4, 0);
        const float *s = in_f32(&r, 1, 1, &ch, 0.5f, 2, 1), *b = in_f32(&r, 2, 1, &ch, -1, 1, 1);
        const float *m = in_f32(&r, 3, 1, &ch, -1, 1, 1), *v = in_f32(&r, 4, 1, &ch, 0.1f, 2, 1);
        struct chip_out o;
        const float *ref;
        char what[48];
        snprintf(what, sizeof what, "BatchNormalization case %d", c);
        if (both(&r, chip_v5e, &o, &ref, what)) { rig_free(&r); return 1; }
        int64_t sp = o.n / (dims[c][0] * ch);
        for (int64_t i = 0; i < o.n; i++) {
            int64_t k = (i / sp) % ch;
            double mul = s[k] / sqrt((double)v[k] + 1e-5), add = b[k] - m[k] * mul;
            /* the folded scale and shift rounded to fp32 (u each), the multiply
            ** and add (u each): |err| <= 4 u (|x mul| + |add|) + u |ref|. */
            double tol = 4 * U * (fabs(x[i] * mul) + fabs(add)) + U * fabs(ref[i]);
            if (off_bound(&r, &o, ref, i, tol, what)) return 1;
        }
        free(o.y);
        rig_free(&r);
    }
    return 0;
}

/* MaxPool / AveragePool: random 1-, 2- and 3-D windows (kernel, strides,
** pads, dilations, ceil_mode, count_include_pad). Max: exact; average: the
** fp32 sum of the window's taps, (len + 1) u mean|x| + u |ref|. */
static int pool_ran;

static int pool_case(int is_max, int n_sp)
{
    struct rig r = rig_new(is_max ? "MaxPool" : "AveragePool", 1, 1);
    int64_t dims[5] = { pick(1, 2), pick(1, 5) }, k[3], st[3], dl[3], pads[6];
    for (int i = 0; i < n_sp; i++) {
        dims[2 + i] = pick(1, 4) == 1 ? pick(1, 3) : pick(4, 19);
        k[i] = pick(1, 3 < dims[2 + i] ? 3 : dims[2 + i]);
        st[i] = pick(1, 2);
        dl[i] = is_max && k[i] * 2 - 1 <= dims[2 + i] ? pick(1, 2) : 1;
        pads[i] = pick(0, k[i] / 2);
        pads[i + n_sp] = pick(0, k[i] / 2);
    }
    const float *x = in_f32(&r, 0, 2 + n_sp, dims, -4, 4, 0);
    attr_ints(&r, "kernel_shape", n_sp, k);
    attr_ints(&r, "strides", n_sp, st);
    attr_ints(&r, "pads", 2 * n_sp, pads);
    if (is_max) attr_ints(&r, "dilations", n_sp, dl);
    int ceil = (int)pick(0, 1), incl = (int)pick(0, 1);
    attr_int(&r, "ceil_mode", ceil);
    if (!is_max) attr_int(&r, "count_include_pad", incl);
    char what[160];
    snprintf(what, sizeof what, "%s %dD in %lldx%lld k %lld s %lld p %lld/%lld d %lld ceil %d incl %d",
             is_max ? "MaxPool" : "AveragePool", n_sp, (long long)dims[0], (long long)dims[1], (long long)k[0],
             (long long)st[0], (long long)pads[0], (long long)pads[n_sp], (long long)dl[0], ceil, incl);
    struct chip_out o;
    const float *ref;
    char why[320];
    struct tpu_vec_plan p;
    if (!tpu_vec_plan_node(r.g, r.n, chip_v5e, &p, why, sizeof why)) {     /* geometry ref/ refuses too */
        int ref_rc = rig_run(&r);
        rig_free(&r);
        if (ref_rc) return 0;
        TEST_FAIL("%s: refused (%s) but the reference runs it", what, why);
    }
    if (both(&r, chip_v5e, &o, &ref, what)) { rig_free(&r); return 1; }
    pool_ran++;
    double maxabs = 0;
    int64_t nx = tpu_tensor_numel(tpu_in(r.g, r.n, 0));
    for (int64_t i = 0; i < nx; i++) maxabs = fmax(maxabs, fabs(x[i]));
    int64_t len = k[0] * (n_sp > 1 ? k[1] : 1) * (n_sp > 2 ? k[2] : 1);
    for (int64_t i = 0; i < o.n; i++) {
        if (off_bound(&r, &o, ref, i, is_max ? -1 : ((double)len + 1) * U * maxabs + U * fabs(ref[i]), what)) return 1;
    }
    free(o.y);
    rig_free(&r);
    return 0;
}

static int t_pool(void)
{
    for (int it = 0; it < 40; it++)
        if (pool_case(it % 2, 1 + (it / 2) % 3)) return 1;
    TEST_CHECK(pool_ran >= 30, "only %d of 40 random pools ran", pool_ran);
    struct rig r = rig_new("MaxPool", 1, 2);          /* the Indices output: host */
    int64_t d[4] = { 1, 2, 5, 5 }, k[2] = { 2, 2 };
    in_f32(&r, 0, 4, d, -1, 1, 0);
    attr_ints(&r, "kernel_shape", 2, k);
    char why[320];
    int takes = tpu_vec_plan_node(r.g, r.n, chip_v5e, &(struct tpu_vec_plan){ 0 }, why, sizeof why);
    rig_free(&r);
    TEST_CHECK(!takes && strstr(why, "Indices"), "takes %d: %s", takes, why);
    return 0;
}

/* Transpose: perms that swap two adjacent dim groups (the attention
** layouts and random ones), bit-exact (a copy); other perms refused. */
static int transpose_case(int nd, const int64_t *dims, const int64_t *perm, int want_takes)
{
    struct rig r = rig_new("Transpose", 1, 1);
    in_f32(&r, 0, nd, dims, -4, 4, 0);
    attr_ints(&r, "perm", nd, perm);
    char what[120], why[320];
    int at = snprintf(what, sizeof what, "Transpose perm");
    for (int i = 0; i < nd; i++) at += snprintf(what + at, sizeof what - (size_t)at, " %lld", (long long)perm[i]);
    int rc;
    if (!want_takes) {
        int takes = tpu_vec_plan_node(r.g, r.n, chip_v5e, &(struct tpu_vec_plan){ 0 }, why, sizeof why);
        rig_free(&r);
        TEST_CHECK(!takes && strstr(why, "adjacent dim groups"), "%s: takes %d: %s", what, takes, why);
        return 0;
    }
    rc = exact_case(&r, what, "VTRANS");
    rig_free(&r);
    return rc;
}

static int t_transpose(void)
{
    static const int64_t p3a[3] = { 1, 0, 2 }, p3b[3] = { 1, 2, 0 }, p4a[4] = { 0, 2, 1, 3 }, p4b[4] = { 0, 2, 3, 1 };
    static const int64_t p2[2] = { 1, 0 }, p5[5] = { 0, 3, 4, 1, 2 }, bad1[4] = { 1, 0, 3, 2 }, bad2[3] = { 2, 1, 0 };
    int64_t d3[3] = { 33, 2, 64 }, d4[4] = { 2, 33, 4, 16 }, d2[2] = { 129, 7 }, d5[5] = { 2, 3, 1, 5, 7 };
    if (transpose_case(3, d3, p3a, 1) || transpose_case(3, d3, p3b, 1) || transpose_case(4, d4, p4a, 1) ||
        transpose_case(4, d4, p4b, 1) || transpose_case(2, d2, p2, 1) || transpose_case(5, d5, p5, 1) ||
        transpose_case(4, d4, bad1, 0) || transpose_case(3, d3, bad2, 0))
        return 1;
    for (int it = 0; it < 20; it++) {                /* random rank, random adjacent groups */
        int nd = (int)pick(2, 5), a = (int)pick(0, nd - 2), k = (int)pick(a + 2, nd), j = (int)pick(a + 1, k - 1);
        int64_t dims[5], perm[5];
        for (int i = 0; i < nd; i++) dims[i] = pick(1, 9);
        for (int i = 0; i < nd; i++) perm[i] = i;
        for (int i = a; i < k; i++) perm[i] = i - a < k - j ? j + (i - a) : a + (i - a - (k - j));
        if (transpose_case(nd, dims, perm, 1)) return 1;
    }
    return 0;
}

/* Where: a bool condition broadcast against x and y (the causal mask of
** attention: cond [1,1,T,T], x a -inf scalar, y the scores), bit-exact. */
static int t_where(void)
{
    for (int it = 0; it < 12; it++) {
        struct rig r = rig_new("Where", 3, 1);
        int64_t full[4] = { pick(1, 2), pick(1, 5), pick(1, 40), pick(1, 40) }, cd[4] = { 1, 1, full[2], full[3] }, one = 1;
        int64_t nc = full[2] * full[3];
        uint8_t *c = malloc((size_t)nc);
        for (int64_t i = 0; i < nc; i++) c[i] = (uint8_t)pick(0, 1);
        rig_in(&r, 0, TPU_DTYPE_BOOL, 4, cd, c);
        free(c);
        if (it % 2) { float ninf = -INFINITY; rig_in(&r, 1, TPU_DTYPE_F32, 0, &one, &ninf); tpu_in(r.g, r.n, 1)->is_const = true; }
        else in_f32(&r, 1, 4, full, -3, 3, 0);
        in_f32(&r, 2, it % 3 ? 4 : 1, it % 3 ? full : full + 3, -3, 3, 0);
        char what[80];
        snprintf(what, sizeof what, "Where case %d", it);
        int rc = exact_case(&r, what, "VSEL");
        rig_free(&r);
        if (rc) return 1;
    }
    return 0;
}

/*---- Tiling, refusals, determinism ----*/
static int t_chunked(void)
{
    struct tpu_chip small = *chip_v5e;
    small.unified_buffer_bytes = 64 * 1024;
    struct rig r = rig_new("Add", 2, 1);
    int64_t d[2] = { 1000, 129 }, col = 129;
    in_f32(&r, 0, 2, d, -2, 2, 0);
    in_f32(&r, 1, 1, &col, -2, 2, 0);
    char why[320];
    struct chip_out o;
    if (run_chip(&r, &small, &o, why, sizeof why)) { rig_free(&r); TEST_FAIL("%s", why); }
    TEST_CHECK(o.chunks > 4, "only %lld chunks for %lld bytes in a 64 KiB UB", (long long)o.chunks, (long long)(4 * 1000 * 129));
    rig_run(&r);
    const float *ref = out(&r, 0)->data;
    int64_t bad = -1;
    for (int64_t i = 0; i < o.n && bad < 0; i++) if (!same_bits(o.y[i], ref[i])) bad = i;
    free(o.y);
    rig_free(&r);
    TEST_CHECK(bad < 0, "element %lld differs", (long long)bad);
    /* Softmax with rows of 20000 floats: one row needs 3 x 80 KB per set, more than 64 KiB. */
    struct rig s = rig_new("Softmax", 1, 1);
    int64_t big[2] = { 2, 20000 };
    in_f32(&s, 0, 2, big, -1, 1, 0);
    int takes = tpu_vec_plan_node(s.g, s.n, &small, &(struct tpu_vec_plan){ 0 }, why, sizeof why);
    rig_free(&s);
    TEST_CHECK(!takes && strstr(why, "does not fit the unified buffer"), "takes %d: %s", takes, why);
    return 0;
}

static int t_bad_input(void)
{
    struct rig r = rig_new("Add", 2, 1);
    int64_t d = 7, v[7] = { 1, 2, 3, 4, 5, 6, 7 };
    rig_in(&r, 0, TPU_DTYPE_I64, 1, &d, v);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, &d, v);
    char why[320];
    int takes = tpu_vec_plan_node(r.g, r.n, chip_v5e, &(struct tpu_vec_plan){ 0 }, why, sizeof why);
    TEST_CHECK(!takes && strstr(why, "float32"), "int64 Add: takes %d: %s", takes, why);
    /* the runner's entry refuses it with an error naming the node, no crash */
    struct tpu_sim *s = tpu_sim_new(r.ctx, chip_v5e, 0);
    struct tpu_chip_report rep = { 0 };
    struct tpu_vec_run vr = { r.ctx, r.g, chip_v5e, s, &rep, 0, 1 };
    enum tpu_status rc = tpu_run_vec_node(&vr, r.n);
    char msg[400];
    snprintf(msg, sizeof msg, "%s", tpu_errmsg(r.ctx));
    tpu_sim_free(s);
    free(rep.rows);
    rig_free(&r);
    TEST_CHECK(rc == TPU_ERR_UNSUPPORTED && strstr(msg, "(Add)"), "rc %d: %s", rc, msg);
    struct rig q = rig_new("Softmax", 1, 1);
    int64_t dd[2] = { 2, 3 };
    in_f32(&q, 0, 2, dd, -1, 1, 0);
    takes = tpu_vec_plan_node(q.g, q.n, chip_v1, &(struct tpu_vec_plan){ 0 }, why, sizeof why);
    rig_free(&q);
    TEST_CHECK(!takes && strstr(why, "no vector unit on tpu-v1"), "tpu-v1: takes %d: %s", takes, why);
    return 0;
}

/* Attributes the lowering cannot honour: refused with a reason (host), the
** context left without an error, nothing simulated. */
static int refused(struct rig *r, const char *what, const char *want)
{
    char why[320];
    int takes = tpu_vec_plan_node(r->g, r->n, chip_v5e, &(struct tpu_vec_plan){ 0 }, why, sizeof why);
    int clean = r->ctx->status == TPU_STATUS_OK;
    rig_free(r);
    TEST_CHECK(!takes && strstr(why, want) && clean, "%s: takes %d, error left %d: %s", what, takes, !clean, why);
    return 0;
}

static int t_bad_attributes(void)
{
    int64_t d2[2] = { 3, 4 }, d4[4] = { 1, 2, 3, 3 }, k[2] = { 5, 5 }, ax = 9, p2[3] = { 1, 0, 2 }, three = 3, four = 4;
    struct rig r = rig_new("Softmax", 1, 1);
    in_f32(&r, 0, 2, d2, -1, 1, 0);
    attr_int(&r, "axis", 5);
    if (refused(&r, "Softmax axis 5", "axis out of range")) return 1;
    r = rig_new("LayerNormalization", 2, 1);
    in_f32(&r, 0, 2, d2, -1, 1, 0);
    in_f32(&r, 1, 1, &four, -1, 1, 1);
    attr_int(&r, "axis", -7);
    if (refused(&r, "LayerNormalization axis -7", "axis out of range")) return 1;
    r = rig_new("ReduceMean", 1, 1);
    in_f32(&r, 0, 2, d2, -1, 1, 0);
    attr_ints(&r, "axes", 1, &ax);
    if (refused(&r, "ReduceMean axes 9", "axes")) return 1;
    r = rig_new("MaxPool", 1, 1);
    in_f32(&r, 0, 4, d4, -1, 1, 0);
    attr_ints(&r, "kernel_shape", 2, k);
    if (refused(&r, "MaxPool 5x5 on 3x3", "window attributes")) return 1;
    r = rig_new("Transpose", 1, 1);
    in_f32(&r, 0, 2, d2, -1, 1, 0);
    attr_ints(&r, "perm", 3, p2);
    if (refused(&r, "Transpose perm of rank 3 on rank 2", "perm does not match")) return 1;
    r = rig_new("Add", 2, 1);
    in_f32(&r, 0, 1, &three, -1, 1, 0);
    in_f32(&r, 1, 1, &four, -1, 1, 0);
    return refused(&r, "Add [3] + [4]", "do not broadcast");
}

static int t_deterministic(void)
{
    int64_t cyc[2];
    uint32_t sum[2] = { 0, 0 };
    for (int k = 0; k < 2; k++) {
        rng = 12345;
        struct rig r = rig_new("LayerNormalization", 3, 1);
        int64_t d[3] = { 4, 33, 768 }, c = 768;
        in_f32(&r, 0, 3, d, -1, 1, 0);
        in_f32(&r, 1, 1, &c, -1, 1, 1);
        in_f32(&r, 2, 1, &c, -1, 1, 1);
        char why[320];
        struct chip_out o;
        if (run_chip(&r, chip_v5e, &o, why, sizeof why)) { rig_free(&r); TEST_FAIL("%s", why); }
        cyc[k] = o.cycles;
        for (int64_t i = 0; i < o.n; i++) { uint32_t b; memcpy(&b, &o.y[i], 4); sum[k] = sum[k] * 31 + b; }
        free(o.y);
        rig_free(&r);
    }
    TEST_CHECK(cyc[0] == cyc[1] && sum[0] == sum[1], "cycles %lld/%lld, hash %u/%u", (long long)cyc[0],
               (long long)cyc[1], sum[0], sum[1]);
    TEST_CHECK(cyc[0] > 4 * 33 * 768 * 4 / 1024, "cycles %lld less than the vector work", (long long)cyc[0]);
    return 0;
}

/* bench --resident: the vector program leaves out its operands' host-link
** reads (TPU_RESIDENT_IN), its result's write (TPU_RESIDENT_OUT) or both,
** and takes fewer cycles with each left out. */
static int t_resident_timing(void)
{
    struct rig r = rig_new("Add", 2, 1);
    int64_t d[2] = { 64, 1000 };
    in_f32(&r, 0, 2, d, -1, 1, 0);
    in_f32(&r, 1, 2, d, -1, 1, 0);
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == 0, "shape: %s", tpu_errmsg(r.ctx));
    int64_t cyc[4], in[4], out[4], one = 64 * 1000 * 4;
    for (int res = 0; res < 4; res++) {               /* 0, IN, OUT, BOTH */
        struct tpu_sim *s = tpu_sim_new(r.ctx, chip_v5e, 1);
        enum tpu_status rc = s ? tpu_vec_sim_timing(r.ctx, r.g, r.n, chip_v5e, s, res) : TPU_ERR_NOMEM;
        cyc[res] = s ? s->ctr.cycles : 0;
        in[res] = s ? s->ctr.host_bytes_in : 0;
        out[res] = s ? s->ctr.host_bytes_out : 0;
        tpu_sim_free(s);
        if (rc) { rig_free(&r); TEST_FAIL("resident %d: %s", res, tpu_errmsg(r.ctx)); }
    }
    rig_free(&r);
    for (int res = 0; res < 4; res++)
        TEST_CHECK(in[res] == (res & TPU_RESIDENT_IN ? 0 : 2 * one) && out[res] == (res & TPU_RESIDENT_OUT ? 0 : one),
                   "resident %d: host bytes in %lld out %lld", res, (long long)in[res], (long long)out[res]);
    TEST_CHECK(cyc[3] < cyc[1] && cyc[3] < cyc[2] && cyc[1] < cyc[0] && cyc[2] < cyc[0],
               "cycles %lld / %lld / %lld / %lld", (long long)cyc[0], (long long)cyc[1], (long long)cyc[2],
               (long long)cyc[3]);
    return 0;
}

int main(int argc, char **argv)
{
    chip_v5e = chip("tpu-v5e");
    chip_v1 = chip("tpu-v1");
    if (!chip_v5e || !chip_v1) { printf("FAIL vec: cannot load the chips\n"); return 1; }
    static const struct test_case cases[] = {
        { "vec-1.1 binary ops, all broadcast forms, bit-exact", t_binary },
        { "vec-1.2 binary ops on model layouts (bias add, squeeze-excite)", t_binary_model_shapes },
        { "vec-1.3 Pow with a scalar constant exponent", t_pow },
        { "vec-2.1 unary ops bit-exact", t_unary },
        { "vec-2.2 Clip with constant / omitted bounds", t_clip },
        { "vec-3.1 Softmax any axis and opset 11", t_softmax },
        { "vec-3.2 LayerNormalization", t_layer_norm },
        { "vec-3.3 ReduceSum / ReduceMean / ReduceMax over contiguous axes", t_reduce },
        { "vec-3.4 GlobalAveragePool and BatchNormalization", t_gap_batchnorm },
        { "vec-3.5 MaxPool / AveragePool 1-3D: pads, strides, dilations, ceil_mode, count_include_pad", t_pool },
        { "vec-3.6 Transpose of two adjacent dim groups (VTRANS), bit-exact", t_transpose },
        { "vec-3.7 Where with broadcasting (causal mask), bit-exact", t_where },
        { "vec-4.1 tensor larger than the UB runs in chunks", t_chunked },
        { "vec-4.2 bad input: int64, no vector unit", t_bad_input },
        { "vec-4.3 deterministic cycles and values", t_deterministic },
        { "vec-4.4 attributes the lowering cannot honour: refused, no error left", t_bad_attributes },
        { "vec-4.5 resident operands / result: no host-link transfers for them, fewer cycles", t_resident_timing },
    };
    int rc = test_main(cases, (int)(sizeof cases / sizeof cases[0]), argc, argv);
    tpu_chip_free(chip_v5e);
    tpu_chip_free(chip_v1);
    return rc;
}
