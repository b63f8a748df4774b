/*
** tests/test-ref-tensor.c: the shape functions (ir/shape_tensor.c) and
** reference kernels (ref/ref_tensor*.c) of the shape and data-movement ops,
** on one-node graphs built by hand. Every expected value is worked out by
** hand (or from the ONNX operator documentation's examples), not produced by
** the code under test. Error cases check the status and that the message
** names the node.
*/
#include "ir/ir.h"
#include "testlib.h"
#include <math.h>
#include <stdint.h>

#include "testrig.h"

static void attr_floats(struct rig *r, const char *name, int k, const float *v)
{
    struct tpu_attr *a = rig_attr(r, name, TPU_ATTR_FLOATS);
    a->n = k;
    a->floats = (float *)v;
}

static void attr_tensor(struct rig *r, const char *name, enum tpu_dtype dt, int nd,
                        const int64_t *dims, const void *vals)
{
    struct tpu_tensor *t = tpu_arena_alloc(&r->g->arena, sizeof *t);
    t->name = name;
    t->dtype = dt;
    tpu_tensor_set_shape(t, nd, dims);
    t->data = (void *)vals;
    t->owner = TPU_DATA_BORROWED;
    rig_attr(r, name, TPU_ATTR_TENSOR)->t = t;
}

/* Index of the first element that differs, or -1. */
static long first_diff_f32(const struct tpu_tensor *t, const float *want, long k, float tol)
{
    if (t->dtype != TPU_DTYPE_F32 || tpu_tensor_numel(t) != k) return 0;
    for (long i = 0; i < k; i++)
        if (!(fabsf(((const float *)t->data)[i] - want[i]) <= tol)) return i;
    return -1;
}


static float iota_f[64];
static void iota_init(void) { for (int i = 0; i < 64; i++) iota_f[i] = (float)i; }

/*---- Reshape / Flatten / Squeeze / Unsqueeze / Identity / Dropout ----*/
static int test_reshape(void)
{
    iota_init();
    struct rig r = rig_new("Reshape", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 3, 4), iota_f);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(3), D(4, 0, -1));     /* 0 copies dim 1 (3) */
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 4, 3, 2), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), iota_f, 24, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Reshape", 2, 1);                           /* allowzero: 0 is a 0 */
    attr_int(&r, "allowzero", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(0, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(3, 0));
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 3, 0), "allowzero dims");
    rig_free(&r);
    return 0;
}

static int test_reshape_errors(void)
{
    struct rig r = rig_new("Reshape", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(4, 2));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE, "6 elements into [4,2] must fail");
    TEST_CHECK(names_node(&r, "Reshape"), "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(strstr(tpu_errmsg(r.ctx), "[2,3]") && strstr(tpu_errmsg(r.ctx), "[4,2]"), "%s", tpu_errmsg(r.ctx));
    rig_free(&r);
    r = rig_new("Reshape", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(-1, -1));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Reshape"), "two -1: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    r = rig_new("Reshape", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(4, -1));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE, "6 is not a multiple of 4");
    rig_free(&r);
    r = rig_new("Reshape", 2, 1);                            /* shape values not known yet */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(3), NULL);
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), -1, -1, -1), "rank 3, dims unknown");
    rig_free(&r);
    return 0;
}

static int test_flatten(void)
{
    iota_init();
    static const struct { int64_t axis, d0, d1; } c[] = { { 1, 2, 12 }, { -1, 6, 4 }, { 0, 1, 24 }, { 3, 24, 1 }, { -3, 1, 24 } };
    for (int i = 0; i < N(c); i++) {
        struct rig r = rig_new("Flatten", 1, 1);
        attr_int(&r, "axis", c[i].axis);
        rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 3, 4), iota_f);
        TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
        TEST_CHECK(DIMS(out(&r, 0), c[i].d0, c[i].d1), "axis %lld", (long long)c[i].axis);
        TEST_CHECK(first_diff_f32(out(&r, 0), iota_f, 24, 0) < 0, "values");
        rig_free(&r);
    }
    struct rig r = rig_new("Flatten", 1, 1);
    attr_int(&r, "axis", 4);
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 3, 4), NULL);
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Flatten"), "axis 4: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

static int test_squeeze(void)
{
    iota_init();
    struct rig r = rig_new("Squeeze", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 3, 1, 2), iota_f);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(-2));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 1, 3, 2), "axis -2 only");
    TEST_CHECK(first_diff_f32(out(&r, 0), iota_f, 6, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Squeeze", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 3, 1, 2), iota_f);
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 3, 2), "all 1-dims");
    rig_free(&r);
    r = rig_new("Squeeze", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 3, 1, 2), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(1));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Squeeze"), "extent 3: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

static int test_unsqueeze(void)
{
    iota_init();
    struct rig r = rig_new("Unsqueeze", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 4), iota_f);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(3), D(-1, 0, 2));    /* unsorted, negative */
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 1, 3, 1, 4, 1), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), iota_f, 12, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Unsqueeze", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 4), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(1, -3));        /* both are axis 1 of rank 4 */
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Unsqueeze"), "repeated: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

