/*
** ref/ref_nn_conv.c: reference kernels of Conv, ConvTranspose, MaxPool,
** AveragePool, GlobalAveragePool and GlobalMaxPool.
**
** In:  a node whose shape function (ir/shape_nn.c) has run and whose outputs
**      the executor has allocated.
** Out: the outputs' values. float32 runs on float loops and tpu_sgemm; every
**      other dtype is staged through float64 (tpu_nn_to_f64) and cblas_dgemm.
**
** float32 Conv (neither 1x1 nor depthwise) is an implicit GEMM: im2col is
** never stored, conv_pack gathers its panels from the input inside
** tpu_sgemm_implicit_b. The environment variable TPUSIM_CONV_IM2COL (any
** value) selects the stored-im2col path of ref_nn_core.h instead: same
** bits, slower; tests/test-ref-nn.c compares the two.
*/
#include "ref/ref_nn.h"
#include "base/sgemm.h"
#include <cblas.h>
#include <immintrin.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* MaxPool's y[o] = max(y[o], x[2*o]) for o < n on AVX-512: 32 floats, the
** even ones kept by a permute; vmaxps(a, b) is a > b ? a : b, so a NaN in x
** leaves y as the scalar loop does. 0: no AVX-512 here, the caller loops. */
__attribute__((target("avx512f")))
static int max_row_s2_avx512(int64_t n, const float *restrict x, float *restrict y)
{
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t o = 0; o < n; o += 16) {
        int64_t r = n - o < 16 ? n - o : 16, e = 2 * r - 1;   /* outputs, input floats read */
        __mmask16 m_lo = (__mmask16)(e >= 16 ? 0xffff : (1u << e) - 1);
        __mmask16 m_hi = (__mmask16)(e >= 32 ? 0xffff : e <= 16 ? 0 : (1u << (e - 16)) - 1);
        __mmask16 m_y = (__mmask16)(r == 16 ? 0xffff : (1u << r) - 1);
        __m512 lo = _mm512_maskz_loadu_ps(m_lo, x + 2 * o), hi = _mm512_maskz_loadu_ps(m_hi, x + 2 * o + 16);
        __m512 xv = _mm512_permutex2var_ps(lo, even, hi), yv = _mm512_maskz_loadu_ps(m_y, y + o);
        _mm512_mask_storeu_ps(y + o, m_y, _mm512_max_ps(xv, yv));
    }
    return 1;
}

static int max_row_s2_f32(int64_t n, const float *x, float *y)
{
    return tpu_cpu_avx512() ? max_row_s2_avx512(n, x, y) : 0;
}

#define T float
#define SFX f32
#define GEMM tpu_nn_sgemm
#define MAX_ROW_S2(n, x, y) max_row_s2_f32(n, x, y)
#include "ref/ref_nn_core.h"
#undef T
#undef SFX
#undef GEMM
#undef MAX_ROW_S2

#define T double
#define SFX f64
#define GEMM cblas_dgemm
#define MAX_ROW_S2(n, x, y) 0
#include "ref/ref_nn_core.h"
#undef T
#undef SFX
#undef GEMM
#undef MAX_ROW_S2

/*---- float32 implicit-GEMM convolution ----*/
/* Y_g = W_g x im2col(X_g) with im2col never stored: tpu_sgemm_implicit_b asks
** for B (cg*K rows, one per (channel, tap); one column per output position)
** a KC x NR panel at a time, and conv_pack gathers it from X straight into
** the panel, zeros for the padding. Same blocking and summation order as
** tpu_sgemm on the stored im2col, so the output is the same bits (but for
** the sign of an exact zero sum without bias). Index
** arithmetic is int32: conv_implicit_ok checks every offset fits. */
struct conv_pack {
    const float *x;                   /* batch 0, this group's channel 0 */
    ptrdiff_t x_batch;                /* floats from one batch to the next */
    int in_sp, taps;                  /* in[0]*in[1]*in[2], k[0]*k[1]*k[2] */
    int in[3], out[3], k[3], s[3], d[3], p[3];
};

/* Row r of B -> channel c and tap (k0, k1, k2); the next row. */
static void conv_row_at(const struct conv_pack *p, int r, int t[4])
{
    int tap = r % p->taps;
    t[0] = r / p->taps;
    t[3] = tap % p->k[2];
    t[2] = (tap / p->k[2]) % p->k[1];
    t[1] = tap / (p->k[2] * p->k[1]);
}

