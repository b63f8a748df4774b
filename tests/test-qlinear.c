/*
** tests/test-qlinear.c: QLinearMatMul on tpu-v1's int8 MXU (compile/qlinear.c)
** against the reference kernel (ref/ref_quant.c). Seeded random one-node
** graphs, mostly ragged (not multiples of the 256x256 array), 2-D and batched
** 3-D A with a 2-D B, uint8 and int8 A / B / Y, random scales and zero
** points (per tensor, and per-column B), batched 3-D B with 3-D A (one GEMM
** per batch), b - b_zero_point inside int8 and
** outside it (the row-sum form): the chip's output bytes must equal the
** reference kernel's exactly. Refusals: non-constant B or scale, K too large
** for int32 in the row-sum form, a bf16 chip — the placement is the host
** with a reason.
** QLinearConv likewise: random strides, pads (filled with x_zero_point),
** dilations, groups and depthwise, per-channel w_zero_point, int32 B, both
** forms; lowered by tpu_mm_lower_node (compile/mm_node.c, as run, compile -o
** and bench lower them): narrow groups must be one block-diagonal GEMM, in
** both forms (the row-sum form: a ones column per group).
** Prints one PASS/FAIL line per case.
*/
#include "compile/place.h"                 /* includes compile/compile.h */
#include "compile/mm_node.h"
#include "testrig.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_SEED 0x9E3779B97F4A7C15ull
#include "testrng.h"

static int n_fail;

struct qcase {
    int64_t  dims[3];                      /* A: [dims[0]] [M] K when rank 3 */
    int      rank;
    int64_t  K, N;
    enum tpu_dtype at, bt, yt;
    int      per_col;                      /* b scale and zero point per column */
    int      wide_b;                       /* b - zb leaves int8: the row-sum form */
    int      var_in;                       /* >0: that input without values (refusal) */
    int      b3;                           /* B [batch][K][N] (rank-3 A)        */
};

static void fill_bytes(enum tpu_dtype dt, uint8_t *v, int64_t n, int lo, int hi)
{
    for (int64_t i = 0; i < n; i++) {
        int x = (int)pick(lo, hi);
        v[i] = dt == TPU_DTYPE_I8 ? (uint8_t)(int8_t)(x - 128) : (uint8_t)x;
    }
}

/* The node: A, a_scale, a_zp, B, b_scale, b_zp, y_scale, y_zp. */
static struct rig make(const struct qcase *q)
{
    struct rig r = rig_new("QLinearMatMul", 8, 1);
    int64_t M = 1, adims[3];
    for (int i = 0; i < q->rank; i++) adims[i] = q->dims[i];
    adims[q->rank - 1] = q->K;
    for (int i = 0; i < q->rank - 1; i++) M *= adims[i];
    int64_t G = q->b3 ? adims[0] : 1, nbv = G * q->K * q->N;
    uint8_t *a = malloc((size_t)(M * q->K)), *b = malloc((size_t)nbv);
    fill_bytes(q->at, a, M * q->K, 0, 255);
    int64_t nb = q->per_col ? q->N : 1, one = 1, bd[3] = { G, q->K, q->N };
    float sa = 0.001f + (float)pick(1, 1000) / 10000.0f, sy = 0.01f + (float)pick(1, 1000) / 1000.0f;
    float *sb = malloc((size_t)nb * sizeof *sb);
    uint8_t *zb = malloc((size_t)nb);
    for (int64_t j = 0; j < nb; j++) sb[j] = 0.001f + (float)pick(1, 1000) / 20000.0f;
    /* zero points near the middle so b - zb stays in int8; wide_b: at the edge */
    fill_bytes(q->bt, zb, nb, q->wide_b ? 200 : 100, q->wide_b ? 255 : 156);
    for (int64_t i = 0; i < nbv; i++) {
        int z = q->bt == TPU_DTYPE_I8 ? (int8_t)zb[q->per_col ? i % q->N : 0] + 128 : zb[q->per_col ? i % q->N : 0];
        int lo = z - 128 < 0 ? 0 : z - 128, hi = z + 127 > 255 ? 255 : z + 127;
        if (q->wide_b) { lo = 0; hi = 255; }
        fill_bytes(q->bt, b + i, 1, lo, hi);
    }
    uint8_t za, zy;
    fill_bytes(q->at, &za, 1, 0, 255);
    fill_bytes(q->yt, &zy, 1, 60, 200);
    rig_in(&r, 0, q->at, q->rank, adims, a);
    rig_in(&r, 1, TPU_DTYPE_F32, 0, &one, &sa);
    rig_in(&r, 2, q->at, 0, &one, &za);
    rig_in(&r, 3, q->bt, q->b3 ? 3 : 2, q->b3 ? bd : bd + 1, q->var_in == 3 ? NULL : b);
    rig_in(&r, 4, TPU_DTYPE_F32, q->per_col ? 1 : 0, &nb, sb);
    rig_in(&r, 5, q->bt, q->per_col ? 1 : 0, &nb, zb);
    rig_in(&r, 6, TPU_DTYPE_F32, 0, &one, q->var_in == 6 ? NULL : &sy);
    rig_in(&r, 7, q->yt, 0, &one, &zy);
    tpu_out(r.g, r.n, 0)->dtype = q->yt;
    free(a); free(b); free(sb); free(zb);
    return r;
}

