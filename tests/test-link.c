/*
** tests/test-link.c: compile/driver_link.c, the host driver at the host link
** (RD_HOST packs a pass straight into the unified buffer, WR_HOST unpacks it
** straight from there), against the buffered path it replaces in `run`
** (pack the whole input into a host buffer, run, unpack the buffer): the
** same fp32 outputs bit for bit, the same UB and accumulator bytes at the
** end, the same cycles and counters; on ragged shapes over several passes,
** grouped / strided / padded convolutions, Gemm, bias and Relu / Clip tables,
** int8 (tpu-v1) and bf16 (tpu-v5e, tpu-v4 with several MXUs) chips. A program
** whose host transfers are not whole passes is declined, with nothing run.
*/
#include "compile/compile.h"
#include "compile/driver.h"
#include "testlib.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 11;
static float rndf(void)
{
    rng = rng * 1103515245u + 12345u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static struct tpu_mm_desc conv(int64_t b, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k,
                               int64_t s, int64_t pad, int64_t groups)
{
    struct tpu_mm_desc d = { .name = "conv", .op = "Conv", .is_conv = 1, .groups = groups, .batch = b,
                             .c_in = cin, .h = h, .w = w, .c_out = cout, .kh = k, .kw = k, .sh = s,
                             .sw = s, .dh = 1, .dw = 1, .pt = pad, .pl = pad };
    d.oh = (h + 2 * pad - k) / s + 1;
    d.ow = (w + 2 * pad - k) / s + 1;
    d.M = b * d.oh * d.ow; d.K = cin / groups * k * k; d.N = cout / groups;
    return d;
}

struct setup {
    struct tpu_ctx *ctx;
    struct tpu_chip *c;
    struct tpu_lowered l;
    float *x, *w, *bias;
    int64_t xn, yn;
};

static int make(struct setup *s, const char *chip, const char *array, const char *set, struct tpu_mm_desc d,
                int act)
{
    memset(s, 0, sizeof *s);
    s->ctx = tpu_init();
    TEST_CHECK(tpu_chip_load(s->ctx, chip, &s->c) == 0, "%s", tpu_errmsg(s->ctx));
    TEST_CHECK(!array || tpu_chip_set_array(s->ctx, s->c, array) == 0, "%s", tpu_errmsg(s->ctx));
    TEST_CHECK(!set || tpu_chip_override(s->ctx, s->c, set) == 0, "%s", tpu_errmsg(s->ctx));
    d.bias = act != 0;
    d.act = act == 1 ? TPU_ACT_RELU : act == 2 ? TPU_ACT_CLIP : TPU_ACT_NONE;
    int64_t wn = d.groups * d.K * d.N;
    s->xn = d.is_conv ? d.batch * d.c_in * d.h * d.w : d.groups * d.M * d.K;
    s->yn = d.groups * d.M * d.N;
    s->x = malloc(sizeof(float) * (size_t)s->xn);
    s->w = malloc(sizeof(float) * (size_t)wn);
    s->bias = malloc(sizeof(float) * (size_t)(d.groups * d.N));
    for (int64_t i = 0; i < s->xn; i++) s->x[i] = rndf() * 2.0f;
    for (int64_t i = 0; i < wn; i++) s->w[i] = rndf();
    for (int64_t i = 0; i < d.groups * d.N; i++) s->bias[i] = rndf() * 3.0f;
    TEST_CHECK(tpu_lower_mm(s->ctx, s->c, &d, s->w, &s->l) == 0, "%s", tpu_errmsg(s->ctx));
    return 0;
}

static void unmake(struct setup *s)
{
    free(s->x); free(s->w); free(s->bias);
    tpu_lowered_free(&s->l);
    tpu_chip_free(s->c);
    tpu_free(s->ctx);
}

/* Both paths on fresh simulators; 0 when everything agrees. */
static int same_run(const char *chip, const char *array, const char *set, struct tpu_mm_desc d, int act)
{
    struct setup s;
    if (make(&s, chip, array, set, d, act)) return 1;
    struct tpu_lowered *l = &s.l;
    const float lo = -0.25f, hi = 0.5f, alpha = 0.75f;
    const float *out_bias = act ? NULL : s.bias;       /* no ACTIVATE bias: the host adds it */
    struct tpu_sim *a = tpu_sim_new(s.ctx, s.c, 0), *b = tpu_sim_new(s.ctx, s.c, 0);
    TEST_CHECK(a && b, "%s", tpu_errmsg(s.ctx));
    uint8_t *host = malloc((size_t)l->host_bytes);
    memset(host, 0xa5, (size_t)l->host_bytes);
    float *ya = malloc(sizeof(float) * (size_t)s.yn), *yb = malloc(sizeof(float) * (size_t)s.yn);
    for (int64_t i = 0; i < s.yn; i++) ya[i] = yb[i] = NAN;
    tpu_mm_pack_input(s.c, l, s.x, host);
    tpu_mm_pack_tables(s.c, l, s.bias, lo, hi, host);
    float scale_a = l->in_scale;
    TEST_CHECK(tpu_sim_run(a, l->prog, host, l->host_bytes) == 0, "%s", tpu_errmsg(s.ctx));
    tpu_mm_unpack_output(s.c, l, host, alpha, out_bias, ya);
    l->in_scale = 0;
    int taken = 0;
    TEST_CHECK(tpu_mm_run_linked(b, s.c, l, s.x, s.bias, lo, hi, alpha, out_bias, yb, &taken) == 0, "%s",
               tpu_errmsg(s.ctx));
    TEST_CHECK(taken == 1, "%s %s: the linked path declined", chip, d.name);
    TEST_CHECK(memcmp(&scale_a, &l->in_scale, 4) == 0, "in_scale %.9g vs %.9g", scale_a, l->in_scale);
    int64_t bad = -1;
    for (int64_t i = 0; i < s.yn && bad < 0; i++) if (memcmp(&ya[i], &yb[i], 4)) bad = i;
    TEST_CHECK(bad < 0, "%s %s act %d: y[%lld] %.9g vs %.9g", chip, d.name, act, (long long)bad,
               bad < 0 ? 0.0 : ya[bad], bad < 0 ? 0.0 : yb[bad]);
    TEST_CHECK(a->end == b->end && a->end > 0, "cycles %lld vs %lld", (long long)a->end, (long long)b->end);
    TEST_CHECK(memcmp(&a->ctr, &b->ctr, sizeof a->ctr) == 0, "%s %s: counters differ", chip, d.name);
    TEST_CHECK(memcmp(a->ub, b->ub, (size_t)s.c->unified_buffer_bytes) == 0, "%s %s: UB bytes differ", chip, d.name);
    size_t acc = (size_t)s.c->accumulator_rows * (size_t)s.c->array_cols * 4;
    TEST_CHECK(memcmp(a->acc, b->acc, acc) == 0, "%s %s: accumulator bytes differ", chip, d.name);
    TEST_CHECK(b->host_link == NULL, "the hook is left set");
    free(host); free(ya); free(yb);
    tpu_sim_free(a); tpu_sim_free(b);
    unmake(&s);
    return 0;
}

static int test_same(void)
{
    static const char *chips[][3] = { { "tpu-v1", NULL, NULL }, { "tpu-v1", "16x32", "accumulator_rows=40" },
                                      { "tpu-v5e", "8x16", "accumulator_rows=24" },
                                      { "tpu-v4", "8x16", "accumulator_rows=48" } };
    struct tpu_mm_desc ds[] = { conv(2, 3, 11, 9, 5, 3, 2, 1, 1), conv(3, 6, 7, 8, 9, 3, 1, 2, 3),
                                conv(2, 20, 9, 10, 70, 3, 1, 1, 1), conv(2, 4, 6, 6, 4, 1, 1, 0, 4),
                                { .name = "gemm", .op = "Gemm", .groups = 1, .M = 77, .K = 13, .N = 300, .batch = 77 },
                                { .name = "matmul", .op = "MatMul", .groups = 3, .M = 29, .K = 40, .N = 17, .batch = 29 } };
    for (size_t ci = 0; ci < sizeof chips / sizeof chips[0]; ci++)
        for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++)
            for (int act = 0; act < 3; act++)
                if (same_run(chips[ci][0], chips[ci][1], chips[ci][2], ds[di], act)) return 1;
    return 0;
}