static int test_identity_dropout(void)
{
    const int8_t v[] = { -3, 7, 100 };
    struct rig r = rig_new("Identity", 1, 1);              /* its shape fn is shape_first */
    rig_in(&r, 0, TPU_DTYPE_I8, 1, D(3), v);
    out(&r, 0)->dtype = TPU_DTYPE_I8;
    tpu_tensor_set_shape(out(&r, 0), 1, D(3));
    TEST_CHECK(tpu_tensor_alloc(r.ctx, out(&r, 0)) == TPU_STATUS_OK, "alloc");
    TEST_CHECK(tpu_op_ref_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_i64(out(&r, 0), D(-3, 7, 100), 3) < 0, "int8 copy");
    rig_free(&r);
    r = rig_new("Dropout", 2, 2);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(1, 3), F(1, -2, 3));
    rig_in(&r, 1, TPU_DTYPE_F32, 0, NULL, F(0.5f));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, -2, 3), 3, 0) < 0, "Y = X");
    TEST_CHECK(out(&r, 1)->dtype == TPU_DTYPE_BOOL && first_diff_i64(out(&r, 1), D(1, 1, 1), 3) < 0, "mask");
    rig_free(&r);
    const uint8_t yes = 1;
    r = rig_new("Dropout", 3, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), F(1, -2, 3));
    rig_in(&r, 1, TPU_DTYPE_F32, 0, NULL, F(0.5f));
    rig_in(&r, 2, TPU_DTYPE_BOOL, 0, NULL, &yes);
    TEST_CHECK(rig_run(&r) == TPU_ERR_UNSUPPORTED && names_node(&r, "Dropout"), "training: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Transpose / Concat / Split ----*/
static int test_transpose(void)
{
    iota_init();
    struct rig r = rig_new("Transpose", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(1, 2, 3, 4, 5, 6));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 3, 2), "default perm reverses");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 4, 2, 5, 3, 6), 6, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Transpose", 1, 1);
    attr_ints(&r, "perm", 3, D(1, 2, 0));
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 3, 4), iota_f);
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 3, 4, 2), "dims");
    /* out[j][k][i] = in[i][j][k] = 12i + 4j + k */
    TEST_CHECK(first_diff_f32(out(&r, 0), F(0, 12, 1, 13, 2, 14, 3, 15, 4, 16, 5, 17, 6, 18, 7, 19,
                                            8, 20, 9, 21, 10, 22, 11, 23), 24, 0) < 0, "values");
    rig_free(&r);
    const uint16_t h[] = { 1, 2, 3, 4 };                    /* 2-byte elements */
    r = rig_new("Transpose", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_F16, 2, D(2, 2), h);
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    const uint16_t *y = out(&r, 0)->data;
    TEST_CHECK(y[0] == 1 && y[1] == 3 && y[2] == 2 && y[3] == 4, "f16 bits");
    rig_free(&r);
    r = rig_new("Transpose", 1, 1);
    attr_ints(&r, "perm", 3, D(0, 0, 1));
    rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 3, 4), NULL);
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Transpose"), "bad perm: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/* Ragged shapes through the tiled path (the innermost input axis moves):
** out[k][i][j] = in[i][j][k] for 1-, 2-, 4- and 8-byte elements. */
static int test_transpose_tiled(void)
{
    static const enum tpu_dtype dts[] = { TPU_DTYPE_U8, TPU_DTYPE_I16, TPU_DTYPE_I32, TPU_DTYPE_I64 };
    enum { A = 3, B = 37, C = 45 };
    static int64_t x[A * B * C];
    for (int i = 0; i < A * B * C; i++) x[i] = (i * 7) % 101;
    for (int t = 0; t < N(dts); t++) {
        uint8_t raw[A * B * C * 8];
        for (int i = 0; i < A * B * C; i++) tpu_set_i64(raw, dts[t], (size_t)i, x[i]);
        struct rig r = rig_new("Transpose", 1, 1);
        attr_ints(&r, "perm", 3, D(2, 0, 1));
        rig_in(&r, 0, dts[t], 3, D(A, B, C), raw);
        TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
        TEST_CHECK(DIMS(out(&r, 0), C, A, B), "dims");
        for (int i = 0; i < A; i++)
            for (int j = 0; j < B; j++)
                for (int k = 0; k < C; k++) {
                    int64_t got = tpu_get_i64(out(&r, 0)->data, dts[t], (size_t)((k * A + i) * B + j));
                    TEST_CHECK(got == x[(i * B + j) * C + k], "%s at %d,%d,%d", tpu_dtype_name(dts[t]), i, j, k);
                }
        rig_free(&r);
    }
    return 0;
}

static int test_concat(void)
{
    struct rig r = rig_new("Concat", 2, 1);
    attr_int(&r, "axis", -1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 1), F(1, 2));
    rig_in(&r, 1, TPU_DTYPE_F32, 2, D(2, 2), F(3, 4, 5, 6));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, 3), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 3, 4, 2, 5, 6), 6, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Concat", 2, 1);
    attr_int(&r, "axis", 0);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 1), NULL);
    rig_in(&r, 1, TPU_DTYPE_F32, 2, D(2, 2), NULL);
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Concat"), "dim 1 differs: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

static int test_split(void)
{
    iota_init();
    struct rig r = rig_new("Split", 2, 3);                  /* split input, axis 1 */
    attr_int(&r, "axis", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 6), iota_f);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(3), D(1, 2, 3));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, 1) && DIMS(out(&r, 1), 2, 2) && DIMS(out(&r, 2), 2, 3), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(0, 6), 2, 0) < 0, "part 0");
    TEST_CHECK(first_diff_f32(out(&r, 1), F(1, 2, 7, 8), 4, 0) < 0, "part 1");
    TEST_CHECK(first_diff_f32(out(&r, 2), F(3, 4, 5, 9, 10, 11), 6, 0) < 0, "part 2");
    rig_free(&r);
    r = rig_new("Split", 1, 3);                              /* equal parts */
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(6), iota_f);
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_f32(out(&r, 2), F(4, 5), 2, 0) < 0, "last part");
    rig_free(&r);
    r = rig_new("Split", 2, 2);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(6), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(2, 3));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Split"), "sum 5 != 6: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    r = rig_new("Split", 1, 4);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(6), NULL);
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE, "6 into 4 equal parts");
    rig_free(&r);
    r = rig_new("Split", 1, 2);                              /* an omitted output */
    r.n->outputs[1] = -1;
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(6), iota_f);
    TEST_CHECK(rig_run(&r) == TPU_ERR_UNSUPPORTED && names_node(&r, "Split"), "%s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Slice ----*/
static int run_slice_1d(int64_t start, int64_t end, int64_t step, const int64_t *want, int k)
{
    int64_t x[10];
    for (int i = 0; i < 10; i++) x[i] = i;
    struct rig r = rig_new("Slice", 5, 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(10), x);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), &start);
    rig_in(&r, 2, TPU_DTYPE_I64, 1, D(1), &end);
    rig_in(&r, 4, TPU_DTYPE_I64, 1, D(1), &step);
    enum tpu_status rc = rig_run(&r);
    int ok = rc == TPU_STATUS_OK && out(&r, 0)->dims[0] == k && (k == 0 || first_diff_i64(out(&r, 0), want, k) < 0);
    if (!ok) snprintf(test_why, sizeof test_why, "slice %lld:%lld:%lld rc %d %s", (long long)start,
                      (long long)end, (long long)step, rc, tpu_errmsg(r.ctx));
    rig_free(&r);
    return ok;
}

