/*
** tests/test-ref-extra.c: the shape functions (ir/shape_extra.c) and reference
** kernels (ref/ref_extra*.c) of the extra ops (index, triangular, scan, one-hot,
** layout, trig, normalisation and loss ops), on one-node graphs built by hand.
** Every expected value is worked out by hand (or from the ONNX operator
** documentation's examples), not produced by the code under test. Error cases
** check the status and that the message names the node and its op.
*/
#include "ir/ir.h"
#include "testlib.h"
#include <math.h>
#include <stdint.h>

#define RIG_OPSET 18
#include "testrig.h"

/* Index of the first element that differs (by more than tol), or -1. */
static long first_diff_f(const struct tpu_tensor *t, const float *want, long k, double tol)
{
    if (tpu_tensor_numel(t) != k) return 0;
    for (long i = 0; i < k; i++)
        if (!(fabs(tpu_get_f64(t->data, t->dtype, (size_t)i) - want[i]) <= tol)) return i;
    return -1;
}

#define I32(...) ((const int32_t[]){ __VA_ARGS__ })
#define SAME_F(t, ...) first_diff_f(t, F(__VA_ARGS__), N(F(__VA_ARGS__)), 1e-6) < 0
#define SAME_I(t, ...) first_diff_i64(t, D(__VA_ARGS__), N(D(__VA_ARGS__))) < 0
#define RUN_OK(r) TEST_CHECK(rig_run(&(r)) == TPU_STATUS_OK, "%s", tpu_errmsg((r).ctx))
#define RUN_ERR(r, rc, op) TEST_CHECK(rig_run(&(r)) == (rc) && names_node(&(r), op), \
                                      "want %s error naming the node: %s", #rc, tpu_errmsg((r).ctx))

/*---- GatherElements, ScatterElements, ScatterND, GatherND ----*/
static int test_gather_elements(void)
{
    struct rig r = rig_new("GatherElements", 2, 1);      /* the ONNX doc example, axis 1 */
    attr_int(&r, "axis", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 2), F(1, 2, 3, 4));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 2), D(0, 0, 1, 0));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 2, 2) && SAME_F(out(&r, 0), 1, 1, 4, 3), "axis 1");
    rig_free(&r);
    r = rig_new("GatherElements", 2, 1);                  /* axis -2, ragged, negative index */
    attr_int(&r, "axis", -2);
    rig_in(&r, 0, TPU_DTYPE_I32, 2, D(3, 2), I32(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I32, 2, D(1, 2), I32(-1, 0));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 1, 2) && SAME_I(out(&r, 0), 5, 2), "axis -2");
    rig_free(&r);
    r = rig_new("GatherElements", 2, 1);                  /* index 3 on an axis of 3 */
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), F(1, 2, 3));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(3));
    RUN_ERR(r, TPU_ERR_SHAPE, "GatherElements");
    rig_free(&r);
    r = rig_new("GatherElements", 2, 1);                  /* ranks differ */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(1, 3), F(1, 2, 3));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(0));
    RUN_ERR(r, TPU_ERR_SHAPE, "GatherElements");
    rig_free(&r);
    return 0;
}

static int test_scatter_elements(void)
{
    struct rig r = rig_new("ScatterElements", 3, 1);     /* duplicates add up */
    attr_int(&r, "axis", 1);
    attr_str(&r, "reduction", "add");
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(1, 5), F(1, 2, 3, 4, 5));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(1, 2), D(1, 1));
    rig_in(&r, 2, TPU_DTYPE_F32, 2, D(1, 2), F(1.5f, 2.25f));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 1, 5.75f, 3, 4, 5), "add");
    rig_free(&r);
    r = rig_new("ScatterElements", 3, 1);                 /* mul, axis -1, negative index, ints */
    attr_int(&r, "axis", -1);
    attr_str(&r, "reduction", "mul");
    rig_in(&r, 0, TPU_DTYPE_I64, 2, D(2, 3), D(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 1), D(-1, 0));
    rig_in(&r, 2, TPU_DTYPE_I64, 2, D(2, 1), D(10, -2));
    RUN_OK(r);
    TEST_CHECK(SAME_I(out(&r, 0), 1, 2, 30, -8, 5, 6), "mul");
    rig_free(&r);
    r = rig_new("ScatterElements", 3, 1);                 /* none, axis 0 (ONNX doc example) */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 3), F(0, 0, 0, 0, 0, 0, 0, 0, 0));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 3), D(1, 0, 2, 0, 2, 1));
    rig_in(&r, 2, TPU_DTYPE_F32, 2, D(2, 3), F(1, 1.1f, 1.2f, 2, 2.1f, 2.2f));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 2, 1.1f, 0, 1, 0, 2.2f, 0, 2.1f, 1.2f), "none");
    rig_free(&r);
    r = rig_new("ScatterElements", 3, 1);
    attr_str(&r, "reduction", "avg");
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(2), F(0, 0));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(0));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(1), F(1));
    RUN_ERR(r, TPU_ERR_UNSUPPORTED, "ScatterElements");
    rig_free(&r);
    return 0;
}

