/*
** ref/ref_nn_core.h: the convolution and pooling loops, written once and
** included twice by ref/ref_nn_conv.c: with T = float (the float32 hot path,
** tpu_sgemm) and T = double (every other dtype and the integer ops, which
** are exact in double, cblas_dgemm). Not a normal header: it defines static
** functions named <name>_<SFX>.
**
** Before including: #define T, SFX, GEMM (a cblas_?gemm-shaped function) and
** MAX_ROW_S2 (see max_row).
*/
#define CORE_CAT2(a, b) a##_##b
#define CORE_CAT(a, b) CORE_CAT2(a, b)
#define CORE(name) CORE_CAT(name, SFX)

/*---- im2col ----*/
/* Outputs o in [*lo, *hi) read input o*s + off inside [0, n_in); the rest is padding. */
static void CORE(valid_range)(int64_t n_out, int64_t s, int64_t off, int64_t n_in, int64_t *lo, int64_t *hi)
{
    *lo = off >= 0 ? 0 : (-off + s - 1) / s;
    *hi = n_in - off > 0 ? (n_in - off + s - 1) / s : 0;
    if (*hi > n_out) *hi = n_out;
    if (*lo > *hi) *lo = *hi;
}

/* dst[o] = src[o*s + off] for o in [lo, hi), 0 elsewhere in [0, n_out). */
static inline void CORE(row_fill)(T *dst, const T *src, int64_t n_out, int64_t s, int64_t off,
                                  int64_t lo, int64_t hi)
{
    for (int64_t o = 0; o < lo; o++) dst[o] = 0;
    if (s == 1 && hi > lo) memcpy(dst + lo, src + off + lo, (size_t)(hi - lo) * sizeof(T));
    else for (int64_t o = lo; o < hi; o++) dst[o] = src[o * s + off];
    for (int64_t o = hi; o < n_out; o++) dst[o] = 0;
}

/* col (cg*K rows, (r1-r0)*out[2] columns): row (c, k0, k1, k2) holds, for the
** output lines r = o0*out[1] + o1 in [r0, r1) and every o2, the input value
** under that kernel tap (0 in the padding). */
static void CORE(im2col)(const struct tpu_nn_window *w, const T *x, int64_t cg, int64_t r0, int64_t r1, T *col)
{
    int64_t in_sp = tpu_nn_window_in(w), n2 = w->out[2], n_cols = (r1 - r0) * n2;
    T *row = col;
    for (int64_t c = 0; c < cg; c++)
    for (int64_t k0 = 0; k0 < w->k[0]; k0++)
    for (int64_t k1 = 0; k1 < w->k[1]; k1++)
    for (int64_t k2 = 0; k2 < w->k[2]; k2++, row += n_cols) {
        const T *xc = x + c * in_sp;
        int64_t off[3] = { k0 * w->dil[0] - w->pad0[0], k1 * w->dil[1] - w->pad0[1], k2 * w->dil[2] - w->pad0[2] };
        int64_t lo[3], hi[3], o0 = r0 / w->out[1], o1 = r0 % w->out[1];
        for (int i = 0; i < 3; i++) CORE(valid_range)(w->out[i], w->stride[i], off[i], w->in[i], &lo[i], &hi[i]);
        T *dst = row;
        for (int64_t r = r0; r < r1; r++, dst += n2) {
            if (o0 >= lo[0] && o0 < hi[0] && o1 >= lo[1] && o1 < hi[1]) {
                int64_t i0 = o0 * w->stride[0] + off[0], i1 = o1 * w->stride[1] + off[1];
                CORE(row_fill)(dst, xc + (i0 * w->in[1] + i1) * w->in[2], n2, w->stride[2], off[2], lo[2], hi[2]);
            } else {
                memset(dst, 0, (size_t)n2 * sizeof(T));
            }
            if (++o1 == w->out[1]) { o1 = 0; o0++; }
        }
    }
}

