/*
** tests/test-pack.c: compile/driver.c's fast input packing (quantise the
** tensor once, then im2col bytes with tile counters) against the element by
** element path it replaced (tpu_mm_pack_input_ref): the same host bytes and
** the same in_scale on ragged shapes (K, M, N not multiples of the array),
** grouped, strided, dilated, padded convolutions, int8 and bf16 chips, and
** rounding ties / saturation under a fixed scale.
*/
#include "compile/compile.h"
#include "testlib.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 7;
static float rndf(void)
{
    rng = rng * 1103515245u + 12345u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* Lowers d on chip/array, packs x both ways, compares bytes and scale. */
static int same_packing(const char *chip, const char *array, struct tpu_mm_desc d, float fixed,
                        const float *x)
{
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_chip *c = NULL;
    TEST_CHECK(tpu_chip_load(ctx, chip, &c) == 0, "%s", tpu_errmsg(ctx));
    TEST_CHECK(!array || tpu_chip_set_array(ctx, c, array) == 0, "%s", tpu_errmsg(ctx));
    int64_t wn = d.groups * d.K * d.N;
    float *w = malloc(sizeof(float) * (size_t)wn);
    for (int64_t i = 0; i < wn; i++) w[i] = rndf();
    struct tpu_lowered l;
    TEST_CHECK(tpu_lower_mm(ctx, c, &d, w, &l) == 0, "%s", tpu_errmsg(ctx));
    l.in_scale_fixed = fixed;
    uint8_t *h1 = malloc((size_t)l.host_bytes), *h2 = malloc((size_t)l.host_bytes);
    memset(h1, 0xa5, (size_t)l.host_bytes);              /* both must clear what they own */
    memset(h2, 0x5a, (size_t)l.host_bytes);
    tpu_mm_pack_input_ref(c, &l, x, h1);
    float s1 = l.in_scale;
    tpu_mm_pack_input(c, &l, x, h2);
    TEST_CHECK(memcmp(&s1, &l.in_scale, 4) == 0, "in_scale %.9g vs %.9g", s1, l.in_scale);
    int64_t bad = -1;
    for (int64_t i = 0; i < (int64_t)l.host_out_off && bad < 0; i++) if (h1[i] != h2[i]) bad = i;
    TEST_CHECK(bad < 0, "%s %s: byte %lld differs (%02x vs %02x)", chip, d.name, (long long)bad,
               bad < 0 ? 0 : h1[bad], bad < 0 ? 0 : h2[bad]);
    free(h1); free(h2); free(w);
    tpu_lowered_free(&l);
    tpu_chip_free(c);
    tpu_free(ctx);
    return 0;
}

static struct tpu_mm_desc conv(int64_t b, int64_t cin, int64_t h, int64_t w, int64_t cout, int64_t k,
                               int64_t s, int64_t dil, int64_t pad, int64_t groups)
{
    struct tpu_mm_desc d = { .name = "conv", .op = "Conv", .is_conv = 1, .groups = groups, .batch = b,
                             .c_in = cin, .h = h, .w = w, .c_out = cout, .kh = k, .kw = k, .sh = s,
                             .sw = s, .dh = dil, .dw = dil, .pt = pad, .pl = pad };
    d.oh = (h + 2 * pad - ((k - 1) * dil + 1)) / s + 1;
    d.ow = (w + 2 * pad - ((k - 1) * dil + 1)) / s + 1;
    d.M = b * d.oh * d.ow; d.K = cin / groups * k * k; d.N = cout / groups;
    return d;
}

static int test_conv_ragged(void)
{
    static const char *chips[][2] = { { "tpu-v1", NULL }, { "tpu-v1", "16x8" }, { "tpu-v4", "8x16" },
                                       { "tpu-v5e", NULL } };
    struct tpu_mm_desc ds[] = { conv(2, 3, 11, 9, 5, 3, 2, 1, 1, 1), conv(3, 6, 7, 8, 9, 3, 1, 2, 2, 3),
                                conv(1, 5, 13, 13, 7, 5, 3, 1, 2, 1), conv(2, 4, 6, 6, 4, 1, 1, 1, 0, 4),
                                conv(1, 20, 9, 10, 33, 3, 1, 1, 1, 1) };
    for (size_t ci = 0; ci < sizeof chips / sizeof chips[0]; ci++)
        for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
            int64_t n = ds[di].batch * ds[di].c_in * ds[di].h * ds[di].w;
            float *x = malloc(sizeof(float) * (size_t)n);
            for (int64_t i = 0; i < n; i++) x[i] = rndf() * 3.0f;
            if (same_packing(chips[ci][0], chips[ci][1], ds[di], 0, x)) { free(x); return 1; }
            free(x);
        }
    return 0;
}

