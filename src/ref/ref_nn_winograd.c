/*
** ref/ref_nn_winograd.c: float32 3x3 stride-1 convolutions by Winograd's
** minimal filtering F(2x2, 3x3) — 16 multiplies per 2x2 output tile and
** channel pair instead of 36. Part of the reference executor's Conv kernel
** (ref/ref_nn_conv.c takes it when TPUSIM_CONV_WINOGRAD is set). Opt-in
** for now: the GEMM time drops ~2.2x on resnet18 but the scalar transforms
** cost more than that saves (batch 8: ~360 ms vs ~250 ms per run).
**
** In:  x (N, C, H, W), weights (M, C, 3, 3), bias (M) or NULL, the window
**      geometry (2-D, group 1, stride 1, dilation 1, any pads).
** Out: y (N, M, OH, OW), fully written.
** Method (Lavin & Gray 2016): U_e = (G g G^T)_e per (m, c), V_e = (B^T d B)_e
** per (c, input tile), then for each of the 16 positions e the product
** M_e = U_e V_e (tpu_sgemm, M x C times C x tiles), and each output tile is
** A^T M A plus the bias. Tiles are taken in blocks so the buffers stay small.
** Deterministic: fixed blocking, fixed summation order.
*/
#include "ref/ref.h"
#include "ref/ref_nn.h"
#include "base/sgemm.h"
#include <stdlib.h>
#include <string.h>

/* Whether this path can take the convolution (and is worth it). */
static bool wino_ok(const struct tpu_nn_window *w)
{
    int64_t lim = INT32_MAX / 16;
    return w->group == 1 && w->in[0] == 1 && w->k[0] == 1 && w->k[1] == 3 && w->k[2] == 3 &&
           w->stride[1] == 1 && w->stride[2] == 1 && w->dil[1] == 1 && w->dil[2] == 1 &&
           w->c >= 8 && w->m >= 8 && w->c < lim && w->m < lim && w->n < lim &&
           w->out[1] > 0 && w->out[2] > 0 && w->in[1] < lim && w->in[2] < lim &&
           w->out[1] < lim && w->out[2] < lim && w->n * w->m * w->out[1] * w->out[2] < INT32_MAX &&
           w->n * w->c * w->in[1] * w->in[2] < INT32_MAX;
}

/* U[e][m][c] = (G g G^T)[e] for g = wt[m][c] (3x3), e = 4*i + j. */
static void weight_transform(const float *wt, int64_t m, int64_t c, float *u)
{
    size_t plane = (size_t)(m * c);
    for (int64_t k = 0; k < m * c; k++) {
        const float *g = wt + 9 * k;
        float t[4][3];                                  /* G g */
        for (int j = 0; j < 3; j++) {
            t[0][j] = g[j];
            t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; i++) {                   /* (G g) G^T */
            u[(4 * i + 0) * plane + k] = t[i][0];
            u[(4 * i + 1) * plane + k] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            u[(4 * i + 2) * plane + k] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            u[(4 * i + 3) * plane + k] = t[i][2];
        }
    }
}

struct wino_geom {
    int64_t h, w, oh, ow, th, tw, pt, pl;   /* input, output, tiles, pads */
};

/* Input row yy of channel plane xc, zero-padded to wp columns from column
** -pl, split into even (ev, wp/2 floats) and odd (od) columns. */
static void load_row(const struct wino_geom *q, const float *xc, int64_t yy, int64_t wp, float *tmp,
                     float *restrict ev, float *restrict od)
{
    int64_t lo = q->pl < wp ? q->pl : wp, hi = q->pl + q->w < wp ? q->pl + q->w : wp;
    if (yy < 0 || yy >= q->h || hi <= lo) {
        memset(ev, 0, (size_t)(wp / 2) * sizeof *ev);
        memset(od, 0, (size_t)(wp / 2) * sizeof *od);
        return;
    }
    memset(tmp, 0, (size_t)lo * sizeof *tmp);
    memcpy(tmp + lo, xc + yy * q->w + (lo - q->pl), (size_t)(hi - lo) * sizeof *tmp);
    memset(tmp + hi, 0, (size_t)(wp - hi) * sizeof *tmp);
    for (int64_t t = 0; t < wp / 2; t++) {
        ev[t] = tmp[2 * t];
        od[t] = tmp[2 * t + 1];
    }
}

/* One tile row's 16 transformed values per tile: o[e*plane + tx]. */
static void transform_row(int64_t tw, const float *const *restrict ev, const float *const *restrict od,
                          size_t plane, float *restrict o)
{
    for (int64_t tx = 0; tx < tw; tx++) {
        float s[4][4];
        for (int k = 0; k < 4; k++) {                   /* B^T d; column 2*tx + k */
            const float *const *src = k & 1 ? od : ev;
            int64_t t = tx + (k >> 1);
            float d0 = src[0][t], d1 = src[1][t], d2 = src[2][t], d3 = src[3][t];
            s[0][k] = d0 - d2;
            s[1][k] = d1 + d2;
            s[2][k] = d2 - d1;
            s[3][k] = d1 - d3;
        }
        for (int i = 0; i < 4; i++) {                   /* (B^T d) B */
            o[(4 * i + 0) * plane + tx] = s[i][0] - s[i][2];
            o[(4 * i + 1) * plane + tx] = s[i][1] + s[i][2];
            o[(4 * i + 2) * plane + tx] = s[i][2] - s[i][1];
            o[(4 * i + 3) * plane + tx] = s[i][1] - s[i][3];
        }
    }
}