static const char *dt(enum tpu_dtype t) { return t == TPU_DTYPE_U8 ? "u8" : "i8"; }

static void name_of(const struct qcase *q, char *s0, size_t n0)
{
    int w = snprintf(s0, n0, "%s%s", q->wide_b ? "[b-zb outside int8] " : "", q->b3 ? "[3-D B] " : "");
    char *s = s0 + w;
    size_t n = n0 - (size_t)w;
    if (q->rank == 3)
        snprintf(s, n, "A=%lldx%lldx%lld(%s) B=%lldx%lld(%s%s) Y=%s", (long long)q->dims[0], (long long)q->dims[1],
                 (long long)q->K, dt(q->at), (long long)q->K, (long long)q->N, dt(q->bt),
                 q->per_col ? ",per-col" : "", dt(q->yt));
    else
        snprintf(s, n, "A=%lldx%lld(%s) B=%lldx%lld(%s%s) Y=%s", (long long)q->dims[0], (long long)q->K, dt(q->at),
                 (long long)q->K, (long long)q->N, dt(q->bt), q->per_col ? ",per-col" : "", dt(q->yt));
}

/* 1: the lowering should make d0 one block-diagonal GEMM (compile/mm_node.c:
** a grouped conv narrower than the array, in either form). */
static int expect_block_diagonal(const struct tpu_chip *c, const struct tpu_mm_desc *d0)
{
    return d0->is_conv && d0->groups > 1 && !(d0->K >= c->array_rows && d0->N >= c->array_cols);
}

/* Chip output bytes against the reference kernel's, the node lowered by the
** one sequence run, compile -o and bench use (tpu_mm_lower_node). */
static void run_rig(const struct tpu_chip *c, struct rig r, const char *label, const char *name)
{
    const char *bad = NULL;
    char why[300] = "";
    uint8_t *ref = NULL, *host = NULL;
    struct tpu_mm_node m = { 0 };
    struct tpu_mm_node_opts mo = { 1, 1, 0, 0 };
    struct tpu_sim *sim = NULL;
    size_t nbytes = 0;
    if (rig_run(&r)) bad = tpu_errmsg(r.ctx);
    if (!bad) {
        tpu_tensor_nbytes(r.ctx, out(&r, 0), &nbytes);
        ref = malloc(nbytes);
        memcpy(ref, out(&r, 0)->data, nbytes);
        memset(out(&r, 0)->data, 0xA5, nbytes);
    }
    if (!bad && tpu_mm_lower_node(r.ctx, r.g, r.n, c, &mo, &m)) bad = tpu_errmsg(r.ctx);
    int bd = !bad && m.d0.groups > 1 && m.l.d.groups == 1;
    if (!bad && bd != expect_block_diagonal(c, &m.d0)) {
        snprintf(why, sizeof why, "%d groups lowered as %lld GEMM(s)", (int)m.d0.groups, (long long)m.l.d.groups);
        bad = why;
    }
    if (!bad && !(host = calloc(1, (size_t)m.l.host_bytes))) bad = "out of memory";
    if (!bad) tpu_qlinear_pack(r.g, r.n, c, &m.l, m.wq, host);
    if (!bad && !(sim = tpu_sim_new(r.ctx, c, 0))) bad = tpu_errmsg(r.ctx);
    if (!bad && tpu_sim_run(sim, m.l.prog, host, m.l.host_bytes)) bad = tpu_errmsg(r.ctx);
    if (!bad && tpu_qlinear_unpack(r.g, r.n, c, &m.l, host)) bad = tpu_errmsg(r.ctx);
    if (!bad) {
        const uint8_t *got = out(&r, 0)->data;
        for (size_t i = 0; i < nbytes && !bad; i++)
            if (got[i] != ref[i]) {
                snprintf(why, sizeof why, "byte %zu: chip %d, reference %d", i, got[i], ref[i]);
                bad = why;
            }
    }
    if (bad) { printf("FAIL %s %s: %s\n", label, name, bad); n_fail++; }
    else printf("PASS %s %s: %zu output bytes identical, %lld cycles%s\n", label, name, nbytes,
                (long long)sim->ctr.cycles, bd ? " (block-diagonal)" : "");
    tpu_sim_free(sim);
    tpu_mm_node_free(&m);
    free(host); free(ref);
    rig_free(&r);
}