static int test_slice(void)
{
    if (!run_slice_1d(-3, INT64_MAX, 1, D(7, 8, 9), 3)) return 1;
    if (!run_slice_1d(-1, INT64_MIN, -2, D(9, 7, 5, 3, 1), 5)) return 1;    /* negative step */
    if (!run_slice_1d(8, 2, -3, D(8, 5), 2)) return 1;
    if (!run_slice_1d(20, 30, 1, NULL, 0)) return 1;                        /* clamped: empty */
    if (!run_slice_1d(1, 1000, 4, D(1, 5, 9), 3)) return 1;
    if (!run_slice_1d(100, -100, -4, D(9, 5, 1), 3)) return 1;              /* start clamps to 9 */
    iota_init();
    struct rig r = rig_new("Slice", 4, 1);                                  /* 2-D, axes -1 */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 4), iota_f);
    rig_in(&r, 1, TPU_DTYPE_I32, 1, D(1), (const int32_t[]){ 1 });
    rig_in(&r, 2, TPU_DTYPE_I32, 1, D(1), (const int32_t[]){ -1 });
    rig_in(&r, 3, TPU_DTYPE_I32, 1, D(1), (const int32_t[]){ -1 });
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 3, 2), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 2, 5, 6, 9, 10), 6, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Slice", 5, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(4), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(0));
    rig_in(&r, 2, TPU_DTYPE_I64, 1, D(1), D(4));
    rig_in(&r, 4, TPU_DTYPE_I64, 1, D(1), D(0));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Slice"), "step 0: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Gather ----*/
static int test_gather(void)
{
    struct rig r = rig_new("Gather", 2, 1);                 /* ONNX doc example 1 */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 2), F(1.0f, 1.2f, 2.3f, 3.4f, 4.5f, 5.7f));
    rig_in(&r, 1, TPU_DTYPE_I64, 2, D(2, 2), D(0, 1, -2, 2));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, 2, 2), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1.0f, 1.2f, 2.3f, 3.4f, 2.3f, 3.4f, 4.5f, 5.7f), 8, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Gather", 2, 1);                            /* axis 1, int32, negative */
    attr_int(&r, "axis", -1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I32, 1, D(2), (const int32_t[]){ -1, 0 });
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, 2), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(3, 1, 6, 4), 4, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Gather", 2, 1);                            /* scalar index: rank r-1 */
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I64, 0, NULL, D(1));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 3) && first_diff_f32(out(&r, 0), F(4, 5, 6), 3, 0) < 0, "row 1");
    rig_free(&r);
    r = rig_new("Gather", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 3), F(1, 2, 3, 4, 5, 6));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(0, -3));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Gather"), "index -3 of 2: %s", tpu_errmsg(r.ctx));
    TEST_CHECK(strstr(tpu_errmsg(r.ctx), "-3") != NULL, "%s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Shape / Size / Constant / ConstantOfShape ----*/
static int test_shape_size(void)
{
    static const struct { int64_t start, end; int has_end; int64_t want[3]; int k; } c[] = {
        { 0, 0, 0, { 2, 3, 4 }, 3 }, { -2, 0, 0, { 3, 4 }, 2 }, { 0, 1, 1, { 2 }, 1 },
        { 1, -1, 1, { 3 }, 1 }, { -10, 10, 1, { 2, 3, 4 }, 3 }, { 2, 1, 1, { 0 }, 0 },
    };
    for (int i = 0; i < N(c); i++) {
        struct rig r = rig_new("Shape", 1, 1);
        attr_int(&r, "start", c[i].start);
        if (c[i].has_end) attr_int(&r, "end", c[i].end);
        rig_in(&r, 0, TPU_DTYPE_F32, 3, D(2, 3, 4), NULL);
        TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
        TEST_CHECK(out(&r, 0)->dtype == TPU_DTYPE_I64 && out(&r, 0)->dims[0] == c[i].k, "case %d length", i);
        TEST_CHECK(c[i].k == 0 || first_diff_i64(out(&r, 0), c[i].want, c[i].k) < 0, "case %d", i);
        rig_free(&r);
    }
    struct rig r = rig_new("Size", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_U8, 3, D(2, 3, 4), NULL);
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(out(&r, 0)->n_dims == 0 && first_diff_i64(out(&r, 0), D(24), 1) < 0, "24");
    rig_free(&r);
    return 0;
}

static int test_constant(void)
{
    struct rig r = rig_new("Constant", 0, 1);
    attr_tensor(&r, "value", TPU_DTYPE_I32, 2, D(2, 2), (const int32_t[]){ 5, -6, 7, 8 });
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(out(&r, 0)->dtype == TPU_DTYPE_I32 && DIMS(out(&r, 0), 2, 2), "dtype/dims");
    TEST_CHECK(first_diff_i64(out(&r, 0), D(5, -6, 7, 8), 4) < 0, "values");
    rig_free(&r);
    r = rig_new("Constant", 0, 1);
    attr_floats(&r, "value_floats", 3, F(0.5f, -1, 2));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 3) && first_diff_f32(out(&r, 0), F(0.5f, -1, 2), 3, 0) < 0, "floats");
    rig_free(&r);
    r = rig_new("Constant", 0, 1);
    attr_int(&r, "value_int", -9);
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(out(&r, 0)->n_dims == 0 && out(&r, 0)->dtype == TPU_DTYPE_I64 &&
               first_diff_i64(out(&r, 0), D(-9), 1) < 0, "int");
    rig_free(&r);
    r = rig_new("Constant", 0, 1);
    attr_str(&r, "value_string", "hello");
    TEST_CHECK(rig_run(&r) == TPU_ERR_UNSUPPORTED && names_node(&r, "Constant"), "string: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

static int test_constant_of_shape(void)
{
    struct rig r = rig_new("ConstantOfShape", 1, 1);
    attr_tensor(&r, "value", TPU_DTYPE_I64, 1, D(1), D(7));
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(2), D(2, 3));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(out(&r, 0)->dtype == TPU_DTYPE_I64 && DIMS(out(&r, 0), 2, 3), "dtype/dims");
    TEST_CHECK(first_diff_i64(out(&r, 0), D(7, 7, 7, 7, 7, 7), 6) < 0, "sevens");
    rig_free(&r);
    r = rig_new("ConstantOfShape", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(1), D(4));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_f32(out(&r, 0), F(0, 0, 0, 0), 4, 0) < 0, "float zeros");
    rig_free(&r);
    r = rig_new("ConstantOfShape", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(2), D(2, -3));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "ConstantOfShape"), "negative: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Cast ----*/