/* Gemm rows; a fixed scale of 1 makes exact ties (k + 0.5) and values past ±127. */
static int test_gemm_ties_saturation(void)
{
    enum { M = 37, K = 45, N = 19 };
    static float x[M * K];
    for (int i = 0; i < M * K; i++) {
        int kind = i % 5;
        x[i] = kind == 0 ? (float)(i % 260 - 130) + 0.5f : kind == 1 ? -(float)(i % 7) - 0.5f
             : kind == 2 ? rndf() * 1e6f : kind == 3 ? rndf() * 1e-30f : rndf() * 127.4f;
    }
    struct tpu_mm_desc d = { .name = "gemm", .op = "Gemm", .groups = 1, .M = M, .K = K, .N = N, .batch = M };
    static const char *chips[][2] = { { "tpu-v1", "16x8" }, { "tpu-v1", NULL }, { "tpu-v4", "8x8" } };
    for (size_t ci = 0; ci < 3; ci++) {
        if (same_packing(chips[ci][0], chips[ci][1], d, 1.0f, x)) return 1;
        if (same_packing(chips[ci][0], chips[ci][1], d, 0.37f, x)) return 1;
        if (same_packing(chips[ci][0], chips[ci][1], d, 0, x)) return 1;
    }
    return 0;
}

/* The same with every value below 128 after scaling (no step of 16 values
** leaves the vector loop): ties at every half-integer, saturation at
** +-127.5 and +-127.9, -0, subnormals. */
static int test_gemm_ties_in_range(void)
{
    enum { M = 29, K = 70, N = 11 };
    static float x[M * K];
    for (int i = 0; i < M * K; i++) {
        int kind = i % 6;
        x[i] = kind == 0 ? (float)(i % 255 - 127) + 0.5f : kind == 1 ? (i & 1 ? 127.5f : -127.5f)
             : kind == 2 ? (i & 1 ? 127.9f : -127.9f) : kind == 3 ? (i & 1 ? -0.0f : 1e-40f)
             : (float)(i % 255 - 127) * 0.25f;
    }
    struct tpu_mm_desc d = { .name = "gemm", .op = "Gemm", .groups = 1, .M = M, .K = K, .N = N, .batch = M };
    if (same_packing("tpu-v1", NULL, d, 1.0f, x)) return 1;
    if (same_packing("tpu-v1", "16x8", d, 1.0f, x)) return 1;
    struct tpu_mm_desc cv = conv(2, 35, 7, 6, 9, 3, 1, 1, 1, 1);
    int64_t n = cv.batch * cv.c_in * cv.h * cv.w;
    float *y = malloc(sizeof(float) * (size_t)n);
    TEST_CHECK(y != NULL, "out of memory");
    for (int64_t i = 0; i < n; i++) y[i] = x[i % (M * K)];
    int bad = same_packing("tpu-v1", NULL, cv, 1.0f, y);
    free(y);
    return bad;
}

/* int8 convolutions (K as ky, kx, channel) on more shapes: channel counts
** past and between the 16-channel blocks of the NHWC copy, 1x1, dilation with
** groups, depthwise, padding wider than the kernel reach; inputs with ties,
** saturation, huge values and NaN under fixed and run-time scales. */
static int test_conv_int8_values(void)
{
    struct tpu_mm_desc ds[] = { conv(2, 37, 7, 9, 5, 3, 1, 1, 1, 1), conv(1, 48, 5, 6, 48, 3, 2, 2, 2, 48),
                                conv(3, 17, 4, 5, 300, 1, 1, 1, 0, 1), conv(1, 12, 9, 7, 8, 3, 1, 2, 3, 4),
                                conv(2, 3, 10, 12, 70, 7, 2, 1, 3, 1), conv(1, 32, 3, 3, 20, 5, 1, 1, 4, 2) };
    static const char *arrays[] = { NULL, "16x8", "8x24" };
    for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
        int64_t n = ds[di].batch * ds[di].c_in * ds[di].h * ds[di].w;
        float *x = malloc(sizeof(float) * (size_t)n);
        for (int64_t i = 0; i < n; i++) {
            int kind = (int)(i % 7);
            x[i] = kind == 0 ? (float)(i % 260 - 130) + 0.5f : kind == 1 ? rndf() * 1e6f
                 : kind == 2 && i % 61 == 2 ? NAN : rndf() * 127.4f;
        }
        for (size_t ai = 0; ai < sizeof arrays / sizeof arrays[0]; ai++)
            for (int f = 0; f < 3; f++)
                if (same_packing("tpu-v1", arrays[ai], ds[di], f == 0 ? 1.0f : f == 1 ? 0.37f : 0, x)) {
                    free(x);
                    return 1;
                }
        free(x);
    }
    return 0;
}