static int test_scatter_nd(void)
{
    struct rig r = rig_new("ScatterND", 3, 1);            /* the ONNX doc's 1-D example */
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(8), F(1, 2, 3, 4, 5, 6, 7, 8));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(4, 1), D(4, 3, 1, 7));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(4), F(9, 10, 11, 12));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 1, 11, 3, 10, 9, 6, 7, 12), "1-D");
    rig_free(&r);
    r = rig_new("ScatterND", 3, 1);                       /* rows of a [3,2], add, index -1 */
    attr_str(&r, "reduction", "add");
    rig_in(&r, 0, TPU_DTYPE_I32, 2, D(3, 2), I32(1, 1, 1, 1, 1, 1));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 1), D(-1, -1));
    rig_in(&r, 2, TPU_DTYPE_I32, 2, D(2, 2), I32(2, 3, 4, 5));
    RUN_OK(r);
    TEST_CHECK(SAME_I(out(&r, 0), 1, 1, 1, 1, 7, 9), "rows add");
    rig_free(&r);
    r = rig_new("ScatterND", 3, 1);                       /* updates of the wrong shape */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 2), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 1), NULL);
    rig_in(&r, 2, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    RUN_ERR(r, TPU_ERR_SHAPE, "ScatterND");
    rig_free(&r);
    return 0;
}

static int test_gather_nd(void)
{
    struct rig r = rig_new("GatherND", 2, 1);             /* batch_dims 1 (ONNX doc example 5) */
    attr_int(&r, "batch_dims", 1);
    rig_in(&r, 0, TPU_DTYPE_I32, 3, D(2, 2, 2), I32(0, 1, 2, 3, 4, 5, 6, 7));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 1), D(1, 0));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 2, 2) && SAME_I(out(&r, 0), 2, 3, 4, 5), "batch_dims 1");
    rig_free(&r);
    r = rig_new("GatherND", 2, 1);                        /* full tuples on a ragged [2,3] */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 2), D(1, 2, 0, -1));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 2) && SAME_F(out(&r, 0), 6, 3), "k = 2");
    rig_free(&r);
    r = rig_new("GatherND", 2, 1);                        /* tuple longer than the rank */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(1, 3), NULL);
    RUN_ERR(r, TPU_ERR_SHAPE, "GatherND");
    rig_free(&r);
    r = rig_new("GatherND", 2, 1);                        /* index 2 on an axis of 2 */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(1, 1), D(2));
    RUN_ERR(r, TPU_ERR_SHAPE, "GatherND");
    rig_free(&r);
    return 0;
}

/*---- Trilu, CumSum, Mod, BitShift ----*/
static int test_trilu(void)
{
    struct rig r = rig_new("Trilu", 2, 1);                /* lower, k = -1, [3,4] */
    attr_int(&r, "upper", 0);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 4), F(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    rig_in(&r, 1, TPU_DTYPE_I64, 0, NULL, D(-1));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0), "lower k=-1");
    rig_free(&r);
    r = rig_new("Trilu", 1, 1);                           /* upper (default), no k, batch of 2 [2,2] */
    rig_in(&r, 0, TPU_DTYPE_I64, 3, D(2, 2, 2), D(1, 2, 3, 4, 5, 6, 7, 8));
    RUN_OK(r);
    TEST_CHECK(SAME_I(out(&r, 0), 1, 2, 0, 4, 5, 6, 0, 8), "upper batched");
    rig_free(&r);
    r = rig_new("Trilu", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), F(1, 2, 3));
    RUN_ERR(r, TPU_ERR_SHAPE, "Trilu");
    rig_free(&r);
    return 0;
}

