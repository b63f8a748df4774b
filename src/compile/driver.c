/*
** compile/driver.c: the host side of a lowered matrix op — what the TPU v1
** host driver does around the chip: im2col of convolution inputs, dynamic
** per-tensor int8 quantisation (or bf16 rounding) of activations into the
** packed row layout lower.c's RD_HOST reads, ACTIVATE's bias / clamp tables
** (quantised to the accumulator's scale on int8 chips), and after the run,
** dequantisation and alpha (and bias when the chip did not add it) on the
** 32-bit results WR_HOST wrote back.
**
** int8 convolutions are packed from an NHWC int8 copy of the input with K
** running (ky, kx, channel), so each kernel row is one copy (l->k_hwc; the
** weight tiles use the same order); other ops and bf16 chips keep (channel,
** ky, kx). tpu_mm_pack_input_ref is the element by element reference.
**
** In:  struct tpu_lowered (compile/lower.c), fp32 input values.
** Out: host memory for sim/ (tpu_sim_run), fp32 outputs in ONNX layout.
*/
#include "compile/compile.h"
#include "compile/driver.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
/* The elementwise loops below are plain C the compiler vectorises, built
** for AVX-512 too (VEC_CLONES, tpu_impl.h). */

float tpu_mm_a_value(const struct tpu_mm_desc *d, const float *x, int64_t g, int64_t m, int64_t k)
{
    if (!d->is_conv) return x[(g * d->M + m) * d->K + k];      /* groups stacked: [g][M][K] */
    int64_t ow = m % d->ow, oh = m / d->ow % d->oh, b = m / (d->ow * d->oh);
    int64_t kx = k % d->kw, ky = k / d->kw % d->kh, c = k / (d->kw * d->kh);
    int64_t iy = oh * d->sh - d->pt + ky * d->dh, ix = ow * d->sw - d->pl + kx * d->dw;
    if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) return 0.0f;     /* zero padding */
    int64_t ch = g * (d->c_in / d->groups) + c;
    return x[((b * d->c_in + ch) * d->h + iy) * d->w + ix];
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#include <immintrin.h>
/* The same maximum with AVX-512: 64 values a step in four 16-lane maxima
** (MAXPS keeps the running maximum when the value is NaN, as below). */
__attribute__((target("avx512f"))) static float max_abs_avx512(const float *x, int64_t n, int64_t *done)
{
    __m512 m0 = _mm512_setzero_ps(), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i)), m0);
        m1 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i + 16)), m1);
        m2 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i + 32)), m2);
        m3 = _mm512_max_ps(_mm512_abs_ps(_mm512_loadu_ps(x + i + 48)), m3);
    }
    m0 = _mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3));
    float lanes[16], mx = 0;
    _mm512_storeu_ps(lanes, m0);
    for (int j = 0; j < 16; j++) mx = lanes[j] > mx ? lanes[j] : mx;
    *done = i;
    return mx;
}
#define HAVE_DRIVER_AVX512 1
#endif

/* Largest |x[i]| (0 for none; a NaN is skipped, as fmaxf skips it). With
** SSE2 eight lanes keep their own v > mx ? v : mx (what MAXPS computes),
** combined at the end (AVX-512 first where the CPU has it): the same
** maximum in any order. Also the lowering's
** per-column weight scales (compile/lower.c). */
float tpu_max_abs_f32(const float *x, int64_t n)
{
    int64_t i = 0;
    float mx = 0;
#ifdef HAVE_DRIVER_AVX512
    if (tpu_cpu_avx512() && n >= 64) mx = max_abs_avx512(x, n, &i);
#endif
#ifdef __SSE2__
    const __m128 sign = _mm_set1_ps(-0.0f);
    __m128 m0 = _mm_set1_ps(mx), m1 = _mm_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        m0 = _mm_max_ps(_mm_andnot_ps(sign, _mm_loadu_ps(x + i)), m0);
        m1 = _mm_max_ps(_mm_andnot_ps(sign, _mm_loadu_ps(x + i + 4)), m1);
    }
    float lanes[8];
    _mm_storeu_ps(lanes, m0);
    _mm_storeu_ps(lanes + 4, m1);
    for (int j = 0; j < 8; j++) mx = lanes[j] > mx ? lanes[j] : mx;
#endif
    for (; i < n; i++) {
        float v = fabsf(x[i]);
        mx = v > mx ? v : mx;
    }
    return mx;
}

/* The per-tensor int8 scale of the op input: max |x| / 127 (1 for all zeros). */
static float input_scale(const struct tpu_mm_desc *d, const float *x)
{
    int64_t n = d->is_conv ? d->batch * d->c_in * d->h * d->w : d->groups * d->M * d->K;
    float mx = tpu_max_abs_f32(x, n);
    return mx > 0 ? mx / 127.0f : 1.0f;
}