static int test_cast(void)
{
    struct rig r = rig_new("Cast", 1, 1);                   /* float -> int truncates */
    attr_int(&r, "to", TPU_DTYPE_I32);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(5), F(-1.7f, 2.9f, 0.5f, -0.5f, NAN));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_i64(out(&r, 0), D(-1, 2, 0, 0, 0), 5) < 0, "truncation, NaN -> 0");
    rig_free(&r);
    r = rig_new("Cast", 1, 1);                              /* -> bool: x != 0, NaN true */
    attr_int(&r, "to", TPU_DTYPE_BOOL);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(4), F(0, -0.0f, 0.25f, NAN));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_i64(out(&r, 0), D(0, 0, 1, 1), 4) < 0, "bool");
    rig_free(&r);
    r = rig_new("Cast", 1, 1);                              /* int wraps */
    attr_int(&r, "to", TPU_DTYPE_U8);
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(3), D(257, -1, 255));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_i64(out(&r, 0), D(1, 255, 255), 3) < 0, "uint8 wrap");
    rig_free(&r);
    /* float64 1 + 2^-11 + 2^-40 is just above the float16 midpoint between 1
    ** and 1 + 2^-10: it must round up (0x3c01). Going through float32 first
    ** would round to the midpoint and then to even (0x3c00). */
    const double v[] = { 1.0 + 0x1p-11 + 0x1p-40, 65520.0, -2.5 };
    r = rig_new("Cast", 1, 1);
    attr_int(&r, "to", TPU_DTYPE_F16);
    rig_in(&r, 0, TPU_DTYPE_F64, 1, D(3), v);
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    const uint16_t *h = out(&r, 0)->data;
    TEST_CHECK(h[0] == 0x3c01 && h[1] == 0x7c00 && h[2] == 0xc100, "%04x %04x %04x", h[0], h[1], h[2]);
    rig_free(&r);
    const uint16_t bf[] = { 0x3f80, 0xc040 };               /* 1.0, -3.0 */
    r = rig_new("Cast", 1, 1);
    attr_int(&r, "to", TPU_DTYPE_F32);
    rig_in(&r, 0, TPU_DTYPE_BF16, 1, D(2), bf);
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, -3), 2, 0) < 0, "bfloat16");
    rig_free(&r);
    r = rig_new("Cast", 1, 1);
    attr_int(&r, "to", TPU_DTYPE_STRING);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(2), NULL);
    TEST_CHECK(rig_run(&r) == TPU_ERR_UNSUPPORTED && names_node(&r, "Cast"), "string: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Expand / Tile ----*/
static int test_expand(void)
{
    struct rig r = rig_new("Expand", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(3, 1), F(1, 2, 3));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(3), D(2, 1, 4));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 2, 3, 4), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3,
                                            1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3), 24, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Expand", 2, 1);                            /* shape [1] keeps [3] */
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), F(1, 2, 3));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(1));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 3) && first_diff_f32(out(&r, 0), F(1, 2, 3), 3, 0) < 0, "bidirectional");
    rig_free(&r);
    r = rig_new("Expand", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(4));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Expand"), "3 vs 4: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

static int test_tile(void)
{
    struct rig r = rig_new("Tile", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 2), F(1, 2, 3, 4));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(2, 3));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 4, 6), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4,
                                            1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4), 24, 0) < 0, "values");
    rig_free(&r);
    r = rig_new("Tile", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 2), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(2));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Tile"), "repeats length: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Pad ----*/
static int run_pad(const char *mode, int nd, const int64_t *dims, const float *x, const int64_t *pads,
                   const float *value, const int64_t *want_dims, const float *want, int k)
{
    struct rig r = rig_new("Pad", value ? 3 : 2, 1);
    attr_str(&r, "mode", mode);
    rig_in(&r, 0, TPU_DTYPE_F32, nd, dims, x);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2 * nd), pads);
    if (value) rig_in(&r, 2, TPU_DTYPE_F32, 0, NULL, value);
    enum tpu_status rc = rig_run(&r);
    int ok = rc == TPU_STATUS_OK && dims_are(out(&r, 0), nd, want_dims) && first_diff_f32(out(&r, 0), want, k, 0) < 0;
    if (!ok) snprintf(test_why, sizeof test_why, "pad %s rc %d %s", mode, rc, tpu_errmsg(r.ctx));
    rig_free(&r);
    return ok;
}