/*---- Depthwise: one input channel per group, direct loop ----*/
/* y[o] += a * x[o*s] for o in [0, n): the compiler vectorises the s = 1 case. */
static inline void CORE(axpy_row)(int64_t n, T a, const T *restrict x, int64_t s, T *restrict y)
{
    if (s == 1) for (int64_t o = 0; o < n; o++) y[o] += a * x[o];
    else for (int64_t o = 0; o < n; o++) y[o] += a * x[o * s];
}

/* The three taps of one kernel row on one output line: one pass over the
** outputs all three taps cover, single-tap passes for the edges. */
static void CORE(taps3_row)(const struct tpu_nn_window *w, const T *xr, const T *wr,
                            const int64_t *lo2, const int64_t *hi2, T *restrict yr)
{
    int64_t s = w->stride[2], off[3], L = lo2[0], H = hi2[0];
    for (int k = 0; k < 3; k++) {
        off[k] = k * w->dil[2] - w->pad0[2];
        L = lo2[k] > L ? lo2[k] : L;
        H = hi2[k] < H ? hi2[k] : H;
    }
    if (H < L) H = L;
    for (int k = 0; k < 3; k++) {
        int64_t a = lo2[k], b = L < hi2[k] ? L : hi2[k], c = H > lo2[k] ? H : lo2[k], d = hi2[k];
        if (b > a) CORE(axpy_row)(b - a, wr[k], xr + a * s + off[k], s, yr + a);
        if (d > c) CORE(axpy_row)(d - c, wr[k], xr + c * s + off[k], s, yr + c);
    }
    const T *restrict x0 = xr + off[0], *restrict x1 = xr + off[1], *restrict x2 = xr + off[2];
    T w0 = wr[0], w1 = wr[1], w2 = wr[2];
    if (s == 1) for (int64_t o = L; o < H; o++) yr[o] += w0 * x0[o] + w1 * x1[o] + w2 * x2[o];
    else for (int64_t o = L; o < H; o++) yr[o] += w0 * x0[o * s] + w1 * x1[o * s] + w2 * x2[o * s];
}

/* Output line by output line (the line stays in L1): every kernel tap whose
** input line exists adds w_tap * (that input line) over its valid range. */
static void CORE(depthwise)(const struct tpu_nn_window *w, const T *x, const T *wt,
                            const T *bias, T *y)
{
    int64_t mg = w->m / w->group, K = tpu_nn_window_k(w), in_sp = tpu_nn_window_in(w);
    int64_t out_sp = tpu_nn_window_out(w), lo2[64], hi2[64], n_k2 = w->k[2] < 64 ? w->k[2] : 64;
    for (int64_t k2 = 0; k2 < n_k2; k2++)
        CORE(valid_range)(w->out[2], w->stride[2], k2 * w->dil[2] - w->pad0[2], w->in[2], &lo2[k2], &hi2[k2]);
    for (int64_t b = 0; b < w->n; b++)
    for (int64_t oc = 0; oc < w->m; oc++) {
        const T *xc = x + (b * w->c + oc / mg) * in_sp, *wk = wt + oc * K;
        T *yr = y + (b * w->m + oc) * out_sp;
        for (int64_t o0 = 0; o0 < w->out[0]; o0++)
        for (int64_t o1 = 0; o1 < w->out[1]; o1++, yr += w->out[2]) {
            for (int64_t o2 = 0; o2 < w->out[2]; o2++) yr[o2] = bias ? bias[oc] : 0;
            for (int64_t k0 = 0; k0 < w->k[0]; k0++) {
                int64_t i0 = o0 * w->stride[0] + k0 * w->dil[0] - w->pad0[0];
                if (i0 < 0 || i0 >= w->in[0]) continue;
                for (int64_t k1 = 0; k1 < w->k[1]; k1++) {
                    int64_t i1 = o1 * w->stride[1] + k1 * w->dil[1] - w->pad0[1];
                    if (i1 < 0 || i1 >= w->in[1]) continue;
                    const T *xr = xc + (i0 * w->in[1] + i1) * w->in[2];
                    const T *wr = wk + (k0 * w->k[1] + k1) * w->k[2];
                    if (w->k[2] == 3) { CORE(taps3_row)(w, xr, wr, lo2, hi2, yr); continue; }
                    for (int64_t k2 = 0; k2 < w->k[2]; k2++) {
                        int64_t lo, hi, off = k2 * w->dil[2] - w->pad0[2];
                        if (k2 < n_k2) lo = lo2[k2], hi = hi2[k2];
                        else CORE(valid_range)(w->out[2], w->stride[2], off, w->in[2], &lo, &hi);
                        if (hi > lo) CORE(axpy_row)(hi - lo, wr[k2], xr + lo * w->stride[2] + off, w->stride[2], yr + lo);
                    }
                }
            }
        }
    }
}