static void put_elem(const struct tpu_chip *c, float scale, float v, uint8_t *dst)
{
    if (c->mxu_dtype == TPU_MXU_BF16) {
        uint16_t h = tpu_f32_to_bf16(v);
        memcpy(dst, &h, 2);
        return;
    }
    float q = rintf(v / scale);
    *dst = (uint8_t)(int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
}

/* Row m of group g's A into the packed layout: element k at
** ((k / R) * rows + r) * R + k % R (dst points at r's first slot). The
** convolution walk keeps (channel, ky, kx) as counters instead of dividing
** per element (same values as tpu_mm_a_value). */
static void pack_row(const struct tpu_chip *c, const struct tpu_lowered *l, const float *x, int64_t g,
                     int64_t m, int64_t rows, uint8_t *dst)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, elem = tpu_chip_elem_bytes(c), tile = rows * R * elem;
    if (!d->is_conv) {
        const float *a = x + (g * d->M + m) * d->K;
        for (int64_t k = 0; k < d->K; k++) put_elem(c, l->in_scale, a[k], dst + (k / R) * tile + (k % R) * elem);
        return;
    }
    int64_t ow = m % d->ow, oh = m / d->ow % d->oh, b = m / (d->ow * d->oh);
    int64_t y0 = oh * d->sh - d->pt, x0 = ow * d->sw - d->pl, k = 0, cg = d->c_in / d->groups;
    if (l->k_hwc) {                                  /* K as (ky, kx, channel) */
        for (int64_t ky = 0; ky < d->kh; ky++)
            for (int64_t kx = 0; kx < d->kw; kx++)
                for (int64_t ch = 0; ch < cg; ch++, k++) {
                    int64_t iy = y0 + ky * d->dh, ix = x0 + kx * d->dw;
                    if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;
                    const float *plane = x + ((b * d->c_in + g * cg + ch) * d->h) * d->w;
                    put_elem(c, l->in_scale, plane[iy * d->w + ix], dst + (k / R) * tile + (k % R) * elem);
                }
        return;
    }
    for (int64_t ch = 0; ch < cg; ch++) {
        const float *plane = x + ((b * d->c_in + g * cg + ch) * d->h) * d->w;
        for (int64_t ky = 0; ky < d->kh; ky++) {
            int64_t iy = y0 + ky * d->dh;
            for (int64_t kx = 0; kx < d->kw; kx++, k++) {
                int64_t ix = x0 + kx * d->dw;
                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) continue;   /* zero padding: memset */
                put_elem(c, l->in_scale, plane[iy * d->w + ix], dst + (k / R) * tile + (k % R) * elem);
            }
        }
    }
}

/* The element by element packing: each element quantised where it lands.
** Kept as the fallback when the quantised copy cannot be allocated, and as
** the reference tests compare the fast path with (tpu_mm_pack_input_ref). */
void tpu_mm_pack_input_ref(const struct tpu_chip *c, struct tpu_lowered *l, const float *x,
                           uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, elem = tpu_chip_elem_bytes(c);
    uint64_t pass_bytes = (uint64_t)(l->k_tiles * l->mrows * R * elem);
    l->in_scale = c->mxu_dtype != TPU_MXU_INT8 ? 1.0f
                : l->in_scale_fixed > 0 ? l->in_scale_fixed : input_scale(d, x);
    memset(host, 0, (size_t)l->host_out_off);
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            uint8_t *base = host + (uint64_t)(g * l->n_chunks + mc) * pass_bytes;
            for (int64_t r = 0; r < rows; r++) pack_row(c, l, x, g, m0 + r, rows, base + r * R * elem);
        }
}

/* int8 quantisation of n values, the same bytes put_elem writes: rintf(v /
** scale) clamped to ±127. For |q| < 128 adding and subtracting 1.5 * 2^23
** rounds to the nearest integer, ties to even, exactly as rintf does in the
** default rounding mode (the sum is exact below 2^22); anything else (large,
** NaN) takes put_elem's own expression. The division stays a division. */
VEC_CLONES static void quantise_i8_c(const float *x, int64_t n, float scale, int8_t *q)
{
    const volatile float magic_v = 12582912.0f;       /* volatile: not folded away */
    const float magic = magic_v;
    int out = 0;
    for (int64_t i = 0; i < n; i++) {                  /* no calls, no branches */
        float v = x[i] / scale, r = (v + magic) - magic;
        r = r > 127 ? 127 : r;
        r = r < -127 ? -127 : r;
        out |= !(fabsf(v) < 128.0f);
        q[i] = (int8_t)(int32_t)r;
    }
    for (int64_t i = 0; out && i < n; i++) {           /* some value large or NaN */
        float r = rintf(x[i] / scale);
        q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
    }
}

#ifdef HAVE_DRIVER_AVX512
/* The same bytes 16 values at a time: v = x / scale, (v + 1.5 x 2^23) - 1.5
** x 2^23 (rint, as above), clamped to +-127, four instructions where the
** vectorised loop above spends a dozen; 16 values with some |v| >= 128 or
** NaN are left to quantise_i8_c. magic: 1.5 x 2^23 in every lane. */
__attribute__((target("avx512f"))) static inline void quantise16(const float *x, float scale, __m512 magic,
                                                                 int8_t *q)
{
    __m512 v = _mm512_div_ps(_mm512_loadu_ps(x), _mm512_set1_ps(scale));
    if (_mm512_cmp_ps_mask(_mm512_abs_ps(v), _mm512_set1_ps(128.0f), _CMP_LT_OQ) != 0xffff) {
        quantise_i8_c(x, 16, scale, q);                  /* large or NaN */
        return;
    }
    __m512 r = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
    r = _mm512_max_ps(_mm512_min_ps(r, _mm512_set1_ps(127.0f)), _mm512_set1_ps(-127.0f));
    _mm_storeu_si128((__m128i *)(void *)q, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(r)));
}