static void conv_row_next(const struct conv_pack *p, int t[4])
{
    if (++t[3] < p->k[2]) return;
    t[3] = 0;
    if (++t[2] < p->k[1]) return;
    t[2] = 0;
    if (++t[1] < p->k[0]) return;
    t[1] = 0;
    t[0]++;
}

/* Window origin of output position o along each dim (o*stride - pad0); a
** position past the end gets an origin no tap reaches (INT32_MIN / 2). */
static void conv_origin(const struct conv_pack *p, int o, int valid, int b[3])
{
    int o2 = o % p->out[2], t = o / p->out[2], o1 = t % p->out[1], o0 = t / p->out[1];
    b[0] = valid ? o0 * p->s[0] - p->p[0] : INT32_MIN / 2;
    b[1] = o1 * p->s[1] - p->p[1];
    b[2] = o2 * p->s[2] - p->p[2];
}

static void conv_pack_scalar(const struct conv_pack *p, const float *x, int pc, int kc, int j0, int cols, int nr, float *dst)
{
    int b[32][3], t[4];
    TPU_ASSERT(nr <= 32);
    for (int j = 0; j < nr; j++) conv_origin(p, j0 + j, j < cols, b[j]);
    conv_row_at(p, pc, t);
    for (int k = 0; k < kc; k++, dst += nr, conv_row_next(p, t)) {
        const float *xc = x + (ptrdiff_t)t[0] * p->in_sp;
        int d0 = t[1] * p->d[0], d1 = t[2] * p->d[1], d2 = t[3] * p->d[2];
        for (int j = 0; j < nr; j++) {
            int i0 = b[j][0] + d0, i1 = b[j][1] + d1, i2 = b[j][2] + d2;
            bool in = (unsigned)i0 < (unsigned)p->in[0] && (unsigned)i1 < (unsigned)p->in[1] &&
                      (unsigned)i2 < (unsigned)p->in[2];
            dst[j] = in ? xc[(i0 * p->in[1] + i1) * p->in[2] + i2] : 0.0f;
        }
    }
}

/* AVX-512, NR = 32, a block of up to TPU_SGEMM_PACK_MAX_N columns: row by
** row (so the input is swept line by line), 16 lanes (half a panel) at a
** time. At stride 1 or 2 along the last dim, a half's positions form runs
** on output lines, each a stretch of input: with at most CONV_RUNS runs, one
** masked load per run (mask: the run's lanes whose tap lands inside the
** input), at stride 2 two loads of 16 and a permute keeping the even
** floats; otherwise a masked gather. All give 0 for padding and for lanes
** past cols. */
#define CONV_RUNS 4
#define CONV_PREFETCH_MAX 4096        /* floats of a channel prefetched at most */
#define CONV_HALVES (TPU_SGEMM_PACK_MAX_N / 16)
struct conv_run {
    __mmask16 lanes;                  /* the run's lanes                       */
    int b0, b1;                       /* the run's window origin, dims 0 and 1 */
    int base;                         /* input offset of lane 0 (extrapolated) */
};

struct conv_half {
    __m512i b[3], base;               /* per lane: origins, input offset       */
    int n_run;                        /* > CONV_RUNS: gather                   */
    struct conv_run run[CONV_RUNS];
};

__attribute__((target("avx512f")))
static void conv_half_init(const struct conv_pack *p, int j0, int n_valid, struct conv_half *hf)
{
    int o[3][16], base[16];
    hf->n_run = p->s[2] <= 2 ? 0 : CONV_RUNS + 1;
    for (int j = 0; j < 16; j++) {
        int b[3];
        conv_origin(p, j0 + j, j < n_valid, b);
        for (int i = 0; i < 3; i++) o[i][j] = b[i];
        /* lanes past n_valid carry a far-out origin (masked off); no offset for them */
        base[j] = j < n_valid ? (b[0] * p->in[1] + b[1]) * p->in[2] + b[2] : 0;
        if (j >= n_valid || hf->n_run > CONV_RUNS) continue;
        struct conv_run *q = hf->n_run ? &hf->run[hf->n_run - 1] : NULL;
        if (q && q->b0 == b[0] && q->b1 == b[1]) {
            q->lanes |= (__mmask16)(1u << j);
            continue;
        }
        if (++hf->n_run > CONV_RUNS) continue;
        hf->run[hf->n_run - 1] = (struct conv_run){ (__mmask16)(1u << j), b[0], b[1], base[j] - p->s[2] * j };
    }
    for (int i = 0; i < 3; i++) hf->b[i] = _mm512_loadu_si512(o[i]);
    hf->base = _mm512_loadu_si512(base);
}