static void run_case(const struct tpu_chip *c, const struct qcase *q)
{
    char name[200];
    name_of(q, name, sizeof name);
    run_rig(c, make(q), "qlinear-matmul", name);
}

/*---- QLinearConv ----*/
struct ccase {
    int64_t  b, cin, h, w, cout, kh, kw, group;
    int64_t  strides[2], pads[4], dil[2];
    enum tpu_dtype xt, wt, yt;
    int      per_ch, wide_w, has_bias;
};

/* x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp[, B]; attrs point into q. */
static struct rig make_conv(struct ccase *q)
{
    struct rig r = rig_new("QLinearConv", q->has_bias ? 9 : 8, 1);
    int64_t xd[4] = { q->b, q->cin, q->h, q->w }, wd[4] = { q->cout, q->cin / q->group, q->kh, q->kw };
    int64_t nx = q->b * q->cin * q->h * q->w, kk = q->cin / q->group * q->kh * q->kw, nw = q->cout * kk;
    int64_t nc = q->per_ch ? q->cout : 1, one = 1;
    uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw), *wz = malloc((size_t)nc), zx, zy;
    float *ws = malloc((size_t)nc * sizeof *ws), sx = 0.002f + (float)pick(1, 1000) / 20000.0f;
    float sy = 0.01f + (float)pick(1, 1000) / 2000.0f;
    int32_t *bias = malloc((size_t)q->cout * sizeof *bias);
    fill_bytes(q->xt, x, nx, 0, 255);
    fill_bytes(q->xt, &zx, 1, 0, 255);
    fill_bytes(q->yt, &zy, 1, 60, 200);
    fill_bytes(q->wt, wz, nc, q->wide_w ? 200 : 100, q->wide_w ? 255 : 156);
    for (int64_t j = 0; j < nc; j++) ws[j] = 0.001f + (float)pick(1, 1000) / 40000.0f;
    for (int64_t i = 0; i < nw; i++) {
        int64_t ch = q->per_ch ? i / kk : 0;
        int z = q->wt == TPU_DTYPE_I8 ? (int8_t)wz[ch] + 128 : wz[ch];
        int lo = z - 128 < 0 ? 0 : z - 128, hi = z + 127 > 255 ? 255 : z + 127;
        if (q->wide_w) { lo = 0; hi = 255; }
        fill_bytes(q->wt, w + i, 1, lo, hi);
    }
    for (int64_t j = 0; j < q->cout; j++) bias[j] = (int32_t)pick(-20000, 20000);
    rig_in(&r, 0, q->xt, 4, xd, x);
    rig_in(&r, 1, TPU_DTYPE_F32, 0, &one, &sx);
    rig_in(&r, 2, q->xt, 0, &one, &zx);
    rig_in(&r, 3, q->wt, 4, wd, w);
    rig_in(&r, 4, TPU_DTYPE_F32, q->per_ch ? 1 : 0, &nc, ws);
    rig_in(&r, 5, q->wt, q->per_ch ? 1 : 0, &nc, wz);
    rig_in(&r, 6, TPU_DTYPE_F32, 0, &one, &sy);
    rig_in(&r, 7, q->yt, 0, &one, &zy);
    if (q->has_bias) rig_in(&r, 8, TPU_DTYPE_I32, 1, &q->cout, bias);
    attr_int(&r, "group", q->group);
    attr_ints(&r, "strides", 2, q->strides);
    attr_ints(&r, "pads", 4, q->pads);
    attr_ints(&r, "dilations", 2, q->dil);
    tpu_out(r.g, r.n, 0)->dtype = q->yt;
    free(x); free(w); free(wz); free(ws); free(bias);
    return r;
}

