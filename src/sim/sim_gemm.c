/*
** sim/sim_gemm.c: the chip's compute kernels on the host — int8 GEMM with
** int32 results and bf16 GEMM with fp32 results in systolic-array order
** (contracts in sim_gemm.h). Called by the simulator's MATMUL; checked against
** the PE-by-PE model in tests/pe_model.c.
**
** Paths, picked once at run time by CPU feature (or by tpu_gemm_force_impl):
**   avx512-vnni  int8: vpdpbusd on (B xor 0x80) as u8 × A as s8, minus 128·rowsum(A);
**                bf16: 16 columns per vector, k sequential, B panel as fp32.
**   avx2         int8: vpmaddwd on sign-extended 16-bit pairs; bf16: 8 columns.
**   portable     plain C, the definition the others must match bit for bit.
** The SIMD functions carry target attributes, so the build needs no -m flags.
** bf16 needs the product and the sum rounded separately: this relies on the
** compiler not contracting a*b + c into an FMA, true under -std=c11 (GCC's
** ISO modes imply -ffp-contract=off; clang fuses only within one expression).
** test-gemm's gemm-bf16-1.4 (denormal products) fails if that ever changes.
** The AVX-512 path fuses them only where that changes no bit (every product
** exact: tpu_bf16_products_exact).
*/
#include "sim/sim_gemm.h"
#include "tpu_impl.h"

#include <stdatomic.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define GEMM_X86 1
#include <immintrin.h>
#define TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define TARGET_AVX2   __attribute__((target("avx2")))
#endif

/*---- Dispatch ----*/

enum gemm_impl { GEMM_IMPL_PORTABLE, GEMM_IMPL_AVX2, GEMM_IMPL_AVX512_VNNI, GEMM_IMPL_COUNT };

static const char *const gemm_impl_names[GEMM_IMPL_COUNT] = { "portable", "avx2", "avx512-vnni" };

static _Atomic int gemm_impl_chosen = -1;   /* -1: not chosen yet; atomic, so that
                                               threads may call the kernels */

static int cpu_can_run(enum gemm_impl impl)
{
    switch (impl) {
#ifdef GEMM_X86
    case GEMM_IMPL_AVX512_VNNI:
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    case GEMM_IMPL_AVX2:
        return __builtin_cpu_supports("avx2");
#endif
    case GEMM_IMPL_PORTABLE:
        return 1;
    default:
        return 0;
    }
}

static enum gemm_impl fastest_impl(void)
{
    for (int i = GEMM_IMPL_COUNT - 1; i > 0; i--)
        if (cpu_can_run((enum gemm_impl)i))
            return (enum gemm_impl)i;
    return GEMM_IMPL_PORTABLE;
}

static enum gemm_impl impl_get(void)
{
    if (gemm_impl_chosen < 0)
        gemm_impl_chosen = fastest_impl();
    return (enum gemm_impl)gemm_impl_chosen;
}

const char *tpu_gemm_impl_name(void)
{
    return gemm_impl_names[impl_get()];
}

void tpu_gemm_force_portable(int on)
{
    gemm_impl_chosen = on ? GEMM_IMPL_PORTABLE : fastest_impl();
}

int tpu_gemm_force_impl(const char *name)
{
    if (!name) {
        gemm_impl_chosen = fastest_impl();
        return 0;
    }
    for (int i = 0; i < GEMM_IMPL_COUNT; i++) {
        if (strcmp(name, gemm_impl_names[i]) != 0)
            continue;
        if (!cpu_can_run((enum gemm_impl)i))
            return -1;
        gemm_impl_chosen = i;
        return 0;
    }
    return -1;
}

/*---- Portable int8 ----*/

/* Rows i of C, k ascending; sums in uint32_t so that wrapping is defined. */
static void gemm_i8_portable(int M, int N, int K, const int8_t *A, int lda, const int8_t *B,
                             int ldb, int32_t *C, int ldc, int accumulate)
{
    for (int i = 0; i < M; i++) {
        uint32_t *c = (uint32_t *)(C + (size_t)i * ldc);
        if (!accumulate)
            memset(c, 0, (size_t)N * sizeof *c);
        for (int k = 0; k < K; k++) {
            int32_t a = A[(size_t)i * lda + k];
            const int8_t *b = B + (size_t)k * ldb;
            if (a == 0)
                continue;
            for (int j = 0; j < N; j++)
                c[j] += (uint32_t)(a * b[j]);
        }
    }
}

/*---- Portable bf16 ----*/

static float bf16_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

#define BF16_COLS 64    /* columns summed at once by the portable path */

/* One chunk [k0, k1) for columns [j0, j0+nb) of row i: t = Σ fl(a·b) in
** order, then C = fl(C + t). Product and sum are separate statements so
** that no compiler contracts them into a fused multiply-add. */
static void bf16_chunk_portable(const uint16_t *a_row, const uint16_t *B, int ldb, int k0, int k1,
                                int nb, float *c, int base_is_c)
{
    float t[BF16_COLS];
    for (int j = 0; j < nb; j++)
        t[j] = 0.0f;
    for (int k = k0; k < k1; k++) {
        float a = bf16_f32(a_row[k]);
        const uint16_t *b = B + (size_t)k * ldb;
        for (int j = 0; j < nb; j++) {
            float p = a * bf16_f32(b[j]);
            t[j] = t[j] + p;
        }
    }
    for (int j = 0; j < nb; j++) {
        float base = base_is_c ? c[j] : 0.0f;
        c[j] = base + t[j];
    }
}

