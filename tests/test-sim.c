/*
** tests/test-sim.c: the simulator on hand-written programs — bit-exact
** MATMUL (int8 and bf16, multi-tile accumulation), ACTIVATE requantisation
** (round half to even, saturation, ReLU, pooling), the vector unit (softmax
** pieces), faults with their report, Table-3 accounting, energy calibration
** and determinism.
*/
#include "compile/compile.h"
#include "sim/sim_gemm.h"
#include "testlib.h"
#include <math.h>
#include <string.h>

static struct tpu_chip *chip_with(struct tpu_ctx *ctx, const char *name, const char *array,
                                  const char *set)
{
    struct tpu_chip *c = NULL;
    if (tpu_chip_load(ctx, name, &c)) return NULL;
    if (array && tpu_chip_set_array(ctx, c, array)) { tpu_chip_free(c); return NULL; }
    if (set && tpu_chip_override(ctx, c, set)) { tpu_chip_free(c); return NULL; }
    return c;
}

static struct tpu_program *assemble(struct tpu_ctx *ctx, const char *text)
{
    struct tpu_program *p = NULL;
    if (tpu_program_assemble_text(ctx, "t.s", text, &p)) return NULL;
    return p;
}

static uint32_t rng = 99;
static int8_t rnd8(void) { rng = rng * 1103515245u + 12345u; return (int8_t)(rng >> 16); }

/* int8: A (5 x 20) x W (20 x 6) on an 8x8 array: 3 k-tiles accumulate. */
static int test_matmul_int8_exact(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, "tpu-v1", "8x8", NULL);
    TEST_CHECK(c, "%s", tpu_errmsg(ctx));
    enum { M = 5, K = 20, N = 6, R = 8 };
    int8_t A[M][K], W[K][N];
    for (int i = 0; i < M; i++) for (int k = 0; k < K; k++) A[i][k] = rnd8();
    for (int k = 0; k < K; k++) for (int j = 0; j < N; j++) W[k][j] = rnd8();
    struct tpu_program *p = tpu_program_new(ctx);
    uint8_t tile[R * R];
    for (int kt = 0; kt < 3; kt++) {                      /* weight image: 3 tiles */
        memset(tile, 0, sizeof tile);
        for (int kk = 0; kk < R && kt * R + kk < K; kk++)
            for (int j = 0; j < N; j++) tile[kk * R + j] = (uint8_t)W[kt * R + kk][j];
        tpu_program_add_weights(ctx, p, tile, sizeof tile, NULL);
    }
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    for (int kt = 0; kt < 3; kt++)                        /* UB: per k-tile M rows of R bytes */
        for (int i = 0; i < M; i++)
            for (int kk = 0; kk < R; kk++) s->ub[(kt * M + i) * R + kk] = kt * R + kk < K ? (uint8_t)A[i][kt * R + kk] : 0;
    struct tpu_insn prog[] = {
        { TPU_INSN_RD_WEIGHTS, 0, 0, 0, 0, 3, 0 },
        { TPU_INSN_LD_WEIGHTS, 0, 0, 8, N, 0, 0 }, { TPU_INSN_MATMUL, 0, 0, 0, 0, M, 0 },
        { TPU_INSN_LD_WEIGHTS, 0, 0, 8, N, 0, 0 }, { TPU_INSN_MATMUL, 1, 0, M * R, 0, M, 0 },
        { TPU_INSN_LD_WEIGHTS, 0, 0, 4, N, 0, 0 }, { TPU_INSN_MATMUL, 1, 0, 2 * M * R, 0, M, 0 },
        { TPU_INSN_HALT, 0, 0, 0, 0, 0, 0 } };
    for (size_t i = 0; i < sizeof prog / sizeof prog[0]; i++) tpu_program_emit(ctx, p, &prog[i]);
    TEST_CHECK(tpu_sim_run(s, p, NULL, 0) == 0, "%s", tpu_errmsg(ctx));
    const int32_t *acc = (const int32_t *)s->acc;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < R; j++) {
            int32_t want = 0;
            for (int k = 0; k < K && j < N; k++) want += A[i][k] * W[k][j];
            TEST_CHECK(acc[i * R + j] == want, "acc[%d][%d] = %d, want %d", i, j, acc[i * R + j], want);
        }
    TEST_CHECK(s->ctr.useful_macs == (int64_t)M * (8 * N + 8 * N + 4 * N), "useful %lld", (long long)s->ctr.useful_macs);
    TEST_CHECK(s->ctr.array_active_cycles == 3 * M, "active");
    tpu_sim_free(s);
    tpu_program_free(p);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