/* tpu_mm_unpack_output (rows in blocks, conv outputs plane by plane) against
** the element by element expression it must equal bit for bit: int8 and bf16
** results, alpha, bias or none, several passes with a short last one and
** blocks that cross from one image to the next. */
static int test_unpack(void)
{
    struct tpu_mm_desc ds[] = { conv(3, 5, 7, 9, 70, 3, 1, 1, 1, 1), conv(2, 6, 5, 5, 9, 1, 1, 1, 0, 3),
                                { .name = "gemm", .op = "Gemm", .groups = 1, .M = 77, .K = 13, .N = 300,
                                  .batch = 77 } };
    static const char *chips[][3] = { { "tpu-v1", "16x32", "accumulator_rows=40" },
                                      { "tpu-v5e", "8x16", "accumulator_rows=24" } };
    for (size_t ci = 0; ci < 2; ci++)
        for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++)
            for (int variant = 0; variant < 2; variant++) {
                struct tpu_mm_desc d = ds[di];
                struct tpu_ctx *ctx = tpu_init();
                struct tpu_chip *c = NULL;
                TEST_CHECK(tpu_chip_load(ctx, chips[ci][0], &c) == 0, "%s", tpu_errmsg(ctx));
                TEST_CHECK(tpu_chip_set_array(ctx, c, chips[ci][1]) == 0, "%s", tpu_errmsg(ctx));
                TEST_CHECK(tpu_chip_override(ctx, c, chips[ci][2]) == 0, "%s", tpu_errmsg(ctx));
                int64_t wn = d.groups * d.K * d.N, yn = d.groups * d.M * d.N;
                float *w = malloc(sizeof(float) * (size_t)wn), *bias = malloc(sizeof(float) * (size_t)(d.groups * d.N));
                for (int64_t i = 0; i < wn; i++) w[i] = rndf();
                for (int64_t i = 0; i < d.groups * d.N; i++) bias[i] = rndf() * 10.0f;
                struct tpu_lowered l;
                TEST_CHECK(tpu_lower_mm(ctx, c, &d, w, &l) == 0, "%s", tpu_errmsg(ctx));
                TEST_CHECK(l.n_chunks > 1, "%s: want several passes, got %lld", d.name, (long long)l.n_chunks);
                l.in_scale = 0.0123f;
                uint8_t *h = malloc((size_t)l.host_bytes);
                for (uint64_t i = l.host_out_off; i + 4 <= l.host_bytes; i += 4) {
                    float f = rndf() * 1000.0f;
                    int32_t q = (int32_t)(rndf() * ((i / 4096) % 2 ? 5.3e8f : 2e9f));   /* runs below 2^29 too */
                    memcpy(h + i, c->mxu_dtype == TPU_MXU_BF16 ? (const void *)&f : (const void *)&q, 4);
                }
                float *y = malloc(sizeof(float) * (size_t)yn), alpha = variant ? 0.75f : 1.0f;
                const float *b = variant ? bias : NULL;
                for (int64_t i = 0; i < yn; i++) y[i] = NAN;
                tpu_mm_unpack_output(c, &l, h, alpha, b, y);
                int64_t C = c->array_cols, pix = d.is_conv ? d.oh * d.ow : 1;
                for (int64_t g = 0; g < d.groups; g++)
                    for (int64_t m = 0; m < d.M; m++)
                        for (int64_t n = 0; n < d.N; n++) {
                            int64_t mc = m / l.mrows, r = m % l.mrows, rows = d.M - mc * l.mrows;
                            if (rows > l.mrows) rows = l.mrows;
                            const uint8_t *src = h + l.host_out_off + (uint64_t)(g * l.n_chunks + mc) *
                                                 (uint64_t)(l.n_tiles * l.mrows * C * 4) + ((n / C) * rows + r) * C * 4 + (n % C) * 4;
                            double v;
                            if (c->mxu_dtype == TPU_MXU_BF16) { float f; memcpy(&f, src, 4); v = f; }
                            else { int32_t q; memcpy(&q, src, 4); v = (double)q * l.in_scale * l.w_scale[g * d.N + n]; }
                            v *= alpha;
                            if (b) v += b[g * d.N + n];
                            float want = (float)v;
                            int64_t yi = d.is_conv ? (m / pix * d.c_out + g * d.N + n) * pix + m % pix
                                                   : (g * d.M + m) * d.N + n;
                            TEST_CHECK(memcmp(&want, &y[yi], 4) == 0, "%s %s (g%lld m%lld n%lld): %.9g, want %.9g",
                                       chips[ci][0], d.name, (long long)g, (long long)m, (long long)n, y[yi], want);
                        }
                free(h); free(y); free(w); free(bias);
                tpu_lowered_free(&l);
                tpu_chip_free(c);
                tpu_free(ctx);
            }
    return 0;
}

