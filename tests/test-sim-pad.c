/*
** tests/test-sim-pad.c: ACTIVATE's padding words (sim/sim_mxu.c s->pad_*).
** Inside one tpu_sim_run a raw ACTIVATE leaves the words from each row's
** acc_live on unwritten when the previous one into the same rows wrote the
** same values there. Random programs of raw ACTIVATEs (several accumulator
** row ranges with different acc_live, two output bases that overlap, bias
** tables switched by SET_CFG, relu / none / clip), RD_HOSTs into and beside
** the output rows and int8 ACTIVATEs into them, run as one program must leave
** the same UB bytes as the same instructions run one per tpu_sim_run (where
** every word is written).
*/
#include "compile/compile.h"
#include "sim/sim.h"
#include "testlib.h"
#include <string.h>

enum { ROWS = 24, GROUPS = 4, BIAS_A = 0, BIAS_B = 4096, CLAMP_AT = 8192, OUT_AT = 65536, ROUNDS = 600 };

static uint64_t rng = 0x243f6a8885a308d3u;
static uint32_t rnd32(void)
{
    rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* The same starting state in both simulators: accumulators, acc_live per
** row (lazy zero columns), tables; the output rows filled with junk. */
static void start_state(struct tpu_sim *s)
{
    int64_t C = s->chip->array_cols;
    uint64_t keep = rng;
    static const int32_t live[GROUPS][3] = { { 64, 64, 64 }, { 16, 16, 16 }, { 64, 16, 0 }, { 256, 256, 48 } };
    for (int64_t i = 0; i < GROUPS * ROWS * C; i++) {
        int32_t v = (int32_t)(rnd32() % 20001) - 10000;
        memcpy(s->acc + 4 * i, &v, 4);
    }
    for (int r = 0; r < GROUPS * ROWS; r++) {
        int32_t n = live[r / ROWS][r % 3];             /* a narrow MATMUL: the same for its rows */
        s->acc_live[r] = n < C ? n : (int32_t)C;
    }
    for (int64_t j = 0; j < C; j++) {
        int32_t a = (int32_t)(rnd32() % 41) - 20, b = j % 3 ? a : a + 7, lo = -(int32_t)(rnd32() % 50),
                hi = (int32_t)(rnd32() % 5000);
        memcpy(s->ub + BIAS_A + 4 * j, &a, 4);
        memcpy(s->ub + BIAS_B + 4 * j, &b, 4);
        memcpy(s->ub + CLAMP_AT + 4 * j, &lo, 4);
        memcpy(s->ub + CLAMP_AT + 4 * (C + j), &hi, 4);
    }
    memset(s->ub + OUT_AT, 0x77, (size_t)(2 * ROWS * C * 4));
    rng = keep;
}

/* One random instruction of the program; raw ACTIVATEs mostly with the
** round's func, flags and accumulator rows (as a node's passes: the same
** padding values). */
static struct tpu_insn pick(int64_t C, uint16_t func0, uint8_t flags0, uint32_t group0)
{
    uint32_t k = rnd32() % 10, rows = 1 + rnd32() % ROWS;
    uint32_t out = OUT_AT + (rnd32() % 4 == 0 ? (uint32_t)(5 * C * 4) : 0);
    if (k < 6) {
        uint16_t func = (uint16_t)(rnd32() % 3 == 0 ? TPU_ACT_NONE : rnd32() % 2 ? TPU_ACT_RELU : TPU_ACT_CLIP);
        uint8_t flags = (uint8_t)(1 | (rnd32() % 4 ? 2 : 0));
        uint32_t group = rnd32() % GROUPS;
        if (rnd32() % 4) func = func0, flags = flags0, group = group0;
        return (struct tpu_insn){ TPU_INSN_ACTIVATE, flags, func, group * ROWS, out, rows, 0 };
    }
    if (k == 6 && rnd32() % 3 == 0) return (struct tpu_insn){ TPU_INSN_SET_CFG, 0, TPU_CFG_BIAS_ADDR, rnd32() % 2 ? BIAS_A : BIAS_B, 0, 0, 0 };
    if (k == 7) {                                 /* into the output rows, or just past them */
        uint32_t at = rnd32() % 2 ? OUT_AT + (uint32_t)(rnd32() % (ROWS * C)) * 4 : OUT_AT + (uint32_t)(ROWS * C * 4 * 2);
        return (struct tpu_insn){ TPU_INSN_RD_HOST, 0, 0, 0, at, 64 + rnd32() % 256, 0 };
    }
    if (k == 8) return (struct tpu_insn){ TPU_INSN_ACTIVATE, 2, TPU_ACT_RELU, 0, out, rows, 0 };   /* int8 out */
    return (struct tpu_insn){ TPU_INSN_NOP, 0, 0, 0, 0, 0, 0 };
}

static int run_case(struct tpu_ctx *ctx, const struct tpu_chip *c, struct tpu_sim *one, struct tpu_sim *each,
                    uint8_t *host, size_t host_n, int round)
{
    int64_t C = c->array_cols;
    struct tpu_program *p = tpu_program_new(ctx);
    TEST_CHECK(p != NULL, "no program");
    struct tpu_insn cfg[] = {
        { TPU_INSN_SET_CFG, 0, TPU_CFG_REQUANT_MULT, 3, 0, 0, 0 },
        { TPU_INSN_SET_CFG, 0, TPU_CFG_REQUANT_SHIFT, 4, 0, 0, 0 },
        { TPU_INSN_SET_CFG, 0, TPU_CFG_BIAS_ADDR, BIAS_A, 0, 0, 0 },
        { TPU_INSN_SET_CFG, 0, TPU_CFG_CLAMP_ADDR, CLAMP_AT, 0, 0, 0 },
    };
    for (size_t i = 0; i < sizeof cfg / sizeof cfg[0]; i++) tpu_program_emit(ctx, p, &cfg[i]);
    uint16_t func0 = (uint16_t)(round % 2 ? TPU_ACT_RELU : TPU_ACT_CLIP);
    uint8_t flags0 = (uint8_t)(1 | (round % 3 ? 2 : 0));
    int n_insns = 2 + (int)(rnd32() % 7);            /* short: a wrong skip is not hidden by a later write */
    for (int i = 0; i < n_insns; i++) {
        struct tpu_insn in = pick(C, func0, flags0, (uint32_t)(round % GROUPS));
        TEST_CHECK(tpu_program_emit(ctx, p, &in) == 0, "emit");
    }
    start_state(one);
    start_state(each);
    TEST_CHECK(tpu_sim_run(one, p, host, host_n) == 0, "round %d, one run: %s", round, tpu_errmsg(ctx));
    struct tpu_program *q = tpu_program_new(ctx);
    TEST_CHECK(q != NULL, "no program");
    for (int i = 0; i < p->n_insns; i++) {         /* the same instructions, a run each */
        q->n_insns = 0;
        TEST_CHECK(tpu_program_emit(ctx, q, &p->insns[i]) == 0, "emit");
        TEST_CHECK(tpu_sim_run(each, q, host, host_n) == 0, "round %d, insn %d: %s", round, i, tpu_errmsg(ctx));
    }
    size_t at = OUT_AT, n = (size_t)(3 * ROWS * C * 4);
    for (size_t i = 0; i < n; i++)
        TEST_CHECK(one->ub[at + i] == each->ub[at + i], "round %d: UB byte %zu (row %zu word %zu): %02x, "
                   "run by run %02x", round, at + i, i / (size_t)(C * 4), i % (size_t)(C * 4) / 4,
                   one->ub[at + i], each->ub[at + i]);
    tpu_program_free(p);
    tpu_program_free(q);
    return 0;
}

static int test_pad_words_same_as_written(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &c) == 0, "%s", tpu_errmsg(ctx));
    struct tpu_sim *one = tpu_sim_new(ctx, c, 0), *each = tpu_sim_new(ctx, c, 0);
    TEST_CHECK(one && each, "no sim: %s", tpu_errmsg(ctx));
    size_t host_n = 4096;
    uint8_t *host = malloc(host_n);
    TEST_CHECK(host != NULL, "out of memory");
    for (size_t i = 0; i < host_n; i++) host[i] = (uint8_t)(i * 7 + 3);
    for (int round = 0; round < ROUNDS; round++)
        if (run_case(ctx, c, one, each, host, host_n, round)) return 1;
    free(host);
    tpu_sim_free(one);
    tpu_sim_free(each);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

static const struct test_case cases[] = {
    { "sim-pad-1 ACTIVATE's skipped padding words equal writing them every time",
      test_pad_words_same_as_written },
};
TEST_MAIN(cases)