static int test_cumsum(void)
{
    struct rig r = rig_new("CumSum", 2, 1);               /* exclusive + reverse */
    attr_int(&r, "exclusive", 1);
    attr_int(&r, "reverse", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), F(1, 2, 3));
    rig_in(&r, 1, TPU_DTYPE_I32, 0, NULL, I32(0));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 5, 3, 0), "exclusive reverse");
    rig_free(&r);
    r = rig_new("CumSum", 2, 1);                          /* axis -1 on int32 [2,3] */
    rig_in(&r, 0, TPU_DTYPE_I32, 2, D(2, 3), I32(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(-1));
    RUN_OK(r);
    TEST_CHECK(out(&r, 0)->dtype == TPU_DTYPE_I32 && SAME_I(out(&r, 0), 1, 3, 6, 4, 9, 15), "axis -1");
    rig_free(&r);
    r = rig_new("CumSum", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), F(1, 2, 3));
    rig_in(&r, 1, TPU_DTYPE_I64, 0, NULL, D(1));
    RUN_ERR(r, TPU_ERR_SHAPE, "CumSum");
    rig_free(&r);
    return 0;
}

static int test_mod(void)
{
    struct rig r = rig_new("Mod", 2, 1);                  /* integers, Python sign rule */
    rig_in(&r, 0, TPU_DTYPE_I32, 1, D(4), I32(-4, 7, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I32, 1, D(4), I32(3, -3, -8, 3));
    RUN_OK(r);
    TEST_CHECK(SAME_I(out(&r, 0), 2, -2, -3, 0), "fmod=0");
    rig_free(&r);
    r = rig_new("Mod", 2, 1);                             /* fmod=1: sign of the dividend */
    attr_int(&r, "fmod", 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(3), D(-4, 7, 5));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(3), D(3, -3, -8));
    RUN_OK(r);
    TEST_CHECK(SAME_I(out(&r, 0), -1, 1, 5), "fmod=1");
    rig_free(&r);
    r = rig_new("Mod", 2, 1);                             /* floats broadcast [2,2] by [2] */
    attr_int(&r, "fmod", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 2), F(-4.5f, 7.5f, 5, -1));
    rig_in(&r, 1, TPU_DTYPE_F32, 1, D(2), F(2, -2));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 2, 2) && SAME_F(out(&r, 0), -0.5f, 1.5f, 1, -1), "float broadcast");
    rig_free(&r);
    r = rig_new("Mod", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(1), F(1));
    rig_in(&r, 1, TPU_DTYPE_F32, 1, D(1), F(1));
    RUN_ERR(r, TPU_ERR_SHAPE, "Mod");
    rig_free(&r);
    return 0;
}

static int test_bitshift(void)
{
    struct rig r = rig_new("BitShift", 2, 1);
    attr_str(&r, "direction", "LEFT");
    rig_in(&r, 0, TPU_DTYPE_U8, 1, D(4), (const uint8_t[]){ 16, 4, 1, 255 });
    rig_in(&r, 1, TPU_DTYPE_U8, 1, D(4), (const uint8_t[]){ 1, 2, 3, 1 });
    RUN_OK(r);
    TEST_CHECK(SAME_I(out(&r, 0), 32, 16, 8, 254), "left u8 wraps");
    rig_free(&r);
    r = rig_new("BitShift", 2, 1);                        /* right, broadcast scalar shift */
    attr_str(&r, "direction", "RIGHT");
    rig_in(&r, 0, TPU_DTYPE_U32, 1, D(3), (const uint32_t[]){ 16, 4, 0xffffffffu });
    rig_in(&r, 1, TPU_DTYPE_U32, 0, NULL, (const uint32_t[]){ 2 });
    RUN_OK(r);
    TEST_CHECK(SAME_I(out(&r, 0), 4, 1, 0x3fffffff), "right u32");
    rig_free(&r);
    r = rig_new("BitShift", 2, 1);
    attr_str(&r, "direction", "LEFT");
    rig_in(&r, 0, TPU_DTYPE_I32, 1, D(1), I32(1));
    rig_in(&r, 1, TPU_DTYPE_I32, 1, D(1), I32(1));
    RUN_ERR(r, TPU_ERR_SHAPE, "BitShift");
    rig_free(&r);
    return 0;
}

