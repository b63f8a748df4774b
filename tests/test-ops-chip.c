/*
** tests/test-ops-chip.c: op-by-op chip-versus-reference test for every op the
** compiler places on the MXU (Gemm/MatMul as a GEMM, Conv with strides, pads,
** dilations and groups), on seeded random shapes — most of them ragged (not
** multiples of the array) — on tpu-v1 (int8), tpu-v4 and tpu-v5e (bf16).
** Each case lowers the op (compile/lower.c), packs the input (driver.c),
** simulates (sim/) and unpacks, then checks:
**   int8: bit-exact against the same quantised arithmetic done here (scales
**         recomputed from the data: max|x|/127 per tensor, max|w|/127 per
**         column, round half to even, +-127, exact int32 sums), and cosine
**         >= 0.99 against fp64 on the unquantised values;
**   bf16: relative L2 <= 1e-5 against fp64 sums of the bf16-rounded values
**         (fp32 accumulation order differs), and <= 1e-2 against fp64.
** im2col here is tpu_mm_a_value, independent of the driver's packing loop.
** The ops-chip-act cases add a per-column bias and relu / clip / sigmoid /
** tanh in ACTIVATE (check_act says what each is compared with).
** Prints one PASS/FAIL line per case.
*/
#include "compile/compile.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define TEST_SEED 0x243F6A8885A308D3ull
#include "testrng.h"
#include "testmm.h"

static int n_fail;

/* testmm.h's Gemm, named as this test's report lines name it. */
static void gemm_desc(struct tpu_mm_desc *d, int64_t M, int64_t K, int64_t N)
{
    tm_gemm(d, M, K, N);
    snprintf(d->name, sizeof d->name, "gemm(m=%lld,k=%lld,n=%lld)", (long long)M, (long long)K, (long long)N);
}

/* A random Conv that fits: returns 0 when the drawn geometry has no output. */
static int conv_desc(struct tpu_mm_desc *d)
{
    memset(d, 0, sizeof *d);
    int64_t groups = pick(0, 2) == 0 ? pick(2, 3) : 1, cpg = pick(1, 9), opg = pick(1, 20);
    if (pick(0, 4) == 0) { cpg = 1; opg = 1; groups = pick(2, 16); }       /* depthwise */
    d->is_conv = 1; d->groups = groups;
    d->batch = pick(1, 3); d->c_in = groups * cpg; d->c_out = groups * opg;
    d->h = pick(3, 17); d->w = pick(3, 17);
    d->kh = pick(1, 3) * 2 - 1; d->kw = pick(0, 3) == 0 ? 1 : d->kh;
    d->sh = pick(1, 2); d->sw = pick(1, 2); d->dh = pick(1, 2); d->dw = d->dh;
    d->pt = pick(0, 2); d->pl = pick(0, 2);
    d->oh = (d->h + 2 * d->pt - d->dh * (d->kh - 1) - 1) / d->sh + 1;
    d->ow = (d->w + 2 * d->pl - d->dw * (d->kw - 1) - 1) / d->sw + 1;
    if (d->oh < 1 || d->ow < 1 || d->h + 2 * d->pt < d->dh * (d->kh - 1) + 1 ||
        d->w + 2 * d->pl < d->dw * (d->kw - 1) + 1) return 0;
    d->M = d->batch * d->oh * d->ow; d->K = cpg * d->kh * d->kw; d->N = opg;
    snprintf(d->name, sizeof d->name, "conv(b=%lld,c=%lld,%lldx%lld,o=%lld,k=%lldx%lld,s=%lld/%lld,p=%lld/%lld,d=%lld,g=%lld)",
             (long long)d->batch, (long long)d->c_in, (long long)d->h, (long long)d->w, (long long)d->c_out,
             (long long)d->kh, (long long)d->kw, (long long)d->sh, (long long)d->sw, (long long)d->pt,
             (long long)d->pl, (long long)d->dh, (long long)groups);
    snprintf(d->op, sizeof d->op, "Conv");
    return 1;
}

/* y index of (g, m, n), ONNX layout (as the driver writes it). */
static int64_t y_at(const struct tpu_mm_desc *d, int64_t g, int64_t m, int64_t n)
{
    if (!d->is_conv) return (g * d->M + m) * d->N + n;
    int64_t pix = d->oh * d->ow;
    return (m / pix * d->c_out + g * d->N + n) * pix + m % pix;
}

