/*
** base/sgemm.c: tpu_sgemm, a Goto/BLIS-style single-thread float32 GEMM
** (row-major). Used by the reference executor (ref/) for MatMul, Gemm and
** Conv-as-im2col; no ML knowledge here.
**
** Shape of the computation (C += A·B, C row-major, N along SIMD lanes):
**   for ic in M step MB:              A block (MB x KC) packed once, in L2/L3
**     for pc in K step KC:            K blocks in ascending order (see sgemm.h)
**       pack op(A)[ic.., pc..] into MR-row panels, k-major (a[k*MR + r])
**       for jc in N step NB:
**         pack op(B)[pc.., jc..] into NR-column panels (b[k*NR + j]), in L2
**         for ir in MC step MR:       A micro-panel (KC x MR) stays in L1
**           for jr in NB step NR:     B micro-panels stream from L2
**             micro-kernel: MR x NR accumulators in registers over kc steps
** Panels are zero-padded to whole MR/NR; the kernels store only the m x n
** corner that exists (AVX-512 lane masks, AVX2 maskstore, row guards).
** Three micro-kernels, picked at run time: AVX-512F+FMA 14x32 (28 zmm
** accumulators), AVX2+FMA 6x16 (12 ymm), portable C 4x8. On AVX-512, when
** at most SGEMM_UA_MAX_N columns share an A block, a twin of the 14x32
** kernel reads A unpacked (same operations, same bits) and A is not packed.
** tpu_sgemm_implicit_b runs the same loops with B packed by a caller's
** callback (the reference executor's implicit-GEMM convolution), several
** B_b/C_b against one A, and optionally a per-row bias as C's start. No
** global state but the path override; buffers are malloc'd per call.
*/
#include "tpu_impl.h"
#include "base/sgemm.h"
#include <immintrin.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* c[0..m) x [0..n) (row stride ldc) = alpha * (a-panel · b-panel) + beta * c;
** beta == 0: c is not read. a: kc x MR k-major, b: kc x NR k-major. */
typedef void (*sgemm_kernel_fn)(int kc, const float *a, const float *b, float *c,
                                ptrdiff_t ldc, int m, int n, float alpha, float beta);

struct sgemm_impl {
    const char     *name;
    int             mr, nr;     /* micro-tile                                 */
    int             mb, nb;     /* A block rows (multiple of mr), B block cols */
    sgemm_kernel_fn kernel;
    int           (*usable)(void);
    /* Optional kernel reading A unpacked (row-major, not transposed). */
    void          (*kernel_ua)(int kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                               ptrdiff_t ldc, int m, int n, float alpha, float beta);
    /* Optional SIMD packs (NULL: scalar loops). transpose_block: dst[k*ld_dst
    ** + r] = src[r*ld_src + k], r < rows <= tb_width, k < tb_width; needs
    ** mr <= tb_width and nr % tb_width == 0. copy_rows: kc rows of cols <= nr
    ** floats into an aligned, zero-padded nr-wide panel. */
    void          (*transpose_block)(const float *src, ptrdiff_t ld_src, int rows, float *dst, int ld_dst);
    int             tb_width;
    void          (*copy_rows)(const float *src, ptrdiff_t ld_src, int cols, int kc, float *dst);
};

struct sgemm_args {
    int          ta, tb, M, N, K;
    float        alpha, beta;
    const float *A, *B;
    const float *bias;         /* implicit path: C_b rows start as bias[i]    */
    float       *C;
    ptrdiff_t    lda, ldb, ldc;
    const struct sgemm_impl *im;
    tpu_sgemm_pack_fn pack;    /* non-NULL: B is implicit, packed by pack */
    const void  *pack_ctx;
    int          n_batch;      /* B_b, C_b for b < n_batch (1 unless implicit) */
    ptrdiff_t    c_batch;      /* C_b = C + b * c_batch                       */
    int          batch;        /* the b being packed                          */
};

static int imin(int a, int b) { return a < b ? a : b; }

/*---- AVX-512F + FMA: 14 x 32 ----*/
#define K5_MR 14
#define K5_NR 32
#define K5_DECL(r) __m512 c##r##0 = _mm512_setzero_ps(), c##r##1 = _mm512_setzero_ps();
#define K5_STEP(r) do { __m512 av_ = _mm512_set1_ps(a[r]);                   \
        c##r##0 = _mm512_fmadd_ps(av_, b0, c##r##0);                             \
        c##r##1 = _mm512_fmadd_ps(av_, b1, c##r##1); } while (0)