/*---- Hardmax, OneHot, EyeLike, CastLike ----*/
static int test_hardmax(void)
{
    struct rig r = rig_new("Hardmax", 1, 1);              /* axis -1, first maximum wins */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(3, 1, 3, 0, 2, 1));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 1, 0, 0, 0, 1, 0), "axis -1");
    rig_free(&r);
    r = rig_new("Hardmax", 1, 1);                         /* axis 0 */
    attr_int(&r, "axis", 0);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(3, 1, 3, 0, 2, 4));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 1, 0, 0, 0, 1, 1), "axis 0");
    rig_free(&r);
    r = rig_new("Hardmax", 1, 1);                         /* opset 11: rows of the [2,4] coercion */
    r.n->opset = 11;
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 2, 2), F(1, 2, 5, 3, 9, 0, 0, 1));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 0, 0, 1, 0, 1, 0, 0, 0), "opset 11");
    rig_free(&r);
    r = rig_new("Hardmax", 1, 1);
    attr_int(&r, "axis", 2);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    RUN_ERR(r, TPU_ERR_SHAPE, "Hardmax");
    rig_free(&r);
    return 0;
}

static int test_onehot(void)
{
    struct rig r = rig_new("OneHot", 3, 1);               /* axis -1, negative and out-of-range */
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(3), D(1, -1, 5));
    rig_in(&r, 1, TPU_DTYPE_F32, 0, NULL, F(3));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(2), F(0, 9));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 3, 3) && SAME_F(out(&r, 0), 0, 9, 0, 0, 0, 9, 0, 0, 0), "axis -1");
    rig_free(&r);
    r = rig_new("OneHot", 3, 1);                          /* axis 0, int values, float indices */
    attr_int(&r, "axis", 0);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(2), F(2, 0));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(3));
    rig_in(&r, 2, TPU_DTYPE_I32, 1, D(2), I32(-1, 1));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 3, 2) && out(&r, 0)->dtype == TPU_DTYPE_I32 &&
               SAME_I(out(&r, 0), -1, 1, -1, -1, 1, -1), "axis 0");
    rig_free(&r);
    r = rig_new("OneHot", 3, 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(1), D(0));
    rig_in(&r, 1, TPU_DTYPE_I64, 0, NULL, D(0));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(2), F(0, 1));
    RUN_ERR(r, TPU_ERR_SHAPE, "OneHot");
    rig_free(&r);
    return 0;
}

static int test_eyelike_castlike(void)
{
    struct rig r = rig_new("EyeLike", 1, 1);
    attr_int(&r, "k", 1);
    attr_int(&r, "dtype", TPU_DTYPE_I32);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 4), NULL);
    RUN_OK(r);
    TEST_CHECK(out(&r, 0)->dtype == TPU_DTYPE_I32 &&
               SAME_I(out(&r, 0), 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1), "k=1");
    rig_free(&r);
    r = rig_new("EyeLike", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(1, 2, 2), NULL);
    RUN_ERR(r, TPU_ERR_SHAPE, "EyeLike");
    rig_free(&r);
    r = rig_new("CastLike", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), F(1.5f, -2.75f, 65504));
    rig_in(&r, 1, TPU_DTYPE_F16, 1, D(1), (const uint16_t[]){ 0 });
    RUN_OK(r);
    TEST_CHECK(out(&r, 0)->dtype == TPU_DTYPE_F16 && DIMS(out(&r, 0), 3) &&
               SAME_F(out(&r, 0), 1.5f, -2.75f, 65504), "to float16");
    rig_free(&r);
    return 0;
}