/* n values 16 at a time (quantise16); returns how many it did. */
__attribute__((target("avx512f"))) static int64_t quantise_i8_avx512(const float *x, int64_t n, float scale,
                                                                     int8_t *q)
{
    const volatile float magic_v = 12582912.0f;     /* volatile: not folded away */
    const __m512 magic = _mm512_set1_ps(magic_v);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) quantise16(x + i, scale, magic, q + i);
    return i;
}

/* 16 channel planes (HW values apart) at pixels [0, 16) from x, quantised
** channel by channel into buf (16 x 16 bytes). */
__attribute__((target("avx512f"))) static void quantise16x16(const float *x, int64_t HW, float scale, int8_t *buf)
{
    const volatile float magic_v = 12582912.0f;
    const __m512 magic = _mm512_set1_ps(magic_v);
    for (int c = 0; c < 16; c++) quantise16(x + c * HW, scale, magic, buf + 16 * c);
}
#endif

void tpu_quantise_i8(const float *x, int64_t n, float scale, int8_t *q)
{
    int64_t i = 0;
#ifdef HAVE_DRIVER_AVX512
    if (tpu_cpu_avx512()) i = quantise_i8_avx512(x, n, scale, q);
#endif
    if (i < n) quantise_i8_c(x + i, n - i, scale, q + i);
}

/* bf16 of n values into q (2 bytes each), the bits tpu_f32_to_bf16 gives:
** round to nearest even, a NaN kept quiet; a loop the compiler vectorises. */
VEC_CLONES static void to_bf16(const float *x, int64_t n, uint8_t *q)
{
    for (int64_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, x + i, 4);
        uint16_t h = (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
        if ((u & 0x7fffffffu) > 0x7f800000u) h = (uint16_t)((u >> 16) | 0x40u);
        memcpy(q + 2 * i, &h, 2);
    }
}

/* int8 NHWC copy of the NCHW conv input, NHWC_CB channels at a time: their
** planes quantised contiguously into rows (NHWC_CB x HW bytes), then
** interleaved pixel by pixel (runs of NHWC_CB bytes at stride c_in). */
#define NHWC_CB 16
#ifdef HAVE_DRIVER_AVX512
/* transpose16_vbmi's byte picks: output group k, byte b (row 4k + b / 16,
** byte r = b % 16) from byte (r % 8) / 4 x 64 + (r % 4) x 16 + row of the
** two-table permute over z[r < 8 ? 0 : 2], z[r < 8 ? 1 : 3]. */
static const uint8_t vbmi_pick[4 * 64] = {
      0,  16,  32,  48,  64,  80,  96, 112,   0,  16,  32,  48,  64,  80,  96, 112,
      1,  17,  33,  49,  65,  81,  97, 113,   1,  17,  33,  49,  65,  81,  97, 113,
      2,  18,  34,  50,  66,  82,  98, 114,   2,  18,  34,  50,  66,  82,  98, 114,
      3,  19,  35,  51,  67,  83,  99, 115,   3,  19,  35,  51,  67,  83,  99, 115,
      4,  20,  36,  52,  68,  84, 100, 116,   4,  20,  36,  52,  68,  84, 100, 116,
      5,  21,  37,  53,  69,  85, 101, 117,   5,  21,  37,  53,  69,  85, 101, 117,
      6,  22,  38,  54,  70,  86, 102, 118,   6,  22,  38,  54,  70,  86, 102, 118,
      7,  23,  39,  55,  71,  87, 103, 119,   7,  23,  39,  55,  71,  87, 103, 119,
      8,  24,  40,  56,  72,  88, 104, 120,   8,  24,  40,  56,  72,  88, 104, 120,
      9,  25,  41,  57,  73,  89, 105, 121,   9,  25,  41,  57,  73,  89, 105, 121,
     10,  26,  42,  58,  74,  90, 106, 122,  10,  26,  42,  58,  74,  90, 106, 122,
     11,  27,  43,  59,  75,  91, 107, 123,  11,  27,  43,  59,  75,  91, 107, 123,
     12,  28,  44,  60,  76,  92, 108, 124,  12,  28,  44,  60,  76,  92, 108, 124,
     13,  29,  45,  61,  77,  93, 109, 125,  13,  29,  45,  61,  77,  93, 109, 125,
     14,  30,  46,  62,  78,  94, 110, 126,  14,  30,  46,  62,  78,  94, 110, 126,
     15,  31,  47,  63,  79,  95, 111, 127,  15,  31,  47,  63,  79,  95, 111, 127,
};