#define K5_UPD(acc, p, mask) do {                                                \
        __m512 v_ = _mm512_mul_ps(valpha, (acc));                                \
        if (beta != 0.0f)                                                        \
            v_ = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps((mask), (p)), v_); \
        _mm512_mask_storeu_ps((p), (mask), v_); } while (0)
#define K5_STORE(r) do { if ((r) < m) {                                          \
        float *cr_ = c + (r) * ldc;                                              \
        K5_UPD(c##r##0, cr_, m0); K5_UPD(c##r##1, cr_ + 16, m1); } } while (0)
#define K5_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11) X(12) X(13)
#define K5_ROWS_STMT(X) X(0); X(1); X(2); X(3); X(4); X(5); X(6); X(7); X(8); X(9); \
        X(10); X(11); X(12); X(13)

/* A short tile (m <= R <= 8 rows: a block's last, e.g. 64 = 4*14 + 8) with
** only R rows of accumulators, so no multiply-adds on rows that do not
** exist. A's element (r, k) is a[off[r] + k*ks]. Per element the same
** operations as the 14-row kernels, so the same bits. */
__attribute__((target("avx512f,fma"), always_inline))
static inline void k5_short(const int R, int kc, const float *a, const ptrdiff_t *off, ptrdiff_t ks,
                            const float *b, float *c, ptrdiff_t ldc, int m, int n, float alpha, float beta)
{
    __m512 acc[8][2];
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 8; r++)
        if (r < R) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (int k = 0; k < kc; k++, a += ks, b += K5_NR) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        _Pragma("GCC unroll 8")
        for (int r = 0; r < 8; r++)
            if (r < R) {
                __m512 av = _mm512_set1_ps(a[off[r]]);
                acc[r][0] = _mm512_fmadd_ps(av, b0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(av, b1, acc[r][1]);
            }
    }
    __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    __mmask16 m0 = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
    __mmask16 m1 = (__mmask16)(n >= 32 ? 0xffff : n <= 16 ? 0 : (1u << (n - 16)) - 1);
    _Pragma("GCC unroll 8")
    for (int r = 0; r < 8; r++)
        if (r < R && r < m) {
            float *cr = c + r * ldc;
            K5_UPD(acc[r][0], cr, m0);
            K5_UPD(acc[r][1], cr + 16, m1);
        }
}

/* Rows past m read row 0 (ua: they may not exist). */
__attribute__((target("avx512f,fma")))
static void k5_short4(int kc, const float *a, ptrdiff_t rs, ptrdiff_t ks, const float *b, float *c,
                      ptrdiff_t ldc, int m, int n, float alpha, float beta)
{
    ptrdiff_t off[8];
    for (int r = 0; r < 8; r++) off[r] = r < m ? r * rs : 0;
    k5_short(4, kc, a, off, ks, b, c, ldc, m, n, alpha, beta);
}

__attribute__((target("avx512f,fma")))
static void k5_short8(int kc, const float *a, ptrdiff_t rs, ptrdiff_t ks, const float *b, float *c,
                      ptrdiff_t ldc, int m, int n, float alpha, float beta)
{
    ptrdiff_t off[8];
    for (int r = 0; r < 8; r++) off[r] = r < m ? r * rs : 0;
    k5_short(8, kc, a, off, ks, b, c, ldc, m, n, alpha, beta);
}

__attribute__((target("avx512f,fma")))
static void kernel_avx512(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                          int m, int n, float alpha, float beta)
{
    if (m <= 8) {
        (m <= 4 ? k5_short4 : k5_short8)(kc, a, 1, K5_MR, b, c, ldc, m, n, alpha, beta);
        return;
    }
    K5_ROWS(K5_DECL)
    for (int r = 0; r < m; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 31), _MM_HINT_T0);
    }
    for (int k = 0; k < kc; k++) {
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
        K5_ROWS_STMT(K5_STEP);
        a += K5_MR;
        b += K5_NR;
    }
    __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    __mmask16 m0 = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
    __mmask16 m1 = (__mmask16)(n >= 32 ? 0xffff : n <= 16 ? 0 : (1u << (n - 16)) - 1);
    K5_ROWS_STMT(K5_STORE);
}