/*---- Convolution: per batch and group, Y_g = W_g x im2col(X_g) (+ bias) ----*/
static bool CORE(is_pointwise)(const struct tpu_nn_window *w)
{
    for (int i = 0; i < 3; i++)
        if (w->k[i] != 1 || w->stride[i] != 1 || w->pad0[i] || w->pad1[i]) return false;
    return true;
}

static enum tpu_status CORE(conv)(struct tpu_ctx *ctx, const struct tpu_nn_window *w,
                                  const T *x, const T *wt, const T *bias, T *y)
{
    int64_t cg = w->c / w->group, mg = w->m / w->group, K = tpu_nn_window_k(w);
    int64_t out_sp = tpu_nn_window_out(w), in_sp = tpu_nn_window_in(w), kk = cg * K;
    if (mg > INT32_MAX || out_sp > INT32_MAX || kk > INT32_MAX)
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "convolution too large for BLAS (%lld x %lld x %lld)",
                       (long long)mg, (long long)out_sp, (long long)kk);
    if (cg == 1 && w->group > 1) { CORE(depthwise)(w, x, wt, bias, y); return TPU_STATUS_OK; }
    bool pointwise = CORE(is_pointwise)(w);
    /* the column buffer covers a band of output lines (>= ~512 columns), so
    ** it stays in cache between im2col and the gemm that reads it */
    int64_t n2 = w->out[2], n_lines = w->out[0] * w->out[1], band = n2 ? (512 + n2 - 1) / n2 : 1;
    if (band > n_lines) band = n_lines;
    if (band < 1) band = 1;
    size_t n_col = 0;
    if (!pointwise && tpu_mul_size((size_t)kk, (size_t)(band * n2), &n_col))
        return tpu_err(ctx, TPU_ERR_NOMEM, "convolution column buffer overflows");
    T *col = pointwise ? NULL : tpu_malloc(ctx, (n_col ? n_col : 1) * sizeof(T));
    if (!pointwise && !col) return TPU_ERR_NOMEM;
    int ldy = (int)(out_sp ? out_sp : 1);
    for (int64_t b = 0; b < w->n; b++)
    for (int64_t gi = 0; gi < w->group; gi++) {
        const T *xg = x + (b * w->c + gi * cg) * in_sp;
        T *yg = y + (b * w->m + gi * mg) * out_sp;
        for (int64_t j = 0; j < mg; j++) {
            T v = bias ? bias[gi * mg + j] : 0, *yj = yg + j * out_sp;
            for (int64_t o = 0; o < out_sp; o++) yj[o] = v;
        }
        if (pointwise) {
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)out_sp, (int)kk, 1,
                 wt + gi * mg * kk, (int)(kk ? kk : 1), xg, ldy, 1, yg, ldy);
            continue;
        }
        for (int64_t r0 = 0; r0 < n_lines; r0 += band) {
            int64_t r1 = r0 + band > n_lines ? n_lines : r0 + band, cols = (r1 - r0) * n2;
            CORE(im2col)(w, xg, cg, r0, r1, col);
            GEMM(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mg, (int)cols, (int)kk, 1,
                 wt + gi * mg * kk, (int)(kk ? kk : 1), col, (int)(cols ? cols : 1), 1, yg + r0 * n2, ldy);
        }
    }
    free(col);
    return TPU_STATUS_OK;
}