/* int8 MATMUL over the weight tile's nonzero box (sim_mxu.c): tiles with zero
** bottom rows and right columns (box narrower than a 16-column step, box
** wider, an all-zero tile), with and without +acc onto accumulators that
** hold earlier sums: every one of the array's columns equals the full
** product (columns past the box keep their sums, or become 0). */
static int test_matmul_int8_box(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, "tpu-v1", "32x48", NULL);
    TEST_CHECK(c, "%s", tpu_errmsg(ctx));
    enum { M = 9, R = 32, C = 48, TB = R * C };
    static const int box[4][2] = { { R, C }, { 20, 5 }, { 7, 37 }, { 0, 0 } };   /* rows, cols */
    static int8_t W[4][R][C], A[3][M][R];
    struct tpu_program *p = tpu_program_new(ctx);
    for (int t = 0; t < 4; t++) {
        for (int k = 0; k < R; k++)
            for (int j = 0; j < C; j++) W[t][k][j] = k < box[t][0] && j < box[t][1] ? rnd8() : 0;
        W[t][0][0] = t == 3 ? 0 : 1;                        /* the box's corner is nonzero */
        if (t < 3) W[t][box[t][0] - 1][box[t][1] - 1] = -3;
        tpu_program_add_weights(ctx, p, (const uint8_t *)W[t], TB, NULL);
    }
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    TEST_CHECK(s, "%s", tpu_errmsg(ctx));
    for (int a = 0; a < 3; a++)
        for (int i = 0; i < M; i++)
            for (int k = 0; k < R; k++) s->ub[(a * M + i) * R + k] = (uint8_t)(A[a][i][k] = rnd8());
    /* (tile, A, acc rows, +acc) in order; the last block: a full tile, then a
    ** narrow one (columns past 16 zero, the full tile's sums still stored
    ** there), then a full tile added onto it */
    static const int step[11][4] = { { 0, 0, 0, 0 }, { 1, 1, 0, 1 }, { 0, 0, M, 0 }, { 2, 2, M, 0 },
                                     { 0, 0, 2 * M, 0 }, { 3, 1, 2 * M, 1 }, { 0, 0, 3 * M, 0 }, { 3, 1, 3 * M, 0 },
                                     { 0, 2, 4 * M, 0 }, { 1, 1, 4 * M, 0 }, { 0, 0, 4 * M, 1 } };
    for (int i = 0; i < 11; i++) {
        struct tpu_insn rd = { TPU_INSN_RD_WEIGHTS, 0, 0, (uint32_t)(step[i][0] * TB), 0, 1, 0 };
        struct tpu_insn ld = { TPU_INSN_LD_WEIGHTS, 0, 0, R, C, 0, 0 };
        struct tpu_insn mm = { TPU_INSN_MATMUL, (uint8_t)step[i][3], 0, (uint32_t)(step[i][1] * M * R),
                               (uint32_t)step[i][2], M, 0 };
        tpu_program_emit(ctx, p, &rd);
        tpu_program_emit(ctx, p, &ld);
        tpu_program_emit(ctx, p, &mm);
    }
    struct tpu_insn halt = { TPU_INSN_HALT, 0, 0, 0, 0, 0, 0 };
    tpu_program_emit(ctx, p, &halt);
    TEST_CHECK(tpu_sim_run(s, p, NULL, 0) == 0, "%s", tpu_errmsg(ctx));
    const int32_t *acc = (const int32_t *)s->acc;
    for (int blk = 0; blk < 5; blk++)                        /* the last two steps of each block */
        for (int i = 0; i < M; i++)
            for (int j = 0; j < C; j++) {
                int32_t want = 0;
                for (int st = blk < 4 ? 2 * blk : 9; st < (blk < 4 ? 2 * blk : 9) + 2; st++) {
                    if (!step[st][3]) want = 0;
                    for (int k = 0; k < R; k++) want += A[step[st][1]][i][k] * W[step[st][0]][k][j];
                }
                TEST_CHECK(acc[(blk * M + i) * C + j] == want, "block %d acc[%d][%d] = %d, want %d", blk, i, j,
                           acc[(blk * M + i) * C + j], want);
            }
    tpu_sim_free(s);
    tpu_program_free(p);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