/* The weight image and column scales from [groups][N][K] weights (d.w_nk,
** the ONNX Conv layout) equal those from the same weights as [groups][K][N]:
** int8 (K as ky, kx, channel) and bf16, grouped, depthwise through the
** block-diagonal rewrite, arrays shorter than K and narrower than N. */
static int test_weights_nk(void)
{
    struct tpu_mm_desc ds[] = { conv(2, 37, 7, 9, 5, 3, 1, 1, 1, 1), conv(1, 12, 9, 7, 8, 3, 1, 2, 3, 4),
                                conv(1, 24, 5, 6, 24, 3, 2, 1, 1, 24), conv(1, 40, 4, 4, 300, 1, 1, 1, 0, 1),
                                /* channels in 16s, taps <= 16: the int8 columns reordered by 16 x 16
                                ** byte transposes (lower.c rows_in_tile_order) */
                                conv(1, 32, 6, 6, 20, 3, 1, 1, 1, 1), conv(1, 32, 6, 6, 18, 4, 1, 1, 1, 2),
                                conv(1, 48, 7, 7, 40, 3, 1, 1, 1, 1) };
    static const char *chips[][2] = { { "tpu-v1", NULL }, { "tpu-v1", "16x8" }, { "tpu-v5e", "8x16" },
                                      { "tpu-v1", "32x16" } };
    for (size_t ci = 0; ci < sizeof chips / sizeof chips[0]; ci++)
        for (size_t di = 0; di < sizeof ds / sizeof ds[0]; di++) {
            struct tpu_ctx *ctx = tpu_init();
            struct tpu_chip *c = NULL;
            TEST_CHECK(tpu_chip_load(ctx, chips[ci][0], &c) == 0, "%s", tpu_errmsg(ctx));
            TEST_CHECK(!chips[ci][1] || tpu_chip_set_array(ctx, c, chips[ci][1]) == 0, "%s", tpu_errmsg(ctx));
            struct tpu_mm_desc d_kn = ds[di], d_nk = ds[di];
            int64_t G = d_kn.groups, K = d_kn.K, N = d_kn.N;
            float *kn = malloc(sizeof(float) * (size_t)(G * K * N)), *nk = malloc(sizeof(float) * (size_t)(G * K * N));
            for (int64_t g = 0; g < G; g++)
                for (int64_t k = 0; k < K; k++)
                    for (int64_t n = 0; n < N; n++) {
                        float v = (k + n) % 11 == 0 ? 0.0f : rndf();
                        kn[(g * K + k) * N + n] = v;
                        nk[(g * N + n) * K + k] = v;
                    }
            d_nk.w_nk = 1;
            TEST_CHECK(tpu_mm_block_diagonal(ctx, c, &d_kn, &kn) == 0, "%s", tpu_errmsg(ctx));
            TEST_CHECK(tpu_mm_block_diagonal(ctx, c, &d_nk, &nk) == 0, "%s", tpu_errmsg(ctx));
            struct tpu_lowered a, b;
            TEST_CHECK(tpu_lower_mm(ctx, c, &d_kn, kn, &a) == 0, "%s", tpu_errmsg(ctx));
            TEST_CHECK(tpu_lower_mm(ctx, c, &d_nk, nk, &b) == 0, "%s", tpu_errmsg(ctx));
            TEST_CHECK(a.prog->weight_bytes == b.prog->weight_bytes, "weight bytes");
            TEST_CHECK(memcmp(a.prog->weights, b.prog->weights, (size_t)a.prog->weight_bytes) == 0,
                       "%s %s: weight images differ", chips[ci][0], d_kn.name);
            TEST_CHECK(!a.w_scale || memcmp(a.w_scale, b.w_scale, sizeof(float) * (size_t)(d_kn.groups * d_kn.N)) == 0,
                       "column scales differ");
            free(kn); free(nk);
            tpu_lowered_free(&a); tpu_lowered_free(&b);
            tpu_chip_free(c);
            tpu_free(ctx);
        }
    return 0;
}