/* The same with AVX-512 VBMI: rows 4q..4q+3 in the four 128-bit lanes of
** z[q]; output rows 4k..4k+3 (byte b: row 4k + b / 16, its byte r = b % 16
** from source row r) picked by two two-table byte permutes, one over z[0],
** z[1] (r < 8) and one over z[2], z[3] (r >= 8), blended. */
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static void transpose16_vbmi(const int8_t *src, int64_t ss, int8_t *dst, int64_t ds)
{
    __m512i z[4];
    for (int q = 0; q < 4; q++) {
        const int8_t *r = src + 4 * q * ss;
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)(const void *)r));
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(const void *)(r + ss)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(const void *)(r + 2 * ss)), 2);
        z[q] = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(const void *)(r + 3 * ss)), 3);
    }
    for (int k = 0; k < 4; k++) {
        __m512i idx = _mm512_loadu_si512((const void *)(vbmi_pick + 64 * k));
        __m512i lo = _mm512_permutex2var_epi8(z[0], idx, z[1]), hi = _mm512_permutex2var_epi8(z[2], idx, z[3]);
        __m512i o = _mm512_mask_blend_epi8((__mmask64)0xff00ff00ff00ff00ull, lo, hi);
        int8_t *d = dst + 4 * k * ds;
        _mm_storeu_si128((__m128i *)(void *)d, _mm512_castsi512_si128(o));
        _mm_storeu_si128((__m128i *)(void *)(d + ds), _mm512_extracti32x4_epi32(o, 1));
        _mm_storeu_si128((__m128i *)(void *)(d + 2 * ds), _mm512_extracti32x4_epi32(o, 2));
        _mm_storeu_si128((__m128i *)(void *)(d + 3 * ds), _mm512_extracti32x4_epi32(o, 3));
    }
}
#endif

/* 16 x 16 bytes: dst row i (at dst + i * ds) = column i of the 16 src rows
** (at src + r * ss), by four rounds of interleaving with SSE2 (or byte
** permutes where the CPU has AVX-512 VBMI). Also the weight tiles' byte
** transpose (compile/lower.c). */
void tpu_transpose16_i8(const int8_t *src, int64_t ss, int8_t *dst, int64_t ds)
{
#ifdef HAVE_DRIVER_AVX512
    if (tpu_cpu_avx512_vbmi()) { transpose16_vbmi(src, ss, dst, ds); return; }
#endif
#ifdef __SSE2__
    __m128i a[16], t[16];
    for (int r = 0; r < 16; r++) a[r] = _mm_loadu_si128((const __m128i *)(const void *)(src + r * ss));
    for (int r = 0; r < 8; r++) {
        t[2 * r] = _mm_unpacklo_epi8(a[2 * r], a[2 * r + 1]);
        t[2 * r + 1] = _mm_unpackhi_epi8(a[2 * r], a[2 * r + 1]);
    }
    for (int r = 0; r < 4; r++)
        for (int h = 0; h < 2; h++) {
            a[4 * r + 2 * h] = _mm_unpacklo_epi16(t[4 * r + h], t[4 * r + 2 + h]);
            a[4 * r + 2 * h + 1] = _mm_unpackhi_epi16(t[4 * r + h], t[4 * r + 2 + h]);
        }
    for (int r = 0; r < 2; r++)
        for (int h = 0; h < 4; h++) {
            t[8 * r + 2 * h] = _mm_unpacklo_epi32(a[8 * r + h], a[8 * r + 4 + h]);
            t[8 * r + 2 * h + 1] = _mm_unpackhi_epi32(a[8 * r + h], a[8 * r + 4 + h]);
        }
    for (int h = 0; h < 8; h++) {
        a[2 * h] = _mm_unpacklo_epi64(t[h], t[8 + h]);
        a[2 * h + 1] = _mm_unpackhi_epi64(t[h], t[8 + h]);
    }
    for (int i = 0; i < 16; i++) _mm_storeu_si128((__m128i *)(void *)(dst + i * ds), a[i]);
#else
    for (int i = 0; i < 16; i++)
        for (int r = 0; r < 16; r++) dst[i * ds + r] = src[r * ss + i];
#endif
}
static void quantise_nhwc(const struct tpu_mm_desc *d, const float *x, float scale, int8_t *rows, int8_t *q)
{
    const int64_t C = d->c_in, HW = d->h * d->w;
#ifdef HAVE_DRIVER_AVX512
    int avx512 = tpu_cpu_avx512();
#endif
    for (int64_t b = 0; b < d->batch; b++)
        for (int64_t c0 = 0; c0 < C; c0 += NHWC_CB) {
            int64_t cb = C - c0 < NHWC_CB ? C - c0 : NHWC_CB;
            int8_t *o = q + b * HW * C + c0;
#ifdef HAVE_DRIVER_AVX512
            if (cb == NHWC_CB && avx512) {            /* 16 x 16 blocks, no plane rows */
                int8_t blk[NHWC_CB * 16];
                int64_t p = 0;
                for (; p + 16 <= HW; p += 16) {
                    quantise16x16(x + (b * C + c0) * HW + p, HW, scale, blk);
                    tpu_transpose16_i8(blk, 16, o + p * C, C);
                }
                for (int64_t c = 0; p < HW && c < NHWC_CB; c++)          /* the last pixels */
                    quantise_i8_c(x + (b * C + c0 + c) * HW + p, HW - p, scale, rows + c * HW + p);
                for (; p < HW; p++)
                    for (int64_t c = 0; c < NHWC_CB; c++) o[p * C + c] = rows[c * HW + p];
                continue;
            }
#endif
            for (int64_t c = 0; c < cb; c++) tpu_quantise_i8(x + (b * C + c0 + c) * HW, HW, scale, rows + c * HW);
            if (cb == NHWC_CB) {
                int64_t p = 0;
                for (; p + 16 <= HW; p += 16) tpu_transpose16_i8(rows + p, HW, o + p * C, C);
                for (; p < HW; p++)
                    for (int64_t c = 0; c < NHWC_CB; c++) o[p * C + c] = rows[c * HW + p];
            } else
                for (int64_t p = 0; p < HW; p++)
                    for (int64_t c = 0; c < cb; c++) o[p * C + c] = rows[c * HW + p];
        }
}