/*---- Pooling ----*/
/* kr[i][2*o], kr[i][2*o+1]: the kernel taps [lo, hi) of output o along dim i
** that fall inside the input (see tap_ranges in ref_nn_conv.c). */
typedef const int64_t *const CORE(tap_table)[3];

/* MaxPool; idx (may be NULL) gets ONNX's flat index into N x C x spatial,
** row-major, or column-major over the spatial dims when storage_order = 1. */
static void CORE(max_pool)(const struct tpu_nn_window *w, const T *x, T *y, int64_t *idx,
                           int storage_order, CORE(tap_table) kr)
{
    int64_t in_sp = tpu_nn_window_in(w);
    for (int64_t nc = 0; nc < w->n * w->c; nc++) {
        const T *xc = x + nc * in_sp;
        for (int64_t o0 = 0; o0 < w->out[0]; o0++)
        for (int64_t o1 = 0; o1 < w->out[1]; o1++)
        for (int64_t o2 = 0; o2 < w->out[2]; o2++) {
            int64_t b0 = o0 * w->stride[0] - w->pad0[0], b1 = o1 * w->stride[1] - w->pad0[1];
            int64_t b2 = o2 * w->stride[2] - w->pad0[2], lo2 = kr[2][2 * o2], hi2 = kr[2][2 * o2 + 1];
            T best = (T)-INFINITY;
            int64_t bi = -1;
            for (int64_t k0 = kr[0][2 * o0]; k0 < kr[0][2 * o0 + 1]; k0++)
            for (int64_t k1 = kr[1][2 * o1]; k1 < kr[1][2 * o1 + 1]; k1++) {
                int64_t line = ((b0 + k0 * w->dil[0]) * w->in[1] + b1 + k1 * w->dil[1]) * w->in[2] + b2;
                const T *xr = xc + line;
                if (!idx) {
                    for (int64_t k2 = lo2; k2 < hi2; k2++) best = xr[k2 * w->dil[2]] > best ? xr[k2 * w->dil[2]] : best;
                    continue;
                }
                for (int64_t k2 = lo2; k2 < hi2; k2++)
                    if (bi < 0 || xr[k2 * w->dil[2]] > best) { best = xr[k2 * w->dil[2]]; bi = line + k2 * w->dil[2]; }
            }
            *y++ = best;
            if (!idx) continue;
            int64_t i2 = bi % w->in[2], i1 = (bi / w->in[2]) % w->in[1], i0 = bi / (w->in[1] * w->in[2]);
            int64_t at = storage_order ? i0 + w->in[0] * (i1 + w->in[1] * i2) : bi;
            *idx++ = nc * in_sp + (bi < 0 ? 0 : at);
        }
    }
}

/* y[o] = max(y[o], x[o*s]) for o in [0, n). MAX_ROW_S2(n, x, y) (defined by
** the includer; 0 when it has none) may do the s = 2 case and return 1. */
static inline void CORE(max_row)(int64_t n, const T *restrict x, int64_t s, T *restrict y)
{
    if (s == 2 && MAX_ROW_S2(n, x, y)) return;
    if (s == 1) for (int64_t o = 0; o < n; o++) y[o] = x[o] > y[o] ? x[o] : y[o];
    else for (int64_t o = 0; o < n; o++) y[o] = x[o * s] > y[o] ? x[o * s] : y[o];
}