/* The same 14 x 32 tile reading op(A) unpacked from row-major A (row stride
** lda): each k step broadcasts a[r*lda + k] for the 14 rows (rows past m
** re-read row 0; their results are not stored). Same order of operations as
** kernel_avx512, so the same bits; saves packing A, which for a weight-heavy
** layer (M*K large, N small) costs as much as the product. */
__attribute__((target("avx512f,fma")))
static void kernel_avx512_ua(int kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                             ptrdiff_t ldc, int m, int n, float alpha, float beta)
{
    if (m <= 8) {
        (m <= 4 ? k5_short4 : k5_short8)(kc, a, lda, 1, b, c, ldc, m, n, alpha, beta);
        return;
    }
    ptrdiff_t off[K5_MR];
    for (int r = 0; r < K5_MR; r++) off[r] = r < m ? r * lda : 0;
    K5_ROWS(K5_DECL)
    for (int r = 0; r < m; r++) {
        _mm_prefetch((const char *)(c + r * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(c + r * ldc + 31), _MM_HINT_T0);
    }
#define K5U_STEP(r) do { __m512 av_ = _mm512_set1_ps(a[off[r]]);                 \
        c##r##0 = _mm512_fmadd_ps(av_, b0, c##r##0);                             \
        c##r##1 = _mm512_fmadd_ps(av_, b1, c##r##1); } while (0)
    /* A's rows stream from memory (weights read once): prefetch each row two
    ** cache lines ahead, once per 16 k steps */
    for (int k0 = 0; k0 < kc; k0 += 16) {
        for (int r = 0; r < K5_MR; r++) _mm_prefetch((const char *)(a + off[r] + 32), _MM_HINT_T0);
        for (int k = k0; k < kc && k < k0 + 16; k++) {
            __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
            K5_ROWS_STMT(K5U_STEP);
            a++;
            b += K5_NR;
        }
    }
#undef K5U_STEP
    __m512 valpha = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    __mmask16 m0 = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
    __mmask16 m1 = (__mmask16)(n >= 32 ? 0xffff : n <= 16 ? 0 : (1u << (n - 16)) - 1);
    K5_ROWS_STMT(K5_STORE);
}

/*---- AVX2 + FMA: 6 x 16 ----*/
#define K2_MR 6
#define K2_NR 16
static const int32_t k2_mask_src[16] = { -1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0 };
#define K2_DECL(r) __m256 c##r##0 = _mm256_setzero_ps(), c##r##1 = _mm256_setzero_ps();
#define K2_STEP(r) do { __m256 av_ = _mm256_broadcast_ss(a + (r));                \
        c##r##0 = _mm256_fmadd_ps(av_, b0, c##r##0);                             \
        c##r##1 = _mm256_fmadd_ps(av_, b1, c##r##1); } while (0)
#define K2_UPD(acc, p, mask) do {                                                \
        __m256 v_ = _mm256_mul_ps(valpha, (acc));                                \
        if (beta != 0.0f)                                                        \
            v_ = _mm256_fmadd_ps(vbeta, _mm256_maskload_ps((p), (mask)), v_);    \
        _mm256_maskstore_ps((p), (mask), v_); } while (0)
#define K2_STORE(r) do { if ((r) < m) {                                          \
        float *cr_ = c + (r) * ldc;                                              \
        K2_UPD(c##r##0, cr_, m0); K2_UPD(c##r##1, cr_ + 8, m1); } } while (0)
#define K2_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)
#define K2_ROWS_STMT(X) X(0); X(1); X(2); X(3); X(4); X(5)

__attribute__((target("avx2,fma")))
static void kernel_avx2(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                        int m, int n, float alpha, float beta)
{
    K2_ROWS(K2_DECL)
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
        K2_ROWS_STMT(K2_STEP);
        a += K2_MR;
        b += K2_NR;
    }
    __m256 valpha = _mm256_set1_ps(alpha), vbeta = _mm256_set1_ps(beta);
    int n0 = imin(n, 8), n1 = n > 8 ? imin(n - 8, 8) : 0;
    __m256i m0 = _mm256_loadu_si256((const __m256i *)(k2_mask_src + 8 - n0));
    __m256i m1 = _mm256_loadu_si256((const __m256i *)(k2_mask_src + 8 - n1));
    K2_ROWS_STMT(K2_STORE);
}

/*---- Portable C: 4 x 8 ----*/
#define KP_MR 4
#define KP_NR 8

static void kernel_portable(int kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                            int m, int n, float alpha, float beta)
{
    float acc[KP_MR][KP_NR] = { { 0 } };
    for (int k = 0; k < kc; k++, a += KP_MR, b += KP_NR)
        for (int r = 0; r < KP_MR; r++)
            for (int j = 0; j < KP_NR; j++) acc[r][j] += a[r] * b[j];
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) {
            float v = alpha * acc[r][j];
            c[r * ldc + j] = beta != 0.0f ? beta * c[r * ldc + j] + v : v;
        }
}