/* bf16 on tpu-v4 through the compiler: the chip equals tpu_gemm_bf16 with
** k_tile = 128 over the whole K, bit for bit (values already bf16). */
static int test_matmul_bf16_exact(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, "tpu-v4", NULL, NULL);
    TEST_CHECK(c, "%s", tpu_errmsg(ctx));
    enum { M = 9, K = 300, N = 140 };
    static float a[M * K], w[K * N], y[M * N], want[M * N];
    static uint16_t ah[M * K], wh[K * N];
    for (int i = 0; i < M * K; i++) { ah[i] = tpu_f32_to_bf16((float)rnd8() / 17.0f); a[i] = tpu_bf16_to_f32(ah[i]); }
    for (int i = 0; i < K * N; i++) { wh[i] = tpu_f32_to_bf16((float)rnd8() / 13.0f); w[i] = tpu_bf16_to_f32(wh[i]); }
    struct tpu_mm_desc d = { .name = "mm", .op = "MatMul", .groups = 1, .M = M, .K = K, .N = N };
    struct tpu_lowered l;
    TEST_CHECK(tpu_lower_mm(ctx, c, &d, w, &l) == 0, "%s", tpu_errmsg(ctx));
    uint8_t *host = calloc(1, (size_t)l.host_bytes);
    tpu_mm_pack_input(c, &l, a, host);
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    TEST_CHECK(tpu_sim_run(s, l.prog, host, l.host_bytes) == 0, "%s", tpu_errmsg(ctx));
    tpu_mm_unpack_output(c, &l, host, 1.0f, NULL, y);
    tpu_gemm_bf16(M, N, K, ah, K, wh, N, want, N, 0, 128);
    for (int i = 0; i < M * N; i++)
        TEST_CHECK(memcmp(&y[i], &want[i], 4) == 0, "element %d: %.9g vs %.9g", i, y[i], want[i]);
    free(host);
    tpu_sim_free(s);
    tpu_lowered_free(&l);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

/* ACTIVATE int8: y = sat8(rhe(acc * mult / 2^shift)), relu, pooling. acc
** values come from a MATMUL of a column of A by weight 2. */
static int run_activate(int mult, int shift, int func, int pool, const int8_t *a, int n, int8_t *out)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, "tpu-v1", "4x4", NULL);
    struct tpu_program *p = tpu_program_new(ctx);
    uint8_t tile[16] = { 2, 0, 0, 0 };
    tpu_program_add_weights(ctx, p, tile, 16, NULL);
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    for (int i = 0; i < n; i++) s->ub[i * 4] = (uint8_t)a[i];
    struct tpu_insn prog[] = {
        { TPU_INSN_SET_CFG, 0, TPU_CFG_REQUANT_MULT, (uint32_t)mult, 0, 0, 0 },
        { TPU_INSN_SET_CFG, 0, TPU_CFG_REQUANT_SHIFT, (uint32_t)shift, 0, 0, 0 },
        { TPU_INSN_RD_WEIGHTS, 0, 0, 0, 0, 1, 0 }, { TPU_INSN_LD_WEIGHTS, 0, 0, 1, 1, 0, 0 },
        { TPU_INSN_MATMUL, 0, 0, 0, 0, (uint32_t)n, 0 },
        { TPU_INSN_ACTIVATE, 0, (uint16_t)func, 0, 1000, (uint32_t)n, (uint32_t)pool },
        { TPU_INSN_HALT, 0, 0, 0, 0, 0, 0 } };
    for (size_t i = 0; i < sizeof prog / sizeof prog[0]; i++) tpu_program_emit(ctx, p, &prog[i]);
    int rc = tpu_sim_run(s, p, NULL, 0);
    for (int i = 0; i < n / (pool ? pool : 1); i++) out[i] = (int8_t)s->ub[1000 + i * 4];
    tpu_sim_free(s);
    tpu_program_free(p);
    tpu_chip_free(c);
    tpu_free(ctx);
    return rc;
}

static int test_activate_requant(void)
{
    const int8_t a[] = { 1, 3, 5, -1, -3, -5, 127, -128 };   /* acc = 2a */
    int8_t y[8];
    /* mult 1, shift 2: rhe(2a/4) = rhe(a/2): 0.5→0, 1.5→2, 2.5→2, -0.5→0, -1.5→-2, -2.5→-2, 63.5→64, -64 */
    const int8_t want_rhe[] = { 0, 2, 2, 0, -2, -2, 64, -64 };
    TEST_CHECK(run_activate(1, 2, TPU_ACT_NONE, 0, a, 8, y) == 0, "run");
    for (int i = 0; i < 8; i++) TEST_CHECK(y[i] == want_rhe[i], "rhe[%d] = %d, want %d", i, y[i], want_rhe[i]);
    /* mult 3, shift 0: 6a saturates to [-128, 127]; relu zeroes negatives */
    const int8_t want_sat[] = { 6, 18, 30, 0, 0, 0, 127, 0 };
    TEST_CHECK(run_activate(3, 0, TPU_ACT_RELU, 0, a, 8, y) == 0, "run");
    for (int i = 0; i < 8; i++) TEST_CHECK(y[i] == want_sat[i], "sat[%d] = %d, want %d", i, y[i], want_sat[i]);
    /* pool 2: max of pairs after requant (mult 1 shift 1 = a) */
    const int8_t want_pool[] = { 3, 5, -3, 127 };
    TEST_CHECK(run_activate(1, 1, TPU_ACT_NONE, 2, a, 8, y) == 0, "run");
    for (int i = 0; i < 4; i++) TEST_CHECK(y[i] == want_pool[i], "pool[%d] = %d, want %d", i, y[i], want_pool[i]);
    TEST_CHECK(run_activate(1, 1, TPU_ACT_SIGMOID, 0, a, 8, y) == TPU_ERR_SIM_FAULT, "sigmoid on int8 must fault");
    return 0;
}