__attribute__((target("avx512f,bmi2")))
static void conv_pack_avx512(const struct conv_pack *p, const float *x, int pc, int kc, int j0, int cols,
                             ptrdiff_t ps, float *dst)
{
    struct conv_half hv[CONV_HALVES];
    int n_half = (cols + 31) / 32 * 2, t[4];
    TPU_ASSERT(n_half <= CONV_HALVES);
    for (int h = 0; h < n_half; h++) conv_half_init(p, j0 + 16 * h, cols - 16 * h, &hv[h]);
    const __m512i vin0 = _mm512_set1_epi32(p->in[0]), vin1 = _mm512_set1_epi32(p->in[1]);
    const __m512i vin2 = _mm512_set1_epi32(p->in[2]);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const int s2 = p->s[2];
    /* the input floats [lo, hi) of one channel this block reads: prefetched
    ** for channel c + 1 when the rows of channel c begin */
    int ob[3], oe[3];
    conv_origin(p, j0, 1, ob);
    conv_origin(p, j0 + cols - 1, 1, oe);
    int pf_lo = (ob[0] * p->in[1] + ob[1]) * p->in[2] + ob[2];
    int pf_hi = (((oe[0] + (p->k[0] - 1) * p->d[0]) * p->in[1] + oe[1] + (p->k[1] - 1) * p->d[1]) * p->in[2] +
              oe[2] + (p->k[2] - 1) * p->d[2]) + 1;
    pf_lo = pf_lo < 0 ? 0 : pf_lo;
    pf_hi = pf_hi > p->in_sp ? p->in_sp : pf_hi;
    bool pf = pf_hi > pf_lo && pf_hi - pf_lo <= CONV_PREFETCH_MAX;
    conv_row_at(p, pc, t);
    for (int k = 0; k < kc; k++, conv_row_next(p, t)) {
        int d0 = t[1] * p->d[0], d1 = t[2] * p->d[1], d2 = t[3] * p->d[2];
        if (pf && !t[1] && !t[2] && !t[3]) {
            const float *xn = x + (ptrdiff_t)(t[0] + 1) * p->in_sp;
            for (int i = pf_lo; i < pf_hi; i += 16) _mm_prefetch((const char *)(xn + i), _MM_HINT_T0);
        }
        int off = t[0] * p->in_sp + (d0 * p->in[1] + d1) * p->in[2] + d2;
        const float *xo = x + (ptrdiff_t)off;
        __m512i vd0 = _mm512_set1_epi32(d0), vd1 = _mm512_set1_epi32(d1), vd2 = _mm512_set1_epi32(d2);
        float *row = dst + (size_t)k * 32;
        for (int h = 0; h < n_half; h++) {
            const struct conv_half *hf = &hv[h];
            __mmask16 m2 = _mm512_cmplt_epu32_mask(_mm512_add_epi32(hf->b[2], vd2), vin2);
            __m512 v = _mm512_setzero_ps();
            if (hf->n_run <= CONV_RUNS && s2 == 1) {
                for (int q = 0; q < hf->n_run; q++) {   /* a run off the input loads nothing */
                    const struct conv_run *r = &hf->run[q];
                    unsigned in = (unsigned)(r->b0 + d0) < (unsigned)p->in[0] &&
                                  (unsigned)(r->b1 + d1) < (unsigned)p->in[1];
                    v = _mm512_mask_loadu_ps(v, (__mmask16)(r->lanes & m2 & -in), xo + r->base);
                }
            } else if (hf->n_run <= CONV_RUNS) {        /* stride 2: 32 floats, even ones kept */
                for (int q = 0; q < hf->n_run; q++) {
                    const struct conv_run *r = &hf->run[q];
                    unsigned in = (unsigned)(r->b0 + d0) < (unsigned)p->in[0] &&
                                  (unsigned)(r->b1 + d1) < (unsigned)p->in[1];
                    unsigned m = r->lanes & m2 & -in;
                    __m512 lo = _mm512_maskz_loadu_ps((__mmask16)_pdep_u32(m & 0xff, 0x5555), xo + r->base);
                    __m512 hi = _mm512_maskz_loadu_ps((__mmask16)_pdep_u32(m >> 8, 0x5555), xo + r->base + 16);
                    v = _mm512_mask_mov_ps(v, (__mmask16)m, _mm512_permutex2var_ps(lo, even, hi));
                }
            } else {
                __mmask16 m = m2 & _mm512_cmplt_epu32_mask(_mm512_add_epi32(hf->b[0], vd0), vin0) &
                              _mm512_cmplt_epu32_mask(_mm512_add_epi32(hf->b[1], vd1), vin1);
                v = _mm512_mask_i32gather_ps(v, m, _mm512_add_epi32(hf->base, _mm512_set1_epi32(off)), x, 4);
            }
            _mm512_store_ps(row + (h >> 1) * ps + (h & 1) * 16, v);
        }
    }
}