/* An RD_HOST that is not a whole pass: declined before anything runs. */
static int test_declines(void)
{
    struct setup s;
    if (make(&s, "tpu-v1", "16x32", "accumulator_rows=40", conv(2, 3, 11, 9, 5, 3, 2, 1, 1), 1)) return 1;
    int found = 0;
    for (int64_t i = 0; i < s.l.prog->n_insns && !found; i++)
        if (s.l.prog->insns[i].opcode == TPU_INSN_RD_HOST && s.l.prog->insns[i].a < s.l.host_out_off) {
            s.l.prog->insns[i].c -= 1;
            found = 1;
        }
    TEST_CHECK(found, "no input RD_HOST");
    struct tpu_sim *b = tpu_sim_new(s.ctx, s.c, 0);
    float *y = malloc(sizeof(float) * (size_t)s.yn);
    int taken = 1;
    TEST_CHECK(tpu_mm_run_linked(b, s.c, &s.l, s.x, s.bias, 0, 1, 1, NULL, y, &taken) == 0, "%s",
               tpu_errmsg(s.ctx));
    TEST_CHECK(taken == 0 && b->end == 0 && b->ctr.n_insns == 0, "taken %d, %lld cycles", taken, (long long)b->end);
    free(y);
    tpu_sim_free(b);
    unmake(&s);
    return 0;
}

/* tpu_max_abs_f32 (the input scale; SSE2 / AVX-512 lanes) equals the plain
** loop: lengths around the vector steps, unaligned starts, NaN skipped, inf,
** -0, the maximum in any lane. */
static int test_max_abs(void)
{
    static float x[1100];
    for (int round = 0; round < 40; round++) {
        for (int i = 0; i < 1100; i++) {
            x[i] = rndf() * 100.0f;
            if (round % 5 == 1 && i % 97 == 3) x[i] = NAN;
            if (round % 5 == 2 && i % 301 == 7) x[i] = -INFINITY;
            if (round % 5 == 3) x[i] = -0.0f;
        }
        for (int off = 0; off < 3; off++)
            for (int n = 0; n + off <= 1100; n += n < 140 ? 1 : 37) {
                float want = 0;
                for (int i = 0; i < n; i++) {
                    float v = fabsf(x[off + i]);
                    want = v > want ? v : want;
                }
                float got = tpu_max_abs_f32(x + off, n);
                TEST_CHECK(memcmp(&got, &want, 4) == 0, "round %d off %d n %d: %.9g, want %.9g", round, off, n,
                           got, want);
            }
    }
    return 0;
}

static const struct test_case cases[] = {
    { "link-1.1 host link in place equals the buffered path (outputs, UB, cycles, counters)", test_same },
    { "link-1.3 the input's max |x| equals the plain loop (vector lanes, NaN, inf, -0)", test_max_abs },
    { "link-1.2 a program with a partial-pass host transfer is declined, nothing run", test_declines },
};
TEST_MAIN(cases)