/* ACTIVATE with +bias and func clip (2026-11-22): a 4x4 array whose weight
** row 0 is all ones, so acc[i][j] = a[i]; tables at UB 2000 (bias) and 3000
** (clamp lo[4], hi[4]) unless bias_at / clamp_at point elsewhere. Results
** (32-bit with +raw, else int8) from UB 1000 into out; the fault into *f. */
static int run_act_tab(const char *chip_name, int func, int flags, const void *bias, const void *clamp,
                       uint32_t bias_at, uint32_t clamp_at, const float *a, int n, uint8_t *out,
                       enum tpu_fault *f)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, chip_name, "4x4", NULL);
    int bf16 = c->mxu_dtype == TPU_MXU_BF16, elem = bf16 ? 2 : 1;
    struct tpu_program *p = tpu_program_new(ctx);
    uint8_t tile[32] = { 0 };
    for (int j = 0; j < 4; j++) {
        if (bf16) { uint16_t one = tpu_f32_to_bf16(1.0f); memcpy(tile + 2 * j, &one, 2); }
        else tile[j] = 1;
    }
    tpu_program_add_weights(ctx, p, tile, (uint64_t)(16 * elem), NULL);
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    for (int i = 0; i < n; i++) {
        if (bf16) { uint16_t h = tpu_f32_to_bf16(a[i]); memcpy(s->ub + i * 4 * elem, &h, 2); }
        else s->ub[i * 4] = (uint8_t)(int8_t)a[i];
    }
    if (bias) memcpy(s->ub + 2000, bias, 16);
    if (clamp) memcpy(s->ub + 3000, clamp, 32);
    struct tpu_insn prog[] = {
        { TPU_INSN_SET_CFG, 0, TPU_CFG_REQUANT_MULT, 1, 0, 0, 0 },
        { TPU_INSN_SET_CFG, 0, TPU_CFG_REQUANT_SHIFT, 0, 0, 0, 0 },
        { TPU_INSN_SET_CFG, 0, TPU_CFG_BIAS_ADDR, bias_at, 0, 0, 0 },
        { TPU_INSN_SET_CFG, 0, TPU_CFG_CLAMP_ADDR, clamp_at, 0, 0, 0 },
        { TPU_INSN_RD_WEIGHTS, 0, 0, 0, 0, 1, 0 }, { TPU_INSN_LD_WEIGHTS, 0, 0, 1, 4, 0, 0 },
        { TPU_INSN_MATMUL, 0, 0, 0, 0, (uint32_t)n, 0 },
        { TPU_INSN_ACTIVATE, (uint8_t)flags, (uint16_t)func, 0, 1000, (uint32_t)n, 0 },
        { TPU_INSN_HALT, 0, 0, 0, 0, 0, 0 } };
    for (size_t i = 0; i < sizeof prog / sizeof prog[0]; i++) tpu_program_emit(ctx, p, &prog[i]);
    int rc = tpu_sim_run(s, p, NULL, 0);
    memcpy(out, s->ub + 1000, (size_t)n * 16);
    *f = s->fault;
    tpu_sim_free(s);
    tpu_program_free(p);
    tpu_chip_free(c);
    tpu_free(ctx);
    return rc;
}