static void conv_pack(const void *ctx, int b, int pc, int kc, int j0, int cols, int nr, ptrdiff_t ps, float *dst)
{
    const struct conv_pack *p = ctx;
    const float *x = p->x + b * p->x_batch;
    if (nr == 32 && __builtin_cpu_supports("bmi2")) {
        conv_pack_avx512(p, x, pc, kc, j0, cols, ps, dst);
        return;
    }
    for (int jr = 0; jr < cols; jr += nr)
        conv_pack_scalar(p, x, pc, kc, j0 + jr, cols - jr < nr ? cols - jr : nr, nr, dst + jr / nr * ps);
}

/* Whether every index the packer forms fits in int32. */
static bool conv_implicit_ok(const struct tpu_nn_window *w)
{
    int64_t lim = INT32_MAX / 4, cg = w->c / w->group;
    for (int i = 0; i < 3; i++)
        if (w->in[i] > lim || w->out[i] > lim || w->k[i] > lim || w->stride[i] > lim ||
            w->dil[i] > lim || w->pad0[i] > lim || (w->k[i] - 1) * w->dil[i] > lim ||
            w->out[i] * w->stride[i] > lim)
            return false;
    /* every origin and tap offset, padding included, times the line sizes */
    int64_t span = 1;
    for (int i = 0; i < 3; i++) {
        span *= w->in[i] + w->pad0[i] + w->pad1[i] + (w->k[i] - 1) * w->dil[i] + w->out[i] * w->stride[i] + 1;
        if (span > lim) return false;
    }
    return tpu_nn_window_in(w) * (cg + 1) < lim && tpu_nn_window_out(w) < lim &&
           cg * tpu_nn_window_k(w) < lim;
}

/* 1: done; 0: not this path's case (caller takes conv_f32); <0: error status. */
static int conv_implicit_f32(struct tpu_ctx *ctx, const struct tpu_nn_window *w, const float *x,
                             const float *wt, const float *bias, float *y, enum tpu_status *rc)
{
    int64_t cg = w->c / w->group, mg = w->m / w->group, K = tpu_nn_window_k(w);
    int64_t in_sp = tpu_nn_window_in(w), out_sp = tpu_nn_window_out(w), kk = cg * K;
    if ((cg == 1 && w->group > 1) || is_pointwise_f32(w) || !conv_implicit_ok(w) || mg > INT32_MAX ||
        w->n > INT32_MAX)
        return 0;
    struct conv_pack p = { NULL, w->c * in_sp, (int)in_sp, (int)K, { 0 }, { 0 }, { 0 }, { 0 }, { 0 }, { 0 } };
    for (int i = 0; i < 3; i++) {
        p.in[i] = (int)w->in[i], p.out[i] = (int)w->out[i], p.k[i] = (int)w->k[i];
        p.s[i] = (int)w->stride[i], p.d[i] = (int)w->dil[i], p.p[i] = (int)w->pad0[i];
    }
    /* all batches in one call per group: the group's weights are packed once;
    ** the bias is C's starting value, written tile by tile inside the product */
    for (int64_t gi = 0; gi < w->group; gi++) {
        p.x = x + gi * cg * in_sp;
        if (tpu_sgemm_implicit_b((int)mg, (int)out_sp, (int)kk, 1.0f, wt + gi * mg * kk, (int)(kk ? kk : 1),
                                 conv_pack, &p, bias ? bias + gi * mg : NULL, 0.0f, y + gi * mg * out_sp,
                                 (int)(out_sp ? out_sp : 1),
                                 (int)w->n, (ptrdiff_t)(w->m * out_sp))) {
            *rc = tpu_err(ctx, TPU_ERR_NOMEM, "out of memory for convolution packing buffers");
            return -1;
        }
    }
    return 1;
}