static void gemm_bf16_portable(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B,
                               int ldb, float *C, int ldc, int accumulate, int k_tile)
{
    for (int i = 0; i < M; i++) {
        const uint16_t *a_row = A + (size_t)i * lda;
        for (int j0 = 0; j0 < N; j0 += BF16_COLS) {
            int nb = N - j0 < BF16_COLS ? N - j0 : BF16_COLS;
            float *c = C + (size_t)i * ldc + j0;
            for (int k0 = 0; k0 < K; k0 += k_tile) {
                int k1 = K - k0 < k_tile ? K : k0 + k_tile;
                bf16_chunk_portable(a_row, B + j0, ldb, k0, k1, nb, c, accumulate || k0 > 0);
            }
        }
    }
}

#ifdef GEMM_X86
/*---- AVX-512 VNNI int8 ----*/
/* vpdpbusd multiplies unsigned bytes by signed bytes, four at a time into an
** int32 lane. B is packed as u8 = b + 128 (b xor 0x80) and A is used as it is
** (s8), so a lane sums Σ a·b + 128·Σ a; each row starts from -128·Σ_k a[i][k]
** instead of 0. Every sum is int32 and wraps, so the identity holds mod 2^32.
** Blocking: four panels of up to KC reduction rows × 64 columns of B are
** packed into a heap buffer in one pass over B's rows (4 × 128 KiB for
** K = 2048, read from L2); each panel serves up to 1 MiB of A rows. The
** kernel keeps 6×64 sums in 24 zmm and runs over the whole panel, so C is
** written once when K ≤ KC. Whole-K panels measured faster than L1-sized
** ones (256..1024 rows) on 512×2048×2048: fewer passes over C. The C tile of
** the next block and the B rows being packed are prefetched. */

#define VNNI_MR 6          /* rows of C per kernel call                    */
#define VNNI_NR 64         /* columns per kernel call: 4 vectors of 16     */
#define VNNI_KC 8192       /* most reduction rows per packed panel (multiple of 4) */
#define VNNI_PACK_AHEAD 32 /* B rows prefetched ahead while packing          */
#define VNNI_GROUP 4       /* panels packed together (one row read: 256 B)  */
#define VNNI_MC 1536       /* most rows of A swept per packed panel         */

/* Four rows of 64 bytes → 4 vectors of [16 columns][4 k]; see vnni_pack_b. */
static TARGET_AVX512 void vnni_interleave4(__m512i r0, __m512i r1, __m512i r2, __m512i r3,
                                           uint8_t *dst)
{
    __m512i lo01 = _mm512_unpacklo_epi8(r0, r1), hi01 = _mm512_unpackhi_epi8(r0, r1);
    __m512i lo23 = _mm512_unpacklo_epi8(r2, r3), hi23 = _mm512_unpackhi_epi8(r2, r3);
    /* in each 128-bit lane L: v0 = columns 16L+0..3, v1 = +4..7, v2 = +8..11, v3 = +12..15 */
    __m512i v0 = _mm512_unpacklo_epi16(lo01, lo23), v1 = _mm512_unpackhi_epi16(lo01, lo23);
    __m512i v2 = _mm512_unpacklo_epi16(hi01, hi23), v3 = _mm512_unpackhi_epi16(hi01, hi23);
    __m512i t0 = _mm512_shuffle_i32x4(v0, v1, _MM_SHUFFLE(2, 0, 2, 0));
    __m512i t1 = _mm512_shuffle_i32x4(v2, v3, _MM_SHUFFLE(2, 0, 2, 0));
    __m512i t2 = _mm512_shuffle_i32x4(v0, v1, _MM_SHUFFLE(3, 1, 3, 1));
    __m512i t3 = _mm512_shuffle_i32x4(v2, v3, _MM_SHUFFLE(3, 1, 3, 1));
    _mm512_store_si512(dst + 0, _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(2, 0, 2, 0)));
    _mm512_store_si512(dst + 64, _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(2, 0, 2, 0)));
    _mm512_store_si512(dst + 128, _mm512_shuffle_i32x4(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)));
    _mm512_store_si512(dst + 192, _mm512_shuffle_i32x4(t2, t3, _MM_SHUFFLE(3, 1, 3, 1)));
}

/* Packs B[0:kc, 0:nc) (nc ≤ 64 · VNNI_GROUP) as up to VNNI_GROUP panels,
** panel p = columns [64p, 64p + 64) laid out [ceil(kc/4) quads][64 columns][4 k]
** of b ^ 0x80, panel_bytes apart. Reading several panels' columns per row
** keeps the reads of a row contiguous. Bytes of rows past kc and of columns
** past nc are not read; they meet zero A bytes (rows) or land in columns that
** are never stored. */
static TARGET_AVX512 void vnni_pack_b(const int8_t *B, int ldb, int kc, int nc, uint8_t *bp,
                                      size_t panel_bytes)
{
    __m512i flip = _mm512_set1_epi8((char)0x80), rows[4];
    int n_panels = (nc + VNNI_NR - 1) / VNNI_NR;
    for (int k = 0; k < kc; k += 4, bp += 4 * VNNI_NR) {
        for (int r = k + VNNI_PACK_AHEAD; r < k + VNNI_PACK_AHEAD + 4 && r < kc; r++)
            for (int p = 0; p < n_panels; p++)
                _mm_prefetch((const char *)(B + (size_t)r * ldb + 64 * p), _MM_HINT_T0);
        for (int p = 0; p < n_panels; p++) {
            int n = nc - 64 * p;
            __mmask64 m = n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
            for (int r = 0; r < 4; r++)
                rows[r] = k + r < kc ? _mm512_xor_si512(flip, _mm512_maskz_loadu_epi8(m, B + (size_t)(k + r) * ldb + 64 * p))
                                     : _mm512_setzero_si512();
            vnni_interleave4(rows[0], rows[1], rows[2], rows[3], bp + p * panel_bytes);
        }
    }
}