static int test_activate_bias_clip(void)
{
    const float a[] = { 0, 7, -7, 100, -100, 127 };
    enum tpu_fault f;
    uint8_t out[6 * 16];
    /* int8: int32 tables; v = clamp(acc + bias, lo, hi) per column, +raw int32 */
    const int32_t bi[4] = { 10, -10, 100, -300 }, cl[8] = { -5, -5, 0, -1000, 5, 1000, 50, 1000 };
    TEST_CHECK(run_act_tab("tpu-v1", TPU_ACT_CLIP, 3, bi, cl, 2000, 3000, a, 6, out, &f) == 0, "int8 clip");
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) {
            int32_t got, v = (int32_t)a[i] + bi[j];
            memcpy(&got, out + (i * 4 + j) * 4, 4);
            v = v < cl[j] ? cl[j] : v > cl[4 + j] ? cl[4 + j] : v;
            TEST_CHECK(got == v, "int8 clip (%d,%d): %d, want %d", i, j, got, v);
        }
    /* int8 without +raw: relu(acc + bias), requant x1, saturated to int8 */
    TEST_CHECK(run_act_tab("tpu-v1", TPU_ACT_RELU, 2, bi, NULL, 2000, 0, a, 6, out, &f) == 0, "int8 relu");
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) {
            int v = (int)a[i] + bi[j];
            v = v < 0 ? 0 : v > 127 ? 127 : v;
            TEST_CHECK((int8_t)out[i * 4 + j] == v, "int8 relu (%d,%d): %d, want %d", i, j, (int8_t)out[i * 4 + j], v);
        }
    /* bf16: fp32 tables; acc + bias in fp32, then clip / sigmoid, +raw fp32 */
    const float bf[4] = { 0.5f, -0.25f, 3.0f, -200.0f }, cf[8] = { -1, -INFINITY, 0, -50, 1, INFINITY, 60, 50 };
    TEST_CHECK(run_act_tab("tpu-v5e", TPU_ACT_CLIP, 3, bf, cf, 2000, 3000, a, 6, out, &f) == 0, "bf16 clip");
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) {
            float got, v = a[i] + bf[j];
            memcpy(&got, out + (i * 4 + j) * 4, 4);
            v = v < cf[j] ? cf[j] : v;
            v = v > cf[4 + j] ? cf[4 + j] : v;
            TEST_CHECK(memcmp(&got, &v, 4) == 0, "bf16 clip (%d,%d): %g, want %g", i, j, got, v);
        }
    TEST_CHECK(run_act_tab("tpu-v5e", TPU_ACT_SIGMOID, 3, bf, NULL, 2000, 0, a, 6, out, &f) == 0, "bf16 sigmoid");
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 4; j++) {
            float got, v = 1.0f / (1.0f + expf(-(a[i] + bf[j])));
            memcpy(&got, out + (i * 4 + j) * 4, 4);
            TEST_CHECK(memcmp(&got, &v, 4) == 0, "bf16 sigmoid (%d,%d): %g, want %g", i, j, got, v);
        }
    /* tables out of the UB or unaligned: a fault report, not a crash */
    TEST_CHECK(run_act_tab("tpu-v1", TPU_ACT_NONE, 3, bi, NULL, 0xfffffff0u, 0, a, 6, out, &f) ==
               TPU_ERR_SIM_FAULT && f == TPU_FAULT_UB_RANGE, "bias table beyond the UB must fault (%d)", f);
    TEST_CHECK(run_act_tab("tpu-v5e", TPU_ACT_CLIP, 1, NULL, cf, 0, 3002, a, 6, out, &f) ==
               TPU_ERR_SIM_FAULT && f == TPU_FAULT_UB_RANGE, "unaligned clamp table must fault (%d)", f);
    TEST_CHECK(run_act_tab("tpu-v1", TPU_ACT_TANH, 3, bi, NULL, 2000, 0, a, 6, out, &f) ==
               TPU_ERR_SIM_FAULT && f == TPU_FAULT_BAD_OPERAND, "tanh on int8 must fault (%d)", f);
    TEST_CHECK(run_act_tab("tpu-v1", 9, 1, NULL, NULL, 0, 0, a, 6, out, &f) == TPU_ERR_SIM_FAULT &&
               f == TPU_FAULT_BAD_OPERAND, "func 9 must fault (%d)", f);
    return 0;
}

/* Softmax of 2 rows of 5 with the vector unit, vs the same float ops in C. */
static int test_vector_softmax(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, "tpu-v5e", NULL, NULL);
    struct tpu_program *p = assemble(ctx,
        "VRMAX dst=100 src=0 len=5 n=2\n"          /* m[r] */
        "VBSUB dst=200 src=0 src2=100 n=2 len=5\n" /* x - m */
        "VEXP dst=200 src=200 n=10\n"
        "VRSUM dst=300 src=200 len=5 n=2\n"
        "VRECIP dst=300 src=300 n=2\n"
        "VBMUL dst=400 src=200 src2=300 n=2 len=5\n"
        "VTRANS dst=500 src=400 rows=2 cols=5\nHALT\n");
    TEST_CHECK(c && p, "%s", tpu_errmsg(ctx));
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    float x[10] = { 1, 2, 3, 4, 5, -1, 0.5f, 7, 2, 2 }, y[10], yt[10];
    memcpy(s->ub, x, sizeof x);
    TEST_CHECK(tpu_sim_run(s, p, NULL, 0) == 0, "%s", tpu_errmsg(ctx));
    memcpy(y, s->ub + 400, sizeof y);
    memcpy(yt, s->ub + 500, sizeof yt);
    for (int r = 0; r < 2; r++) {
        float m = -INFINITY, sum = 0, e[5];
        for (int j = 0; j < 5; j++) m = fmaxf(m, x[r * 5 + j]);
        for (int j = 0; j < 5; j++) { e[j] = expf(x[r * 5 + j] - m); sum += e[j]; }
        float inv = 1.0f / sum;
        for (int j = 0; j < 5; j++) {
            TEST_CHECK(y[r * 5 + j] == e[j] * inv, "softmax[%d][%d] %.9g vs %.9g", r, j, y[r * 5 + j], e[j] * inv);
            TEST_CHECK(yt[j * 2 + r] == y[r * 5 + j], "transpose");
        }
    }
    tpu_sim_free(s);
    tpu_program_free(p);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