static float q8(float v, float scale)
{
    float q = rintf(v / scale);
    return q > 127 ? 127 : q < -127 ? -127 : q;
}

static float bf16(float v) { return tpu_bf16_to_f32(tpu_f32_to_bf16(v)); }

struct sums { double d2, e2, g2, ge; };
static void add(struct sums *s, double got, double exp)
{
    s->d2 += (got - exp) * (got - exp); s->e2 += exp * exp; s->g2 += got * got; s->ge += got * exp;
}
static double rel_l2(const struct sums *s) { return s->e2 > 0 ? sqrt(s->d2 / s->e2) : sqrt(s->d2); }
static double cosine(const struct sums *s) { return s->e2 > 0 && s->g2 > 0 ? s->ge / sqrt(s->e2 * s->g2) : 1.0; }

/* The int8 scales recomputed from the data. */
static void scales(const struct tpu_mm_desc *d, const float *x, int64_t nx, const float *w, float *in_scale,
                   float *w_scale)
{
    float mx = 0;
    for (int64_t i = 0; i < nx; i++) mx = fmaxf(mx, fabsf(x[i]));
    *in_scale = mx > 0 ? mx / 127.0f : 1.0f;
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t n = 0; n < d->N; n++) {
            float m = 0;
            for (int64_t k = 0; k < d->K; k++) m = fmaxf(m, fabsf(w[(g * d->K + k) * d->N + n]));
            w_scale[g * d->N + n] = m > 0 ? m / 127.0f : 1.0f;
        }
}

/* Compares y with the references; returns a failure reason or NULL. */
static const char *check(const struct tpu_chip *c, const struct tpu_lowered *l, const float *x, int64_t nx,
                         const float *w, const float *y, char *why, size_t n_why)
{
    const struct tpu_mm_desc *d = &l->d;
    int int8 = c->mxu_dtype == TPU_MXU_INT8;
    float in_s = 1, *w_s = calloc((size_t)(d->groups * d->N), sizeof *w_s);
    if (int8) scales(d, x, nx, w, &in_s, w_s);
    if (int8 && in_s != l->in_scale) { snprintf(why, n_why, "input scale %g, expected %g", l->in_scale, in_s); free(w_s); return why; }
    struct sums fp = { 0 }, same = { 0 };
    int64_t n_diff = 0;
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t m = 0; m < d->M; m++)
            for (int64_t n = 0; n < d->N; n++) {
                double exact = 0, q = 0;
                int64_t acc = 0;
                for (int64_t k = 0; k < d->K; k++) {
                    float a = tpu_mm_a_value(d, x, g, m, k), b = w[(g * d->K + k) * d->N + n];
                    exact += (double)a * b;
                    if (int8) acc += (int64_t)q8(a, in_s) * (int64_t)q8(b, w_s[g * d->N + n]);
                    else q += (double)bf16(a) * bf16(b);
                }
                float got = y[y_at(d, g, m, n)];
                if (int8) {
                    float want = (float)((double)acc * in_s * w_s[g * d->N + n]);
                    if (memcmp(&got, &want, sizeof got) != 0 && n_diff++ == 0)
                        snprintf(why, n_why, "(g%lld,m%lld,n%lld): chip %.9g, int8 arithmetic %.9g",
                                 (long long)g, (long long)m, (long long)n, got, want);
                } else add(&same, got, q);
                add(&fp, got, exact);
            }
    free(w_s);
    if (n_diff) return why;
    if (int8 && cosine(&fp) < 0.99) { snprintf(why, n_why, "cosine %.6f vs fp64 < 0.99", cosine(&fp)); return why; }
    if (!int8 && rel_l2(&same) > 1e-5) { snprintf(why, n_why, "rel_l2 %.3g vs bf16 sums > 1e-5", rel_l2(&same)); return why; }
    if (!int8 && rel_l2(&fp) > 1e-2) { snprintf(why, n_why, "rel_l2 %.3g vs fp64 > 1e-2", rel_l2(&fp)); return why; }
    snprintf(why, n_why, int8 ? "bit-exact, cosine %.6f" : "rel_l2 %.2e vs fp64", int8 ? cosine(&fp) : rel_l2(&fp));
    return NULL;
}