/*---- float32 depthwise 3x3, stride 1 or 2, on AVX-512 ----*/
/* Lanes o0 + l (l < 16) with o in [lo, hi). */
static __mmask16 lanes_in(int64_t o0, int64_t lo, int64_t hi)
{
    int64_t a = lo - o0 < 0 ? 0 : lo - o0, b = hi - o0 > 16 ? 16 : hi - o0;
    return b <= a ? 0 : (__mmask16)(((1u << b) - 1) & ~((1u << a) - 1));
}

/* 16 outputs' inputs x[(o0 + l)*s] for the lanes in m (s = 1 or 2), 0 elsewhere. */
__attribute__((target("avx512f,bmi2"), always_inline))
static inline __m512 dw_load(const float *x, int s, __mmask16 m)
{
    if (s == 1) return _mm512_maskz_loadu_ps(m, x);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    __m512 lo = _mm512_maskz_loadu_ps((__mmask16)_pdep_u32(m & 0xffu, 0x5555), x);
    __m512 hi = _mm512_maskz_loadu_ps((__mmask16)_pdep_u32((unsigned)m >> 8, 0x5555), x + 16);
    return _mm512_maskz_mov_ps(m, _mm512_permutex2var_ps(lo, even, hi));
}

/* Output line by output line, 16 outputs at a time: bias, then for each
** kernel row whose input line exists, its three taps in order, one fused
** multiply-add each (padding lanes load 0). */
__attribute__((target("avx512f,fma,bmi2")))
static void depthwise3x3_avx512(const struct tpu_nn_window *w, const float *x, const float *wt,
                                const float *bias, float *y)
{
    int64_t mg = w->m / w->group, in_sp = tpu_nn_window_in(w), out_sp = tpu_nn_window_out(w);
    int64_t lo2[3], hi2[3], s1 = w->stride[1], s2 = w->stride[2];
    for (int k = 0; k < 3; k++) valid_range_f32(w->out[2], s2, k - w->pad0[2], w->in[2], &lo2[k], &hi2[k]);
    for (int64_t b = 0; b < w->n; b++)
    for (int64_t oc = 0; oc < w->m; oc++) {
        const float *xc = x + (b * w->c + oc / mg) * in_sp, *wk = wt + oc * 9;
        float *yr = y + (b * w->m + oc) * out_sp;
        __m512 bv = _mm512_set1_ps(bias ? bias[oc] : 0.0f);
        for (int64_t o1 = 0; o1 < w->out[1]; o1++, yr += w->out[2]) {
            const float *xr[3];
            for (int k1 = 0; k1 < 3; k1++) {
                int64_t i1 = o1 * s1 + k1 - w->pad0[1];
                xr[k1] = i1 >= 0 && i1 < w->in[1] ? xc + i1 * w->in[2] : NULL;
            }
            for (int64_t o0 = 0; o0 < w->out[2]; o0 += 16) {
                __mmask16 mk[3], my = lanes_in(o0, 0, w->out[2]);
                for (int k2 = 0; k2 < 3; k2++) mk[k2] = lanes_in(o0, lo2[k2], hi2[k2]);
                __m512 acc = bv;
                for (int k1 = 0; k1 < 3; k1++) {
                    if (!xr[k1]) continue;
                    for (int k2 = 0; k2 < 3; k2++) {
                        const float *xp = xr[k1] + o0 * s2 + k2 - w->pad0[2];
                        acc = _mm512_fmadd_ps(_mm512_set1_ps(wk[k1 * 3 + k2]), dw_load(xp, (int)s2, mk[k2]), acc);
                    }
                }
                _mm512_mask_storeu_ps(yr + o0, my, acc);
            }
        }
    }
}