/* Runs text on tpu-v1 (optionally modified); expects a fault whose message has want. */
static int expect_fault(const char *array, const char *set, const char *text, const char *want)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, "tpu-v1", array, set);
    struct tpu_program *p = c ? assemble(ctx, text) : NULL;
    struct tpu_sim *s = p ? tpu_sim_new(ctx, c, 0) : NULL;
    int ok = s && tpu_sim_run(s, p, NULL, 64) == TPU_ERR_SIM_FAULT && strstr(tpu_errmsg(ctx), want) &&
             strstr(tpu_errmsg(ctx), "cycle");
    if (!ok) snprintf(test_why, sizeof test_why, "wanted '%s', got '%s'", want, tpu_errmsg(ctx));
    tpu_sim_free(s);
    tpu_program_free(p);
    tpu_chip_free(c);
    tpu_free(ctx);
    return !ok;
}

static int test_faults(void)
{
    const char *w = ".zero 65536\nRD_WEIGHTS dram=0 tiles=1 mxu=0\nLD_WEIGHTS k=256 n=256 mxu=0\n";
    char text[512];
    snprintf(text, sizeof text, "%sMATMUL ub=25165568 acc=0 rows=2 mxu=0\n", w);
    if (expect_fault(NULL, NULL, text, "unified-buffer address out of range at pc 2")) return 1;
    if (expect_fault(NULL, NULL, text, "MATMUL ub=25165568 acc=0 rows=2")) return 1;
    snprintf(text, sizeof text, "%sMATMUL ub=0 acc=4095 rows=2 mxu=0\n", w);
    if (expect_fault(NULL, NULL, text, "accumulator address out of range")) return 1;
    if (expect_fault(NULL, NULL, ".zero 65536\nRD_WEIGHTS dram=0 tiles=2\n", "weight-memory address out of range")) return 1;
    if (expect_fault(NULL, NULL, ".zero 327680\nRD_WEIGHTS dram=0 tiles=5\n", "weight FIFO overflow")) return 1;
    if (expect_fault(NULL, NULL, "LD_WEIGHTS k=1 n=1\n", "weight FIFO empty")) return 1;
    if (expect_fault(NULL, NULL, "MATMUL rows=1\n", "no weights in the array")) return 1;
    if (expect_fault(NULL, NULL, "RD_HOST host=60 ub=0 bytes=8\n", "host-memory address out of range")) return 1;
    if (expect_fault(NULL, NULL, "LD_WEIGHTS mxu=1\n", "bad operand")) return 1;
    if (expect_fault(NULL, NULL, "SET_CFG reg=9 value=1\n", "no configuration register 9")) return 1;
    if (expect_fault(NULL, NULL, "VADD dst=2 src=0 src2=0 n=1\n", "aligned")) return 1;
    {   /* an opcode the decoder would refuse, placed directly in a program */
        struct tpu_ctx *ctx = tpu_init();
        struct tpu_chip *c = chip_with(ctx, "tpu-v1", NULL, NULL);
        struct tpu_program *p = assemble(ctx, "NOP\nNOP\n");
        struct tpu_insn bad = { 0xee, 0, 0, 0, 0, 0, 0 };
        tpu_program_emit(ctx, p, &bad);
        struct tpu_sim *s = tpu_sim_new(ctx, c, 1);
        TEST_CHECK(tpu_sim_run(s, p, NULL, 0) == TPU_ERR_SIM_FAULT &&
                   strstr(tpu_errmsg(ctx), "bad opcode at pc 2, cycle 2"), "%s", tpu_errmsg(ctx));
        tpu_sim_free(s);
        tpu_program_free(p);
        tpu_chip_free(c);
        tpu_free(ctx);
    }
    /* trap on, but no overflow: 16 weights of -128 against a UB row of -128 add
    ** 16 x 16384 = 2^18 per MATMUL; 40 MATMULs stay far below 2^31 */
    char big[8192];
    int n = snprintf(big, sizeof big, ".data");
    for (int i = 0; i < 16; i++) n += snprintf(big + n, sizeof big - (size_t)n, " 80");
    n += snprintf(big + n, sizeof big - (size_t)n, "\n.zero 4080\nRD_WEIGHTS tiles=1\nLD_WEIGHTS k=16 n=1\n");
    for (int i = 0; i < 40; i++) n += snprintf(big + n, sizeof big - (size_t)n, "MATMUL ub=0 acc=0 rows=1 %s\n", i ? "+acc" : "");
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, "tpu-v1", "4096x1", "acc_overflow_trap=1");
    struct tpu_program *p = assemble(ctx, big);
    TEST_CHECK(c && p, "%s", tpu_errmsg(ctx));
    struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
    memset(s->ub, 0x80, 4096);                              /* UB row: all -128 */
    TEST_CHECK(tpu_sim_run(s, p, NULL, 0) == 0, "no overflow expected: %s", tpu_errmsg(ctx));
    TEST_CHECK(((int32_t *)s->acc)[0] == 40 * 16 * 16384, "acc %d", ((int32_t *)s->acc)[0]);
    tpu_sim_free(s);
    tpu_program_free(p);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