/* Lowers, packs, simulates, unpacks d into y; NULL or the failure. */
static const char *chip_run_act(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *d,
                                const float *x, const float *w, const float *bias, float lo, float hi,
                                const float *host_bias, float *y, struct tpu_lowered *l, int64_t *cycles)
{
    const char *bad = NULL;
    uint8_t *host = NULL;
    struct tpu_sim *sim = NULL;
    if (tpu_lower_mm(ctx, c, d, w, l)) bad = tpu_errmsg(ctx);
    if (!bad && !(host = calloc(1, (size_t)l->host_bytes))) bad = "out of memory";
    if (!bad) tpu_mm_pack_input(c, l, x, host);
    if (!bad) tpu_mm_pack_tables(c, l, bias, lo, hi, host);
    if (!bad && !(sim = tpu_sim_new(ctx, c, 0))) bad = tpu_errmsg(ctx);
    if (!bad && tpu_sim_run(sim, l->prog, host, l->host_bytes)) bad = tpu_errmsg(ctx);
    if (!bad) { tpu_mm_unpack_output(c, l, host, 1.0f, host_bias, y); *cycles = sim->ctr.cycles; }
    tpu_sim_free(sim);
    free(host);
    return bad;
}

static const char *chip_run(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *d,
                            const float *x, const float *w, float *y, struct tpu_lowered *l, int64_t *cycles)
{
    return chip_run_act(ctx, c, d, x, w, NULL, 0, 0, NULL, y, l, cycles);
}

/* 2026-11-22: grouped convs narrower than the array run as one block-diagonal
** GEMM (compile/mm_node.c); on int8 the results must not change by a bit. */
static void block_diag_case(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *d,
                            const float *x, const float *w, const float *y)
{
    struct tpu_mm_desc bd = *d;
    int64_t nw = d->groups * d->K * d->N, ny = d->groups * d->M * d->N, cycles = 0;
    float *bw = malloc((size_t)nw * sizeof *bw), *y2 = calloc((size_t)ny, sizeof *y2);
    memcpy(bw, w, (size_t)nw * sizeof *bw);
    struct tpu_lowered l = { 0 };
    const char *bad = tpu_mm_block_diagonal(ctx, c, &bd, &bw) ? tpu_errmsg(ctx) : NULL;
    if (!bad && bd.groups != 1) bad = "not rewritten";
    if (!bad) bad = chip_run(ctx, c, &bd, x, bw, y2, &l, &cycles);
    if (!bad && memcmp(y, y2, (size_t)ny * sizeof *y) != 0) bad = "results differ from the grouped lowering";
    if (bad) { printf("FAIL ops-chip-blockdiag %s %s: %s\n", c->name, d->name, bad); n_fail++; }
    else printf("PASS ops-chip-blockdiag %s %s: bit-identical, %lld cycles\n", c->name, d->name, (long long)cycles);
    tpu_err_clear(ctx);
    tpu_lowered_free(&l);
    free(bw); free(y2);
}

static void run_case(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *d)
{
    int64_t nx = d->is_conv ? d->batch * d->c_in * d->h * d->w : d->groups * d->M * d->K;
    int64_t nw = d->groups * d->K * d->N, ny = d->groups * d->M * d->N;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w), *y = calloc((size_t)ny, sizeof *y);
    for (int64_t i = 0; i < nx; i++) x[i] = uni();
    for (int64_t i = 0; i < nw; i++) w[i] = uni() / sqrtf((float)d->K);
    struct tpu_lowered l = { 0 };
    char why[400] = "";
    int64_t cycles = 0;
    const char *bad = chip_run(ctx, c, d, x, w, y, &l, &cycles);
    if (!bad) bad = check(c, &l, x, nx, w, y, why, sizeof why);
    if (bad) { printf("FAIL ops-chip %s %s: %s\n", c->name, d->name, bad); n_fail++; }
    else printf("PASS ops-chip %s %s: %s, %lld cycles\n", c->name, d->name, why, (long long)cycles);
    tpu_err_clear(ctx);
    tpu_lowered_free(&l);
    if (!bad && d->groups > 1 && c->mxu_dtype == TPU_MXU_INT8) block_diag_case(ctx, c, d, x, w, y);
    free(x); free(w); free(y);
}