/* Σ_k a[k] over K bytes, mod 2^32. */
static TARGET_AVX512 uint32_t vnni_row_sum(const int8_t *a, int K)
{
    const __m512i ones = _mm512_set1_epi8(1);
    __m512i acc = _mm512_setzero_si512();
    int k = 0;
    for (; k + 64 <= K; k += 64)
        acc = _mm512_dpbusd_epi32(acc, ones, _mm512_loadu_si512(a + k));
    if (k < K)
        acc = _mm512_dpbusd_epi32(acc, ones, _mm512_maskz_loadu_epi8(((__mmask64)1 << (K - k)) - 1, a + k));
    return (uint32_t)_mm512_reduce_add_epi32(acc);
}

#define VNNI_STEP(r)                                                  \
    do {                                                              \
        __m512i a_ = _mm512_set1_epi32(load_i32(a##r + 4 * q));       \
        c##r##0 = _mm512_dpbusd_epi32(c##r##0, b0, a_);               \
        c##r##1 = _mm512_dpbusd_epi32(c##r##1, b1, a_);               \
        c##r##2 = _mm512_dpbusd_epi32(c##r##2, b2, a_);               \
        c##r##3 = _mm512_dpbusd_epi32(c##r##3, b3, a_);               \
    } while (0)
#define VNNI_LOAD(r)                                                                 \
    __m512i c##r##0 = _mm512_load_si512(tile + 64 * r),                              \
            c##r##1 = _mm512_load_si512(tile + 64 * r + 16),                         \
            c##r##2 = _mm512_load_si512(tile + 64 * r + 32),                         \
            c##r##3 = _mm512_load_si512(tile + 64 * r + 48);
#define VNNI_STORE(r)                                                                \
    do {                                                                             \
        _mm512_store_si512(tile + 64 * r, c##r##0);                                  \
        _mm512_store_si512(tile + 64 * r + 16, c##r##1);                             \
        _mm512_store_si512(tile + 64 * r + 32, c##r##2);                             \
        _mm512_store_si512(tile + 64 * r + 48, c##r##3);                             \
    } while (0)

static int32_t load_i32(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The 6×64 kernel: tile (6 rows of 64 int32, 64-byte aligned) += the sums
** over n_quads groups of 4 k, A row r read from a[r]. Kept apart from the
** bookkeeping so that the 24 sums, 4 B vectors and the broadcast stay in
** the 32 zmm registers (GCC spills when masks and C pointers share the loop). */
static TARGET_AVX512 void vnni_kernel(const int8_t *const *a, int n_quads, const uint8_t *bp,
                                      int32_t *tile)
{
    const int8_t *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    VNNI_LOAD(0) VNNI_LOAD(1) VNNI_LOAD(2) VNNI_LOAD(3) VNNI_LOAD(4) VNNI_LOAD(5)
    for (int q = 0; q < n_quads; q++, bp += 4 * VNNI_NR) {
        __m512i b0 = _mm512_load_si512(bp), b1 = _mm512_load_si512(bp + 64);
        __m512i b2 = _mm512_load_si512(bp + 128), b3 = _mm512_load_si512(bp + 192);
        VNNI_STEP(0); VNNI_STEP(1); VNNI_STEP(2); VNNI_STEP(3); VNNI_STEP(4); VNNI_STEP(5);
    }
    VNNI_STORE(0); VNNI_STORE(1); VNNI_STORE(2); VNNI_STORE(3); VNNI_STORE(4); VNNI_STORE(5);
}

/* Where one kernel call's rows live; rows ≥ mr repeat row 0 and are not stored. */
struct vnni_rows {
    const int8_t *a[VNNI_MR];      /* row r of A at the panel's first k       */
    int32_t      *c[VNNI_MR];      /* row r of C at the panel's first column  */
    int           mr, nc;          /* real rows (≤ 6) and columns (≤ 64)      */
};

static __mmask16 vnni_col_mask(int nc, int q)
{
    int n = nc - 16 * q;
    return (__mmask16)(n <= 0 ? 0 : n >= 16 ? 0xffff : (1u << n) - 1);
}

/* tile row r = init[r] + (C row r, or 0 when !load_c); masked columns read nothing. */
static TARGET_AVX512 void vnni_tile_init(int32_t *tile, const struct vnni_rows *w,
                                         const uint32_t *init, int load_c)
{
    for (int r = 0; r < VNNI_MR; r++)
        for (int q = 0; q < 4; q++) {
            __mmask16 m = r < w->mr && load_c ? vnni_col_mask(w->nc, q) : 0;
            __m512i v = _mm512_maskz_loadu_epi32(m, w->c[r] + 16 * q);
            v = _mm512_add_epi32(v, _mm512_set1_epi32(init ? (int32_t)init[r < w->mr ? r : 0] : 0));
            _mm512_store_si512(tile + 64 * r + 16 * q, v);
        }
}

static TARGET_AVX512 void vnni_tile_store(const int32_t *tile, const struct vnni_rows *w)
{
    for (int r = 0; r < w->mr; r++)
        for (int q = 0; q < 4; q++)
            _mm512_mask_storeu_epi32(w->c[r] + 16 * q, vnni_col_mask(w->nc, q),
                                     _mm512_load_si512(tile + 64 * r + 16 * q));
}

#define VNNI_DLOAD(r)                                                                \
    __m512i c##r##0 = _mm512_set1_epi32(init[r]), c##r##1 = c##r##0, c##r##2 = c##r##0,  \
            c##r##3 = c##r##0;                                                       \
    if (load_c) {                                                                    \
        c##r##0 = _mm512_add_epi32(c##r##0, _mm512_loadu_si512(c[r]));               \
        c##r##1 = _mm512_add_epi32(c##r##1, _mm512_loadu_si512(c[r] + 16));          \
        c##r##2 = _mm512_add_epi32(c##r##2, _mm512_loadu_si512(c[r] + 32));          \
        c##r##3 = _mm512_add_epi32(c##r##3, _mm512_loadu_si512(c[r] + 48));          \
    }
#define VNNI_DSTORE(r)                                                               \
    do {                                                                             \
        _mm512_storeu_si512(c[r], c##r##0);                                          \
        _mm512_storeu_si512(c[r] + 16, c##r##1);                                     \
        _mm512_storeu_si512(c[r] + 32, c##r##2);                                     \
        _mm512_storeu_si512(c[r] + 48, c##r##3);                                     \
    } while (0)

/* The kernel for a whole 6×64 tile and whole quads, straight into C (about
** 3% faster than going through the tile on 512×2048×2048). */
static TARGET_AVX512 void vnni_kernel_direct(const int8_t *const *a, int n_quads, const uint8_t *bp,
                                             int32_t *const *c, const int32_t *init, int load_c)
{
    const int8_t *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3], *a4 = a[4], *a5 = a[5];
    VNNI_DLOAD(0) VNNI_DLOAD(1) VNNI_DLOAD(2) VNNI_DLOAD(3) VNNI_DLOAD(4) VNNI_DLOAD(5)
    for (int q = 0; q < n_quads; q++, bp += 4 * VNNI_NR) {
        __m512i b0 = _mm512_load_si512(bp), b1 = _mm512_load_si512(bp + 64);
        __m512i b2 = _mm512_load_si512(bp + 128), b3 = _mm512_load_si512(bp + 192);
        VNNI_STEP(0); VNNI_STEP(1); VNNI_STEP(2); VNNI_STEP(3); VNNI_STEP(4); VNNI_STEP(5);
    }
    VNNI_DSTORE(0); VNNI_DSTORE(1); VNNI_DSTORE(2); VNNI_DSTORE(3); VNNI_DSTORE(4); VNNI_DSTORE(5);
}

/* Rows [0, mr) of A and C (already offset to the block) for one kernel call;
** then the call, plus one more for the last 1-3 k (zero-padded copies). */
static TARGET_AVX512 void vnni_block(struct vnni_rows *w, const uint8_t *bp, int kc,
                                     const uint32_t *init, int load_c, int32_t *tile)
{
    if (w->mr == VNNI_MR && w->nc == VNNI_NR && kc % 4 == 0) {
        int32_t zero[VNNI_MR] = { 0 };
        vnni_kernel_direct(w->a, kc / 4, bp, w->c, init ? (const int32_t *)init : zero, load_c);
        return;
    }
    vnni_tile_init(tile, w, init, load_c);
    vnni_kernel(w->a, kc / 4, bp, tile);
    if (kc % 4) {
        int8_t tail[VNNI_MR][4] = { { 0 } };
        const int8_t *ta[VNNI_MR];
        for (int r = 0; r < VNNI_MR; r++) {
            memcpy(tail[r], w->a[r] + kc / 4 * 4, (size_t)(kc % 4));
            ta[r] = tail[r];
        }
        vnni_kernel(ta, 1, bp + (size_t)(kc / 4) * 4 * VNNI_NR, tile);
    }
    vnni_tile_store(tile, w);
}

/* Asks for the next row block's C tile and first A lines while the current
** block computes; C misses otherwise stall the start of every kernel call. */
static TARGET_AVX512 void vnni_prefetch_rows(const int8_t *a, int lda, const int32_t *c, int ldc,
                                             int n_rows, int kc, int nc)
{
    for (int r = 0; r < n_rows; r++) {
        for (int q = 0; 16 * q < nc; q++)
            _mm_prefetch((const char *)(c + (size_t)r * ldc + 16 * q), _MM_HINT_T0);
        _mm_prefetch((const char *)(a + (size_t)r * lda), _MM_HINT_T0);
        if (kc > 64)
            _mm_prefetch((const char *)(a + (size_t)r * lda + 64), _MM_HINT_T0);
    }
}

/* Rows [i0, i0 + mc) of C, columns [j0, j0 + nc), over the packed panel of
** k rows [k0, k0 + kc): one kernel call per 6 rows. */
static TARGET_AVX512 void vnni_panel_rows(const int8_t *A, int lda, int32_t *C, int ldc, int i0,
                                          int mc, int k0, int kc, int j0, int nc, const uint8_t *bp,
                                          const uint32_t *row_init, int load_c)
{
    _Alignas(64) int32_t tile[VNNI_MR * VNNI_NR];
    struct vnni_rows w;
    w.nc = nc;
    for (int i = i0; i < i0 + mc; i += VNNI_MR) {
        w.mr = i0 + mc - i < VNNI_MR ? i0 + mc - i : VNNI_MR;
        for (int r = 0; r < VNNI_MR; r++) {
            int row = i + (r < w.mr ? r : 0);
            w.a[r] = A + (size_t)row * lda + k0;
            w.c[r] = C + (size_t)row * ldc + j0;
        }
        int n_next = i0 + mc - (i + VNNI_MR);
        if (n_next > 0)
            vnni_prefetch_rows(A + (size_t)(i + VNNI_MR) * lda + k0, lda, C + (size_t)(i + VNNI_MR) * ldc + j0,
                               ldc, n_next < VNNI_MR ? n_next : VNNI_MR, kc, nc);
        vnni_block(&w, bp, kc, row_init ? row_init + (i - i0) : NULL, load_c, tile);
    }
}

/* Returns -1 (nothing written) when the panel buffer cannot be allocated. */
static TARGET_AVX512 int gemm_i8_vnni(int M, int N, int K, const int8_t *A, int lda,
                                      const int8_t *B, int ldb, int32_t *C, int ldc, int accumulate)
{
    int kc_max = K < VNNI_KC ? K : VNNI_KC;
    size_t panel_bytes = (size_t)(kc_max + 3) / 4 * 4 * VNNI_NR;
    uint8_t *raw = tpu_malloc(NULL, VNNI_GROUP * panel_bytes + 63);
    if (!raw)
        return -1;
    uint8_t *bp = raw + ((64 - (uintptr_t)raw % 64) % 64);
    /* A rows per sweep: their kc_max bytes each stay within about 1 MiB (L2) */
    int mc_max = (1 << 20) / kc_max / VNNI_MR * VNNI_MR;
    mc_max = mc_max < VNNI_MR ? VNNI_MR : mc_max > VNNI_MC ? VNNI_MC : mc_max;
    uint32_t row_init[VNNI_MC];                              /* -128·Σ_k a[i][k] */
    for (int i0 = 0; i0 < M; i0 += mc_max) {
        int mc = M - i0 < mc_max ? M - i0 : mc_max;
        for (int i = 0; i < mc; i++)
            row_init[i] = 0u - 128u * vnni_row_sum(A + (size_t)(i0 + i) * lda, K);
        for (int k0 = 0; k0 < K; k0 += VNNI_KC) {
            int kc = K - k0 < VNNI_KC ? K - k0 : VNNI_KC;
            for (int jg = 0; jg < N; jg += VNNI_GROUP * VNNI_NR) {
                int ng = N - jg < VNNI_GROUP * VNNI_NR ? N - jg : VNNI_GROUP * VNNI_NR;
                vnni_pack_b(B + (size_t)k0 * ldb + jg, ldb, kc, ng, bp, panel_bytes);
                for (int j0 = jg; j0 < jg + ng; j0 += VNNI_NR) {
                    int nc = jg + ng - j0 < VNNI_NR ? jg + ng - j0 : VNNI_NR;
                    vnni_panel_rows(A, lda, C, ldc, i0, mc, k0, kc, j0, nc,
                                    bp + (size_t)(j0 - jg) / VNNI_NR * panel_bytes,
                                    k0 == 0 ? row_init : NULL, accumulate || k0 > 0);
                }
            }
        }
    }
    free(raw);
    return 0;
}

/*---- AVX2 int8 ----*/
/* No byte dot product without VNNI, and vpmaddubsw saturates, so AVX2 uses
** vpmaddwd: A and B sign-extended to int16, pairs of k per int32 lane, exact.
** B is packed per panel as [ceil(kc/2) pairs][16 columns][2 k] int16. */

#define AVX2_MR 4
#define AVX2_NR 16
#define AVX2_KC 1024

static void avx2_pack_b(const int8_t *B, int ldb, int kc, int nc, int16_t *bp)
{
    memset(bp, 0, (size_t)((kc + 1) / 2) * AVX2_NR * 2 * sizeof *bp);
    for (int k = 0; k < kc; k++) {
        const int8_t *b = B + (size_t)k * ldb;
        int16_t *dst = bp + (size_t)(k / 2) * AVX2_NR * 2 + (k % 2);
        for (int j = 0; j < nc; j++)
            dst[2 * j] = b[j];
    }
}

/* A[k], A[k+1] sign-extended to int16 and repeated in every int32 lane:
** broadcast the byte pair, then widen the bytes (vpmovsxbw). */
static TARGET_AVX2 __m256i avx2_pair(const int8_t *a)
{
    int16_t two;
    memcpy(&two, a, sizeof two);
    return _mm256_cvtepi8_epi16(_mm_set1_epi16(two));
}

#define AVX2_STEP(r, pair)                                                     \
    do {                                                                       \
        __m256i a_ = pair;                                                     \
        c##r##0 = _mm256_add_epi32(c##r##0, _mm256_madd_epi16(a_, b0));       \
        c##r##1 = _mm256_add_epi32(c##r##1, _mm256_madd_epi16(a_, b1));       \
    } while (0)
#define AVX2_INIT(r)                                                                     \
    __m256i c##r##0 = _mm256_setzero_si256(), c##r##1 = c##r##0;                         \
    if (load_c && r < mr) {                                                              \
        c##r##0 = _mm256_maskload_epi32((const int *)c[r], m0);                          \
        c##r##1 = _mm256_maskload_epi32((const int *)c[r] + 8, m1);                      \
    }
#define AVX2_STORE(r)                                                 \
    if (r < mr) {                                                     \
        _mm256_maskstore_epi32((int *)c[r], m0, c##r##0);             \
        _mm256_maskstore_epi32((int *)c[r] + 8, m1, c##r##1);         \
    }

/* The 4×16 kernel over one packed panel of kc rows. */
static TARGET_AVX2 void avx2_kernel(const int8_t *const *a, int32_t *const *c, int mr, int kc,
                                    const int16_t *bp, int nc, int load_c)
{
    __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc), lane);
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nc - 8), lane);
    AVX2_INIT(0) AVX2_INIT(1) AVX2_INIT(2) AVX2_INIT(3)
    const int8_t *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
    __m256i b0, b1;
    for (int k = 0; k + 1 < kc; k += 2, bp += 2 * AVX2_NR) {
        b0 = _mm256_loadu_si256((const __m256i *)bp);
        b1 = _mm256_loadu_si256((const __m256i *)(bp + 16));
        AVX2_STEP(0, avx2_pair(a0 + k)); AVX2_STEP(1, avx2_pair(a1 + k));
        AVX2_STEP(2, avx2_pair(a2 + k)); AVX2_STEP(3, avx2_pair(a3 + k));
    }
    if (kc % 2) {                       /* last k alone: its pair partner is 0 */
        b0 = _mm256_loadu_si256((const __m256i *)bp);
        b1 = _mm256_loadu_si256((const __m256i *)(bp + 16));
        AVX2_STEP(0, _mm256_set1_epi32((uint16_t)a0[kc - 1])); AVX2_STEP(1, _mm256_set1_epi32((uint16_t)a1[kc - 1]));
        AVX2_STEP(2, _mm256_set1_epi32((uint16_t)a2[kc - 1])); AVX2_STEP(3, _mm256_set1_epi32((uint16_t)a3[kc - 1]));
    }
    AVX2_STORE(0) AVX2_STORE(1) AVX2_STORE(2) AVX2_STORE(3)
}

static TARGET_AVX2 void gemm_i8_avx2(int M, int N, int K, const int8_t *A, int lda,
                                     const int8_t *B, int ldb, int32_t *C, int ldc, int accumulate)
{
    int16_t bp[AVX2_KC / 2 * 2 * AVX2_NR];                   /* 32 KiB */
    for (int k0 = 0; k0 < K; k0 += AVX2_KC) {
        int kc = K - k0 < AVX2_KC ? K - k0 : AVX2_KC;
        for (int j0 = 0; j0 < N; j0 += AVX2_NR) {
            int nc = N - j0 < AVX2_NR ? N - j0 : AVX2_NR;
            avx2_pack_b(B + (size_t)k0 * ldb + j0, ldb, kc, nc, bp);
            for (int i = 0; i < M; i += AVX2_MR) {
                int mr = M - i < AVX2_MR ? M - i : AVX2_MR;
                const int8_t *a[AVX2_MR];
                int32_t *c[AVX2_MR];
                for (int r = 0; r < AVX2_MR; r++) {
                    int rr = r < mr ? i + r : i;
                    a[r] = A + (size_t)rr * lda + k0;
                    c[r] = C + (size_t)rr * ldc + j0;
                }
                avx2_kernel(a, c, mr, kc, bp, nc, accumulate || k0 > 0);
            }
        }
    }
}

/*---- AVX-512 bf16 ----*/
/* 4 rows × 64 columns of chunk sums t in 16 zmm; for each k in order every
** lane does t = t + a·b with a separate multiply and add (never an FMA), so
** each lane computes exactly what bf16_chunk_portable computes. The 64-column
** panel of B is converted to fp32 once (K × 256 bytes on the heap) and then
** read sequentially by every row block. */

#define BFZ_MR 4

struct bf16_tile {
    const uint16_t *a[BFZ_MR];     /* row r of A (column 0)                    */
    float          *c[BFZ_MR];     /* row r of C at the block's first column  */
    int             mr;            /* real rows; the others repeat row 0      */
};

#define BFZ_STEP(r)                                                                        \
    do {                                                                                   \
        __m512 a_ = _mm512_castsi512_ps(_mm512_set1_epi32((int32_t)((uint32_t)a##r[k] << 16))); \
        t##r##0 = _mm512_add_ps(t##r##0, _mm512_mul_ps(a_, b0));                           \
        t##r##1 = _mm512_add_ps(t##r##1, _mm512_mul_ps(a_, b1));                           \
        t##r##2 = _mm512_add_ps(t##r##2, _mm512_mul_ps(a_, b2));                           \
        t##r##3 = _mm512_add_ps(t##r##3, _mm512_mul_ps(a_, b3));                           \
    } while (0)
/* The same step with one fused multiply-add per product: the same bits when
** every a·b is an exact normal fp32 (tpu_bf16_products_exact), since then
** fl(fl(a·b) + t) = fl(a·b + t). */
#define BFZ_FSTEP(r)                                                                       \
    do {                                                                                   \
        __m512 a_ = _mm512_castsi512_ps(_mm512_set1_epi32((int32_t)((uint32_t)a##r[k] << 16))); \
        t##r##0 = _mm512_fmadd_ps(a_, b0, t##r##0);                                        \
        t##r##1 = _mm512_fmadd_ps(a_, b1, t##r##1);                                        \
        t##r##2 = _mm512_fmadd_ps(a_, b2, t##r##2);                                        \
        t##r##3 = _mm512_fmadd_ps(a_, b3, t##r##3);                                        \
    } while (0)
/* Rows 0-3 over k in [k0, k1), each k's 64 panel floats loaded once; STEP:
** BFZ_STEP or BFZ_FSTEP (one loop each, no branch per k). */
#define BFZ_LOOP(STEP)                                                                     \
    for (int k = k0; k < k1; k++) {                                                        \
        const float *b = bp + (size_t)k * 64;                                              \
        __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);                        \
        __m512 b2 = _mm512_load_ps(b + 32), b3 = _mm512_load_ps(b + 48);                   \
        STEP(0); STEP(1); STEP(2); STEP(3);                                                \
    }
#define BFZ_DECL(r) __m512 t##r##0 = zero, t##r##1 = zero, t##r##2 = zero, t##r##3 = zero;
#define BFZ_STORE1(r, q)                                                                      \
    do {                                                                                      \
        __m512 c_ = base_is_c ? _mm512_maskz_loadu_ps(m[q], t->c[r] + 16 * q) : zero;         \
        _mm512_mask_storeu_ps(t->c[r] + 16 * q, m[q], _mm512_add_ps(c_, t##r##q));            \
    } while (0)
#define BFZ_STORE(r)                                                                          \
    if (r < t->mr) { BFZ_STORE1(r, 0); BFZ_STORE1(r, 1); BFZ_STORE1(r, 2); BFZ_STORE1(r, 3); }

/* One chunk [k0, k1) for 4 rows × nc (≤ 64) columns: t = Σ, C = fl(C + t).
** bp: the fp32 panel, 64 floats per k. fused: BFZ_FSTEP (exact products). */
static TARGET_AVX512 void bfz_kernel(const struct bf16_tile *t, const float *bp, int k0, int k1,
                                     int nc, int base_is_c, int fused)
{
    __mmask16 m[4];
    for (int q = 0; q < 4; q++) {
        int n = nc - 16 * q;
        m[q] = (__mmask16)(n <= 0 ? 0 : n >= 16 ? 0xffff : (1u << n) - 1);
    }
    const __m512 zero = _mm512_setzero_ps();
    const uint16_t *a0 = t->a[0], *a1 = t->a[1], *a2 = t->a[2], *a3 = t->a[3];
    BFZ_DECL(0) BFZ_DECL(1) BFZ_DECL(2) BFZ_DECL(3)
    if (fused) { BFZ_LOOP(BFZ_FSTEP) }
    else { BFZ_LOOP(BFZ_STEP) }
    BFZ_STORE(0) BFZ_STORE(1) BFZ_STORE(2) BFZ_STORE(3)
}

/* B[0:K, 0:nc) (nc ≤ 64) as fp32, 64 per row; columns past nc are +0. */
static TARGET_AVX512 void bfz_pack_b(const uint16_t *B, int ldb, int K, int nc, float *bp)
{
    for (int k = 0; k < K; k++)
        for (int q = 0; q < 4; q++) {
            int n = nc - 16 * q;
            __mmask16 m = (__mmask16)(n <= 0 ? 0 : n >= 16 ? 0xffff : (1u << n) - 1);
            __m512i w = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(m, B + (size_t)k * ldb + 16 * q));
            _mm512_store_ps(bp + (size_t)k * 64 + 16 * q, _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)));
        }
}

static void bf16_tile_rows(struct bf16_tile *t, int mr, const uint16_t *A, int lda, float *C,
                           int ldc, int j0)
{
    t->mr = mr;
    for (int r = 0; r < BFZ_MR; r++) {
        int rr = r < mr ? r : 0;
        t->a[r] = A + (size_t)rr * lda;
        t->c[r] = C + (size_t)rr * ldc + j0;
    }
}

/* bf16_exponents (below) 32 values at a time. */
static TARGET_AVX512 int bf16_exponents_avx512(const uint16_t *X, int rows, int cols, int ld, int *lo, int *hi)
{
    const __m512i emask = _mm512_set1_epi16(0x7f80), mag = _mm512_set1_epi16(0x7fff);
    const __m512i zero = _mm512_setzero_si512(), inf = _mm512_set1_epi16(255);
    __m512i vlo = inf, vhi = zero;
    __mmask32 bad = 0;
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c += 32) {
            __mmask32 m = cols - c >= 32 ? 0xffffffffu : (1u << (cols - c)) - 1;
            __m512i x = _mm512_maskz_loadu_epi16(m, X + (size_t)r * ld + c);
            __mmask32 nz = _mm512_test_epi16_mask(x, mag);                 /* not +-0 */
            __m512i e = _mm512_srli_epi16(_mm512_and_si512(x, emask), 7);
            bad |= _mm512_mask_cmpeq_epi16_mask(nz, e, zero) | _mm512_mask_cmpeq_epi16_mask(nz, e, inf);
            vlo = _mm512_mask_min_epu16(vlo, nz, vlo, e);
            vhi = _mm512_mask_max_epu16(vhi, nz, vhi, e);
        }
    if (bad) return 0;
    uint16_t l[32], h[32];
    _mm512_storeu_si512(l, vlo);
    _mm512_storeu_si512(h, vhi);
    *lo = 255, *hi = 0;
    for (int i = 0; i < 32; i++) {
        *lo = l[i] < *lo ? l[i] : *lo;
        *hi = h[i] > *hi ? h[i] : *hi;
    }
    return 1;
}

/* Returns -1 (nothing written) when the panel buffer cannot be allocated. */
static TARGET_AVX512 int gemm_bf16_avx512(int M, int N, int K, const uint16_t *A, int lda,
                                          const uint16_t *B, int ldb, float *C, int ldc,
                                          int accumulate, int k_tile)
{
    size_t panel_bytes = (size_t)K * 64 * sizeof(float);
    char *raw = tpu_malloc(NULL, panel_bytes + 63);
    if (!raw)
        return -1;
    float *bp = (float *)(raw + ((64 - (uintptr_t)raw % 64) % 64));
    int fused = tpu_bf16_products_exact(M, N, K, A, lda, B, ldb);
    struct bf16_tile t;
    for (int j0 = 0; j0 < N; j0 += 64) {
        int nc = N - j0 < 64 ? N - j0 : 64;
        bfz_pack_b(B + j0, ldb, K, nc, bp);
        for (int i = 0; i < M; i += BFZ_MR) {
            int mr = M - i < BFZ_MR ? M - i : BFZ_MR;
            bf16_tile_rows(&t, mr, A + (size_t)i * lda, lda, C + (size_t)i * ldc, ldc, j0);
            for (int k0 = 0; k0 < K; k0 += k_tile) {
                int k1 = K - k0 < k_tile ? K : k0 + k_tile;
                bfz_kernel(&t, bp, k0, k1, nc, accumulate || k0 > 0, fused);
            }
        }
    }
    free(raw);
    return 0;
}

/*---- AVX2 bf16 ----*/
/* Same order, 4 rows × 16 columns in 8 ymm. AVX2 has no masked 16-bit load,
** so whole blocks of 16 columns go here and the last N % 16 columns go to the
** portable path (the same arithmetic, per lane). */

static TARGET_AVX2 __m256 bfy_load_b(const uint16_t *b)
{
    __m256i w = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)b));
    return _mm256_castsi256_ps(_mm256_slli_epi32(w, 16));
}

#define BFY_STEP(r)                                                                        \
    do {                                                                                   \
        __m256 a_ = _mm256_castsi256_ps(_mm256_set1_epi32((int32_t)((uint32_t)a##r[k] << 16))); \
        t##r##0 = _mm256_add_ps(t##r##0, _mm256_mul_ps(a_, b0));                           \
        t##r##1 = _mm256_add_ps(t##r##1, _mm256_mul_ps(a_, b1));                           \
    } while (0)
#define BFY_STORE(r)                                                                      \
    if (r < t->mr) {                                                                      \
        __m256 c0_ = base_is_c ? _mm256_loadu_ps(t->c[r]) : zero;                          \
        __m256 c1_ = base_is_c ? _mm256_loadu_ps(t->c[r] + 8) : zero;                      \
        _mm256_storeu_ps(t->c[r], _mm256_add_ps(c0_, t##r##0));                            \
        _mm256_storeu_ps(t->c[r] + 8, _mm256_add_ps(c1_, t##r##1));                        \
    }

static TARGET_AVX2 void bfy_kernel(const struct bf16_tile *t, const uint16_t *B, int ldb,
                                   int k0, int k1, int base_is_c)
{
    const __m256 zero = _mm256_setzero_ps();
    const uint16_t *a0 = t->a[0], *a1 = t->a[1], *a2 = t->a[2], *a3 = t->a[3];
    __m256 t00 = zero, t01 = zero, t10 = zero, t11 = zero, t20 = zero, t21 = zero, t30 = zero, t31 = zero;
    for (int k = k0; k < k1; k++) {
        const uint16_t *b = B + (size_t)k * ldb;
        __m256 b0 = bfy_load_b(b), b1 = bfy_load_b(b + 8);
        BFY_STEP(0); BFY_STEP(1); BFY_STEP(2); BFY_STEP(3);
    }
    BFY_STORE(0) BFY_STORE(1) BFY_STORE(2) BFY_STORE(3)
}

static TARGET_AVX2 void gemm_bf16_avx2(int M, int N, int K, const uint16_t *A, int lda,
                                       const uint16_t *B, int ldb, float *C, int ldc,
                                       int accumulate, int k_tile)
{
    int n_vec = N / 16 * 16;
    struct bf16_tile t;
    for (int j0 = 0; j0 < n_vec; j0 += 16) {       /* the 16-column panel stays in cache */
        for (int i = 0; i < M; i += BFZ_MR) {
            int mr = M - i < BFZ_MR ? M - i : BFZ_MR;
            bf16_tile_rows(&t, mr, A + (size_t)i * lda, lda, C + (size_t)i * ldc, ldc, j0);
            for (int k0 = 0; k0 < K; k0 += k_tile) {
                int k1 = K - k0 < k_tile ? K : k0 + k_tile;
                bfy_kernel(&t, B + j0, ldb, k0, k1, accumulate || k0 > 0);
            }
        }
    }
    if (n_vec < N)
        gemm_bf16_portable(M, N - n_vec, K, A, lda, B + n_vec, ldb, C + n_vec, ldc, accumulate, k_tile);
}
#endif /* GEMM_X86 */

/*---- Entry points ----*/

/* Exponent fields of a rows x cols bf16 matrix: *lo the least and *hi the
** greatest over its nonzero values; 0 when one is subnormal, inf or NaN. */
static int bf16_exponents(const uint16_t *X, int rows, int cols, int ld, int *lo, int *hi)
{
    int l = 255, h = 0;
    for (int r = 0; r < rows; r++) {
        const uint16_t *x = X + (size_t)r * ld;
        int bad = 0;
        for (int c = 0; c < cols; c++) {
            int e = (x[c] >> 7) & 0xff, nz = (x[c] & 0x7fff) != 0;
            bad |= nz & ((e == 0) | (e == 255));
            l = nz && e < l ? e : l;
            h = nz && e > h ? e : h;
        }
        if (bad) return 0;
    }
    *lo = l;
    *hi = h;
    return 1;
}

int tpu_bf16_products_exact(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B, int ldb)
{
    int (*scan)(const uint16_t *, int, int, int, int *, int *) = bf16_exponents;
#ifdef GEMM_X86
    if (impl_get() == GEMM_IMPL_AVX512_VNNI) scan = bf16_exponents_avx512;
#endif
    int alo, ahi, blo, bhi;
    if (!scan(A, M, K, lda, &alo, &ahi) || !scan(B, K, N, ldb, &blo, &bhi)) return 0;
    if (ahi == 0 || bhi == 0) return 1;                    /* A or B all zeros */
    return alo + blo >= 128 && ahi + bhi <= 379;          /* 2^-126 <= |a·b| < 2^127 */
}

/* K ≤ 0: no products; C becomes 0 unless accumulating. */
static void zero_c_i8(int M, int N, int32_t *C, int ldc)
{
    for (int i = 0; i < M; i++)
        memset(C + (size_t)i * ldc, 0, (size_t)N * sizeof *C);
}

static void zero_c_f32(int M, int N, float *C, int ldc)
{
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++)
            C[(size_t)i * ldc + j] = 0.0f;
}

void tpu_gemm_i8(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                 int32_t *C, int ldc, int accumulate)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        if (!accumulate)
            zero_c_i8(M, N, C, ldc);
        return;
    }
    switch (impl_get()) {
#ifdef GEMM_X86
    case GEMM_IMPL_AVX512_VNNI:
        if (gemm_i8_vnni(M, N, K, A, lda, B, ldb, C, ldc, accumulate) != 0)
            gemm_i8_portable(M, N, K, A, lda, B, ldb, C, ldc, accumulate);   /* no memory */
        break;
    case GEMM_IMPL_AVX2:
        gemm_i8_avx2(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        break;
#endif
    default:
        gemm_i8_portable(M, N, K, A, lda, B, ldb, C, ldc, accumulate);
        break;
    }
}

void tpu_gemm_bf16(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B, int ldb,
                   float *C, int ldc, int accumulate, int k_tile)
{
    if (M <= 0 || N <= 0)
        return;
    if (K <= 0) {
        if (!accumulate)
            zero_c_f32(M, N, C, ldc);
        return;
    }
    if (k_tile <= 0 || k_tile > K)
        k_tile = K;
    switch (impl_get()) {
#ifdef GEMM_X86
    case GEMM_IMPL_AVX512_VNNI:
        if (gemm_bf16_avx512(M, N, K, A, lda, B, ldb, C, ldc, accumulate, k_tile) != 0)
            gemm_bf16_portable(M, N, K, A, lda, B, ldb, C, ldc, accumulate, k_tile);  /* no memory */
        break;
    case GEMM_IMPL_AVX2:
        gemm_bf16_avx2(M, N, K, A, lda, B, ldb, C, ldc, accumulate, k_tile);
        break;
#endif
    default:
        gemm_bf16_portable(M, N, K, A, lda, B, ldb, C, ldc, accumulate, k_tile);
        break;
    }
}
