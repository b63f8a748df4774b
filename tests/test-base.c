/*
** tests/test-base.c: unit tests of base/ (arena, allocation hook, half
** conversions, errors) and ir/graph.c helpers.
*/
#include "ir/ir.h"
#include "testlib.h"
#include <math.h>

static int test_f16_roundtrip(void)
{
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = tpu_f16_to_f32((uint16_t)h);
        if (isnan(f)) continue;
        TEST_CHECK(tpu_f32_to_f16(f) == h, "h=0x%04x", h);
    }
    TEST_CHECK(tpu_f32_to_f16(65520.0f) == 0x7c00, "overflow rounds to inf");
    TEST_CHECK(tpu_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00, "ties to even");
    return 0;
}

static int test_bf16_round(void)
{
    TEST_CHECK(tpu_f32_to_bf16(1.0f) == 0x3f80, "1.0");
    TEST_CHECK(tpu_bf16_to_f32(tpu_f32_to_bf16(3.140625f)) == 3.140625f, "exact value kept");
    TEST_CHECK(tpu_f32_to_bf16(1.00390625f) == 0x3f80, "tie rounds to even (down)");
    TEST_CHECK(tpu_f32_to_bf16(1.01171875f) == 0x3f82, "tie rounds to even (up)");
    return 0;
}

static int test_arena_oom(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_arena a;
    tpu_arena_init(&a, ctx);
    tpu_set_alloc_fail(ctx, 2);
    void *p1 = tpu_arena_alloc(&a, 100);
    void *p2 = tpu_arena_alloc(&a, 1 << 20);   /* needs a second block: fails */
    TEST_CHECK(p1 && !p2, "second block allocation must fail");
    TEST_CHECK(ctx->status == TPU_ERR_NOMEM, "status %d", ctx->status);
    tpu_arena_free(&a);
    tpu_free(ctx);
    return 0;
}

static int test_alloc_limit(void)
{
    struct tpu_ctx *ctx = tpu_init();
    TEST_CHECK(tpu_malloc(ctx, (size_t)1 << 50) == NULL, "2^50 bytes must be refused");
    TEST_CHECK(strstr(tpu_errmsg(ctx), "limit") != NULL, "%s", tpu_errmsg(ctx));
    tpu_free(ctx);
    return 0;
}

static int test_broadcast(void)
{
    int64_t a[] = { 2, 1, 4 }, b[] = { 3, 1 }, out[8];
    TEST_CHECK(tpu_broadcast_dims(3, a, 2, b, out) == 3, "rank");
    TEST_CHECK(out[0] == 2 && out[1] == 3 && out[2] == 4, "%lld %lld %lld",
               (long long)out[0], (long long)out[1], (long long)out[2]);
    int64_t c[] = { 3 }, d[] = { 4 };
    TEST_CHECK(tpu_broadcast_dims(1, c, 1, d, out) == -1, "3 vs 4 must not broadcast");
    return 0;
}

static int test_op_table(void)
{
    TEST_CHECK(tpu_op_from_onnx("", "Conv") == TPU_OP_CONV, "Conv");
    TEST_CHECK(tpu_op_from_onnx("", "NoSuchOp") == TPU_OP_UNKNOWN, "unknown");
    TEST_CHECK(tpu_op_from_onnx("com.microsoft", "Conv") == TPU_OP_UNKNOWN, "domain");
    for (int i = 0; i < TPU_OP_COUNT; i++) {
        TEST_CHECK(tpu_op_from_onnx("", tpu_op_name((enum tpu_op)i)) == (enum tpu_op)i, "row %d duplicated", i);
        TEST_CHECK(tpu_op_shape_fn((enum tpu_op)i) && tpu_op_ref_fn((enum tpu_op)i), "row %d", i);
    }
    return 0;
}

static const struct test_case cases[] = {
    { "base-f16-1.1", test_f16_roundtrip },
    { "base-bf16-1.1", test_bf16_round },
    { "base-arena-1.1", test_arena_oom },
    { "base-alloc-1.1", test_alloc_limit },
    { "ir-broadcast-1.1", test_broadcast },
    { "ir-optable-1.1", test_op_table },
};
TEST_MAIN(cases)