/* n bytes of a packed row from K position k on: src, or zeros (src NULL),
** split where a k-tile ends (row0: the row's place in the first k-tile;
** tile: bytes from one k-tile of the pass to the next). */
static void put_run(uint8_t *row0, int64_t tile, int64_t R, int64_t k, const int8_t *src, int64_t n)
{
    int64_t kt = k / R, off = k % R;
    while (n > 0) {
        int64_t len = R - off < n ? R - off : n;
        uint8_t *dst = row0 + kt * tile + off;
        if (src) { memcpy(dst, src, (size_t)len); src += len; }
        else memset(dst, 0, (size_t)len);
        n -= len;
        kt++;
        off = 0;
    }
}

/* Rows [m0, m0 + rows) of group g from the NHWC int8 copy into one pass's
** packed tiles, K as (ky, kx, channel): a kernel row of kw x channels is one
** contiguous run of the copy (groups 1, dilation 1, inside the image), copied
** straight to its tile(s); padding and K's tail up to k_tiles x R are zeroed,
** so every byte of the pass is written. */
static void pack_rows_hwc(const struct tpu_lowered *l, int64_t R, const int8_t *q, int64_t g, int64_t m0,
                          int64_t rows, int tail_zero, uint8_t *base)
{
    const struct tpu_mm_desc *d = &l->d;
    const int64_t H = d->h, Wd = d->w, Ci = d->c_in, cg = Ci / d->groups, kw = d->kw, dw = d->dw;
    const int64_t seg = kw * cg, tile = rows * R, tail = l->k_tiles * R - d->K;
    for (int64_t r = 0; r < rows; r++) {
        int64_t m = m0 + r, ow = m % d->ow, oh = m / d->ow % d->oh, b = m / (d->ow * d->oh);
        int64_t y0 = oh * d->sh - d->pt, x0 = ow * d->sw - d->pl;
        int whole = x0 >= 0 && x0 + (kw - 1) * dw < Wd && dw == 1 && cg == Ci;
        uint8_t *row0 = base + r * R;
        for (int64_t ky = 0; ky < d->kh; ky++) {
            int64_t iy = y0 + ky * d->dh, k = ky * seg;
            if (iy < 0 || iy >= H) { put_run(row0, tile, R, k, NULL, seg); continue; }
            const int8_t *line = q + ((b * H + iy) * Wd) * Ci + g * cg;
            if (whole) { put_run(row0, tile, R, k, line + x0 * Ci, seg); continue; }
            for (int64_t kx = 0, ix = x0; kx < kw; kx++, ix += dw)
                put_run(row0, tile, R, k + kx * cg, ix >= 0 && ix < Wd ? line + ix * Ci : NULL, cg);
        }
        if (tail && !tail_zero) put_run(row0, tile, R, d->K, NULL, tail);
    }
}

/* Row m of group g from the already quantised input q (elem bytes per value)
** into the packed layout, walking (tile, slot) as counters. */
static void pack_row_q(const struct tpu_lowered *l, int64_t R, int64_t elem, const uint8_t *q, int64_t g,
                       int64_t m, int64_t rows, uint8_t *dst)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t tile = rows * R * elem;
    if (!d->is_conv) {
        const uint8_t *a = q + (uint64_t)((g * d->M + m) * d->K) * elem;
        for (int64_t k0 = 0; k0 < d->K; k0 += R)
            memcpy(dst + (k0 / R) * tile, a + k0 * elem, (size_t)((d->K - k0 < R ? d->K - k0 : R) * elem));
        return;
    }
    /* locals: the byte stores below may alias anything, so fields read in
    ** the loops would be reloaded every element */
    const int64_t H = d->h, Wd = d->w, kh = d->kh, kw = d->kw, dh = d->dh, dw = d->dw;
    int64_t ow = m % d->ow, oh = m / d->ow % d->oh, b = m / (d->ow * d->oh);
    int64_t y0 = oh * d->sh - d->pt, x0 = ow * d->sw - d->pl, cg = d->c_in / d->groups;
    uint8_t *t = dst;
    int64_t kr = 0;
    int inside = x0 >= 0 && x0 + (kw - 1) * dw < Wd;           /* every kx lands in the row */
    for (int64_t ch = 0; ch < cg; ch++) {
        const uint8_t *plane = q + (uint64_t)(((b * d->c_in + g * cg + ch) * H) * Wd) * elem;
        for (int64_t ky = 0; ky < kh; ky++) {
            int64_t iy = y0 + ky * dh;
            if (iy < 0 || iy >= H) {                          /* whole kernel row is padding */
                kr += kw;
                while (kr >= R) { kr -= R; t += tile; }
                continue;
            }
            const uint8_t *line = plane + iy * Wd * elem;
            if (elem == 1 && inside && kr + kw < R) {         /* common case: no checks */
                for (int64_t kx = 0; kx < kw; kx++) t[kr + kx] = line[x0 + kx * dw];
                kr += kw;
                continue;
            }
            if (elem == 2 && inside && kr + kw < R) {         /* the same for bf16 */
                for (int64_t kx = 0; kx < kw; kx++) memcpy(t + 2 * (kr + kx), line + 2 * (x0 + kx * dw), 2);
                kr += kw;
                continue;
            }
            for (int64_t kx = 0, ix = x0; kx < kw; kx++, ix += dw) {
                if (ix >= 0 && ix < Wd) {
                    if (elem == 1) t[kr] = line[ix];
                    else memcpy(t + kr * elem, line + ix * elem, (size_t)elem);
                }
                if (++kr == R) { kr = 0; t += tile; }
            }
        }
    }
}