/*---- Path selection ----*/
static int usable_avx512(void) { return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma"); }
static int usable_avx2(void) { return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"); }
static int usable_always(void) { return 1; }

/* Best first. Blocks: A micro-panel KC*MR*4 bytes in L1 (21 KiB for avx512),
** B block KC*NB*4 bytes in L2 (576 KiB of the 2 MiB on the machine in
** BENCHMARKS.md), A block KC*MB*4 bytes in L2/L3. */
static void transpose_block16(const float *src, ptrdiff_t ld_src, int rows, float *dst, int ld_dst);
static void transpose_block8(const float *src, ptrdiff_t ld_src, int rows, float *dst, int ld_dst);
static void copy_rows32(const float *src, ptrdiff_t ld_src, int cols, int kc, float *dst);
static void copy_rows16(const float *src, ptrdiff_t ld_src, int cols, int kc, float *dst);
static const struct sgemm_impl sgemm_impls[] = {
    { "avx512",   K5_MR, K5_NR, 72 * K5_MR,  12 * K5_NR,  kernel_avx512,   usable_avx512, kernel_avx512_ua,
      transpose_block16, 16, copy_rows32 },
    { "avx2",     K2_MR, K2_NR, 168 * K2_MR, 24 * K2_NR,  kernel_avx2,     usable_avx2, NULL,
      transpose_block8, 8, copy_rows16 },
    { "portable", KP_MR, KP_NR, 64 * KP_MR,  64 * KP_NR,  kernel_portable, usable_always, NULL,
      NULL, 0, NULL },
};
#define SGEMM_N_IMPLS ((int)(sizeof sgemm_impls / sizeof sgemm_impls[0]))

static int sgemm_forced = -1;   /* index into sgemm_impls, or -1: best usable */

static const struct sgemm_impl *sgemm_pick(void)
{
    if (sgemm_forced >= 0) return &sgemm_impls[sgemm_forced];
    for (int i = 0; i < SGEMM_N_IMPLS; i++)
        if (sgemm_impls[i].usable()) return &sgemm_impls[i];
    return &sgemm_impls[SGEMM_N_IMPLS - 1];
}

const char *tpu_sgemm_impl_name(void) { return sgemm_pick()->name; }

int tpu_sgemm_force_impl(const char *name)
{
    if (!name) {
        sgemm_forced = -1;
        return 0;
    }
    for (int i = 0; i < SGEMM_N_IMPLS; i++)
        if (strcmp(name, sgemm_impls[i].name) == 0) {
            if (!sgemm_impls[i].usable()) return -1;
            sgemm_forced = i;
            return 0;
        }
    return -1;
}

void tpu_sgemm_force_portable(int on) { tpu_sgemm_force_impl(on ? "portable" : NULL); }

/*---- Packing ----*/
/* The transposing packs (op(A) from row-major A, op(B) from B^T) are the
** costly ones: AVX-512 does them 16x16 at a time through registers, AVX2
** 8x8; the portable path and the leftover k < 16 (8) use scalar loops. */

/* r[0..16) rows of 16 floats -> r[j] holds column j. */
__attribute__((target("avx512f"), always_inline))
static inline void transpose16(__m512 r[16])
{
    __m512 t[16];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i += 4) {
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    /* r[4q + c] now holds column c (mod 4) of rows 4q..4q+3, one 128-bit lane
    ** per group of four columns: reassemble the lanes across row groups. */
    _Pragma("GCC unroll 16")
    for (int q = 0; q < 2; q++)
        _Pragma("GCC unroll 16")
        for (int c = 0; c < 4; c++) {
            t[8 * q + c] = _mm512_shuffle_f32x4(r[8 * q + c], r[8 * q + 4 + c], 0x88);
            t[8 * q + 4 + c] = _mm512_shuffle_f32x4(r[8 * q + c], r[8 * q + 4 + c], 0xdd);
        }
    _Pragma("GCC unroll 16")
    for (int c = 0; c < 8; c++) {
        r[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        r[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xdd);
    }
}

/* dst[k*ld_dst + r] = src[r*ld_src + k] for r < rows (<= 16), k < 16. */
__attribute__((target("avx512f")))
static void transpose_block16(const float *src, ptrdiff_t ld_src, int rows, float *dst, int ld_dst)
{
    __m512 r[16];
    _Pragma("GCC unroll 16")
    for (int i = 0; i < 16; i++) r[i] = i < rows ? _mm512_loadu_ps(src + i * ld_src) : _mm512_setzero_ps();
    transpose16(r);
    __mmask16 mask = (__mmask16)((1u << rows) - 1);
    _Pragma("GCC unroll 16")
    for (int k = 0; k < 16; k++) _mm512_mask_storeu_ps(dst + (size_t)k * ld_dst, mask, r[k]);
}

/* pack_b without transposing, for AVX-512 (NR = 32): two masked loads and
** stores per k instead of a memcpy call of 128 bytes. */
__attribute__((target("avx512f")))
static void copy_rows32(const float *src, ptrdiff_t ld_src, int cols, int kc, float *dst)
{
    __mmask16 m0 = (__mmask16)(cols >= 16 ? 0xffff : (1u << cols) - 1);
    __mmask16 m1 = (__mmask16)(cols >= 32 ? 0xffff : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    for (int k = 0; k < kc; k++, src += ld_src, dst += 32) {
        _mm512_store_ps(dst, _mm512_maskz_loadu_ps(m0, src));
        _mm512_store_ps(dst + 16, _mm512_maskz_loadu_ps(m1, src + 16));
    }
}

/* AVX2 versions: 8x8 transposes, 16-column row copies (NR = 16). */
__attribute__((target("avx2")))
static void transpose_block8(const float *src, ptrdiff_t ld_src, int rows, float *dst, int ld_dst)
{
    __m256 r[8], t[8];
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i++) r[i] = i < rows ? _mm256_loadu_ps(src + i * ld_src) : _mm256_setzero_ps();
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i += 2) {
        t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
    }
    /* r[4q + c]: column c (mod 4) of rows 4q..4q+3, one 128-bit lane per
    ** group of four columns. */
    _Pragma("GCC unroll 8")
    for (int i = 0; i < 8; i += 4) {
        r[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
        r[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xee);
        r[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
        r[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xee);
    }
    _Pragma("GCC unroll 8")
    for (int c = 0; c < 4; c++) {
        t[c] = _mm256_permute2f128_ps(r[c], r[4 + c], 0x20);
        t[4 + c] = _mm256_permute2f128_ps(r[c], r[4 + c], 0x31);
    }
    __m256i mask = _mm256_loadu_si256((const __m256i *)(k2_mask_src + 8 - rows));
    _Pragma("GCC unroll 8")
    for (int k = 0; k < 8; k++) _mm256_maskstore_ps(dst + (size_t)k * ld_dst, mask, t[k]);
}

__attribute__((target("avx2")))
static void copy_rows16(const float *src, ptrdiff_t ld_src, int cols, int kc, float *dst)
{
    int n0 = imin(cols, 8), n1 = cols > 8 ? imin(cols - 8, 8) : 0;
    __m256i m0 = _mm256_loadu_si256((const __m256i *)(k2_mask_src + 8 - n0));
    __m256i m1 = _mm256_loadu_si256((const __m256i *)(k2_mask_src + 8 - n1));
    for (int k = 0; k < kc; k++, src += ld_src, dst += 16) {
        _mm256_store_ps(dst, _mm256_maskload_ps(src, m0));
        _mm256_store_ps(dst + 8, _mm256_maskload_ps(src + 8, m1));
    }
}

/* op(A)[ic + i][pc + k] for i < mc, k < kc into MR-row panels of abuf. */
static void pack_a(const struct sgemm_args *g, int mr, int ic, int mc, int pc, int kc, float *abuf)
{
    for (int ir = 0; ir < mc; ir += mr) {
        float *dst = abuf + (size_t)ir * kc;
        int rows = imin(mr, mc - ir);
        int k0 = 0;
        if (!g->ta && g->im->transpose_block) {
            const float *src = g->A + (ptrdiff_t)(ic + ir) * g->lda + pc;
            int w = g->im->tb_width;
            for (; k0 + w <= kc; k0 += w) g->im->transpose_block(src + k0, g->lda, rows, dst + (size_t)k0 * mr, mr);
        }
        if (!g->ta) {
            for (int r = 0; r < rows; r++) {
                const float *src = g->A + (ptrdiff_t)(ic + ir + r) * g->lda + pc;
                for (int k = k0; k < kc; k++) dst[(size_t)k * mr + r] = src[k];
            }
        } else {
            for (int k = 0; k < kc; k++) {
                const float *src = g->A + (ptrdiff_t)(pc + k) * g->lda + ic + ir;
                for (int r = 0; r < rows; r++) dst[(size_t)k * mr + r] = src[r];
            }
        }
        for (int k = 0; rows < mr && k < kc; k++)
            for (int r = rows; r < mr; r++) dst[(size_t)k * mr + r] = 0.0f;
    }
}

/* Floats from one B panel to the next: kc*nr plus a cache line, so that the
** panels' rows k do not all fall in one L1 set (kc*nr*4 bytes is often a
** multiple of 4 KiB) while a pack writes across them. */
#define SGEMM_PANEL_PAD 16
static size_t panel_stride(int kc, int nr) { return ((size_t)kc * nr + SGEMM_PANEL_PAD + 15) & ~(size_t)15; }

/* op(B)[pc + k][jc + j] for k < kc, j < nb into NR-column panels of bbuf. */
static void pack_b(const struct sgemm_args *g, int nr, int pc, int kc, int jc, int nb, float *bbuf)
{
    if (g->pack) {
        g->pack(g->pack_ctx, g->batch, pc, kc, jc, nb, nr, (ptrdiff_t)panel_stride(kc, nr), bbuf);
        return;
    }
    for (int jr = 0; jr < nb; jr += nr) {
        float *dst = bbuf + (size_t)(jr / nr) * panel_stride(kc, nr);
        int cols = imin(nr, nb - jr);
        if (!g->tb && g->im->copy_rows) {
            g->im->copy_rows(g->B + (ptrdiff_t)pc * g->ldb + jc + jr, g->ldb, cols, kc, dst);
            continue;   /* zero-padded already */
        }
        if (!g->tb) {
            for (int k = 0; k < kc; k++) {
                const float *src = g->B + (ptrdiff_t)(pc + k) * g->ldb + jc + jr;
                memcpy(dst + (size_t)k * nr, src, (size_t)cols * sizeof *src);
            }
        } else {
            int k0 = 0, w = g->im->tb_width;
            if (g->im->transpose_block)
                for (; k0 + w <= kc; k0 += w)
                    for (int j = 0; j < cols; j += w)
                        g->im->transpose_block(g->B + (ptrdiff_t)(jc + jr + j) * g->ldb + pc + k0, g->ldb,
                                               imin(w, cols - j), dst + (size_t)k0 * nr + j, nr);
            for (int j = 0; j < cols; j++) {
                const float *src = g->B + (ptrdiff_t)(jc + jr + j) * g->ldb + pc;
                for (int k = k0; k < kc; k++) dst[(size_t)k * nr + j] = src[k];
            }
        }
        for (int k = 0; cols < nr && k < kc; k++)
            memset(dst + (size_t)k * nr + cols, 0, (size_t)(nr - cols) * sizeof *dst);
    }
}

/*---- Drivers ----*/
/* c rows [0, m) (stride ldc), n floats each = g->bias[i0 + r]: C's starting
** value on the implicit path with a bias, written tile by tile just before
** the kernel reads it back with beta = 1 (while in L1). */
__attribute__((target("avx512f")))
static void fill_bias_avx512(const float *bias, ptrdiff_t ldc, int m, float *c, int n)
{
    for (int j = 0; j < n; j += 16) {
        __mmask16 mask = (__mmask16)(n - j >= 16 ? 0xffff : (1u << (n - j)) - 1);
        for (int r = 0; r < m; r++) _mm512_mask_storeu_ps(c + r * ldc + j, mask, _mm512_set1_ps(bias[r]));
    }
}

static void fill_bias(const struct sgemm_args *g, int i0, int m, float *c, int n)
{
    if (g->im && g->im->kernel == kernel_avx512) {
        fill_bias_avx512(g->bias + i0, g->ldc, m, c, n);
        return;
    }
    for (int r = 0; r < m; r++)
        for (int j = 0; j < n; j++) c[(ptrdiff_t)r * g->ldc + j] = g->bias[i0 + r];
}

/* Whether the micro-kernel reads op(A) straight from A (kernel_avx512_ua):
** only when at most SGEMM_UA_MAX_N columns share each packed A block (packing A would cost a
** large part of the product; with many columns the packed, contiguous A
** panel streams faster, so the cost of packing is repaid). */
#define SGEMM_UA_MAX_N 256
static bool sgemm_unpacked_a(const struct sgemm_args *g, const struct sgemm_impl *im)
{
    return !g->ta && im->kernel_ua && (int64_t)g->N * g->n_batch <= SGEMM_UA_MAX_N;
}

static void sgemm_blocked(struct sgemm_args *g, const struct sgemm_impl *im,
                          float *abuf, float *bbuf)
{
    for (int ic = 0; ic < g->M; ic += im->mb) {
        int mc = imin(im->mb, g->M - ic);
        for (int pc = 0; pc < g->K; pc += TPU_SGEMM_KC) {
            int kc = imin(TPU_SGEMM_KC, g->K - pc);
            float beta = pc == 0 ? g->beta : 1.0f;
            bool ua = sgemm_unpacked_a(g, im);
            if (!ua) pack_a(g, im->mr, ic, mc, pc, kc, abuf);
            for (g->batch = 0; g->batch < g->n_batch; g->batch++)
            for (int jc = 0; jc < g->N; jc += im->nb) {
                int nb = imin(im->nb, g->N - jc);
                pack_b(g, im->nr, pc, kc, jc, nb, bbuf);
                for (int ir = 0; ir < mc; ir += im->mr) {
                    float *crow = g->C + g->batch * g->c_batch + (ptrdiff_t)(ic + ir) * g->ldc + jc;
                    const float *ap = abuf + (size_t)ir * kc;
                    int m = imin(im->mr, mc - ir);
                    const float *au = g->A + (ptrdiff_t)(ic + ir) * g->lda + pc;
                    for (int jr = 0; jr < nb; jr += im->nr) {
                        if (pc == 0 && g->bias) fill_bias(g, ic + ir, m, crow + jr, imin(im->nr, nb - jr));
                        if (ua)
                            im->kernel_ua(kc, au, g->lda, bbuf + (size_t)(jr / im->nr) * panel_stride(kc, im->nr), crow + jr, g->ldc, m,
                                          imin(im->nr, nb - jr), g->alpha, beta);
                        else
                            im->kernel(kc, ap, bbuf + (size_t)(jr / im->nr) * panel_stride(kc, im->nr), crow + jr, g->ldc, m,
                                       imin(im->nr, nb - jr), g->alpha, beta);
                    }
                }
            }
        }
    }
}

/* M <= SGEMM_SKINNY_M rows against op(B) = B^T (a fully connected layer at
** batch 1..3): dot products of A's rows with B's rows, both contiguous, four
** B rows at a time; B is read once per row of A, never packed (the packed
** path would fill 1 of 14 kernel rows and transpose all of B). Per K block,
** each dot product is 16 lane sums (lane l: k = l mod 16, ascending), added
** by _mm512_reduce_add_ps's fixed tree; blocks go into C as on the main path. */
#define SGEMM_SKINNY_M 3
__attribute__((target("avx512f,fma")))
static void sgemm_skinny_bt(const struct sgemm_args *g)
{
    for (int i = 0; i < g->M; i++) {
        const float *a = g->A + (ptrdiff_t)i * g->lda;
        float *c = g->C + (ptrdiff_t)i * g->ldc;
        for (int j = 0; j < g->N; j += 4) {
            int nj = imin(4, g->N - j);
            for (int pc = 0; pc < g->K; pc += TPU_SGEMM_KC) {
                int end = imin(g->K, pc + TPU_SGEMM_KC);
                __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                                  _mm512_setzero_ps() };
                for (int k = pc; k < end; k += 16) {
                    __mmask16 mask = (__mmask16)(end - k >= 16 ? 0xffff : (1u << (end - k)) - 1);
                    __m512 av = _mm512_maskz_loadu_ps(mask, a + k);
                    _Pragma("GCC unroll 4")
                    for (int q = 0; q < 4; q++)
                        if (q < nj)
                            acc[q] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mask, g->B + (ptrdiff_t)(j + q) * g->ldb + k),
                                                     acc[q]);
                }
                float beta = pc == 0 ? g->beta : 1.0f;
                _Pragma("GCC unroll 4")
                for (int q = 0; q < 4; q++)
                    if (q < nj) {
                        float v = g->alpha * _mm512_reduce_add_ps(acc[q]);
                        c[j + q] = beta != 0.0f ? fmaf(beta, c[j + q], v) : v;
                    }
            }
        }
    }
}

/* One K block, no buffers: tiny products and the out-of-memory fallback. */
static void sgemm_direct(const struct sgemm_args *g)
{
    for (int i = 0; i < g->M; i++)
        for (int j = 0; j < g->N; j++) {
            float s = 0.0f;
            for (int k = 0; k < g->K; k++) {
                float a = g->ta ? g->A[(ptrdiff_t)k * g->lda + i] : g->A[(ptrdiff_t)i * g->lda + k];
                float b = g->tb ? g->B[(ptrdiff_t)j * g->ldb + k] : g->B[(ptrdiff_t)k * g->ldb + j];
                s += a * b;
            }
            float *c = g->C + (ptrdiff_t)i * g->ldc + j, v = g->alpha * s;
            *c = g->beta != 0.0f ? g->beta * *c + v : v;
        }
}

/* C = beta * C (K == 0 or alpha == 0: A and B are not read). */
static void sgemm_scale(const struct sgemm_args *g)
{
    for (int i = 0; i < g->M; i++) {
        float *c = g->C + (ptrdiff_t)i * g->ldc;
        for (int j = 0; j < g->N; j++) c[j] = g->beta != 0.0f ? g->beta * c[j] : 0.0f;
    }
}

/* B panels for cols columns, panel_stride apart. */
static float *alloc_bpanels(int cols, int nr, int kc)
{
    return aligned_alloc(64, (size_t)((cols + nr - 1) / nr) * panel_stride(kc, nr) * sizeof(float));
}

static float *alloc_panel(int rows, int unit, int kc)
{
    size_t n = (size_t)((rows + unit - 1) / unit) * (size_t)unit * (size_t)kc * sizeof(float);
    n = (n + 63) & ~(size_t)63;
    return aligned_alloc(64, n);
}

void tpu_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc)
{
    struct sgemm_args g = { trans_a != 0, trans_b != 0, M, N, K, alpha, beta, A, B, NULL, C,
                            lda, ldb, ldc, NULL, NULL, NULL, 1, 0, 0 };
    if (M <= 0 || N <= 0) return;
    /* The callers are tpusim's own kernels, which size these from validated
    ** shapes: a violation is our bug, not bad input. */
    TPU_ASSERT(C && ldc >= N);
    TPU_ASSERT(K <= 0 || alpha == 0.0f || (A && B && lda >= (trans_a ? M : K) && ldb >= (trans_b ? K : N)));
    if (K <= 0 || alpha == 0.0f) {
        sgemm_scale(&g);
        return;
    }
    if ((double)M * N * K <= TPU_SGEMM_DIRECT_MAX) {
        sgemm_direct(&g);
        return;
    }
    const struct sgemm_impl *im = sgemm_pick();
    if (M <= SGEMM_SKINNY_M && g.tb && !g.ta && im->kernel == kernel_avx512) {
        sgemm_skinny_bt(&g);
        return;
    }
    g.im = im;
    int kc = imin(K, TPU_SGEMM_KC);
    float *abuf = alloc_panel(imin(M, im->mb), im->mr, kc);
    float *bbuf = alloc_bpanels(imin(N, im->nb), im->nr, kc);
    if (abuf && bbuf) sgemm_blocked(&g, im, abuf, bbuf);
    else sgemm_direct(&g);
    free(abuf);
    free(bbuf);
}

