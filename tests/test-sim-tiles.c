/*
** tests/test-sim-tiles.c: the MXU's weight tiles across runs (sim/sim_mxu.c).
** Inside tpu_sim_run LD_WEIGHTS reads a tile where it lies in the program's
** weight image; when the run ends the active and shadow tiles are copied
** into the MXU's own buffers, so a next program's MATMUL without LD_WEIGHTS
** multiplies by them after the first program (and its image) is freed.
*/
#include "compile/compile.h"
#include "sim/sim.h"
#include "testlib.h"
#include <string.h>

enum { R = 8, M = 3 };

static int test_tiles_outlive_their_program(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = NULL;
    TEST_CHECK(tpu_chip_load(ctx, "tpu-v1", &c) == 0, "%s", tpu_errmsg(ctx));
    TEST_CHECK(tpu_chip_set_array(ctx, c, "8x8") == 0, "%s", tpu_errmsg(ctx));
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    TEST_CHECK(s != NULL, "%s", tpu_errmsg(ctx));
    int8_t w[2][R][R], a[M][R];
    for (int t = 0; t < 2; t++)
        for (int k = 0; k < R; k++)
            for (int n = 0; n < R; n++) w[t][k][n] = (int8_t)((t + 1) * (k - n) + 3 * (n % 3));
    for (int i = 0; i < M; i++)
        for (int k = 0; k < R; k++) a[i][k] = (int8_t)(5 * i - k + 1);
    memcpy(s->ub, a, sizeof a);
    /* run 1 leaves tile 1 active (shadow empty), run 3 leaves tile 0 in the
    ** shadow; runs 2 and 4 multiply by them after those programs are freed */
    struct tpu_insn run1[] = {
        { TPU_INSN_RD_WEIGHTS, 0, 0, 0, 0, 2, 0 },
        { TPU_INSN_LD_WEIGHTS, 0, 0, R, R, 0, 0 }, { TPU_INSN_MATMUL, 0, 0, 0, 0, M, 0 },
        { TPU_INSN_LD_WEIGHTS, 0, 0, R, R, 0, 0 }, { TPU_INSN_MATMUL, 0, 0, 0, M, M, 0 },
    };
    struct tpu_insn run3[] = {
        { TPU_INSN_RD_WEIGHTS, 0, 0, 0, 0, 1, 0 }, { TPU_INSN_LD_WEIGHTS, 0, 0, R, R, 0, 0 },
    };
    struct tpu_insn run2 = { TPU_INSN_MATMUL, 0, 0, 0, 2 * M, M, 0 }, run4 = { TPU_INSN_MATMUL, 0, 0, 0, 3 * M, M, 0 };
    struct { const struct tpu_insn *in; size_t n; int free_after; } runs[] = {
        { run1, sizeof run1 / sizeof run1[0], 1 }, { &run2, 1, 0 }, { run3, 2, 1 }, { &run4, 1, 0 },
    };
    for (int r = 0; r < 4; r++) {
        struct tpu_program *p = tpu_program_new(ctx);
        TEST_CHECK(p != NULL, "no program");
        if (runs[r].free_after)
            TEST_CHECK(tpu_program_add_weights(ctx, p, r == 0 ? (const void *)w : (const void *)w[0],
                                               r == 0 ? sizeof w : sizeof w[0], NULL) == 0, "weights");
        for (size_t i = 0; i < runs[r].n; i++) tpu_program_emit(ctx, p, &runs[r].in[i]);
        TEST_CHECK(tpu_sim_run(s, p, NULL, 0) == 0, "run %d: %s", r + 1, tpu_errmsg(ctx));
        tpu_program_free(p);                       /* its weight image is gone */
    }
    const int32_t *acc = (const int32_t *)(const void *)s->acc;
    static const int tile_of[4] = { 0, 1, 1, 0 };
    for (int blk = 0; blk < 4; blk++)
        for (int i = 0; i < M; i++)
            for (int n = 0; n < R; n++) {
                int32_t want = 0;
                for (int k = 0; k < R; k++) want += a[i][k] * w[tile_of[blk]][k][n];
                int32_t got = acc[(blk * M + i) * R + n];
                TEST_CHECK(got == want, "block %d row %d col %d: %d, want %d", blk, i, n, got, want);
            }
    tpu_sim_free(s);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

static const struct test_case cases[] = {
    { "sim-tiles-1 the MXU's weight tiles outlive the program they came from", test_tiles_outlive_their_program },
};
TEST_MAIN(cases)
