/*
** tests/test-wide.c: 16-bit operands on the int8 MXU (compile/wide.c,
** `--precision high|highest` on tpu-v1). The hi / lo split of the input,
** then Gemms and Convs (ragged, strided, grouped and depthwise as
** block-diagonal) on the simulated tpu-v1:
**   highest (16b x 16b): bit-exact against an integer reference written here
**     from the arithmetic (hi, lo, the three partial sums, the two
**     dequantised halves added in fp32), and within 2e-4 rel-L2 of fp64;
**   high (8b x 16b): better than int8 and within 1e-2 of fp64;
**   both: more MXU cycles than int8 once the wider GEMM needs more tiles.
** A grouped conv that stays grouped is refused with a message.
*/
#include "compile/compile.h"
#include <math.h>
#include <stdio.h>
#include <string.h>

#define TEST_SEED 0xC0FFEE1234567ull
#include "testreport.h"
#include "testmm.h"

#define Q 16256.0f

static void split(float v, float s, float *hi, float *lo)      /* as the arithmetic says, not wide.c */
{
    float q = rintf(v / s);
    if (q > Q) q = Q;
    if (q < -Q) q = -Q;
    *hi = rintf(q / 128.0f);
    *lo = q - 128.0f * *hi;
}

/* The input split: values that are integers times s, |hi| <= 127, |lo| <= 64, hi 128 + lo = round(x / s). */
static void split_values(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_mm_desc d;
    memset(&d, 0, sizeof d);
    d.groups = 1; d.M = 3; d.K = 2 * 500; d.N = 1; d.wide = TPU_WIDE_BOTH;
    float x[1500], s = 0;
    for (int i = 0; i < 1500; i++) x[i] = uni() * powf(2.0f, (float)pick(-8, 3));
    float *o = tpu_mm_wide_input(ctx, &d, x, &s);
    int bad = 0;
    for (int r = 0; r < 3 && o; r++)
        for (int i = 0; i < 500; i++) {
            float hi = o[r * 1000 + i] / s, lo = o[r * 1000 + 500 + i] / s, eh, el;
            split(x[r * 500 + i], s, &eh, &el);
            if (rintf(hi) != eh || rintf(lo) != el || fabsf(hi - eh) > 1e-3f || fabsf(lo - el) > 1e-3f ||
                fabsf(eh) > 127 || fabsf(el) > 64)
                bad++;
        }
    report(o && !bad && s > 0, "wide-split-input", "%d values off (scale %g)", bad, s);
    free(o);
    tpu_free(ctx);
}

struct result { float *y; double rel; int64_t cycles; };

/* One op in mode (0 int8, TPU_WIDE_WEIGHTS, TPU_WIDE_BOTH) on c: the op's y. */
static int run_mode(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *d0, const float *x,
                    const float *w0, int mode, struct result *r)
{
    struct tpu_mm_desc d = *d0;
    int64_t nw = d.groups * d.K * d.N, ny = d0->groups * d0->M * d0->N;
    float *w = malloc((size_t)nw * sizeof *w), *y = calloc((size_t)(2 * ny), sizeof *y), *xs = NULL, *cs = NULL;
    memcpy(w, w0, (size_t)nw * sizeof *w);
    struct tpu_lowered l = { 0 };
    uint8_t *host = NULL;
    struct tpu_sim *sim = NULL;
    int ok = !tpu_mm_block_diagonal(ctx, c, &d, &w) && !tpu_mm_split_wide(ctx, &d, &w, mode, &cs);
    ok = ok && !tpu_lower_mm(ctx, c, &d, w, &l);
    if (ok && cs) memcpy(l.w_scale, cs, (size_t)d.N * sizeof *cs);
    if (ok && mode == TPU_WIDE_BOTH) ok = (xs = tpu_mm_wide_input(ctx, &d, x, &l.in_scale_fixed)) != NULL;
    ok = ok && (host = calloc(1, (size_t)l.host_bytes));
    if (ok) tpu_mm_pack_input(c, &l, xs ? xs : x, host);
    ok = ok && (sim = tpu_sim_new(ctx, c, 0)) && !tpu_sim_run(sim, l.prog, host, l.host_bytes);
    if (ok) {
        tpu_mm_unpack_output(c, &l, host, 1.0f, NULL, y);
        if (mode) tpu_mm_wide_combine(&d, y);
        r->cycles = sim->ctr.cycles;
        double e2 = 0, d2 = 0;                /* fp64 on the original (grouped) op */
        for (int64_t g = 0; g < d0->groups; g++)
            for (int64_t m = 0; m < d0->M; m++)
                for (int64_t n = 0; n < d0->N; n++) {
                    double s = 0;
                    for (int64_t k = 0; k < d0->K; k++)
                        s += (double)tpu_mm_a_value(d0, x, g, m, k) * w0[(g * d0->K + k) * d0->N + n];
                    int64_t pix = d0->oh * d0->ow;
                    int64_t yi = d0->is_conv ? ((m / pix) * d0->c_out + g * d0->N + n) * pix + m % pix
                                             : (g * d0->M + m) * d0->N + n;
                    e2 += s * s;
                    d2 += (y[yi] - s) * (y[yi] - s);
                }
        r->rel = e2 > 0 ? sqrt(d2 / e2) : sqrt(d2);
        r->y = y;
        y = NULL;
    }
    tpu_sim_free(sim);
    tpu_lowered_free(&l);
    free(host); free(xs); free(w); free(y); free(cs);
    return ok;
}