static int test_acc_overflow_trap(void)
{
    /* 4096x1 array; weights all -128 (4096 bytes), UB row all -128: every
    ** MATMUL adds 4096 x 16384 = 2^26; after 31 the sum is 31 x 2^26 < 2^31,
    ** the 32nd reaches 2^31 > INT32_MAX: fault at pc 2 + 31 = 33. */
    char *text = malloc(1 << 16);
    int n = 0;
    for (int line = 0; line < 128; line++) {
        n += snprintf(text + n, 1 << 16, ".data");
        for (int i = 0; i < 32; i++) n += snprintf(text + n, 1 << 16, " 80");
        n += snprintf(text + n, 1 << 16, "\n");
    }
    n += snprintf(text + n, 1 << 16, "RD_WEIGHTS tiles=1\nLD_WEIGHTS k=4096 n=1\n");
    for (int i = 0; i < 40; i++) n += snprintf(text + n, 1 << 16, "MATMUL ub=0 acc=0 rows=1 %s\n", i ? "+acc" : "");
    for (int trap = 0; trap < 2; trap++) {
        struct tpu_ctx *ctx = tpu_init();
        struct tpu_chip *c = chip_with(ctx, "tpu-v1", "4096x1", trap ? "acc_overflow_trap=1" : NULL);
        struct tpu_program *p = assemble(ctx, text);
        TEST_CHECK(c && p, "%s", tpu_errmsg(ctx));
        struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
        memset(s->ub, 0x80, 4096);
        enum tpu_status rc = tpu_sim_run(s, p, NULL, 0);
        if (trap) TEST_CHECK(rc == TPU_ERR_SIM_FAULT && strstr(tpu_errmsg(ctx), "accumulator overflow at pc 33"),
                             "%s", tpu_errmsg(ctx));
        else TEST_CHECK(rc == 0 && ((int32_t *)s->acc)[0] == (int32_t)(40u << 26), "wrap: %d", ((int32_t *)s->acc)[0]);
        tpu_sim_free(s);
        tpu_program_free(p);
        tpu_chip_free(c);
        tpu_free(ctx);
    }
    free(text);
    return 0;
}