/* V[e][c][j] for tile rows r0 .. r0+nr-1 (row r = b*th + ty; tile j of the
** block = (r - r0)*tw + tx). rows: scratch of 9 * (tw + 1) floats. */
static void input_transform(const struct wino_geom *q, const float *x, int64_t c, int64_t r0, int64_t nr,
                            float *rows, float *v)
{
    int64_t nt = nr * q->tw, half = q->tw + 1, wp = 2 * half;
    size_t plane = (size_t)(c * nt);
    const float *ev[4], *od[4];
    for (int i = 0; i < 4; i++) {
        ev[i] = rows + (2 * i) * half;
        od[i] = rows + (2 * i + 1) * half;
    }
    for (int64_t ci = 0; ci < c; ci++)
    for (int64_t r = r0; r < r0 + nr; r++) {
        int64_t b = r / q->th, y0 = (r % q->th) * 2 - q->pt;
        const float *xc = x + (b * c + ci) * q->h * q->w;
        for (int i = 0; i < 4; i++)
            load_row(q, xc, y0 + i, wp, rows + 8 * half, rows + (2 * i) * half, rows + (2 * i + 1) * half);
        transform_row(q->tw, ev, od, plane, v + ci * nt + (r - r0) * q->tw);
    }
}

/* y tile = A^T M A + bias, for every (m, tile) of tile rows r0 .. r0+nr-1. */
static void output_transform(const struct wino_geom *q, const float *mm, int64_t m, int64_t r0, int64_t nr,
                             const float *bias, float *y)
{
    int64_t nt = nr * q->tw;
    size_t plane = (size_t)(m * nt);
    for (int64_t mi = 0; mi < m; mi++) {
        float bv = bias ? bias[mi] : 0.0f;
        for (int64_t r = r0; r < r0 + nr; r++) {
            int64_t b = r / q->th, y0 = (r % q->th) * 2;
            const float *p = mm + mi * nt + (r - r0) * q->tw;
            float *yb = y + (b * m + mi) * q->oh * q->ow + y0 * q->ow;
            bool two = y0 + 1 < q->oh;
            for (int64_t tx = 0; tx < q->tw; tx++) {
                float s[2][4];
                for (int k = 0; k < 4; k++) {           /* A^T M */
                    float a0 = p[k * plane + tx], a1 = p[(4 + k) * plane + tx];
                    float a2 = p[(8 + k) * plane + tx], a3 = p[(12 + k) * plane + tx];
                    s[0][k] = a0 + a1 + a2;
                    s[1][k] = a1 - a2 - a3;
                }
                int64_t x0 = 2 * tx;
                for (int i = 0; i < (two ? 2 : 1); i++) {
                    yb[i * q->ow + x0] = s[i][0] + s[i][1] + s[i][2] + bv;
                    if (x0 + 1 < q->ow) yb[i * q->ow + x0 + 1] = s[i][1] - s[i][2] - s[i][3] + bv;
                }
            }
        }
    }
}

/* 1: done; 0: not this path's case; -1: out of memory (*rc set). */
int tpu_nn_conv_winograd_f32(struct tpu_ctx *ctx, const struct tpu_nn_window *w, const float *x,
                             const float *wt, const float *bias, float *y, enum tpu_status *rc)
{
    if (!wino_ok(w)) return 0;
    struct wino_geom q = { w->in[1], w->in[2], w->out[1], w->out[2], (w->out[1] + 1) / 2, (w->out[2] + 1) / 2,
                           w->pad0[1], w->pad0[2] };
    int64_t n_rows = w->n * q.th, cm = w->c > w->m ? w->c : w->m;
    int64_t rb = (1 << 18) / (cm * q.tw);                /* tile rows per block: ~1 MiB per position */
    rb = rb < 1 ? 1 : rb > n_rows ? n_rows : rb;
    int64_t tb = rb * q.tw;
    float *u = tpu_malloc(ctx, (size_t)(16 * w->m * w->c) * sizeof *u);
    float *v = u ? tpu_malloc(ctx, (size_t)(16 * w->c * tb) * sizeof *v) : NULL;
    float *mm = v ? tpu_malloc(ctx, (size_t)(16 * w->m * tb) * sizeof *mm) : NULL;
    float *rows = mm ? tpu_malloc(ctx, (size_t)(10 * (q.tw + 1)) * sizeof *rows) : NULL;
    if (!rows) {
        free(u);
        free(v);
        free(mm);
        *rc = TPU_ERR_NOMEM;
        return -1;
    }
    weight_transform(wt, w->m, w->c, u);
    for (int64_t r0 = 0; r0 < n_rows; r0 += rb) {
        int64_t nr = n_rows - r0 < rb ? n_rows - r0 : rb, nt = nr * q.tw;
        input_transform(&q, x, w->c, r0, nr, rows, v);
        for (int e = 0; e < 16; e++)
            tpu_sgemm(0, 0, (int)w->m, (int)nt, (int)w->c, 1.0f, u + e * w->m * w->c, (int)w->c,
                      v + e * w->c * nt, (int)nt, 0.0f, mm + e * w->m * nt, (int)nt);
        output_transform(&q, mm, w->m, r0, nr, bias, y);
    }
    free(rows);
    free(u);
    free(v);
    free(mm);
    return 1;
}
