/*
** tests/test-onnx-raw.c: the loader's raw_data path (onnx/onnx_raw.c): a
** model whose initializers carry more than a MB of raw_data is unpacked
** without them and its initializers point into the mapped file. Models are
** built here with protobuf-c: every payload alignment (a doc_string of 0..7
** bytes before the graph shifts them), float / int64 / int8 raw_data and
** typed float_data, empty raw_data; the values loaded must be the bytes
** written. A second graph message concatenated to the file (protobuf merges
** it) makes the stripping decline and the merged model still loads; cut
** files fail with a message, never a crash.
*/
#include "onnx/onnx.h"
#include "testlib.h"
#include <stdlib.h>
#include <unistd.h>

#define BIG 300001                        /* floats: 1.2 MB of raw_data */

static const char *path = "build/test-onnx-raw.onnx";

static Onnx__TensorProto *tensor(const char *name, int32_t dt, int64_t n, const void *raw, size_t bytes)
{
    Onnx__TensorProto *t = calloc(1, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dt;
    t->n_dims = 1;
    t->dims = malloc(sizeof(int64_t));
    t->dims[0] = n;
    if (raw) { t->has_raw_data = 1; t->raw_data.data = (uint8_t *)raw; t->raw_data.len = bytes; }
    return t;
}

static Onnx__ValueInfoProto *value(const char *name)
{
    static Onnx__TensorShapeProto__Dimension d = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT, *dp = &d;
    static Onnx__TensorShapeProto s = ONNX__TENSOR_SHAPE_PROTO__INIT;
    static Onnx__TypeProto__Tensor tt = ONNX__TYPE_PROTO__TENSOR__INIT;
    d.value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d.dim_value = 1;
    s.n_dim = 1; s.dim = &dp;
    tt.has_elem_type = 1; tt.elem_type = 1; tt.shape = &s;
    Onnx__TypeProto *tp = calloc(1, sizeof *tp);
    onnx__type_proto__init(tp);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = &tt;
    Onnx__ValueInfoProto *v = calloc(1, sizeof *v);
    onnx__value_info_proto__init(v);
    v->name = (char *)name;
    v->type = tp;
    return v;
}

struct model { float *big; int64_t i64[3]; int8_t i8[7]; float small[5], typed[4]; };

/* The packed model: Identity x -> y, five initializers; doc: shift bytes. */
static uint8_t *build(const struct model *v, int shift, int with_big, size_t *len)
{
    Onnx__TensorProto *init[6];
    int n = 0;
    if (with_big) init[n++] = tensor("big", 1, BIG, v->big, sizeof(float) * BIG);
    init[n++] = tensor("small", 1, 5, v->small, sizeof v->small);
    init[n++] = tensor("i64", 7, 3, v->i64, sizeof v->i64);
    init[n++] = tensor("i8", 3, 7, v->i8, sizeof v->i8);
    init[n] = tensor("typed", 1, 4, NULL, 0);
    init[n]->n_float_data = 4;
    init[n++]->float_data = (float *)v->typed;
    init[n++] = tensor("empty", 1, 0, "", 0);
    Onnx__NodeProto node = ONNX__NODE_PROTO__INIT;
    char *in = "x", *out = "y";
    node.op_type = "Identity"; node.n_input = 1; node.input = &in; node.n_output = 1; node.output = &out;
    Onnx__NodeProto *np = &node;
    Onnx__ValueInfoProto *vi = value("x"), *vo = value("y");
    Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
    g.name = "g"; g.n_node = 1; g.node = &np; g.n_initializer = (size_t)n; g.initializer = init;
    g.n_input = 1; g.input = &vi; g.n_output = 1; g.output = &vo;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT, *opp = &op;
    op.has_version = 1; op.version = 13;
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    char doc[9] = "abcdefgh";
    doc[shift] = 0;
    m.has_ir_version = 1; m.ir_version = 8; m.producer_name = "t"; m.doc_string = shift ? doc : NULL;
    m.graph = &g; m.n_opset_import = 1; m.opset_import = &opp;
    *len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = malloc(*len);
    onnx__model_proto__pack(&m, buf);
    for (int i = 0; i < n; i++) { free(init[i]->dims); free(init[i]); }
    free(vi->type); free(vi); free(vo->type); free(vo);
    return buf;
}

static int put(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int bad = fwrite(a, 1, na, f) != na || (nb && fwrite(b, 1, nb, f) != nb);
    return fclose(f) || bad ? -1 : 0;
}

static const struct tpu_tensor *find(struct tpu_graph *g, const char *name)
{
    int i = tpu_graph_find_tensor(g, name);
    return i < 0 ? NULL : g->tensors[i];
}

static int check_values(struct tpu_graph *g, const struct model *v, int with_big)
{
    const struct tpu_tensor *t;
    if (with_big) {
        TEST_CHECK((t = find(g, "big")) && t->data && tpu_tensor_numel(t) == BIG, "big");
        TEST_CHECK(memcmp(t->data, v->big, sizeof(float) * BIG) == 0, "big's values");
    }
    TEST_CHECK((t = find(g, "small")) && t->data && !memcmp(t->data, v->small, sizeof v->small), "small");
    TEST_CHECK((t = find(g, "i64")) && t->data && t->dtype == TPU_DTYPE_I64 && !memcmp(t->data, v->i64, sizeof v->i64), "i64");
    TEST_CHECK(((uintptr_t)t->data & 7) == 0, "i64 values aligned");
    TEST_CHECK((t = find(g, "i8")) && t->data && !memcmp(t->data, v->i8, sizeof v->i8), "i8");
    TEST_CHECK((t = find(g, "typed")) && t->data && !memcmp(t->data, v->typed, sizeof v->typed), "typed");
    TEST_CHECK((t = find(g, "empty")) && tpu_tensor_numel(t) == 0, "empty");
    return 0;
}

static int test_alignments(void)
{
    struct model v = { .i64 = { -5, 1LL << 40, 7 }, .i8 = { 1, -2, 3, -4, 5, -6, 7 },
                       .small = { 0.5f, -1.25f, 3, 4, 5 }, .typed = { 9, 8, 7, 6 } };
    v.big = malloc(sizeof(float) * BIG);
    for (int i = 0; i < BIG; i++) v.big[i] = (float)i * 0.25f - 7.0f;
    struct tpu_ctx *ctx = tpu_init();
    int in_file = 0;              /* big borrowed at an address protobuf-c's malloc never gives */
    for (int with_big = 0; with_big < 2; with_big++)
        for (int shift = 0; shift < 8; shift++) {
            size_t len;
            uint8_t *buf = build(&v, shift, with_big, &len);
            TEST_CHECK(put(buf, len, NULL, 0) == 0, "cannot write %s", path);
            free(buf);
            struct tpu_graph *g = NULL;
            TEST_CHECK(tpu_load_onnx(ctx, path, &g) == 0, "shift %d: %s", shift, tpu_errmsg(ctx));
            if (check_values(g, &v, with_big)) return 1;
            const struct tpu_tensor *t = find(g, "big");
            in_file += t && t->owner == TPU_DATA_BORROWED && ((uintptr_t)t->data & 15) != 0;
            tpu_graph_free(g);
        }
    TEST_CHECK(in_file >= 1, "no shift read the big initializer in place");
    free(v.big);
    tpu_free(ctx);
    return 0;
}

/* A second ModelProto concatenated: protobuf merges the graphs; the stripping
** declines (two graph fields) and the plain unpack gives the merged model. */
static int test_merged_and_cut(void)
{
    struct model v = { .i64 = { 1, 2, 3 }, .small = { 1, 2, 3, 4, 5 }, .typed = { 1, 1, 1, 1 } };
    v.big = calloc(BIG, sizeof(float));
    v.big[BIG - 1] = 42;
    size_t la, lb;
    uint8_t *a = build(&v, 3, 1, &la);
    Onnx__TensorProto *extra = tensor("extra", 1, 2, (const float[]){ 6, 7 }, 8);
    Onnx__GraphProto g2 = ONNX__GRAPH_PROTO__INIT;
    g2.n_initializer = 1; g2.initializer = &extra;
    Onnx__ModelProto m2 = ONNX__MODEL_PROTO__INIT;
    m2.graph = &g2;
    lb = onnx__model_proto__get_packed_size(&m2);
    uint8_t *b = malloc(lb);
    onnx__model_proto__pack(&m2, b);
    free(extra->dims); free(extra);
    struct tpu_ctx *ctx = tpu_init();
    TEST_CHECK(put(a, la, b, lb) == 0, "cannot write %s", path);
    struct tpu_graph *g = NULL;
    TEST_CHECK(tpu_load_onnx(ctx, path, &g) == 0, "%s", tpu_errmsg(ctx));
    if (check_values(g, &v, 1)) return 1;
    const struct tpu_tensor *t = find(g, "extra");
    TEST_CHECK(t && t->data && ((const float *)t->data)[1] == 7, "the merged initializer");
    tpu_graph_free(g);
    /* cut inside the headers, the big payload and the tail */
    for (size_t cut = 1; cut < la; cut += cut < 64 ? 1 : cut > la - 64 ? 1 : 9973) {
        TEST_CHECK(put(a, cut, NULL, 0) == 0, "cannot write %s", path);
        g = NULL;
        tpu_err_clear(ctx);
        enum tpu_status rc = tpu_load_onnx(ctx, path, &g);
        if (rc == 0) { tpu_graph_free(g); continue; }      /* a cut at a field boundary can parse */
        TEST_CHECK(strstr(tpu_errmsg(ctx), path) != NULL, "cut at %zu: '%s'", cut, tpu_errmsg(ctx));
    }
    free(a); free(b); free(v.big);
    tpu_free(ctx);
    unlink(path);
    return 0;
}

/* .pb files: the values read from the mapped file once, at every alignment
** (the name's length shifts them), float and int64. */
static int test_pb(void)
{
    struct tpu_ctx *ctx = tpu_init();
    static const char *names[] = { "a", "ab", "abc", "abcd", "abcde", "abcdef", "abcdefg", "abcdefgh" };
    float f[37];
    int64_t q[5] = { -1, 2, 1LL << 50, 4, 5 };
    for (int i = 0; i < 37; i++) f[i] = (float)i / 3.0f;
    for (int k = 0; k < 8; k++)
        for (int dt = 0; dt < 2; dt++) {
            struct tpu_tensor t = { .name = names[k], .dtype = dt ? TPU_DTYPE_I64 : TPU_DTYPE_F32, .n_dims = 1,
                                    .dims = { dt ? 5 : 37 }, .data = dt ? (void *)q : (void *)f,
                                    .owner = TPU_DATA_BORROWED };
            TEST_CHECK(tpu_tensor_save_pb(ctx, path, &t) == 0, "%s", tpu_errmsg(ctx));
            struct tpu_tensor *r = tpu_tensor_load_pb(ctx, path);
            TEST_CHECK(r && r->dtype == t.dtype && r->dims[0] == t.dims[0] && !strcmp(r->name, names[k]),
                       "%s", tpu_errmsg(ctx));
            TEST_CHECK(memcmp(r->data, t.data, dt ? sizeof q : sizeof f) == 0, "%s: values", names[k]);
            tpu_tensor_free(r);
        }
    unlink(path);
    tpu_free(ctx);
    return 0;
}

static const struct test_case cases[] = {
    { "onnx-raw-1.1 initializers read in place from the file: values at every alignment, dtypes, typed, empty", test_alignments },
    { "onnx-raw-1.3 .pb tensors read from the mapped file at every alignment", test_pb },
    { "onnx-raw-1.2 a merged second graph loads (stripping declines); cut files fail with a message", test_merged_and_cut },
};
TEST_MAIN(cases)