/* Table 3 rows 1+4+5+6 = cycles x mxu_count; results and counters deterministic. */
static int test_accounting_and_determinism(void)
{
    static const char *chips[] = { "tpu-v1", "tpu-v4", "tpu-v5e" };
    for (int ci = 0; ci < 3; ci++) {
        struct tpu_sim_counters k[2];
        float *y[2];
        for (int rep = 0; rep < 2; rep++) {
            rng = 99;                                     /* same inputs both times */
            struct tpu_ctx *ctx = tpu_init();
            struct tpu_chip *c = chip_with(ctx, chips[ci], NULL, NULL);
            struct tpu_mm_desc d = { .name = "g", .op = "Gemm", .groups = 2, .M = 2500, .K = 300, .N = 140 };
            float *w = malloc(sizeof(float) * 2 * 300 * 140), *a = malloc(sizeof(float) * 2 * 2500 * 300);
            for (int i = 0; i < 2 * 300 * 140; i++) w[i] = rnd8() / 128.0f;
            for (int i = 0; i < 2 * 2500 * 300; i++) a[i] = (i % 37) / 37.0f - 0.5f;
            struct tpu_lowered l;
            TEST_CHECK(tpu_lower_mm(ctx, c, &d, w, &l) == 0, "%s", tpu_errmsg(ctx));
            uint8_t *host = calloc(1, l.host_bytes);
            tpu_mm_pack_input(c, &l, a, host);
            struct tpu_sim *s = tpu_sim_new(ctx, c, 0);
            TEST_CHECK(tpu_sim_run(s, l.prog, host, l.host_bytes) == 0, "%s", tpu_errmsg(ctx));
            k[rep] = s->ctr;
            y[rep] = malloc(sizeof(float) * 2 * 2500 * 140);
            tpu_mm_unpack_output(c, &l, host, 1.0f, NULL, y[rep]);
            TEST_CHECK(k[rep].array_active_cycles + k[rep].weight_stall_cycles + k[rep].weight_shift_cycles +
                       k[rep].non_matrix_cycles == k[rep].cycles * c->mxu_count, "%s: classes do not add up", chips[ci]);
            TEST_CHECK(k[rep].useful_macs == 2LL * 2500 * 300 * 140, "%s useful MACs", chips[ci]);
            free(host); free(w); free(a);
            tpu_sim_free(s);
            tpu_lowered_free(&l);
            tpu_chip_free(c);
            tpu_free(ctx);
        }
        TEST_CHECK(memcmp(&k[0], &k[1], sizeof k[0]) == 0, "%s: counters differ between runs", chips[ci]);
        TEST_CHECK(memcmp(y[0], y[1], sizeof(float) * 2 * 2500 * 140) == 0, "%s: results differ", chips[ci]);
        free(y[0]); free(y[1]);
    }
    return 0;
}

/* tpu-v1 energy: a compute-bound GEMM with activations resident in the UB
** (K = 2048 accumulates, weights hidden under 2048-row passes) draws about
** the calibrated 40 W; a program doing nothing draws the 28 W idle power. */
static int test_energy_calibration(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = chip_with(ctx, "tpu-v1", NULL, NULL);
    struct tpu_mm_desc d = { .name = "busy", .op = "Gemm", .groups = 1, .M = 16384, .K = 2048, .N = 256, .resident = TPU_RESIDENT_BOTH };
    struct tpu_lowered l;
    TEST_CHECK(tpu_lower_mm(ctx, c, &d, NULL, &l) == 0, "%s", tpu_errmsg(ctx));
    struct tpu_sim *s = tpu_sim_new(ctx, c, 1);
    TEST_CHECK(tpu_sim_run(s, l.prog, NULL, l.host_bytes) == 0, "%s", tpu_errmsg(ctx));
    struct tpu_sim_energy e;
    tpu_sim_energy(c, &s->ctr, &e);
    double busy = (double)s->ctr.array_active_cycles / (double)s->ctr.cycles;
    TEST_CHECK(busy > 0.9, "array busy only %.2f of the time", busy);
    TEST_CHECK(e.average_watts > 38.5 && e.average_watts < 40.5, "busy %.2f W (array busy %.2f)", e.average_watts, busy);
    tpu_sim_free(s);
    tpu_lowered_free(&l);
    struct tpu_program *p = assemble(ctx, "NOP\nNOP\nNOP\nNOP\nHALT\n");
    s = tpu_sim_new(ctx, c, 0);
    TEST_CHECK(tpu_sim_run(s, p, NULL, 0) == 0, "%s", tpu_errmsg(ctx));
    tpu_sim_energy(c, &s->ctr, &e);
    TEST_CHECK(fabs(e.average_watts - 28.0) < 1e-9, "idle %.3f W", e.average_watts);
    tpu_sim_free(s);
    tpu_program_free(p);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

static const struct test_case cases[] = {
    { "sim-1.1 int8 MATMUL bit-exact across k-tiles", test_matmul_int8_exact },
    { "sim-1.2 bf16 MATMUL equals the systolic-order kernel", test_matmul_bf16_exact },
    { "sim-1.5 int8 MATMUL over the tile's nonzero box equals the full product", test_matmul_int8_box },
    { "sim-1.3 ACTIVATE requantisation, saturation, relu, pooling", test_activate_requant },
    { "sim-1.3b ACTIVATE bias and clip tables (int8, bf16), table faults", test_activate_bias_clip },
    { "sim-1.4 vector unit softmax and transpose", test_vector_softmax },
    { "sim-2.1 faults stop the run with pc, cycle, instruction", test_faults },
    { "sim-2.2 accumulator overflow traps or wraps", test_acc_overflow_trap },
    { "sim-3.1 Table-3 accounting and determinism", test_accounting_and_determinism },
    { "sim-3.2 tpu-v1 energy: ~40 W busy, 28 W idle", test_energy_calibration },
};
TEST_MAIN(cases)