/*---- DepthToSpace, SpaceToDepth, Compress, ReverseSequence ----*/
static int test_depth_space(void)
{
    static const float x[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
    struct rig r = rig_new("DepthToSpace", 1, 1);         /* DCR: channel (i*b + j)*C' + c */
    attr_int(&r, "blocksize", 2);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 8, 1, 1), x);
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 1, 2, 2, 2) && SAME_F(out(&r, 0), 0, 2, 4, 6, 1, 3, 5, 7), "DCR");
    rig_free(&r);
    r = rig_new("DepthToSpace", 1, 1);                    /* CRD: channel c*b*b + i*b + j */
    attr_int(&r, "blocksize", 2);
    attr_str(&r, "mode", "CRD");
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 8, 1, 1), x);
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 0, 1, 2, 3, 4, 5, 6, 7), "CRD");
    rig_free(&r);
    r = rig_new("SpaceToDepth", 1, 1);                    /* the inverse of DCR */
    attr_int(&r, "blocksize", 2);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 2, 2, 2), F(0, 2, 4, 6, 1, 3, 5, 7));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 1, 8, 1, 1) && SAME_F(out(&r, 0), 0, 1, 2, 3, 4, 5, 6, 7), "S2D");
    rig_free(&r);
    r = rig_new("DepthToSpace", 1, 1);                    /* 6 channels, blocksize 2 */
    attr_int(&r, "blocksize", 2);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 6, 1, 1), NULL);
    RUN_ERR(r, TPU_ERR_SHAPE, "DepthToSpace");
    rig_free(&r);
    return 0;
}

static int test_compress(void)
{
    struct rig r = rig_new("Compress", 2, 1);
    attr_int(&r, "axis", -1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_BOOL, 1, D(3), (const uint8_t[]){ 0, 1, 1 });
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 2, 2) && SAME_F(out(&r, 0), 2, 3, 5, 6), "axis -1");
    rig_free(&r);
    r = rig_new("Compress", 2, 1);                        /* no axis: flattened, short condition */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_BOOL, 1, D(4), (const uint8_t[]){ 1, 0, 0, 1 });
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 2) && SAME_F(out(&r, 0), 1, 4), "flattened");
    rig_free(&r);
    r = rig_new("Compress", 2, 1);
    attr_int(&r, "axis", 0);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_BOOL, 1, D(3), (const uint8_t[]){ 1, 1, 1 });
    RUN_ERR(r, TPU_ERR_SHAPE, "Compress");
    rig_free(&r);
    return 0;
}

static int test_reverse_sequence(void)
{
    struct rig r = rig_new("ReverseSequence", 2, 1);      /* time axis 0, batch axis 1, [T=3,B=2] */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 2), F(0, 1, 2, 3, 4, 5));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(3, 2));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 4, 3, 2, 1, 0, 5), "time-major");
    rig_free(&r);
    r = rig_new("ReverseSequence", 2, 1);                 /* batch axis 0, [B=2,T=3] */
    attr_int(&r, "batch_axis", 0);
    attr_int(&r, "time_axis", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(0, 1, 2, 3, 4, 5));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(1, 2));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 0, 1, 2, 4, 3, 5), "batch-major");
    rig_free(&r);
    r = rig_new("ReverseSequence", 2, 1);                 /* a length over T */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 2), F(0, 1, 2, 3, 4, 5));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(4, 1));
    RUN_ERR(r, TPU_ERR_SHAPE, "ReverseSequence");
    rig_free(&r);
    return 0;
}

