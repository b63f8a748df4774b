/*
** tests/test-precision.c: multi-pass bf16 matrix products (compile/precision.c,
** `--precision high|highest`). The bf16 split of fp32 values, then Gemms and
** Convs (grouped, depthwise, block-diagonal, ragged shapes) run on the
** simulated tpu-v5e and tpu-v4 with 1, 3 and 6 passes against fp64 sums of
** the fp32 operands: the error must fall with the passes and stay inside
** bounds worked out from the terms each mode drops (below), and the MXU must
** do the extra passes (more cycles).
**   1 pass:  x1 w1; the rounding of x and w, ~2^-9 each: rel-L2 <= 1e-2
**   3:       drops x2 w2 (~2^-18) and the third parts: rel-L2 <= 2e-5
**   6:       drops ~2^-27 terms; fp32 accumulation dominates: rel-L2 <= 1e-6
** Cycles grow once the longer reduction needs more weight tiles.
*/
#include "compile/compile.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define TEST_SEED 0x9E3779B97F4A7C15ull
#include "testreport.h"
#include "testmm.h"
static float bf(float v) { return tpu_bf16_to_f32(tpu_f32_to_bf16(v)); }

/* The split: x1 + x2 within 2^-16 |x|, x1 + x2 + x3 within 2^-24 |x|, each part bf16-exact. */
static void split_values(void)
{
    int bad = 0;
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_mm_desc d;
    memset(&d, 0, sizeof d);
    d.groups = 1; d.M = 1; d.K = 1000; d.N = 1;
    float x[1000];
    for (int i = 0; i < 1000; i++) x[i] = uni() * powf(2.0f, (float)pick(-30, 30));
    struct tpu_mm_desc d3 = d, d6 = d;
    tpu_mm_split_passes(ctx, &d3, NULL, 3);
    tpu_mm_split_passes(ctx, &d6, NULL, 6);
    float *s3 = tpu_mm_split_input(ctx, &d3, x), *s6 = tpu_mm_split_input(ctx, &d6, x);
    for (int i = 0; i < 1000 && s3 && s6; i++) {
        float a1 = s6[i], a2 = s6[2 * 1000 + i], a3 = s6[5 * 1000 + i];    /* pairs (0,0) (1,0) (2,0) */
        if (bf(a1) != a1 || bf(a2) != a2 || bf(a3) != a3 || s3[i] != a1 || s3[1000 + i] != a1 || s3[2000 + i] != a2) bad++;
        if (fabs((double)x[i] - a1 - a2) > ldexp(fabs(x[i]), -16)) bad++;
        if (fabs((double)x[i] - a1 - a2 - a3) > ldexp(fabs(x[i]), -24)) bad++;
    }
    report(s3 && s6 && !bad, "precision-split-parts", "%d values off", bad);
    report(d3.K == 3000 && d6.K == 6000 && d3.passes == 3 && d3.model_macs == 1000, "precision-split-desc",
          "K %lld / %lld, model_macs %lld", (long long)d3.K, (long long)d6.K, (long long)d3.model_macs);
    free(s3); free(s6);
    tpu_free(ctx);
}

static float a_value(const struct tpu_mm_desc *d, const float *x, int64_t g, int64_t m, int64_t k)
{
    return tpu_mm_a_value(d, x, g, m, k);
}