/* MaxPool without indices, output line by output line: each tap's valid
** range is folded into the line with an elementwise max. */
static void CORE(max_pool_lines)(const struct tpu_nn_window *w, const T *x, T *y)
{
    int64_t in_sp = tpu_nn_window_in(w), lo2[64], hi2[64], n_k2 = w->k[2] < 64 ? w->k[2] : 64;
    for (int64_t k2 = 0; k2 < n_k2; k2++)
        CORE(valid_range)(w->out[2], w->stride[2], k2 * w->dil[2] - w->pad0[2], w->in[2], &lo2[k2], &hi2[k2]);
    for (int64_t nc = 0; nc < w->n * w->c; nc++) {
        const T *xc = x + nc * in_sp;
        for (int64_t o0 = 0; o0 < w->out[0]; o0++)
        for (int64_t o1 = 0; o1 < w->out[1]; o1++, y += w->out[2]) {
            for (int64_t o2 = 0; o2 < w->out[2]; o2++) y[o2] = (T)-INFINITY;
            for (int64_t k0 = 0; k0 < w->k[0]; k0++) {
                int64_t i0 = o0 * w->stride[0] + k0 * w->dil[0] - w->pad0[0];
                if (i0 < 0 || i0 >= w->in[0]) continue;
                for (int64_t k1 = 0; k1 < w->k[1]; k1++) {
                    int64_t i1 = o1 * w->stride[1] + k1 * w->dil[1] - w->pad0[1];
                    if (i1 < 0 || i1 >= w->in[1]) continue;
                    const T *xr = xc + (i0 * w->in[1] + i1) * w->in[2];
                    for (int64_t k2 = 0; k2 < w->k[2]; k2++) {
                        int64_t lo, hi, off = k2 * w->dil[2] - w->pad0[2];
                        if (k2 < n_k2) lo = lo2[k2], hi = hi2[k2];
                        else CORE(valid_range)(w->out[2], w->stride[2], off, w->in[2], &lo, &hi);
                        if (hi > lo) CORE(max_row)(hi - lo, xr + lo * w->stride[2] + off, w->stride[2], y + lo);
                    }
                }
            }
        }
    }
}

/* Taps of a window (start st, k taps, dilation d) inside [lo, hi). */
static int64_t CORE(taps_in)(int64_t st, int64_t k, int64_t d, int64_t lo, int64_t hi)
{
    int64_t n = 0;
    for (int64_t j = 0; j < k; j++) n += st + j * d >= lo && st + j * d < hi;
    return n;
}

/* AveragePool: the divisor counts the taps inside the input, or with
** count_include_pad the taps inside the explicitly padded input. */
static void CORE(avg_pool)(const struct tpu_nn_window *w, const T *x, T *y, bool include_pad,
                           CORE(tap_table) kr)
{
    int64_t in_sp = tpu_nn_window_in(w);
    for (int64_t nc = 0; nc < w->n * w->c; nc++) {
        const T *xc = x + nc * in_sp;
        for (int64_t o0 = 0; o0 < w->out[0]; o0++)
        for (int64_t o1 = 0; o1 < w->out[1]; o1++)
        for (int64_t o2 = 0; o2 < w->out[2]; o2++) {
            int64_t o[3] = { o0, o1, o2 }, count = 1;
            for (int i = 0; i < 3; i++) {
                int64_t st = o[i] * w->stride[i] - w->pad0[i];
                count *= include_pad ? CORE(taps_in)(st, w->k[i], w->dil[i], -w->pad0[i], w->in[i] + w->pad1[i])
                                     : kr[i][2 * o[i] + 1] - kr[i][2 * o[i]];
            }
            int64_t b0 = o0 * w->stride[0] - w->pad0[0], b1 = o1 * w->stride[1] - w->pad0[1];
            int64_t b2 = o2 * w->stride[2] - w->pad0[2];
            double sum = 0;
            for (int64_t k0 = kr[0][2 * o0]; k0 < kr[0][2 * o0 + 1]; k0++)
            for (int64_t k1 = kr[1][2 * o1]; k1 < kr[1][2 * o1 + 1]; k1++) {
                const T *xr = xc + ((b0 + k0 * w->dil[0]) * w->in[1] + b1 + k1 * w->dil[1]) * w->in[2] + b2;
                for (int64_t k2 = kr[2][2 * o2]; k2 < kr[2][2 * o2 + 1]; k2++) sum += xr[k2 * w->dil[2]];
            }
            *y++ = (T)(count ? sum / (double)count : 0);
        }
    }
}

#undef CORE
#undef CORE_CAT
#undef CORE_CAT2