uint8_t *tpu_mm_quantise(const struct tpu_chip *c, struct tpu_lowered *l, const float *x)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t elem = tpu_chip_elem_bytes(c), hw = d->h * d->w;
    int64_t n = d->is_conv ? d->batch * d->c_in * d->h * d->w : d->groups * d->M * d->K;
    int fast = (c->mxu_dtype == TPU_MXU_INT8 && elem == 1) || (c->mxu_dtype == TPU_MXU_BF16 && elem == 2);
    if (l->k_hwc) {                                  /* int8 conv: the NHWC copy */
        if (n <= 0 || (uint64_t)n > SIZE_MAX / 2) return NULL;
        int8_t *q = malloc((size_t)n), *row = malloc((size_t)(hw * NHWC_CB));
        if (!q || !row) { free(q); free(row); return NULL; }
        tpu_prefault(q, (size_t)n);                  /* written whole next */
        l->in_scale = l->in_scale_fixed > 0 ? l->in_scale_fixed : input_scale(d, x);
        quantise_nhwc(d, x, l->in_scale, row, q);
        free(row);
        return (uint8_t *)q;
    }
    uint8_t *q = fast && n > 0 && (uint64_t)n <= SIZE_MAX / 2 ? malloc((size_t)n * (size_t)elem) : NULL;
    if (!q) return NULL;
    l->in_scale = c->mxu_dtype != TPU_MXU_INT8 ? 1.0f
                : l->in_scale_fixed > 0 ? l->in_scale_fixed : input_scale(d, x);
    if (c->mxu_dtype == TPU_MXU_INT8) tpu_quantise_i8(x, n, l->in_scale, (int8_t *)q);
    else to_bf16(x, n, q);
    return q;
}

void tpu_mm_pack_pass_tail(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *q, int64_t g,
                           int64_t mc, int tail_zero, uint8_t *dst)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, elem = tpu_chip_elem_bytes(c);
    int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
    if (l->k_hwc) { pack_rows_hwc(l, R, (const int8_t *)q, g, m0, rows, tail_zero, dst); return; }
    memset(dst, 0, (size_t)(l->k_tiles * rows * R * elem));         /* padding stays 0 */
    for (int64_t r = 0; r < rows; r++) pack_row_q(l, R, elem, q, g, m0 + r, rows, dst + r * R * elem);
}

void tpu_mm_pack_pass(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *q, int64_t g,
                      int64_t mc, uint8_t *dst)
{
    tpu_mm_pack_pass_tail(c, l, q, g, mc, 0, dst);
}

void tpu_mm_pack_input(const struct tpu_chip *c, struct tpu_lowered *l, const float *x,
                       uint8_t *host)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, elem = tpu_chip_elem_bytes(c);
    uint8_t *q = tpu_mm_quantise(c, l, x);
    if (!q) { tpu_mm_pack_input_ref(c, l, x, host); return; }     /* no memory: element path */
    uint64_t pass_bytes = (uint64_t)(l->k_tiles * l->mrows * R * elem);
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) {
            int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
            uint8_t *base = host + (uint64_t)(g * l->n_chunks + mc) * pass_bytes;
            tpu_mm_pack_pass(c, l, q, g, mc, base);
            uint64_t used = (uint64_t)(l->k_tiles * rows * R * elem);
            if (used < pass_bytes) memset(base + used, 0, (size_t)(pass_bytes - used));   /* short pass */
        }
    free(q);
}

/* One int8 table entry: v / (in_scale x w_scale) rounded (round: rint, to
** nearest even in the default mode; ceil / floor for the clamp bounds, so
** the clamped values stay inside [lo, hi]), saturated to int32 (+-inf: the
** limits). */
static int32_t q_acc(double v, double scale, double (*round)(double))
{
    double q = round(v / scale);
    if (!(q > INT32_MIN)) return isnan(q) ? 0 : INT32_MIN;
    return q >= INT32_MAX ? INT32_MAX : (int32_t)q;
}

static void put_word(const struct tpu_chip *c, const struct tpu_lowered *l, int64_t g, int64_t n, float v,
                     double (*round)(double), uint8_t *dst)
{
    if (c->mxu_dtype == TPU_MXU_BF16) { memcpy(dst, &v, 4); return; }
    int32_t q = q_acc(v, (double)l->in_scale * l->w_scale[g * l->d.N + n], round);
    memcpy(dst, &q, 4);
}