/*---- Bias and activation in ACTIVATE (2026-11-22) ----*/
static const char *act_name(int act)
{
    static const char *names[] = { "none", "relu", "sigmoid", "tanh", "clip" };
    return names[act];
}

/* The activation as the host computed it (compile/run.c apply_act, the
** reference kernels): fp32 arithmetic. */
static float host_act(int act, float v, float lo, float hi)
{
    if (act == TPU_ACT_SIGMOID) return 1.0f / (1.0f + expf(-v));
    if (act == TPU_ACT_TANH) return tanhf(v);
    if (act == TPU_ACT_NONE) return v;
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* int32 table entry as the chip's int8 arithmetic defines it: v / scale
** rounded (dir 0: half to even; -1 down, +1 up: the clamp bounds, inward),
** saturated (+-inf: the int32 limits). */
static int64_t q32(double v, double scale, int dir)
{
    if (isinf(v)) return v > 0 ? INT32_MAX : INT32_MIN;
    double q = dir < 0 ? floor(v / scale) : dir > 0 ? ceil(v / scale) : nearbyint(v / scale);
    return q > INT32_MAX ? INT32_MAX : q < INT32_MIN ? INT32_MIN : (int64_t)q;
}

/* int8: bit-exact against acc + bias_q, relu/clip in int32 (bounds
** quantised inward), then dequantised; cosine >= 0.99 against fp64
** act(sum + bias). bf16: bit-exact against the previous host path (chip
** without bias/act, host bias add and activation), rel_l2 <= 1e-2 vs fp64. */
static const char *check_act(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_lowered *l,
                             const float *x, int64_t nx, const float *w, const float *bias, float lo, float hi,
                             const float *y, char *why, size_t n_why)
{
    const struct tpu_mm_desc *d = &l->d;
    int int8 = c->mxu_dtype == TPU_MXU_INT8, act = d->act;
    int64_t ny = d->groups * d->M * d->N;
    float in_s = 1, *w_s = calloc((size_t)(d->groups * d->N), sizeof *w_s), *prev = NULL;
    if (int8) scales(d, x, nx, w, &in_s, w_s);
    else {                                    /* the previous host arithmetic */
        struct tpu_mm_desc d0 = *d;
        struct tpu_lowered l0 = { 0 };
        int64_t cyc;
        d0.bias = 0; d0.act = TPU_ACT_NONE;
        prev = calloc((size_t)ny, sizeof *prev);
        const char *bad = chip_run_act(ctx, c, &d0, x, w, NULL, 0, 0, bias, prev, &l0, &cyc);
        tpu_lowered_free(&l0);
        if (bad) { snprintf(why, n_why, "previous path: %s", bad); free(w_s); free(prev); return why; }
        for (int64_t i = 0; i < ny; i++) prev[i] = host_act(act, prev[i], lo, hi);
    }
    struct sums fp = { 0 };
    int64_t n_diff = 0;
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t m = 0; m < d->M; m++)
            for (int64_t n = 0; n < d->N; n++) {
                double exact = bias ? bias[g * d->N + n] : 0;
                int64_t acc = 0;
                for (int64_t k = 0; k < d->K; k++) {
                    float a = tpu_mm_a_value(d, x, g, m, k), b = w[(g * d->K + k) * d->N + n];
                    exact += (double)a * b;
                    if (int8) acc += (int64_t)q8(a, in_s) * (int64_t)q8(b, w_s[g * d->N + n]);
                }
                exact = act == TPU_ACT_SIGMOID ? 1 / (1 + exp(-exact)) : act == TPU_ACT_TANH ? tanh(exact)
                      : act == TPU_ACT_NONE ? exact : fmin(fmax(exact, lo), hi);
                float got = y[y_at(d, g, m, n)], want;
                if (int8) {
                    double sc = (double)in_s * w_s[g * d->N + n];
                    int64_t v = acc + (bias ? q32(bias[g * d->N + n], sc, 0) : 0);
                    int64_t qlo = act == TPU_ACT_RELU ? 0 : act == TPU_ACT_CLIP ? q32(lo, sc, 1) : INT64_MIN;
                    int64_t qhi = act == TPU_ACT_CLIP ? q32(hi, sc, -1) : INT64_MAX;
                    v = v < qlo ? qlo : v > qhi ? qhi : v;
                    v = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
                    want = (float)((double)v * in_s * w_s[g * d->N + n]);
                } else want = prev[y_at(d, g, m, n)];
                if (memcmp(&got, &want, sizeof got) != 0 && n_diff++ == 0)
                    snprintf(why, n_why, "(g%lld,m%lld,n%lld): chip %.9g, %s %.9g", (long long)g, (long long)m,
                             (long long)n, got, int8 ? "int8 arithmetic" : "previous host path", want);
                add(&fp, got, exact);
            }
    free(w_s);
    free(prev);
    if (n_diff) return why;
    if (int8 && cosine(&fp) < 0.99) { snprintf(why, n_why, "cosine %.6f vs fp64 < 0.99", cosine(&fp)); return why; }
    if (!int8 && rel_l2(&fp) > 1e-2) { snprintf(why, n_why, "rel_l2 %.3g vs fp64 > 1e-2", rel_l2(&fp)); return why; }
    snprintf(why, n_why, int8 ? "bit-exact, cosine %.6f" : "bit-identical to the host path, rel_l2 %.2e vs fp64",
             int8 ? cosine(&fp) : rel_l2(&fp));
    return NULL;
}