static int test_pad(void)
{
    if (!run_pad("constant", 1, D(3), F(1, 2, 3), D(2, 1), F(9), D(6), F(9, 9, 1, 2, 3, 9), 6)) return 1;
    if (!run_pad("constant", 1, D(4), F(1, 2, 3, 4), D(-1, 1), NULL, D(4), F(2, 3, 4, 0), 4)) return 1;
    if (!run_pad("reflect", 1, D(3), F(1, 2, 3), D(5, 4), NULL, D(12),     /* wider than the axis */
                 F(2, 1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3), 12)) return 1;
    if (!run_pad("edge", 1, D(3), F(1, 2, 3), D(2, 3), NULL, D(8), F(1, 1, 1, 2, 3, 3, 3, 3), 8)) return 1;
    const float *x = F(1, 2, 3, 4, 5, 6);
    if (!run_pad("reflect", 2, D(2, 3), x, D(1, 2, 0, 1), NULL, D(3, 6),
                 F(6, 5, 4, 5, 6, 5, 3, 2, 1, 2, 3, 2, 6, 5, 4, 5, 6, 5), 18)) return 1;
    if (!run_pad("edge", 2, D(2, 3), x, D(1, 2, 0, 1), NULL, D(3, 6),
                 F(1, 1, 1, 2, 3, 3, 1, 1, 1, 2, 3, 3, 4, 4, 4, 5, 6, 6), 18)) return 1;
    if (!run_pad("constant", 2, D(2, 3), x, D(1, -1, 0, 0), F(-1), D(3, 2),
                 F(-1, -1, 2, 3, 5, 6), 6)) return 1;
    struct rig r = rig_new("Pad", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(3), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(-2, -2));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Pad"), "crop past empty: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Range ----*/
static int test_range(void)
{
    struct rig r = rig_new("Range", 3, 1);                  /* ONNX doc: 10, 4, -3 -> [10, 7] */
    rig_in(&r, 0, TPU_DTYPE_I32, 0, NULL, (const int32_t[]){ 10 });
    rig_in(&r, 1, TPU_DTYPE_I32, 0, NULL, (const int32_t[]){ 4 });
    rig_in(&r, 2, TPU_DTYPE_I32, 0, NULL, (const int32_t[]){ -3 });
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(out(&r, 0)->dtype == TPU_DTYPE_I32 && first_diff_i64(out(&r, 0), D(10, 7), 2) < 0, "int32");
    rig_free(&r);
    r = rig_new("Range", 3, 1);                             /* 1, 5, 2 -> [1, 3]; 0.5 step */
    rig_in(&r, 0, TPU_DTYPE_F32, 0, NULL, F(1));
    rig_in(&r, 1, TPU_DTYPE_F32, 0, NULL, F(2.6f));
    rig_in(&r, 2, TPU_DTYPE_F32, 0, NULL, F(0.5f));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 1.5f, 2, 2.5f), 4, 0) < 0, "ceil(1.6/0.5) = 4");
    rig_free(&r);
    r = rig_new("Range", 3, 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 0, NULL, D(5));
    rig_in(&r, 1, TPU_DTYPE_I64, 0, NULL, D(1));
    rig_in(&r, 2, TPU_DTYPE_I64, 0, NULL, D(1));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK && out(&r, 0)->dims[0] == 0, "wrong direction: empty");
    rig_free(&r);
    r = rig_new("Range", 3, 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 0, NULL, D(0));
    rig_in(&r, 1, TPU_DTYPE_I64, 0, NULL, D(5));
    rig_in(&r, 2, TPU_DTYPE_I64, 0, NULL, D(0));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Range"), "delta 0: %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    return 0;
}

/*---- Resize ----*/
/* 1-D nearest resize of [10,20,30,40] to 8 (scale 2), modes by hand. */
static int run_resize_1d(const char *coord, const char *nearest, int64_t size, const int64_t *want)
{
    struct rig r = rig_new("Resize", 4, 1);
    attr_str(&r, "mode", "nearest");
    attr_str(&r, "coordinate_transformation_mode", coord);
    attr_str(&r, "nearest_mode", nearest);
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(4), D(10, 20, 30, 40));
    rig_in(&r, 3, TPU_DTYPE_I64, 1, D(1), &size);
    enum tpu_status rc = rig_run(&r);
    int ok = rc == TPU_STATUS_OK && out(&r, 0)->dims[0] == size && first_diff_i64(out(&r, 0), want, size) < 0;
    if (!ok) {
        snprintf(test_why, sizeof test_why, "%s/%s rc %d %s got", coord, nearest, rc, tpu_errmsg(r.ctx));
        for (int i = 0; rc == 0 && i < tpu_tensor_numel(out(&r, 0)); i++)
            snprintf(test_why + strlen(test_why), 40, " %lld", (long long)((int64_t *)out(&r, 0)->data)[i]);
    }
    rig_free(&r);
    return ok;
}

static int test_resize_nearest(void)
{
    /* asymmetric x = o/2: 0 .5 1 1.5 2 2.5 3 3.5 */
    if (!run_resize_1d("asymmetric", "round_prefer_floor", 8, D(10, 10, 20, 20, 30, 30, 40, 40))) return 1;
    if (!run_resize_1d("asymmetric", "round_prefer_ceil", 8, D(10, 20, 20, 30, 30, 40, 40, 40))) return 1;
    /* half_pixel x = (o+.5)/2-.5: -.25 .25 .75 1.25 1.75 2.25 2.75 3.25 */
    if (!run_resize_1d("half_pixel", "floor", 8, D(10, 10, 10, 20, 20, 30, 30, 40))) return 1;
    if (!run_resize_1d("half_pixel", "ceil", 8, D(10, 20, 20, 30, 30, 40, 40, 40))) return 1;
    if (!run_resize_1d("half_pixel", "round_prefer_floor", 8, D(10, 10, 20, 20, 30, 30, 40, 40))) return 1;
    /* tf_half_pixel_for_nn x = (o+.5)/2: .25 .75 1.25 ... 3.75 */
    if (!run_resize_1d("tf_half_pixel_for_nn", "round_prefer_floor", 8, D(10, 20, 20, 30, 30, 40, 40, 40))) return 1;
    /* align_corners to 7: x = o * 3/6 = o/2; pytorch_half_pixel to 1: x = 0 */
    if (!run_resize_1d("align_corners", "round_prefer_floor", 7, D(10, 10, 20, 20, 30, 30, 40))) return 1;
    if (!run_resize_1d("pytorch_half_pixel", "round_prefer_floor", 1, D(10))) return 1;
    /* downsample to 2, half_pixel: x = (o+.5)*2-.5 = 0.5, 2.5 -> floor-preferred 0, 2 */
    if (!run_resize_1d("half_pixel", "round_prefer_floor", 2, D(10, 30))) return 1;
    struct rig r = rig_new("Resize", 3, 1);                 /* ONNX doc: upsample_scales_nearest */
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 1, 2, 2), F(1, 2, 3, 4));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(4), F(1, 1, 2, 3));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 1, 1, 4, 6), "dims");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                                            3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4), 24, 0) < 0, "values");
    rig_free(&r);
    return 0;
}