int tpu_sgemm_implicit_b(int M, int N, int K, float alpha, const float *A, int lda,
                         tpu_sgemm_pack_fn pack, const void *ctx, const float *bias, float beta,
                         float *C, int ldc, int n_batch, ptrdiff_t c_batch)
{
    struct sgemm_args g = { 0, 0, M, N, K, alpha, bias ? 1.0f : beta, A, NULL, bias, C, lda, 0, ldc, NULL, pack, ctx,
                            n_batch, c_batch, 0 };
    if (M <= 0 || N <= 0 || n_batch <= 0) return 0;
    TPU_ASSERT(C && ldc >= N && pack);
    TPU_ASSERT(sgemm_pick()->nb <= TPU_SGEMM_PACK_MAX_N);
    TPU_ASSERT(K <= 0 || alpha == 0.0f || (A && lda >= K));
    if (bias) {   /* tiny cases: fill all of C now (the blocked loop fills tile by tile) */
        if (K <= 0 || alpha == 0.0f)
            for (g.batch = 0; g.batch < n_batch; g.batch++)
                for (int i = 0; i < M; i++) fill_bias(&g, i, 1, C + g.batch * c_batch + (ptrdiff_t)i * ldc, N);
    }
    if (K <= 0 || alpha == 0.0f) {
        for (int b = 0; b < n_batch; b++, g.C += c_batch) sgemm_scale(&g);
        return 0;
    }
    const struct sgemm_impl *im = sgemm_pick();
    g.im = im;
    int kc = imin(K, TPU_SGEMM_KC);
    float *abuf = alloc_panel(imin(M, im->mb), im->mr, kc);
    float *bbuf = alloc_bpanels(imin(N, im->nb), im->nr, kc);
    int rc = abuf && bbuf ? 0 : -1;
    if (!rc) sgemm_blocked(&g, im, abuf, bbuf);
    free(abuf);
    free(bbuf);
    return rc;
}