/* d with a bias (when `with_bias`) and activation act in ACTIVATE. */
static void run_act_case(struct tpu_ctx *ctx, const struct tpu_chip *c, struct tpu_mm_desc *d, int with_bias,
                         int act, float lo, float hi)
{
    int64_t nx = d->is_conv ? d->batch * d->c_in * d->h * d->w : d->groups * d->M * d->K;
    int64_t nw = d->groups * d->K * d->N, ny = d->groups * d->M * d->N;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w), *y = calloc((size_t)ny, sizeof *y);
    float *bias = with_bias ? malloc((size_t)(d->groups * d->N) * sizeof *bias) : NULL;
    for (int64_t i = 0; i < nx; i++) x[i] = uni();
    for (int64_t i = 0; i < nw; i++) w[i] = uni() / sqrtf((float)d->K);
    for (int64_t i = 0; with_bias && i < d->groups * d->N; i++) bias[i] = 0.5f * uni();
    d->bias = with_bias;
    d->act = act;
    struct tpu_lowered l = { 0 };
    char why[400] = "";
    int64_t cycles = 0;
    const char *bad = chip_run_act(ctx, c, d, x, w, bias, lo, hi, NULL, y, &l, &cycles);
    if (!bad) bad = check_act(ctx, c, &l, x, nx, w, bias, lo, hi, y, why, sizeof why);
    const char *tag = with_bias ? "+bias" : "";
    if (!bad && d->groups > 1 && d->is_conv && c->mxu_dtype == TPU_MXU_INT8) {
        /* as the runner lowers it: one block-diagonal GEMM, the bias by channel */
        struct tpu_mm_desc bd = *d;
        struct tpu_lowered l2 = { 0 };
        float *bw = malloc((size_t)nw * sizeof *bw), *y2 = calloc((size_t)ny, sizeof *y2);
        memcpy(bw, w, (size_t)nw * sizeof *bw);
        int64_t cyc2 = 0;
        if (tpu_mm_block_diagonal(ctx, c, &bd, &bw)) bad = tpu_errmsg(ctx);
        if (!bad && bd.groups == 1) bad = chip_run_act(ctx, c, &bd, x, bw, bias, lo, hi, NULL, y2, &l2, &cyc2);
        if (!bad && bd.groups == 1 && memcmp(y, y2, (size_t)ny * sizeof *y) != 0)
            bad = "block-diagonal lowering differs from the grouped one";
        if (!bad && bd.groups == 1) strncat(why, "; block-diagonal bit-identical", sizeof why - strlen(why) - 1);
        tpu_lowered_free(&l2);
        free(bw); free(y2);
    }
    if (bad) { printf("FAIL ops-chip-act %s %s%s+%s: %s\n", c->name, d->name, tag, act_name(act), bad); n_fail++; }
    else printf("PASS ops-chip-act %s %s%s+%s: %s, %lld cycles\n", c->name, d->name, tag, act_name(act), why,
                (long long)cycles);
    tpu_err_clear(ctx);
    tpu_lowered_free(&l);
    free(x); free(w); free(y); free(bias);
}

