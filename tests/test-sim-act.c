/*
** tests/test-sim-act.c: ACTIVATE's specialised value loops (sim/sim_mxu.c)
** against its generic per-element loop (sim_activate_generic) on random
** accumulators: every (func, +bias, +raw, pool) the chip allows, int8
** (tpu-v1) and bf16 (tpu-v5e), at several requant scales, with saturation,
** rounding ties, -0, inf and NaN among the values. Both must write the same
** bytes over the whole output (each run starts from a different fill, so a
** byte one of them leaves unwritten shows up as a difference). int8 also
** with accumulator rows whose columns past acc_live are zeros not yet stored
** (stale bytes there), as a narrow MATMUL leaves them.
*/
#include "compile/compile.h"
#include "sim/sim.h"
#include "testlib.h"
#include <math.h>
#include <string.h>

enum { ROWS = 12, BIAS_AT = 0, CLAMP_AT = 8192, OUT_AT = 65536 };

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint32_t rnd32(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* An int32 accumulator value: full range, small (ties and relu around 0), or
** near the int8 saturation points at the test's scales. */
static int32_t rnd_acc_i32(void)
{
    uint32_t k = rnd32() % 4;
    if (k == 0) return (int32_t)rnd32();
    if (k == 1) return (int32_t)(rnd32() % 64) - 32;
    if (k == 2) return (int32_t)(rnd32() % 4096) - 2048;
    return (int32_t)(rnd32() % 2000001) - 1000000;
}

static float rnd_f32(void)
{
    uint32_t k = rnd32() % 16;
    if (k == 0) return -0.0f;
    if (k == 1) return NAN;
    if (k == 2) return (rnd32() & 1) ? INFINITY : -INFINITY;
    return ((float)(int32_t)rnd32() / 2147483648.0f) * (k < 8 ? 4.0f : 3.0e4f);
}

/* Fills the accumulators' first ROWS rows and the bias / clamp tables. */
static void fill(struct tpu_sim *s, int bf16)
{
    int64_t C = s->chip->array_cols;
    for (int64_t i = 0; i < ROWS * C; i++) {
        if (bf16) { float f = rnd_f32(); memcpy(s->acc + 4 * i, &f, 4); }
        else { int32_t v = rnd_acc_i32(); memcpy(s->acc + 4 * i, &v, 4); }
    }
    for (int64_t j = 0; j < C; j++) {
        uint8_t *b = s->ub + BIAS_AT + 4 * j, *lo = s->ub + CLAMP_AT + 4 * j, *hi = lo + 4 * C;
        if (bf16) {
            float fb = rnd_f32(), a = (float)(int32_t)rnd32() / 1e9f, d = (float)(rnd32() % 1000) / 100.0f;
            float fh = a + d;
            if (rnd32() % 8 == 0) fh = a - 1.0f;                  /* lo > hi: clip still defined */
            memcpy(b, &fb, 4); memcpy(lo, &a, 4); memcpy(hi, &fh, 4);
        } else {
            int32_t ib = rnd_acc_i32(), a = rnd_acc_i32(), d = (int32_t)(rnd32() % 100000), h = a + d;
            if (rnd32() % 8 == 0) h = a - 5;
            memcpy(b, &ib, 4); memcpy(lo, &a, 4); memcpy(hi, &h, 4);
        }
    }
}

/* lazy: rows whose columns from acc_live on are zero without being stored
** (what an int8 MATMUL on a narrow tile leaves, sim_mxu.c), over stale bytes;
** 0: every column stored. The same per-row split for both paths. */
static void set_live(struct tpu_sim *s, int lazy)
{
    int32_t C = (int32_t)s->chip->array_cols;
    for (int r = 0; r < ROWS; r++) s->acc_live[r] = lazy ? (int32_t[]){ 0, 16, C / 4, C, 48, C - 16 }[r % 6] : C;
}

/* One ACTIVATE through both paths; 0 when they write the same bytes. */
static int same(struct tpu_sim *s, const struct tpu_insn *in, size_t out_bytes, uint8_t *fast, char *why,
                size_t why_n, int lazy)
{
    set_live(s, lazy);
    memset(s->ub + OUT_AT, 0x5a, out_bytes);
    if (sim_activate(s, in)) { snprintf(why, why_n, "fast: %s", s->fault_msg); return 1; }
    memcpy(fast, s->ub + OUT_AT, out_bytes);
    memset(s->ub + OUT_AT, 0xa5, out_bytes);
    set_live(s, lazy);
    if (sim_activate_generic(s, in)) { snprintf(why, why_n, "generic: %s", s->fault_msg); return 1; }
    for (size_t i = 0; i < out_bytes; i++)
        if (fast[i] != s->ub[OUT_AT + i]) {
            snprintf(why, why_n, "byte %zu: fast %02x generic %02x", i, fast[i], s->ub[OUT_AT + i]);
            return 1;
        }
    return 0;
}

static int check_chip(const char *name, int *n_cases)
{
    static const int32_t scales[][2] = { { 1, 0 }, { 1, 1 }, { 3, 4 }, { 12345, 20 }, { -7, 3 }, { 1 << 20, 30 } };
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = NULL;
    TEST_CHECK(tpu_chip_load(ctx, name, &c) == 0, "%s: %s", name, tpu_errmsg(ctx));
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    TEST_CHECK(s != NULL, "%s: no sim", name);
    int bf16 = c->mxu_dtype == TPU_MXU_BF16;
    size_t out_bytes = (size_t)ROWS * (size_t)c->array_cols * 4;
    uint8_t *fast = malloc(out_bytes);
    TEST_CHECK(fast != NULL, "out of memory");
    char why[256] = "";
    int bad = 0;
    s->cfg[TPU_CFG_BIAS_ADDR] = BIAS_AT;
    s->cfg[TPU_CFG_CLAMP_ADDR] = CLAMP_AT;
    for (int round = 0; round < (bf16 ? 3 : 5) && !bad; round++) {
        fill(s, bf16);                        /* int8 rounds 3, 4: lazy zero columns */
        for (size_t k = 0; k < sizeof scales / sizeof scales[0] && !bad; k++)
            for (int func = 0; func < TPU_ACT_COUNT && !bad; func++) {
                if (!bf16 && (func == TPU_ACT_SIGMOID || func == TPU_ACT_TANH)) continue;
                for (int flags = 0; flags < 4 && !bad; flags++)
                    for (uint32_t pool = 1; pool <= 4 && !bad; pool++) {
                        if (ROWS % pool) continue;
                        s->cfg[TPU_CFG_REQUANT_MULT] = scales[k][0];
                        s->cfg[TPU_CFG_REQUANT_SHIFT] = scales[k][1];
                        struct tpu_insn in = { TPU_INSN_ACTIVATE, (uint8_t)flags, (uint16_t)func, 0, OUT_AT,
                                               ROWS, pool == 1 ? 0 : pool };
                        size_t elem = (flags & 1) ? 4 : bf16 ? 2 : 1;
                        size_t bytes = (size_t)(ROWS / pool) * (size_t)c->array_cols * elem;
                        if (same(s, &in, bytes, fast, why, sizeof why, round >= 3)) {
                            snprintf(test_why, sizeof test_why, "%s func %d flags %d pool %u scale %d>>%d: %s",
                                     name, func, flags, pool, scales[k][0], scales[k][1], why);
                            bad = 1;
                        }
                        (*n_cases)++;
                    }
            }
    }
    free(fast);
    tpu_sim_free(s);
    tpu_chip_free(c);
    tpu_free(ctx);
    return bad;
}

static int test_activate_fast_equals_generic(void)
{
    int n = 0;
    if (check_chip("tpu-v1", &n) || check_chip("tpu-v5e", &n)) return 1;
    TEST_CHECK(n > 300, "only %d cases ran", n);
    return 0;
}

static const struct test_case cases[] = {
    { "sim-act-1 ACTIVATE specialised loops equal the generic loop (int8, bf16)",
      test_activate_fast_equals_generic },
};
TEST_MAIN(cases)