/* highest by hand: the op's y from the integer partial sums, halves in fp32. */
static float *reference_both(const struct tpu_mm_desc *d0, const float *x, const float *w0)
{
    int64_t nx = d0->is_conv ? d0->batch * d0->c_in * d0->h * d0->w : d0->groups * d0->M * d0->K;
    float amax = 0;
    for (int64_t i = 0; i < nx; i++) amax = fabsf(x[i]) > amax ? fabsf(x[i]) : amax;
    float s = amax / Q, pix = (float)(d0->oh * d0->ow);
    float *y = calloc((size_t)(d0->groups * d0->M * d0->N), sizeof *y);
    for (int64_t g = 0; g < d0->groups; g++)
        for (int64_t n = 0; n < d0->N; n++) {
            float wm = 0;
            for (int64_t k = 0; k < d0->K; k++) wm = fmaxf(wm, fabsf(w0[(g * d0->K + k) * d0->N + n]));
            float sw = wm > 0 ? wm / Q : 1.0f, f0 = 16384.0f * sw, f1 = 128.0f * sw;
            for (int64_t m = 0; m < d0->M; m++) {
                int64_t acc0 = 0, acc1 = 0;
                for (int64_t k = 0; k < d0->K; k++) {
                    float ah, al, wh, wl;
                    split(tpu_mm_a_value(d0, x, g, m, k), s, &ah, &al);
                    split(w0[(g * d0->K + k) * d0->N + n], sw, &wh, &wl);
                    acc0 += (int64_t)ah * (int64_t)wh;
                    acc1 += (int64_t)ah * (int64_t)wl + (int64_t)al * (int64_t)wh;
                }
                float h0 = (float)((double)acc0 * s * f0), h1 = (float)((double)acc1 * s * f1);
                int64_t p = (int64_t)pix;
                int64_t yi = d0->is_conv ? ((m / p) * d0->c_out + g * d0->N + n) * p + m % p : (g * d0->M + m) * d0->N + n;
                y[yi] = h0 + h1;
            }
        }
    return y;
}