/* bf16 packing (vectorised conversion, kernel rows without checks) equals
** the element path on NaN, infinities, signed zeros, subnormals and values
** halfway between two bf16 numbers (ties to even), Gemm and Conv. */
static int test_bf16_values(void)
{
    enum { N = 4096 };
    static float x[N];
    for (int i = 0; i < N; i++) {
        uint32_t u = (uint32_t)(0x3f800000u + (uint32_t)i * 0x8000u);      /* ties at odd and even */
        float f;
        memcpy(&f, &u, 4);
        int kind = i % 9;
        x[i] = kind == 0 ? f : kind == 1 ? -f : kind == 2 ? NAN : kind == 3 ? (i & 8 ? INFINITY : -INFINITY)
             : kind == 4 ? (i & 8 ? 0.0f : -0.0f) : kind == 5 ? rndf() * 1e-39f : rndf() * 3.0f;
        if (kind == 2 && (i & 8)) {                                     /* signalling NaN, payload */
            uint32_t s = 0x7f800001u + (uint32_t)i;
            memcpy(&x[i], &s, 4);
        }
    }
    struct tpu_mm_desc g = { .name = "gemm", .op = "Gemm", .groups = 1, .M = 64, .K = 61, .N = 5, .batch = 64 };
    struct tpu_mm_desc cv = conv(2, 7, 9, 11, 6, 3, 1, 1, 1, 1);
    static const char *arrays[] = { NULL, "8x16" };
    for (int a = 0; a < 2; a++) {
        if (same_packing("tpu-v5e", arrays[a], g, 0, x)) return 1;
        if (same_packing("tpu-v5e", arrays[a], cv, 0, x)) return 1;
    }
    return 0;
}

/* Every case above again with AVX-512 hidden from the host-side loops
** (base/cpu.c): the SSE2 / C paths a CPU without it takes, the same bits. */
static int test_portable_paths(void)
{
    int (*const fns[])(void) = { test_conv_ragged, test_gemm_ties_saturation, test_gemm_ties_in_range,
                                 test_conv_int8_values, test_unpack, test_weights_nk, test_bf16_values };
    tpu_cpu_force_portable(1);
    TEST_CHECK(!tpu_cpu_avx512() && !tpu_cpu_avx512_vbmi(), "AVX-512 still on");
    int rc = 0;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0] && !rc; i++) rc = fns[i]();
    tpu_cpu_force_portable(0);
    return rc;
}

static const struct test_case cases[] = {
    { "pack-1.1 fast conv packing equals the element-wise path (ragged, grouped, padded)", test_conv_ragged },
    { "pack-1.2 fast Gemm packing equals it on rounding ties and saturation", test_gemm_ties_saturation },
    { "pack-1.2b fast int8 packing equals it on ties and saturation with every value in range", test_gemm_ties_in_range },
    { "pack-1.3 int8 conv packing (ky, kx, channel) equals the element path on ties, NaN, more shapes", test_conv_int8_values },
    { "pack-1.4 unpacking equals the element by element dequantisation", test_unpack },
    { "pack-1.5 weight image from [N][K] (ONNX Conv layout) equals the one from [K][N]", test_weights_nk },
    { "pack-1.6 bf16 packing equals the element path on NaN, inf, signed zero, ties", test_bf16_values },
    { "pack-2 pack-1.1 to 1.6 again on the SSE2 / C paths (AVX-512 hidden, base/cpu.c)", test_portable_paths },
};
TEST_MAIN(cases)