/* The window depthwise3x3_avx512 covers: one input channel per group, a
** 3x3 kernel over the last two dims (a 2-D conv), stride 1 or 2 along the
** last, no dilation. */
static bool dw3x3_ok(const struct tpu_nn_window *w)
{
    return w->c / w->group == 1 && w->group > 1 && w->in[0] == 1 && w->k[0] == 1 && w->out[0] == 1 &&
           w->k[1] == 3 && w->k[2] == 3 && w->dil[1] == 1 && w->dil[2] == 1 &&
           (w->stride[2] == 1 || w->stride[2] == 2) &&
           __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi2");
}

enum tpu_status tpu_nn_conv_f32(struct tpu_ctx *ctx, const struct tpu_nn_window *win,
                                const float *x, const float *w, const float *bias, float *y)
{
    enum tpu_status rc = TPU_STATUS_OK;
    if (dw3x3_ok(win)) {
        depthwise3x3_avx512(win, x, w, bias, y);
        return TPU_STATUS_OK;
    }
    int done = getenv("TPUSIM_CONV_WINOGRAD") && !getenv("TPUSIM_CONV_IM2COL") ?
               tpu_nn_conv_winograd_f32(ctx, win, x, w, bias, y, &rc) : 0;
    if (done) return rc;
    done = getenv("TPUSIM_CONV_IM2COL") ? 0 : conv_implicit_f32(ctx, win, x, w, bias, y, &rc);
    if (done) return rc;
    return conv_f32(ctx, win, x, w, bias, y);
}

enum tpu_status tpu_nn_conv_f64(struct tpu_ctx *ctx, const struct tpu_nn_window *win,
                                const double *x, const double *w, const double *bias, double *y)
{
    return conv_f64(ctx, win, x, w, bias, y);
}

/*---- float64 staging of a node's float inputs ----*/
/* Converts up to 3 tensors (NULL allowed) to float64; frees all on failure. */
static enum tpu_status stage3(struct tpu_ctx *ctx, const struct tpu_tensor *const t[3], double *buf[3])
{
    for (int i = 0; i < 3; i++) {
        buf[i] = tpu_nn_to_f64(ctx, t[i]);
        if (t[i] && !buf[i]) {
            for (int j = 0; j < i; j++) free(buf[j]);
            return TPU_ERR_NOMEM;
        }
    }
    return TPU_STATUS_OK;
}

static void free3(double *buf[3]) { for (int i = 0; i < 3; i++) free(buf[i]); }

/*---- Conv ----*/
enum tpu_status ref_conv(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *in[3] = { tpu_in(g, n, 0), tpu_in(g, n, 1), tpu_in(g, n, 2) };
    struct tpu_tensor *y = tpu_out(g, n, 0);
    struct tpu_nn_window win;
    enum tpu_status rc = tpu_nn_window(g, n, in[0], in[1], TPU_NN_WIN_CONV, &win);
    if (rc) return rc;
    if (y->dtype == TPU_DTYPE_F32 && in[1]->dtype == TPU_DTYPE_F32 &&
        (!in[2] || in[2]->dtype == TPU_DTYPE_F32))
        return tpu_nn_conv_f32(g->ctx, &win, in[0]->data, in[1]->data,
                               in[2] ? in[2]->data : NULL, y->data);
    double *buf[3], *out = tpu_malloc(g->ctx, (size_t)(tpu_tensor_numel(y) + 1) * sizeof *out);
    if (!out) return TPU_ERR_NOMEM;
    if ((rc = stage3(g->ctx, in, buf))) { free(out); return rc; }
    rc = conv_f64(g->ctx, &win, buf[0], buf[1], buf[2], out);
    if (!rc) tpu_nn_from_f64(y, out, tpu_tensor_numel(y));
    free3(buf);
    free(out);
    return rc;
}