static void act_cases(struct tpu_ctx *ctx, const struct tpu_chip *c)
{
    int bf16 = c->mxu_dtype == TPU_MXU_BF16;
    struct tpu_mm_desc d;
    gemm_desc(&d, 129, 257, 130);
    run_act_case(ctx, c, &d, 1, TPU_ACT_RELU, 0, INFINITY);
    gemm_desc(&d, pick(1, 200), pick(1, 400), pick(1, 300));
    run_act_case(ctx, c, &d, 1, TPU_ACT_CLIP, 0, 0.3f);
    gemm_desc(&d, pick(1, 200), pick(1, 400), pick(1, 300));
    run_act_case(ctx, c, &d, 1, TPU_ACT_NONE, 0, 0);
    gemm_desc(&d, 3, 600, 5);
    run_act_case(ctx, c, &d, 0, TPU_ACT_CLIP, -0.2f, 0.25f);
    gemm_desc(&d, pick(1, 100), pick(1, 300), pick(1, 300));  /* a batched MatMul: groups of [M][K] x [K][N] */
    d.groups = 2; d.batch = d.M;
    snprintf(d.op, sizeof d.op, "MatMul");
    snprintf(d.name, sizeof d.name, "matmul(g=2,m=%lld,k=%lld,n=%lld)", (long long)d.M, (long long)d.K, (long long)d.N);
    run_act_case(ctx, c, &d, 0, TPU_ACT_RELU, 0, INFINITY);
    if (bf16) {
        gemm_desc(&d, pick(1, 200), pick(1, 400), pick(1, 300));
        run_act_case(ctx, c, &d, 1, TPU_ACT_SIGMOID, 0, 0);
        gemm_desc(&d, pick(1, 200), pick(1, 400), pick(1, 300));
        run_act_case(ctx, c, &d, 1, TPU_ACT_TANH, 0, 0);
    }
    static const int acts[] = { TPU_ACT_RELU, TPU_ACT_CLIP, TPU_ACT_RELU, TPU_ACT_SIGMOID, TPU_ACT_TANH, TPU_ACT_CLIP };
    for (int i = 0, done = 0; done < 6 && i < 40; i++) {
        if (!conv_desc(&d)) continue;
        int act = acts[done++];
        if (!bf16 && (act == TPU_ACT_SIGMOID || act == TPU_ACT_TANH)) act = TPU_ACT_RELU;
        run_act_case(ctx, c, &d, done % 3 != 0, act, act == TPU_ACT_CLIP ? -0.1f : 0,
                     act == TPU_ACT_CLIP ? 0.4f : INFINITY);
    }
}

int main(void)
{
    static const char *chips[] = { "tpu-v1", "tpu-v4", "tpu-v5e" };
    static const int64_t fixed[][3] = { { 1, 1, 1 }, { 16, 16, 16 }, { 256, 256, 256 }, { 129, 257, 130 },
                                        { 3, 600, 5 }, { 300, 7, 260 } };
    struct tpu_ctx *ctx = tpu_init();
    for (int ci = 0; ci < 3; ci++) {
        struct tpu_chip *c = NULL;
        if (tpu_chip_load(ctx, chips[ci], &c)) { printf("FAIL ops-chip %s: %s\n", chips[ci], tpu_errmsg(ctx)); return 1; }
        struct tpu_mm_desc d;
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
            gemm_desc(&d, fixed[i][0], fixed[i][1], fixed[i][2]);
            run_case(ctx, c, &d);
        }
        for (int i = 0; i < 6; i++) {
            gemm_desc(&d, pick(1, 200), pick(1, 400), pick(1, 300));
            run_case(ctx, c, &d);
        }
        for (int i = 0; i < 10; i++) if (conv_desc(&d)) run_case(ctx, c, &d);
        act_cases(ctx, c);
        tpu_chip_free(c);
    }
    tpu_free(ctx);
    return n_fail != 0;
}
