/*
** tests/test-convt.c: ConvTranspose on the MXU (compile/mm_convt.c), op by op.
** Seeded random 2-D ConvTransposes — strides 1-3, pads, output_padding,
** dilations, groups, ragged sizes — built as one-node graphs (tests/testrig.h)
** and run by the reference kernel (the scatter form of ONNX's definition).
** Each is rewritten as a Conv over the zero-inserted input with the flipped
** kernel, then:
**   rewrite: the Conv summed in fp64 (tpu_mm_a_value over the driver's
**            zero-inserted input) equals the reference to 1e-5 relative L2
**            (the reference sums in fp32);
**   chip:    lowered, packed, simulated and unpacked on tpu-v1 (int8: cosine
**            >= 0.99 against the reference) and tpu-v5e (bf16: relative L2
**            <= 1e-2), the bounds of docs/compiler.md;
** plus refusals: auto_pad, output_shape and pads past the kernel stay on the
** host with a message naming the node.
*/
#include "compile/compile.h"
#include "testrig.h"
#include <math.h>
#include <stdio.h>

#define TEST_SEED 0xC0FFEE1234567ull
#include "testreport.h"

struct geo { int64_t b, g, cpg, opg, h, w, kh, kw, s[2], d[2], p[4], op[2]; };

static void draw(struct geo *q)
{
    q->b = pick(1, 2); q->g = pick(0, 2) ? 1 : pick(2, 3); q->cpg = pick(1, 6); q->opg = pick(1, 7);
    q->h = pick(1, 9); q->w = pick(1, 9); q->kh = pick(1, 4); q->kw = pick(1, 4);
    for (int i = 0; i < 2; i++) {
        q->s[i] = pick(1, 3); q->d[i] = pick(1, 2);
        int64_t dk = ((i ? q->kw : q->kh) - 1) * q->d[i];
        q->p[i] = pick(0, dk); q->p[i + 2] = pick(0, dk);
        q->op[i] = pick(0, q->s[i] - 1);
        int64_t in = i ? q->w : q->h;
        if (q->s[i] * (in - 1) + q->op[i] + dk + 1 - q->p[i] - q->p[i + 2] < 1) q->p[i] = q->p[i + 2] = 0;
    }
}

/* The one-node graph, its reference output run. */
static struct rig build(const struct geo *q, float **x, float **w)
{
    struct rig r = rig_new("ConvTranspose", 2, 1);
    int64_t xd[4] = { q->b, q->g * q->cpg, q->h, q->w }, wd[4] = { q->g * q->cpg, q->opg, q->kh, q->kw };
    int64_t nx = xd[0] * xd[1] * xd[2] * xd[3], nw = wd[0] * wd[1] * wd[2] * wd[3];
    *x = malloc((size_t)nx * sizeof **x); *w = malloc((size_t)nw * sizeof **w);
    for (int64_t i = 0; i < nx; i++) (*x)[i] = uni();
    for (int64_t i = 0; i < nw; i++) (*w)[i] = uni();
    rig_in(&r, 0, TPU_DTYPE_F32, 4, xd, *x);
    rig_in(&r, 1, TPU_DTYPE_F32, 4, wd, *w);
    attr_ints(&r, "strides", 2, q->s);
    attr_ints(&r, "dilations", 2, q->d);
    attr_ints(&r, "pads", 4, q->p);
    attr_ints(&r, "output_padding", 2, q->op);
    attr_int(&r, "group", q->g);
    return r;
}

static double rel(const float *got, const double *want, int64_t n)
{
    double d2 = 0, e2 = 0;
    for (int64_t i = 0; i < n; i++) { d2 += (got[i] - want[i]) * (got[i] - want[i]); e2 += want[i] * want[i]; }
    return e2 > 0 ? sqrt(d2 / e2) : sqrt(d2);
}

static double cosine(const float *got, const float *want, int64_t n)
{
    double gw = 0, g2 = 0, w2 = 0;
    for (int64_t i = 0; i < n; i++) { gw += (double)got[i] * want[i]; g2 += (double)got[i] * got[i]; w2 += (double)want[i] * want[i]; }
    return g2 > 0 && w2 > 0 ? gw / sqrt(g2 * w2) : (g2 == w2);
}

/* y (ONNX layout) of the rewritten Conv on the chip. */
static const char *on_chip(struct tpu_ctx *ctx, const struct tpu_chip *c, struct tpu_mm_desc d, float *w,
                           const float *xu, float *y)
{
    struct tpu_lowered l = { 0 };
    uint8_t *host = NULL;
    struct tpu_sim *sim = NULL;
    const char *bad = NULL;
    if (tpu_mm_block_diagonal(ctx, c, &d, &w) || tpu_lower_mm(ctx, c, &d, w, &l)) bad = tpu_errmsg(ctx);
    if (!bad && !(host = calloc(1, (size_t)l.host_bytes))) bad = "out of memory";
    if (!bad) tpu_mm_pack_input(c, &l, xu, host);
    if (!bad && (!(sim = tpu_sim_new(ctx, c, 0)) || tpu_sim_run(sim, l.prog, host, l.host_bytes))) bad = tpu_errmsg(ctx);
    if (!bad) tpu_mm_unpack_output(c, &l, host, 1.0f, NULL, y);
    tpu_sim_free(sim);
    tpu_lowered_free(&l);
    free(host);
    free(w);
    return bad;
}