/*---- ConvTranspose: col = W_g^T X_g, then scatter-add col into Y ----*/
static void col2im_add(const struct tpu_nn_window *w, const double *col, int64_t mg, double *y)
{
    int64_t in_sp = tpu_nn_window_in(w), out_sp = tpu_nn_window_out(w);
    for (int64_t j = 0; j < mg; j++)
    for (int64_t k0 = 0; k0 < w->k[0]; k0++)
    for (int64_t k1 = 0; k1 < w->k[1]; k1++)
    for (int64_t k2 = 0; k2 < w->k[2]; k2++, col += in_sp) {
        double *yj = y + j * out_sp;
        for (int64_t i0 = 0; i0 < w->in[0]; i0++) {
            int64_t o0 = i0 * w->stride[0] - w->pad0[0] + k0 * w->dil[0];
            if (o0 < 0 || o0 >= w->out[0]) continue;
            for (int64_t i1 = 0; i1 < w->in[1]; i1++) {
                int64_t o1 = i1 * w->stride[1] - w->pad0[1] + k1 * w->dil[1];
                if (o1 < 0 || o1 >= w->out[1]) continue;
                const double *c = col + (i0 * w->in[1] + i1) * w->in[2];
                for (int64_t i2 = 0; i2 < w->in[2]; i2++) {
                    int64_t o2 = i2 * w->stride[2] - w->pad0[2] + k2 * w->dil[2];
                    if (o2 >= 0 && o2 < w->out[2]) yj[(o0 * w->out[1] + o1) * w->out[2] + o2] += c[i2];
                }
            }
        }
    }
}

static enum tpu_status conv_transpose_f64(struct tpu_ctx *ctx, const struct tpu_nn_window *w,
                                          const double *x, const double *wt, const double *bias,
                                          double *y)
{
    int64_t cg = w->c / w->group, mg = w->m / w->group, K = tpu_nn_window_k(w);
    int64_t in_sp = tpu_nn_window_in(w), out_sp = tpu_nn_window_out(w), rows = mg * K;
    size_t n_col;
    if (rows > INT32_MAX || in_sp > INT32_MAX || cg > INT32_MAX ||
        tpu_mul_size((size_t)rows, (size_t)in_sp, &n_col))
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "transposed convolution too large for BLAS");
    double *col = tpu_malloc(ctx, (n_col ? n_col : 1) * sizeof *col);
    if (!col) return TPU_ERR_NOMEM;
    for (int64_t b = 0; b < w->n; b++)
    for (int64_t gi = 0; gi < w->group; gi++) {
        double *yg = y + (b * w->m + gi * mg) * out_sp;
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)rows, (int)in_sp, (int)cg, 1,
                    wt + gi * cg * rows, (int)(rows ? rows : 1), x + (b * w->c + gi * cg) * in_sp,
                    (int)(in_sp ? in_sp : 1), 0, col, (int)(in_sp ? in_sp : 1));
        for (int64_t j = 0; j < mg; j++)
            for (int64_t o = 0; o < out_sp; o++) yg[j * out_sp + o] = bias ? bias[gi * mg + j] : 0;
        col2im_add(w, col, mg, yg);
    }
    free(col);
    return TPU_STATUS_OK;
}

enum tpu_status ref_conv_transpose(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *in[3] = { tpu_in(g, n, 0), tpu_in(g, n, 1), tpu_in(g, n, 2) };
    struct tpu_tensor *y = tpu_out(g, n, 0);
    struct tpu_nn_window win;
    enum tpu_status rc = tpu_nn_window(g, n, in[0], in[1], TPU_NN_WIN_CONV_TRANSPOSE, &win);
    if (rc) return rc;
    double *buf[3], *out = tpu_malloc(g->ctx, (size_t)(tpu_tensor_numel(y) + 1) * sizeof *out);
    if (!out) return TPU_ERR_NOMEM;
    if ((rc = stage3(g->ctx, in, buf))) { free(out); return rc; }
    rc = conv_transpose_f64(g->ctx, &win, buf[0], buf[1], buf[2], out);
    if (!rc) tpu_nn_from_f64(y, out, tpu_tensor_numel(y));
    free3(buf);
    free(out);
    return rc;
}