static int test_resize_linear(void)
{
    struct rig r = rig_new("Resize", 3, 1);                 /* half_pixel, scale 2 */
    attr_str(&r, "mode", "linear");
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 1, 2, 2), F(1, 2, 3, 4));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(4), F(1, 1, 2, 2));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    /* x = -.25 .25 .75 1.25 -> clamped 0, .25, .75, 1 on each axis */
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 1.25f, 1.75f, 2, 1.5f, 1.75f, 2.25f, 2.5f,
                                            2.5f, 2.75f, 3.25f, 3.5f, 3, 3.25f, 3.75f, 4), 16, 1e-6f) < 0, "values");
    rig_free(&r);
    r = rig_new("Resize", 3, 1);                            /* align_corners: x = o/3 */
    attr_str(&r, "mode", "linear");
    attr_str(&r, "coordinate_transformation_mode", "align_corners");
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(2, 2), F(1, 2, 3, 4));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(2), F(2, 2));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    const float t = 1.0f / 3, u = 2.0f / 3;
    TEST_CHECK(first_diff_f32(out(&r, 0), F(1, 1 + t, 1 + u, 2, 1 + u, 1 + u + t, 1 + u + u, 2 + u,
                                            1 + 2 * u, 1 + 2 * u + t, 1 + 2 * u + u, 2 + 2 * u, 3, 3 + t, 3 + u, 4),
                              16, 1e-5f) < 0, "values");
    rig_free(&r);
    r = rig_new("Resize", 3, 1);                            /* downsample, ONNX doc example */
    attr_str(&r, "mode", "linear");
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(1, 1, 2, 4), F(1, 2, 3, 4, 5, 6, 7, 8));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(4), F(1, 1, 0.6f, 0.6f));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 1, 1, 1, 2), "floor(2*.6), floor(4*.6)");
    TEST_CHECK(first_diff_f32(out(&r, 0), F(2.6666665f, 4.3333331f), 2, 1e-5f) < 0, "values");
    rig_free(&r);
    r = rig_new("Resize", 4, 1);                            /* crop [0.5, 1.5] of 4 into 3 */
    attr_str(&r, "mode", "linear");
    attr_str(&r, "coordinate_transformation_mode", "tf_crop_and_resize");
    attr_float(&r, "extrapolation_value", 7);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(4), F(10, 20, 30, 40));
    rig_in(&r, 1, TPU_DTYPE_F32, 1, D(2), F(0.5f, 1.5f));
    rig_in(&r, 3, TPU_DTYPE_I64, 1, D(1), D(3));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    /* x = 0.5*3 + o*1*3/2 = 1.5, 3, 4.5 (outside: extrapolation_value) */
    TEST_CHECK(first_diff_f32(out(&r, 0), F(25, 40, 7), 3, 1e-5f) < 0, "values");
    rig_free(&r);
    /* 2026-11-22: cubic added. Impulse upsampled x2, asymmetric, A = -0.75:
    ** x = o/2; at r = 0.5 the taps at distance 0.5 and 1.5 weigh w(0.5) = 0.5 - A/8 = 0.59375 and
    ** w(1.5) = A/8 = -0.09375 (ONNX Resize cubic, Keys' kernel). */
    r = rig_new("Resize", 3, 1);
    attr_str(&r, "mode", "cubic");
    attr_str(&r, "coordinate_transformation_mode", "asymmetric");
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(5), F(0, 0, 1, 0, 0));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(1), F(2));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_f32(out(&r, 0), F(0, -0.09375f, 0, 0.59375f, 1, 0.59375f, 0, -0.09375f, 0, 0),
                              10, 1e-6f) < 0, "values");
    rig_free(&r);
    return 0;
}

/*---- Shape inference with symbolic (-1) dims, before any values exist ----*/
static int test_infer_symbolic(void)
{
    struct rig r = rig_new("Expand", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(-1, 1), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(1, 5));
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), -1, 5), "expand");
    rig_free(&r);
    r = rig_new("Slice", 4, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(-1, 8), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(2));
    rig_in(&r, 2, TPU_DTYPE_I64, 1, D(1), D(-4));
    rig_in(&r, 3, TPU_DTYPE_I64, 1, D(1), D(1));
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), -1, 2), "slice 2:-4 of 8");
    rig_free(&r);
    r = rig_new("Reshape", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 4, D(-1, 1, 28, 28), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(0, -1));
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), -1, -1), "batch copied, rest not inferable");
    rig_free(&r);
    r = rig_new("Concat", 2, 1);
    attr_int(&r, "axis", 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 2, D(-1, 3), NULL);
    rig_in(&r, 1, TPU_DTYPE_F32, 2, D(4, 5), NULL);
    TEST_CHECK(tpu_op_shape_fn(r.n->op)(r.g, r.n) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(DIMS(out(&r, 0), 4, 8), "concat fills the known batch");
    rig_free(&r);
    return 0;
}