static void op_case(struct tpu_ctx *ctx, const struct tpu_chip *c, const struct tpu_mm_desc *d)
{
    int64_t nx = d->is_conv ? d->batch * d->c_in * d->h * d->w : d->groups * d->M * d->K, nw = d->groups * d->K * d->N;
    int64_t ny = d->groups * d->M * d->N;
    float *x = malloc((size_t)nx * sizeof *x), *w = malloc((size_t)nw * sizeof *w);
    for (int64_t i = 0; i < nx; i++) x[i] = uni() * (i % 7 == 0 ? 4.0f : 1.0f);       /* some wider values */
    for (int64_t i = 0; i < nw; i++) w[i] = uni() / sqrtf((float)d->K);
    struct result r0 = { 0 }, r2 = { 0 }, r4 = { 0 };
    int ok = run_mode(ctx, c, d, x, w, 0, &r0) && run_mode(ctx, c, d, x, w, TPU_WIDE_WEIGHTS, &r2) &&
             run_mode(ctx, c, d, x, w, TPU_WIDE_BOTH, &r4);
    float *ref = ok ? reference_both(d, x, w) : NULL;
    int64_t diff = 0;
    for (int64_t i = 0; ref && i < ny; i++) diff += memcmp(&ref[i], &r4.y[i], sizeof(float)) != 0;
    int more_tiles = d->K > c->array_rows / 2 || d->N > c->array_cols / 2;
    report(ok && ref && diff == 0, "wide-both-bit-exact", "%s: %lld of %lld values differ from the integer reference%s%s",
           d->name, (long long)diff, (long long)ny, ok ? "" : ": ", ok ? "" : tpu_errmsg(ctx));
    int exact = r0.rel < 1e-6;                 /* one product: int8 is exact already */
    report(ok && r4.rel <= 2e-4 && r2.rel <= 1e-2 && r2.rel <= r0.rel && (exact || r4.rel < r2.rel) &&
           r2.cycles >= r0.cycles && r4.cycles >= r2.cycles && (!more_tiles || r4.cycles > r0.cycles),
           "wide-op", "%s: rel-L2 int8 / high / highest %.2e / %.2e / %.2e, cycles %lld / %lld / %lld", d->name,
           r0.rel, r2.rel, r4.rel, (long long)r0.cycles, (long long)r2.cycles, (long long)r4.cycles);
    tpu_err_clear(ctx);
    free(ref); free(r0.y); free(r2.y); free(r4.y); free(x); free(w);
}

/* A grouped conv whose groups fill the array stays grouped: refused, named. */
static void refuse_grouped(struct tpu_ctx *ctx, const struct tpu_chip *c)
{
    struct tpu_mm_desc d;
    tm_conv(&d, 1, 2, 32, 256, 4, 3, 1, 1);
    float *w = NULL, *cs = NULL;
    enum tpu_status rc = tpu_mm_block_diagonal(ctx, c, &d, &w);
    if (!rc) rc = tpu_mm_split_wide(ctx, &d, &w, TPU_WIDE_BOTH, &cs);
    report(rc == TPU_ERR_UNSUPPORTED && strstr(tpu_errmsg(ctx), "need one group") && strstr(tpu_errmsg(ctx), d.name),
           "wide-refuses-groups", "%s: status %d: %s", d.name, (int)rc, tpu_errmsg(ctx));
    tpu_err_clear(ctx);
}

int main(void)
{
    split_values();
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = NULL;
    if (tpu_chip_load(ctx, "tpu-v1", &c)) { report(0, "wide-chip", "%s", tpu_errmsg(ctx)); return 1; }
    report(tpu_wide_mode(c, 3) == TPU_WIDE_WEIGHTS && tpu_wide_mode(c, 6) == TPU_WIDE_BOTH && !tpu_wide_mode(c, 1),
           "wide-modes", "passes 1/3/6 -> %d/%d/%d", tpu_wide_mode(c, 1), tpu_wide_mode(c, 3), tpu_wide_mode(c, 6));
    struct tpu_mm_desc d;
    tm_gemm(&d, 1, 1, 1); op_case(ctx, c, &d);
    tm_gemm(&d, 37, 300, 129); op_case(ctx, c, &d);                      /* ragged: K, N not multiples of 256 */
    tm_gemm(&d, 300, 520, 270); op_case(ctx, c, &d);                     /* more tiles once wide */
    tm_gemm(&d, pick(1, 90), pick(1, 400), pick(1, 200)); op_case(ctx, c, &d);
    tm_conv(&d, 2, 1, 5, 7, 9, 3, 1, 1); op_case(ctx, c, &d);              /* plain, ragged */
    tm_conv(&d, 1, 1, 6, 9, 11, 3, 2, 1); op_case(ctx, c, &d);             /* strided */
    tm_conv(&d, 1, 3, 4, 5, 11, 3, 2, 1); op_case(ctx, c, &d);             /* grouped: block-diagonal */
    tm_conv(&d, 2, 16, 1, 1, 10, 3, 1, 1); op_case(ctx, c, &d);            /* depthwise: block-diagonal */
    refuse_grouped(ctx, c);
    tpu_chip_free(c);
    tpu_free(ctx);
    return n_fail != 0;
}