/*---- Pools ----*/
/* For each dim i and output o: the kernel taps [lo, hi) whose input position
** o*s - pad0 + k*d lies inside [0, in). One table of 2*(out0+out1+out2). */
static int64_t *tap_ranges(struct tpu_ctx *ctx, const struct tpu_nn_window *w, const int64_t *kr[3])
{
    int64_t *t = tpu_malloc(ctx, (size_t)(2 * (w->out[0] + w->out[1] + w->out[2]) + 1) * sizeof *t), *p = t;
    if (!t) return NULL;
    for (int i = 0; i < 3; i++) {
        kr[i] = p;
        for (int64_t o = 0; o < w->out[i]; o++, p += 2) {
            int64_t st = o * w->stride[i] - w->pad0[i], d = w->dil[i];
            int64_t lo = st >= 0 ? 0 : (-st + d - 1) / d, hi = w->in[i] - st > 0 ? (w->in[i] - st + d - 1) / d : 0;
            p[0] = lo < w->k[i] ? lo : w->k[i];
            p[1] = hi < w->k[i] ? hi : w->k[i];
            if (p[1] < p[0]) p[1] = p[0];
        }
    }
    return t;
}

/* MaxPool / AveragePool on float32 data directly, other dtypes via float64 copies. */
static enum tpu_status pool_run(struct tpu_graph *g, struct tpu_node *n, const struct tpu_nn_window *w)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    struct tpu_tensor *y = tpu_out(g, n, 0), *idx = tpu_out(g, n, 1);
    bool is_max = n->op == TPU_OP_MAX_POOL, include_pad = tpu_attr_int(n, "count_include_pad", 0) != 0;
    int storage_order = (int)tpu_attr_int(n, "storage_order", 0);
    int64_t *iv = idx ? idx->data : NULL;
    const int64_t *kr[3];
    int64_t *table = tap_ranges(g->ctx, w, kr);
    if (!table) return TPU_ERR_NOMEM;
    if (x->dtype == TPU_DTYPE_F32) {
        if (is_max && !iv) max_pool_lines_f32(w, x->data, y->data);
        else if (is_max) max_pool_f32(w, x->data, y->data, iv, storage_order, kr);
        else avg_pool_f32(w, x->data, y->data, include_pad, kr);
        free(table);
        return TPU_STATUS_OK;
    }
    double *xb = tpu_nn_to_f64(g->ctx, x);
    double *yb = tpu_malloc(g->ctx, (size_t)(tpu_tensor_numel(y) + 1) * sizeof *yb);
    if (xb && yb) {
        if (is_max && !iv) max_pool_lines_f64(w, xb, yb);
        else if (is_max) max_pool_f64(w, xb, yb, iv, storage_order, kr);
        else avg_pool_f64(w, xb, yb, include_pad, kr);
        tpu_nn_from_f64(y, yb, tpu_tensor_numel(y));
    }
    free(table);
    free(xb);
    free(yb);
    return xb && yb ? TPU_STATUS_OK : TPU_ERR_NOMEM;
}

enum tpu_status ref_max_pool(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_window win;
    enum tpu_status rc = tpu_nn_window(g, n, tpu_in(g, n, 0), NULL, TPU_NN_WIN_POOL, &win);
    return rc ? rc : pool_run(g, n, &win);
}

enum tpu_status ref_average_pool(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_nn_window win;
    enum tpu_status rc = tpu_nn_window(g, n, tpu_in(g, n, 0), NULL, TPU_NN_WIN_POOL, &win);
    return rc ? rc : pool_run(g, n, &win);
}

/* GlobalAveragePool / GlobalMaxPool: one value per (n, c) over all spatial dims. */
enum tpu_status ref_global_pool(struct tpu_graph *g, struct tpu_node *n)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    struct tpu_tensor *y = tpu_out(g, n, 0);
    int64_t nc = x->dims[0] * x->dims[1], sp = tpu_tensor_numel(x) / (nc ? nc : 1);
    bool is_max = n->op == TPU_OP_GLOBAL_MAX_POOL;
    for (int64_t i = 0; i < nc; i++) {
        double acc = is_max ? -INFINITY : 0;
        if (x->dtype == TPU_DTYPE_F32) {
            const float *p = (const float *)x->data + i * sp;
            for (int64_t j = 0; j < sp; j++) acc = is_max ? (p[j] > acc ? p[j] : acc) : acc + p[j];
        } else {
            for (int64_t j = 0; j < sp; j++) {
                double v = tpu_get_f64(x->data, x->dtype, (size_t)(i * sp + j));
                acc = is_max ? (v > acc ? v : acc) : acc + v;
            }
        }
        tpu_set_f64(y->data, y->dtype, (size_t)i, is_max ? acc : acc / (double)(sp ? sp : 1));
    }
    return TPU_STATUS_OK;
}