/*---- Unary: trig, Shrink, IsNaN, IsInf ----*/
static int test_unary(void)
{
    static const struct { const char *op; float x, want; } rows[] = {
        { "Tan", 0.5f, 0.5463024898f }, { "Asin", 0.5f, 0.5235987756f }, { "Acos", 0.5f, 1.0471975512f },
        { "Atan", 1.0f, 0.7853981634f }, { "Sinh", 1.0f, 1.1752011936f }, { "Cosh", 1.0f, 1.5430806348f },
        { "Asinh", 1.0f, 0.8813735870f }, { "Acosh", 2.0f, 1.3169578969f }, { "Atanh", 0.5f, 0.5493061443f },
    };
    for (int i = 0; i < N(rows); i++) {
        struct rig r = rig_new(rows[i].op, 1, 1);
        rig_in(&r, 0, TPU_DTYPE_F32, 1, D(1), &rows[i].x);
        RUN_OK(r);
        TEST_CHECK(first_diff_f(out(&r, 0), &rows[i].want, 1, 1e-6) < 0, "%s", rows[i].op);
        rig_free(&r);
    }
    struct rig r = rig_new("Shrink", 1, 1);
    attr_float(&r, "lambd", 1.5f);
    attr_float(&r, "bias", 0.5f);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(5), F(-2, -1.5f, 0, 1, 3));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), -1.5f, 0, 0, 0, 2.5f), "shrink");
    rig_free(&r);
    r = rig_new("IsInf", 1, 1);
    attr_int(&r, "detect_negative", 0);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(4), F(INFINITY, -INFINITY, NAN, 1));
    RUN_OK(r);
    TEST_CHECK(out(&r, 0)->dtype == TPU_DTYPE_BOOL && SAME_I(out(&r, 0), 1, 0, 0, 0), "isinf +");
    rig_free(&r);
    r = rig_new("IsNaN", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_F64, 1, D(3), (const double[]){ NAN, INFINITY, 0 });
    RUN_OK(r);
    TEST_CHECK(SAME_I(out(&r, 0), 1, 0, 0), "isnan");
    rig_free(&r);
    r = rig_new("Tan", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_I32, 1, D(1), I32(1));
    RUN_ERR(r, TPU_ERR_SHAPE, "Tan");
    rig_free(&r);
    return 0;
}

/*---- LRN, MVN, LpNormalization, GlobalLpPool ----*/
static int test_norms(void)
{
    struct rig r = rig_new("LRN", 1, 1);                  /* size 2: channels [c, c+1] */
    attr_int(&r, "size", 2);
    attr_float(&r, "alpha", 1);
    attr_float(&r, "beta", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 2, 1, 1), F(1, 2));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 1 / 3.5f, 2 / 3.0f), "lrn");
    rig_free(&r);
    r = rig_new("MeanVarianceNormalization", 1, 1);
    attr_ints(&r, "axes", 1, D(-1));
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 2), F(1, 3, 2, 2));
    RUN_OK(r);
    TEST_CHECK(first_diff_f(out(&r, 0), F(-1, 1, 0, 0), 4, 1e-6) < 0, "mvn");
    rig_free(&r);
    r = rig_new("MeanVarianceNormalization", 1, 1);       /* default axes [0,2,3] need rank 4 */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 2), NULL);
    RUN_ERR(r, TPU_ERR_SHAPE, "MeanVarianceNormalization");
    rig_free(&r);
    r = rig_new("LpNormalization", 1, 1);
    attr_int(&r, "p", 1);
    attr_int(&r, "axis", 0);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 2), F(1, 3, 3, 1));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 0.25f, 0.75f, 0.75f, 0.25f), "l1 axis 0");
    rig_free(&r);
    r = rig_new("LpNormalization", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(1, 2), F(3, -4));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 0.6f, -0.8f), "l2");
    rig_free(&r);
    r = rig_new("GlobalLpPool", 1, 1);
    attr_int(&r, "p", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 2, 1, 2), F(-1, 2, -3, 4));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 1, 2, 1, 1) && SAME_F(out(&r, 0), 3, 7), "p=1");
    rig_free(&r);
    r = rig_new("GlobalLpPool", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(1, 1, 2), F(3, 4));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 5), "p=2");
    rig_free(&r);
    return 0;
}