/* One op with `passes` passes: rel-L2 of the chip's y against fp64, and cycles. */
static int run_passes(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *d0, const float *x,
                      const float *w0, int passes, double *rel, int64_t *cycles)
{
    struct tpu_mm_desc d = *d0;
    int64_t nw = d.groups * d.K * d.N, ny = d.groups * d.M * d.N;
    float *w = malloc((size_t)nw * sizeof *w), *y = calloc((size_t)ny, sizeof *y), *xs = NULL;
    memcpy(w, w0, (size_t)nw * sizeof *w);
    struct tpu_lowered l = { 0 };
    uint8_t *host = NULL;
    struct tpu_sim *sim = NULL;
    int ok = !tpu_mm_block_diagonal(ctx, c, &d, &w) && !tpu_mm_split_passes(ctx, &d, &w, passes);
    if (ok && passes > 1) ok = (xs = tpu_mm_split_input(ctx, &d, x)) != NULL;
    ok = ok && !tpu_lower_mm(ctx, c, &d, w, &l) && (host = calloc(1, (size_t)l.host_bytes));
    if (ok) tpu_mm_pack_input(c, &l, xs ? xs : x, host);
    ok = ok && (sim = tpu_sim_new(ctx, c, 0)) && !tpu_sim_run(sim, l.prog, host, l.host_bytes);
    if (ok) {
        tpu_mm_unpack_output(c, &l, host, 1.0f, NULL, y);
        *cycles = sim->ctr.cycles;
        double e2 = 0, d2 = 0;                /* fp64 reference on the original (grouped) op */
        for (int64_t g = 0; g < d0->groups; g++)
            for (int64_t m = 0; m < d0->M; m++)
                for (int64_t n = 0; n < d0->N; n++) {
                    double s = 0;
                    for (int64_t k = 0; k < d0->K; k++) s += (double)a_value(d0, x, g, m, k) * w0[(g * d0->K + k) * d0->N + n];
                    int64_t yi = d0->is_conv ? ((m / (d0->oh * d0->ow) * d0->c_out + g * d0->N + n) * d0->oh * d0->ow +
                                               m % (d0->oh * d0->ow))
                                             : (g * d0->M + m) * d0->N + n;
                    e2 += s * s;
                    d2 += (y[yi] - s) * (y[yi] - s);
                }
        *rel = e2 > 0 ? sqrt(d2 / e2) : sqrt(d2);
    }
    tpu_sim_free(sim);
    tpu_lowered_free(&l);
    free(host); free(xs); free(w); free(y);
    return ok;
}

static void op_case(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *d)
{
    int64_t nx = d->is_conv ? d->batch * d->c_in * d->h * d->w : d->groups * d->M * d->K, nw = d->groups * d->K * d->N;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
    for (int64_t i = 0; i < nx; i++) x[i] = uni();
    for (int64_t i = 0; i < nw; i++) w[i] = uni() / sqrtf((float)d->K);
    double r1 = 0, r3 = 0, r6 = 0;
    int64_t c1 = 0, c3 = 0, c6 = 0;
    int ok = run_passes(ctx, c, d, x, w, 1, &r1, &c1) && run_passes(ctx, c, d, x, w, 3, &r3, &c3) &&
             run_passes(ctx, c, d, x, w, 6, &r6, &c6);
    report(ok && r1 <= 1e-2 && r3 <= 2e-5 && r6 <= 1e-6 && r3 < r1 && r6 <= r3 && c3 >= c1 && c6 >= c3 &&
           (d->groups * d->K * 6 <= c->array_rows || c6 > c1),
          "precision-op", "%s %s: rel-L2 1/3/6 passes %.2e / %.2e / %.2e, cycles %lld / %lld / %lld%s%s", c->name,
          d->name, r1, r3, r6, (long long)c1, (long long)c3, (long long)c6, ok ? "" : ": ", ok ? "" : tpu_errmsg(ctx));
    tpu_err_clear(ctx);
    free(x); free(w);
}

int main(void)
{
    split_values();
    struct tpu_ctx *ctx = tpu_init();
    static const char *chips[] = { "tpu-v5e", "tpu-v4" };
    for (int ci = 0; ci < 2; ci++) {
        struct tpu_chip *c = NULL;
        if (tpu_chip_load(ctx, chips[ci], &c)) { report(0, "precision-chip", "%s: %s", chips[ci], tpu_errmsg(ctx)); continue; }
        struct tpu_mm_desc d;
        tm_gemm(&d, 1, 1, 1); op_case(ctx, c, &d);
        tm_gemm(&d, 37, 300, 129); op_case(ctx, c, &d);
        tm_gemm(&d, pick(1, 90), pick(1, 400), pick(1, 200)); op_case(ctx, c, &d);
        tm_conv(&d, 2, 1, 5, 7, 9, 3, 1, 1); op_case(ctx, c, &d);              /* plain, ragged */
        tm_conv(&d, 1, 3, 4, 5, 11, 3, 2, 1); op_case(ctx, c, &d);             /* grouped */
        tm_conv(&d, 2, 16, 1, 1, 10, 3, 1, 1); op_case(ctx, c, &d);            /* depthwise: block-diagonal */
        tpu_chip_free(c);
    }
    tpu_free(ctx);
    return n_fail != 0;
}