static void one(struct tpu_chip *v1, struct tpu_chip *v5, int k)
{
    struct geo q;
    draw(&q);
    float *x, *w;
    struct rig r = build(&q, &x, &w);
    char name[200];
    snprintf(name, sizeof name, "convt-%d b%lld g%lld c%lld o%lld %lldx%lld k%lldx%lld s%lld,%lld d%lld,%lld p%lld,%lld,%lld,%lld op%lld,%lld",
             k, (long long)q.b, (long long)q.g, (long long)(q.g * q.cpg), (long long)(q.g * q.opg), (long long)q.h,
             (long long)q.w, (long long)q.kh, (long long)q.kw, (long long)q.s[0], (long long)q.s[1], (long long)q.d[0],
             (long long)q.d[1], (long long)q.p[0], (long long)q.p[1], (long long)q.p[2], (long long)q.p[3],
             (long long)q.op[0], (long long)q.op[1]);
    struct tpu_mm_desc d;
    float *cw = NULL, *xu = NULL;
    if (rig_run(&r) || tpu_mm_from_node(r.g, r.n, &d, &cw, 1)) {
        report(0, name, "%s", tpu_errmsg(r.ctx));
        goto done;
    }
    const struct tpu_tensor *t = out(&r, 0);
    int64_t ny = tpu_tensor_numel(t), M = d.M;
    xu = tpu_mm_convt_input(r.ctx, &d, x);
    double *want = calloc((size_t)ny, sizeof *want);
    for (int64_t g = 0; g < d.groups; g++)               /* the rewritten Conv, fp64 */
        for (int64_t m = 0; m < M; m++)
            for (int64_t n = 0; n < d.N; n++) {
                double s = 0;
                for (int64_t kk = 0; kk < d.K; kk++)
                    s += (double)tpu_mm_a_value(&d, xu, g, m, kk) * cw[(g * d.K + kk) * d.N + n];
                int64_t pix = d.oh * d.ow;
                want[(m / pix * d.c_out + g * d.N + n) * pix + m % pix] = s;
            }
    double e = rel(t->data, want, ny);
    int shape_ok = t->n_dims == 4 && t->dims[2] == d.oh && t->dims[3] == d.ow && t->dims[1] == d.c_out;
    report(shape_ok && e <= 1e-5, name, "rewrite vs reference rel-L2 %.2e, output %lldx%lld", e, (long long)d.oh,
           (long long)d.ow);
    float *y = malloc((size_t)ny * sizeof *y), *w1 = malloc((size_t)(d.groups * d.K * d.N) * sizeof *w1);
    float *w5 = malloc((size_t)(d.groups * d.K * d.N) * sizeof *w5);
    memcpy(w1, cw, (size_t)(d.groups * d.K * d.N) * sizeof *w1);
    memcpy(w5, cw, (size_t)(d.groups * d.K * d.N) * sizeof *w5);
    const char *bad = on_chip(r.ctx, v1, d, w1, xu, y);
    double cs = bad ? 0 : cosine(y, t->data, ny);
    report(!bad && cs >= 0.99, "convt-chip-int8", "%s on tpu-v1: %s cosine %.6f", name, bad ? bad : "", cs);
    bad = on_chip(r.ctx, v5, d, w5, xu, y);
    double e5 = bad ? 1 : rel(y, want, ny);
    report(!bad && e5 <= 1e-2, "convt-chip-bf16", "%s on tpu-v5e: %s rel-L2 %.2e", name, bad ? bad : "", e5);
    free(y); free(want);
done:
    tpu_err_clear(r.ctx);
    free(cw); free(xu); free(x); free(w);
    rig_free(&r);
}

/* Refusals: the node stays on the host, the message names it. */
static void refusal(const char *what, const char *attr, int64_t v)
{
    struct geo q = { 1, 1, 2, 2, 4, 4, 3, 3, { 2, 2 }, { 1, 1 }, { 0, 0, 0, 0 }, { 0, 0 } };
    float *x, *w;
    struct rig r = build(&q, &x, &w);
    static const int64_t shape[2] = { 9, 9 };
    if (!strcmp(attr, "pads")) { static const int64_t big[4] = { 3, 3, 0, 0 }; r.n->attrs[2].ints = (int64_t *)big; }
    else if (!strcmp(attr, "output_shape")) attr_ints(&r, "output_shape", 2, shape);
    else attr_str(&r, attr, "SAME_UPPER");
    (void)v;
    struct tpu_mm_desc d;
    enum tpu_status rc = rig_run(&r);
    tpu_err_clear(r.ctx);
    rc = tpu_mm_from_node(r.g, r.n, &d, NULL, 0);
    const char *m = tpu_errmsg(r.ctx);
    report(rc == TPU_ERR_UNSUPPORTED && strstr(m, "ConvTranspose") && strstr(m, what), "convt-refuse", "%s: %s", attr, m);
    free(x); free(w);
    rig_free(&r);
}

int main(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *v1 = NULL, *v5 = NULL;
    if (tpu_chip_load(ctx, "tpu-v1", &v1) || tpu_chip_load(ctx, "tpu-v5e", &v5)) {
        report(0, "convt-chips", "%s", tpu_errmsg(ctx));
        return 1;
    }
    for (int k = 0; k < 24; k++) one(v1, v5, k);
    refusal("auto_pad set", "auto_pad", 0);
    refusal("output_shape given", "output_shape", 0);
    refusal("outside the rewrite", "pads", 0);
    tpu_chip_free(v1); tpu_chip_free(v5);
    tpu_free(ctx);
    return n_fail != 0;
}