/*---- Robustness: hostile index values never reach an allocation ----*/
static int test_hostile_sizes(void)
{
    struct rig r = rig_new("ConstantOfShape", 1, 1);
    rig_in(&r, 0, TPU_DTYPE_I64, 1, D(3), D(1 << 20, 1 << 20, 1 << 20));
    TEST_CHECK(rig_run(&r) == TPU_ERR_NOMEM, "2^60 elements must be refused, got %s", tpu_errmsg(r.ctx));
    rig_free(&r);
    r = rig_new("Tile", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(4), F(1, 2, 3, 4));
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(1), D(INT64_MAX / 2));
    TEST_CHECK(rig_run(&r) != TPU_STATUS_OK, "huge repeats must fail");
    rig_free(&r);
    r = rig_new("Reshape", 2, 1);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(4), NULL);
    rig_in(&r, 1, TPU_DTYPE_I64, 1, D(2), D(INT64_MAX, 4));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE, "overflowing shape");
    rig_free(&r);
    if (!run_slice_1d(-1, INT64_MIN, INT64_MIN, D(9), 1)) return 1;      /* -INT64_MIN overflows */
    r = rig_new("Resize", 3, 1);                            /* NaN roi, scales: no extent */
    attr_str(&r, "coordinate_transformation_mode", "tf_crop_and_resize");
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(4), F(1, 2, 3, 4));
    rig_in(&r, 1, TPU_DTYPE_F32, 1, D(2), F(NAN, 1));
    rig_in(&r, 2, TPU_DTYPE_F32, 1, D(1), F(2));
    TEST_CHECK(rig_run(&r) == TPU_ERR_SHAPE && names_node(&r, "Resize"), "%s", tpu_errmsg(r.ctx));
    rig_free(&r);
    r = rig_new("Resize", 4, 1);                            /* NaN roi, sizes: extrapolate */
    attr_str(&r, "mode", "linear");
    attr_str(&r, "coordinate_transformation_mode", "tf_crop_and_resize");
    attr_float(&r, "extrapolation_value", -5);
    rig_in(&r, 0, TPU_DTYPE_F32, 1, D(4), F(1, 2, 3, 4));
    rig_in(&r, 1, TPU_DTYPE_F32, 1, D(2), F(NAN, 1));
    rig_in(&r, 3, TPU_DTYPE_I64, 1, D(1), D(2));
    TEST_CHECK(rig_run(&r) == TPU_STATUS_OK, "%s", tpu_errmsg(r.ctx));
    TEST_CHECK(first_diff_f32(out(&r, 0), F(-5, -5), 2, 0) < 0, "extrapolated");
    rig_free(&r);
    return 0;
}

/*---- Fuzz: random ranks, dims and hostile index values (fixed seed) ----*/
/* Each case must end in OK or in an error that names the node; never a crash,
** never a huge allocation. Run under make SANITIZE=address,undefined too. */
static uint32_t fuzz_state = 0x2545f491u;
static uint32_t fuzz_next(void)             /* xorshift32: deterministic */
{
    fuzz_state ^= fuzz_state << 13;
    fuzz_state ^= fuzz_state >> 17;
    fuzz_state ^= fuzz_state << 5;
    return fuzz_state;
}

static int64_t fuzz_int(void)
{
    static const int64_t pool[] = { 0, 1, 2, 3, -1, -2, -3, 5, 7, INT64_MAX, INT64_MIN,
                                    INT64_MAX / 2, INT64_C(1) << 31, -(INT64_C(1) << 40) };
    return pool[fuzz_next() % N(pool)];
}

static float fuzz_float(void)
{
    static const float pool[] = { 0.5f, 2, 1, 0, -1, NAN, INFINITY, 1e-30f, 3.7f, 0.25f };
    return pool[fuzz_next() % N(pool)];
}

/* A random int64 list of k values (0..max when k < 0) as input `slot`. */
static void fuzz_ints_in(struct rig *r, int slot, int max, int64_t k)
{
    int64_t v[8];
    if (k < 0) k = fuzz_next() % (unsigned)(max + 1);
    for (int i = 0; i < k; i++) v[i] = fuzz_next() % 3 ? (int64_t)(fuzz_next() % 5) - 1 : fuzz_int();
    rig_in(r, slot, TPU_DTYPE_I64, 1, &k, v);
}

static void fuzz_node(struct rig *r, const char *op)
{
    static const char *const coords[] = { "half_pixel", "align_corners", "asymmetric",
                                          "tf_crop_and_resize", "pytorch_half_pixel" };
    static const int64_t perm[] = { 2, 0, 1 };           /* attrs keep the pointer */
    if (!strcmp(op, "Transpose")) attr_ints(r, "perm", 3, perm);
    if (!strcmp(op, "Concat") || !strcmp(op, "Gather") || !strcmp(op, "Split") || !strcmp(op, "Flatten"))
        attr_int(r, "axis", fuzz_next() % 3 ? (int64_t)(fuzz_next() % 5) - 2 : fuzz_int());
    if (!strcmp(op, "Shape")) { attr_int(r, "start", fuzz_int()); attr_int(r, "end", fuzz_int()); }
    if (!strcmp(op, "Pad")) attr_str(r, "mode", (const char *[]){ "constant", "reflect", "edge" }[fuzz_next() % 3]);
    if (!strcmp(op, "Cast")) attr_int(r, "to", (int64_t)(fuzz_next() % 18));
    if (!strcmp(op, "Resize")) {
        attr_str(r, "mode", fuzz_next() % 2 ? "linear" : "nearest");
        attr_str(r, "coordinate_transformation_mode", coords[fuzz_next() % N(coords)]);
    }
}