/*---- Losses ----*/
static int test_losses(void)
{
    struct rig r = rig_new("NegativeLogLikelihoodLoss", 3, 1);   /* weighted mean */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(-1, -2, -3, -4, -5, -6));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(2, 0));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(3), F(1, 2, 3));
    RUN_OK(r);
    TEST_CHECK(out(&r, 0)->n_dims == 0 && SAME_F(out(&r, 0), (3 * 3 + 4 * 1) / 4.0f), "mean weighted");
    rig_free(&r);
    r = rig_new("NegativeLogLikelihoodLoss", 2, 1);       /* none, ignore_index on [N,C,d1] */
    attr_str(&r, "reduction", "none");
    attr_int(&r, "ignore_index", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(1, 2, 2), F(-1, -2, -3, -4));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(1, 2), D(1, 0));
    RUN_OK(r);
    TEST_CHECK(DIMS(out(&r, 0), 1, 2) && SAME_F(out(&r, 0), 0, 2), "none ii");
    rig_free(&r);
    r = rig_new("SoftmaxCrossEntropyLoss", 2, 2);          /* equal scores: ln 3, log_prob -ln 3 */
    attr_str(&r, "reduction", "sum");
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(0, 0, 0, 5, 5, 5));
    rig_in(&r, 1, TPU_DTYPE_I32, 1, D(2), I32(0, 2));
    RUN_OK(r);
    TEST_CHECK(SAME_F(out(&r, 0), 2.1972245773f), "sce sum");
    TEST_CHECK(DIMS(out(&r, 1), 2, 3) && first_diff_f(out(&r, 1), F(-1.0986123f, -1.0986123f, -1.0986123f,
               -1.0986123f, -1.0986123f, -1.0986123f), 6, 1e-6) < 0, "log_prob");
    rig_free(&r);
    r = rig_new("NegativeLogLikelihoodLoss", 2, 1);       /* target 3 with 3 classes */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(1, 3), F(-1, -2, -3));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(3));
    RUN_ERR(r, TPU_ERR_SHAPE, "NegativeLogLikelihoodLoss");
    rig_free(&r);
    r = rig_new("SoftmaxCrossEntropyLoss", 2, 1);         /* target of the wrong shape */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(3), NULL);
    RUN_ERR(r, TPU_ERR_SHAPE, "SoftmaxCrossEntropyLoss");
    rig_free(&r);
    return 0;
}

/*---- Shape inference before values are known ----*/
static int test_infer(void)
{
    struct rig r = rig_new("OneHot", 3, 1);               /* depth not known: that dim is -1 */
    attr_int(&r, "axis", 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 2, D(2, 5), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 0, NULL, NULL);
    rig_in(&r, 2, TPU_DTYPE_F16, 1, D(2), NULL);
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, -1, 5) && out(&r, 0)->dtype == TPU_DTYPE_F16, "onehot dims");
    rig_free(&r);
    r = rig_new("Compress", 2, 1);                        /* condition not known */
    attr_int(&r, "axis", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 4, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_BOOL, 1, D(4), NULL);
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, -1, 3), "compress dims");
    rig_free(&r);
    r = rig_new("GatherND", 2, 1);                        /* [2,3,4] by [2,5,1], batch_dims 1 */
    attr_int(&r, "batch_dims", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 3, 4), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 3, D(2, 5, 1), NULL);
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, 5, 4), "gathernd dims");
    rig_free(&r);
    r = rig_new("SoftmaxCrossEntropyLoss", 2, 2);         /* none keeps the target's shape */
    attr_str(&r, "reduction", "none");
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 7, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 3), NULL);
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, 3) && DIMS(out(&r, 1), 2, 7, 3), "sce dims");
    rig_free(&r);
    r = rig_new("SpaceToDepth", 1, 1);                    /* unknown batch stays unknown */
    attr_int(&r, "blocksize", 3);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(-1, 2, 6, 9), NULL);
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), -1, 18, 2, 3), "s2d dims");
    rig_free(&r);
    return 0;
}

static const struct test_case cases[] = {
    { "extra-gather-elements-1.1", test_gather_elements },
    { "extra-scatter-elements-1.1", test_scatter_elements },
    { "extra-scatter-nd-1.1", test_scatter_nd },
    { "extra-gather-nd-1.1", test_gather_nd },
    { "extra-trilu-1.1", test_trilu },
    { "extra-cumsum-1.1", test_cumsum },
    { "extra-mod-1.1", test_mod },
    { "extra-bitshift-1.1", test_bitshift },
    { "extra-hardmax-1.1", test_hardmax },
    { "extra-onehot-1.1", test_onehot },
    { "extra-eyelike-castlike-1.1", test_eyelike_castlike },
    { "extra-depth-space-1.1", test_depth_space },
    { "extra-compress-1.1", test_compress },
    { "extra-reverse-sequence-1.1", test_reverse_sequence },
    { "extra-unary-1.1", test_unary },
    { "extra-norms-1.1", test_norms },
    { "extra-losses-1.1", test_losses },
    { "extra-infer-1.1", test_infer },
};
TEST_MAIN(cases)