static void conv_case(const struct tpu_chip *c, struct ccase *q)
{
    char name[240];
    snprintf(name, sizeof name, "%sx=%lldx%lldx%lldx%lld(%s) w=%lldx%lldx%lldx%lld(%s%s) g=%lld s=%lld/%lld "
             "p=%lld/%lld/%lld/%lld d=%lld%s y=%s", q->wide_w ? "[w-zw outside int8] " : "", (long long)q->b,
             (long long)q->cin, (long long)q->h, (long long)q->w, dt(q->xt), (long long)q->cout,
             (long long)(q->cin / q->group), (long long)q->kh, (long long)q->kw, dt(q->wt),
             q->per_ch ? ",per-ch" : "", (long long)q->group, (long long)q->strides[0], (long long)q->strides[1],
             (long long)q->pads[0], (long long)q->pads[1], (long long)q->pads[2], (long long)q->pads[3],
             (long long)q->dil[0], q->has_bias ? " +B" : "", dt(q->yt));
    run_rig(c, make_conv(q), "qlinear-conv", name);
}

/* A random conv whose output is not empty. */
static void random_conv(struct ccase *q, int i)
{
    static const enum tpu_dtype ts[2] = { TPU_DTYPE_U8, TPU_DTYPE_I8 };
    do {
        memset(q, 0, sizeof *q);
        q->group = pick(0, 3) == 0 ? pick(2, 4) : 1;
        int64_t cpg = pick(1, 12), opg = pick(1, 40);
        if (pick(0, 4) == 0) { q->group = pick(2, 12); cpg = 1; opg = 1; }       /* depthwise */
        q->b = pick(1, 2); q->cin = q->group * cpg; q->cout = q->group * opg;
        q->h = pick(2, 13); q->w = pick(2, 13);
        q->kh = pick(1, 3); q->kw = pick(1, 3);
        q->strides[0] = pick(1, 2); q->strides[1] = pick(1, 2);
        q->dil[0] = q->dil[1] = pick(1, 2);
        for (int k = 0; k < 4; k++) q->pads[k] = pick(0, 2);
        q->xt = ts[pick(0, 1)]; q->wt = ts[pick(0, 1)]; q->yt = ts[pick(0, 1)];
        q->per_ch = (int)pick(0, 1); q->has_bias = (int)pick(0, 1); q->wide_w = i % 3 == 1;
    } while (q->h + q->pads[0] + q->pads[2] < q->dil[0] * (q->kh - 1) + 1 ||
             q->w + q->pads[1] + q->pads[3] < q->dil[1] * (q->kw - 1) + 1);
}

/* A node the lowering refuses is placed on the host with the reason. */
static void refusal_case(const struct tpu_chip *c, const struct qcase *q, const char *label, const char *want)
{
    struct rig r = make(q);
    struct tpu_place p;
    tpu_place_node(r.g, r.n, c, &p);
    int ok = p.unit == TPU_PLACE_HOST && strstr(p.reason, want) != NULL;
    if (ok) printf("PASS qlinear-refuse %s %s: host (%s)\n", c->name, label, p.reason);
    else { printf("FAIL qlinear-refuse %s %s: %s (%s), expected host with '%s'\n", c->name, label,
                  tpu_place_class_name(p.unit), p.reason, want); n_fail++; }
    rig_free(&r);
}

static void placed_case(const struct tpu_chip *c, const struct qcase *q)
{
    struct rig r = make(q);
    struct tpu_place p;
    tpu_place_node(r.g, r.n, c, &p);
    if (p.unit == TPU_PLACE_MXU) printf("PASS qlinear-place %s: mxu (%s)\n", c->name, p.reason);
    else { printf("FAIL qlinear-place %s: %s (%s)\n", c->name, tpu_place_class_name(p.unit), p.reason); n_fail++; }
    rig_free(&r);
}