static void fuzz_inputs(struct rig *r, const char *op, int rank, const int64_t *dims)
{
    int n_in = r->n->n_inputs;
    if (strcmp(op, "Range") && strcmp(op, "ConstantOfShape")) rig_in(r, 0, TPU_DTYPE_F32, rank, dims, iota_f);
    if (!strcmp(op, "Range"))
        for (int i = 0; i < 3; i++) { int64_t v = fuzz_int() % 1000; rig_in(r, i, TPU_DTYPE_I64, 0, NULL, &v); }
    else if (!strcmp(op, "ConstantOfShape")) fuzz_ints_in(r, 0, 4, -1);
    else if (!strcmp(op, "Concat")) rig_in(r, 1, TPU_DTYPE_F32, rank, dims, iota_f);
    else if (!strcmp(op, "Gather")) fuzz_ints_in(r, 1, 3, -1);
    else if (!strcmp(op, "Resize")) {
        float sc[8], roi[16];
        for (int i = 0; i < 8; i++) sc[i] = fuzz_float();
        for (int i = 0; i < 16; i++) roi[i] = fuzz_float();
        int64_t k = rank, k2 = 2 * rank;
        rig_in(r, 1, TPU_DTYPE_F32, 1, &k2, roi);
        if (fuzz_next() % 2) rig_in(r, 2, TPU_DTYPE_F32, 1, &k, sc);
        else fuzz_ints_in(r, 3, rank, -1);
    } else if (!strcmp(op, "Slice")) {                  /* starts..steps share a length */
        int64_t k = fuzz_next() % (unsigned)(rank + 1);
        for (int i = 1; i < n_in; i++) fuzz_ints_in(r, i, 4, fuzz_next() % 8 ? k : -1);
    } else {
        for (int i = 1; i < n_in; i++) fuzz_ints_in(r, i, i == 1 && !strcmp(op, "Pad") ? 8 : 4, -1);
    }
}

static int test_fuzz(void)
{
    static const struct { const char *op; int n_in, n_out; } ops[] = {
        { "Reshape", 2, 1 }, { "Flatten", 1, 1 }, { "Squeeze", 2, 1 }, { "Unsqueeze", 2, 1 },
        { "Transpose", 1, 1 }, { "Concat", 2, 1 }, { "Split", 2, 2 }, { "Slice", 5, 1 },
        { "Gather", 2, 1 }, { "Shape", 1, 1 }, { "ConstantOfShape", 1, 1 }, { "Cast", 1, 1 },
        { "Expand", 2, 1 }, { "Tile", 2, 1 }, { "Pad", 2, 1 }, { "Range", 3, 1 }, { "Resize", 4, 1 },
    };
    iota_init();
    int n_ok[N(ops)] = { 0 };
    for (int it = 0; it < 20000; it++) {
        int o = (int)(fuzz_next() % N(ops)), rank = ops[o].op[0] == 'T' && ops[o].op[1] == 'r' ? 3 : (int)(fuzz_next() % 4);
        int64_t dims[4];
        for (int i = 0; i < rank; i++) dims[i] = fuzz_next() % 4;
        struct rig r = rig_new(ops[o].op, ops[o].n_in, ops[o].n_out);
        fuzz_node(&r, ops[o].op);
        fuzz_inputs(&r, ops[o].op, rank, dims);
        enum tpu_status rc = tpu_op_shape_fn(r.n->op)(r.g, r.n);
        for (int i = 0; i < r.n->n_outputs && !rc; i++) {
            int64_t k = tpu_tensor_numel(out(&r, i));
            if (k < 0 || k > (1 << 20)) { rc = TPU_ERR_NOMEM; break; }   /* not a kernel case */
            rc = tpu_tensor_alloc(r.ctx, out(&r, i));
        }
        if (rc == TPU_STATUS_OK) rc = tpu_op_ref_fn(r.n->op)(r.g, r.n);
        n_ok[o] += rc == TPU_STATUS_OK;
        TEST_CHECK(rc < TPU_STATUS_COUNT && rc != TPU_ERR_INTERNAL, "iteration %d %s: %s", it, ops[o].op, tpu_errmsg(r.ctx));
        TEST_CHECK(rc == TPU_STATUS_OK || rc == TPU_ERR_NOMEM || names_node(&r, ops[o].op),
                   "iteration %d %s: '%s'", it, ops[o].op, tpu_errmsg(r.ctx));
        rig_free(&r);
    }
    for (int o = 0; o < N(ops); o++)        /* the fuzz reaches every kernel */
        TEST_CHECK(n_ok[o] >= 20, "%s ran its kernel only %d times", ops[o].op, n_ok[o]);
    return 0;
}

static const struct test_case cases[] = {
    { "tensor-reshape-1.1", test_reshape },
    { "tensor-reshape-1.2", test_reshape_errors },
    { "tensor-flatten-1.1", test_flatten },
    { "tensor-squeeze-1.1", test_squeeze },
    { "tensor-unsqueeze-1.1", test_unsqueeze },
    { "tensor-copy-1.1", test_identity_dropout },
    { "tensor-transpose-1.1", test_transpose },
    { "tensor-transpose-1.2", test_transpose_tiled },
    { "tensor-concat-1.1", test_concat },
    { "tensor-split-1.1", test_split },
    { "tensor-slice-1.1", test_slice },
    { "tensor-gather-1.1", test_gather },
    { "tensor-shape-1.1", test_shape_size },
    { "tensor-constant-1.1", test_constant },
    { "tensor-constant-of-shape-1.1", test_constant_of_shape },
    { "tensor-cast-1.1", test_cast },
    { "tensor-expand-1.1", test_expand },
    { "tensor-tile-1.1", test_tile },
    { "tensor-pad-1.1", test_pad },
    { "tensor-range-1.1", test_range },
    { "tensor-resize-1.1", test_resize_nearest },
    { "tensor-resize-1.2", test_resize_linear },
    { "tensor-infer-1.1", test_infer_symbolic },
    { "tensor-hostile-1.1", test_hostile_sizes },
    { "tensor-fuzz-1.1", test_fuzz },
};
TEST_MAIN(cases)