void tpu_mm_pack_tables_at(const struct tpu_chip *c, const struct tpu_lowered *l, const float *bias,
                           float lo, float hi, uint8_t *t)
{
    const struct tpu_mm_desc *d = &l->d;
    if (!l->tab_bytes) return;
    int64_t C = c->array_cols, words = tpu_mm_tab_words(d, C);
    memset(t, 0, (size_t)(d->groups * l->tab_bytes));     /* padding columns: 0 */
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t n = 0; n < d->N; n++) {
            uint8_t *w = t + g * l->tab_bytes + (uint64_t)((n / C) * words + n % C) * 4;
            if (d->bias) { put_word(c, l, g, n, bias ? bias[g * d->N + n] : 0.0f, rint, w); w += C * 4; }
            if (d->act != TPU_ACT_CLIP) continue;
            put_word(c, l, g, n, lo, ceil, w);
            put_word(c, l, g, n, hi, floor, w + C * 4);
        }
}

void tpu_mm_pack_tables(const struct tpu_chip *c, const struct tpu_lowered *l, const float *bias,
                        float lo, float hi, uint8_t *host)
{
    if (l->tab_bytes) tpu_mm_pack_tables_at(c, l, bias, lo, hi, host + l->host_tab_off);
}

/* Index in y (ONNX layout) of GEMM result (group g, row m, column n). */
static int64_t y_index(const struct tpu_mm_desc *d, int64_t g, int64_t m, int64_t n)
{
    if (!d->is_conv) return (g * d->M + m) * d->N + n;         /* [g][M][N] */
    int64_t pix = d->oh * d->ow, b = m / pix, p = m % pix;
    return (b * d->c_out + g * d->N + n) * pix + p;
}

/* Dequantises one result row: out[j x os] = (float)(alpha x acc x scales + bias)
** for its cn columns from column n0, in double, in the order the element
** loop has always used ((acc x in_scale) x w_scale, x alpha, + bias). */
VEC_CLONES static void unpack_row(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *src, int64_t g,
                       int64_t n0, int64_t cn, float alpha, const float *bias, float *out, int64_t os)
{
    const struct tpu_mm_desc *d = &l->d;
    const float *ws = l->w_scale ? l->w_scale + g * d->N + n0 : NULL;
    const float *bs = bias ? bias + g * d->N + n0 : NULL;
    const double in_s = l->in_scale, a = alpha;
    double v[256];
    for (int64_t j0 = 0; j0 < cn; j0 += 256) {
        int64_t nj = cn - j0 < 256 ? cn - j0 : 256;
        if (c->mxu_dtype == TPU_MXU_BF16) {
            const float *f = (const float *)(const void *)src + j0;
            for (int64_t j = 0; j < nj; j++) v[j] = (double)f[j] * a;
        } else {
            const int32_t *q = (const int32_t *)(const void *)src + j0;
            for (int64_t j = 0; j < nj; j++) v[j] = (double)q[j] * in_s * (double)ws[j0 + j] * a;
        }
        if (bs) for (int64_t j = 0; j < nj; j++) v[j] += (double)bs[j0 + j];
        if (os == 1) for (int64_t j = 0; j < nj; j++) out[j0 + j] = (float)v[j];
        else for (int64_t j = 0; j < nj; j++) out[(j0 + j) * os] = (float)v[j];
    }
}

/* One result row straight into y (column n at yr[n x ystride]). */
static void unpack_one_row(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *src, int64_t g,
                           int64_t n0, int64_t cn, float alpha, const float *bias, float *yr, int64_t ystride)
{
    float row[256];
    for (int64_t j0 = 0; j0 < cn; j0 += 256) {
        int64_t nj = cn - j0 < 256 ? cn - j0 : 256;
        unpack_row(c, l, src + j0 * 4, g, n0 + j0, nj, alpha, bias, row, 1);
        for (int64_t j = 0; j < nj; j++) yr[(j0 + j) * ystride] = row[j];
    }
}

#ifdef HAVE_DRIVER_AVX512
/* int8 convolution results of 16 consecutive pixels of one image (rows C
** words apart from src) for columns [0, cn): column j's 16 values gathered,
** dequantised in double in unpack_row's order ((acc x in_scale) x w_scale, x
** alpha, + bias; no fused multiply-add), rounded to float, stored as 16
** consecutive values of output plane j (yr + j x ystride). */
__attribute__((target("avx512f"))) static void unpack16_i8(const int32_t *src, int64_t C, int64_t cn,
                                                           const float *ws, const float *bs, double in_s,
                                                           double alpha, float *yr, int64_t ystride)
{
    const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                           _mm512_set1_epi32((int)C));
    const __m512d vin = _mm512_set1_pd(in_s), va = _mm512_set1_pd(alpha);
    const __m512i lim = _mm512_set1_epi32(1 << 29);
    for (int64_t j = 0; j < cn; j++) {
        __m512i q = _mm512_i32gather_epi32(idx, (const void *)(src + j), 4);
        __m512d lo = _mm512_cvtepi32_pd(_mm512_castsi512_si256(q));
        __m512d hi = _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64(q, 1));
        if (alpha == 1.0 && !_mm512_cmpge_epu32_mask(_mm512_abs_epi32(q), lim)) {
            /* |acc| < 2^29: acc x in_s is exact (29 + 24 bits), and so is
            ** in_s x w (24 + 24): one rounding of the same exact product */
            __m512d sw = _mm512_set1_pd(in_s * (double)ws[j]);
            lo = _mm512_mul_pd(lo, sw);
            hi = _mm512_mul_pd(hi, sw);
        } else {
            __m512d w = _mm512_set1_pd((double)ws[j]);
            lo = _mm512_mul_pd(_mm512_mul_pd(_mm512_mul_pd(lo, vin), w), va);
            hi = _mm512_mul_pd(_mm512_mul_pd(_mm512_mul_pd(hi, vin), w), va);
        }
        if (bs) {
            __m512d b = _mm512_set1_pd((double)bs[j]);
            lo = _mm512_add_pd(lo, b);
            hi = _mm512_add_pd(hi, b);
        }
        _mm256_storeu_ps(yr + j * ystride, _mm512_cvtpd_ps(lo));
        _mm256_storeu_ps(yr + j * ystride + 8, _mm512_cvtpd_ps(hi));
    }
}