int main(void)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = NULL, *bf = NULL;
    if (tpu_chip_load(ctx, "tpu-v1", &c) || tpu_chip_load(ctx, "tpu-v5e", &bf)) {
        printf("FAIL qlinear: %s\n", tpu_errmsg(ctx));
        return 1;
    }
    static const enum tpu_dtype ts[2] = { TPU_DTYPE_U8, TPU_DTYPE_I8 };
    static const int64_t fixed[][3] = { { 1, 1, 1 }, { 2, 4, 3 }, { 256, 256, 256 }, { 129, 257, 130 },
                                        { 3, 600, 5 }, { 300, 7, 260 } };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        struct qcase q = { { fixed[i][0] }, 2, fixed[i][1], fixed[i][2], ts[i % 2], ts[(i / 2) % 2], ts[i % 2], 0, 0, 0, 0 };
        run_case(c, &q);
    }
    for (int i = 0; i < 18; i++) {
        struct qcase q = { { pick(1, 150), pick(1, 40) }, pick(2, 3), pick(1, 400), pick(1, 300),
                           ts[pick(0, 1)], ts[pick(0, 1)], ts[pick(0, 1)], (int)pick(0, 1), i % 3 == 2, 0, 0 };
        if (q.rank == 3) q.dims[0] = pick(1, 4);
        if (i == 17) q.N = 256;                  /* the ones column opens a second n-tile */
        run_case(c, &q);
    }
    for (int i = 0; i < 6; i++) {                 /* batched: A [G][M][K] x B [G][K][N] */
        struct qcase q = { { pick(1, 4), pick(1, 60) }, 3, pick(1, 300), pick(1, 280),
                           ts[pick(0, 1)], ts[pick(0, 1)], ts[pick(0, 1)], (int)pick(0, 1), i % 2, 0, 1 };
        run_case(c, &q);
    }
    for (int i = 0; i < 16; i++) {
        struct ccase q;
        random_conv(&q, i);
        conv_case(c, &q);
    }
    for (int i = 0; i < 2; i++) {                 /* depthwise 3x3, pad 1, u8 x with a zero point */
        struct ccase q = { 2, 24, 9, 11, 24, 3, 3, 24, { 1 + i, 1 + i }, { 1, 1, 1, 1 }, { 1, 1 },
                           TPU_DTYPE_U8, i ? TPU_DTYPE_I8 : TPU_DTYPE_U8, TPU_DTYPE_U8, 1, i, 1 };
        conv_case(c, &q);
    }
    for (int i = 0; i < 10; i++) {                /* grouped, both forms: block-diagonal */
        struct ccase q;
        do random_conv(&q, i % 2); while (q.group == 1);
        conv_case(c, &q);
    }
    struct qcase ok = { { 5 }, 2, 9, 7, TPU_DTYPE_U8, TPU_DTYPE_U8, TPU_DTYPE_U8, 0, 0, 0, 0 };
    placed_case(c, &ok);
    struct qcase var = ok, var_s = ok, big = ok;
    var.var_in = 3;
    var_s.var_in = 6;
    big.wide_b = 1;
    big.K = 20000;                               /* row-sum form: int32 bound */
    refusal_case(c, &var, "non-constant-B", "no constant value");
    refusal_case(c, &var_s, "non-constant-y_scale", "no constant value");
    refusal_case(c, &big, "K-20000-b-zb-outside-int8", "exceeds 16384");
    refusal_case(bf, &ok, "bf16-chip", "int8 MXU only");
    for (int i = 0; i < 2; i++) {                 /* a conv: MXU on tpu-v1, host on tpu-v5e */
        struct ccase q = { 1, 4, 6, 6, 8, 3, 3, 1, { 1, 1 }, { 1, 1, 1, 1 }, { 1, 1 },
                           TPU_DTYPE_U8, TPU_DTYPE_I8, TPU_DTYPE_U8, 0, 0, 1 };
        struct rig r = make_conv(&q);
        struct tpu_place p;
        const struct tpu_chip *ch = i ? bf : c;
        tpu_place_node(r.g, r.n, ch, &p);
        int ok_p = i ? p.unit == TPU_PLACE_HOST && strstr(p.reason, "int8 MXU only") : p.unit == TPU_PLACE_MXU;
        if (ok_p) printf("PASS qlinear-conv-place %s: %s (%s)\n", ch->name, tpu_place_class_name(p.unit), p.reason);
        else { printf("FAIL qlinear-conv-place %s: %s (%s)\n", ch->name, tpu_place_class_name(p.unit), p.reason); n_fail++; }
        rig_free(&r);
    }
    tpu_chip_free(c);
    tpu_chip_free(bf);
    tpu_free(ctx);
    return n_fail != 0;
}