/* The int8 convolution's results of pass (g, mc), n-tile from column n0:
** 16 pixels at a time where they are in one image, single rows elsewhere. */
static void unpack_conv16(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *base, int64_t g,
                          int64_t m0, int64_t rows, int64_t n0, int64_t cn, float alpha, const float *bias, float *y)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t C = c->array_cols, pix = d->oh * d->ow;
    const float *ws = l->w_scale + g * d->N + n0, *bs = bias ? bias + g * d->N + n0 : NULL;
    for (int64_t r = 0; r < rows;) {
        const uint8_t *src = base + ((n0 / C) * rows + r) * C * 4;
        float *yr = y + y_index(d, g, m0 + r, n0);
        if (r + 16 <= rows && (m0 + r) % pix + 16 <= pix) {
            unpack16_i8((const int32_t *)(const void *)src, C, cn, ws, bs, l->in_scale, alpha, yr, pix);
            r += 16;
        } else unpack_one_row(c, l, src, g, n0, cn, alpha, bias, yr, pix), r++;
    }
}
#endif

/* Rows are taken UNPACK_RB at a time: each row dequantised into a column of
** blk (blk[j][r]), then a convolution's block is copied plane by plane (runs
** of consecutive pixels instead of one float per output plane per row). */
#define UNPACK_RB TPU_MM_UNPACK_RB

void tpu_mm_unpack_pass(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *base,
                        int64_t g, int64_t mc, float alpha, const float *bias, float *y, float *blk)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t C = c->array_cols;
    int64_t ystride = d->is_conv ? d->oh * d->ow : 1;       /* y step from column n to n + 1 */
    int64_t m0 = mc * l->mrows, rows = d->M - m0 < l->mrows ? d->M - m0 : l->mrows;
#ifdef HAVE_DRIVER_AVX512
    int avx512 = tpu_cpu_avx512();
    int fast16 = avx512 && d->is_conv && c->mxu_dtype == TPU_MXU_INT8 && C <= 65536;
#endif
    for (int64_t n0 = 0; n0 < d->N; n0 += C) {
        int64_t cn = d->N - n0 < C ? d->N - n0 : C;
#ifdef HAVE_DRIVER_AVX512
        if (fast16) { unpack_conv16(c, l, base, g, m0, rows, n0, cn, alpha, bias, y); continue; }
#endif
        for (int64_t r0 = 0; r0 < rows; r0 += UNPACK_RB) {
            int64_t rb = rows - r0 < UNPACK_RB ? rows - r0 : UNPACK_RB;
            for (int64_t r = 0; r < rb; r++) {
                const uint8_t *src = base + ((n0 / C) * rows + r0 + r) * C * 4;
                if (r0 + r + 4 < rows)                /* rows are array_cols words apart */
                    for (int64_t b = 0; b < cn * 4; b += 64) __builtin_prefetch(src + 4 * C * 4 + b);
                float *yr = y + y_index(d, g, m0 + r0 + r, n0);
                if (ystride == 1 || !blk) unpack_one_row(c, l, src, g, n0, cn, alpha, bias, yr, ystride);
                else unpack_row(c, l, src, g, n0, cn, alpha, bias, blk + r, UNPACK_RB);
            }
            if (ystride == 1 || !blk) continue;
            for (int64_t r = 0; r < rb;) {            /* a run of pixels of one image */
                int64_t m = m0 + r0 + r, run = ystride - m % ystride;
                if (run > rb - r) run = rb - r;
                float *yr = y + y_index(d, g, m, n0);
                if (run == UNPACK_RB)                 /* whole blocks: a fixed-size copy, inlined */
                    for (int64_t j = 0; j < cn; j++) memcpy(yr + j * ystride, blk + j * UNPACK_RB, sizeof(float) * UNPACK_RB);
                else
                    for (int64_t j = 0; j < cn; j++)
                        memcpy(yr + j * ystride, blk + j * UNPACK_RB + r, (size_t)run * sizeof *yr);
                r += run;
            }
        }
    }
}

void tpu_mm_unpack_output(const struct tpu_chip *c, const struct tpu_lowered *l,
                          const uint8_t *host, float alpha, const float *bias, float *y)
{
    const struct tpu_mm_desc *d = &l->d;
    uint64_t pass_bytes = (uint64_t)(l->n_tiles * l->mrows * c->array_cols * 4);
    float *blk = malloc(sizeof(float) * (size_t)(UNPACK_RB * c->array_cols));
    for (int64_t g = 0; g < d->groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++)
            tpu_mm_unpack_pass(c, l, host + l->host_out_off + (uint64_t)(g * l->n_chunks + mc) * pass_bytes,
                               g, mc, alpha, bias, y, blk);
    free(blk);
}
