/*
** compile/lower.c: emits the program of one matrix op (as a grouped GEMM, see
** compile/compile.h) for a chip: weight tiles into the weight image, then per
** group and per pass of up to `mrows` rows: RD_HOST the packed rows, stream
** every (n-tile, k-tile) weight tile through RD_WEIGHTS → LD_WEIGHTS →
** MATMUL with the FIFO kept full, ACTIVATE each finished n-tile to the UB,
** WR_HOST the results.
**
** In:  struct tpu_mm_desc (+ fp32 weights), struct tpu_chip.
** Out: struct tpu_lowered (program + host layout), run by sim/ via driver.c.
** Accumulators: each MXU owns two blocks of mrows rows and alternates between
** them per n-tile, so ACTIVATE of one n-tile overlaps the MATMULs of the next.
*/
#include "compile/compile.h"
#include "compile/driver.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define UNIT_BIT(u) (1u << (u))

struct emitter {
    struct tpu_ctx           *ctx;
    const struct tpu_chip    *chip;
    struct tpu_lowered       *l;
    enum tpu_status           rc;
};

static void emit(struct emitter *e, int op, uint32_t a, uint32_t b, uint32_t c, uint32_t d,
                 uint16_t x, uint8_t flags)
{
    if (e->rc) return;
    struct tpu_insn in = { (uint8_t)op, flags, x, a, b, c, d };
    e->rc = tpu_program_emit(e->ctx, e->l->prog, &in);
}

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
/* Rows of pass mc (the last one may be short). */
static int64_t pass_rows(const struct tpu_lowered *l, int64_t mc)
{
    return min64(l->mrows, l->d.M - mc * l->mrows);
}

/*---- Sizes and the pass plan ----*/
static uint64_t in_bytes(const struct tpu_chip *c, const struct tpu_lowered *l, int64_t rows)
{
    return (uint64_t)(l->k_tiles * rows * c->array_rows * tpu_chip_elem_bytes(c));
}
static uint64_t out_bytes(const struct tpu_chip *c, const struct tpu_lowered *l, int64_t rows)
{
    return (uint64_t)(l->n_tiles * rows * c->array_cols * 4);
}

/* ACTIVATE's tables of one group (all its n-tiles), kept in the UB after the
** results; tpu_lower_mm checks they fit. */
static uint64_t tab_bytes(const struct tpu_chip *c, const struct tpu_lowered *l)
{
    return (uint64_t)(l->n_tiles * tpu_mm_tab_words(&l->d, c->array_cols) * 4);
}

/* "31 MiB", "12 KiB" or "4096 bytes" (rounded up). */
static const char *size_str(uint64_t b, char *buf, size_t n)
{
    if (b >= (1ull << 20)) snprintf(buf, n, "%llu MiB", (unsigned long long)((b + (1ull << 20) - 1) >> 20));
    else if (b >= 1024) snprintf(buf, n, "%llu KiB", (unsigned long long)((b + 1023) >> 10));
    else snprintf(buf, n, "%llu bytes", (unsigned long long)b);
    return buf;
}

static enum tpu_status plan(struct tpu_ctx *ctx, const struct tpu_chip *c, struct tpu_lowered *l)
{
    const struct tpu_mm_desc *d = &l->d;
    if (d->M <= 0 || d->K <= 0 || d->N <= 0 || d->groups <= 0)
        return tpu_err(ctx, TPU_ERR_SHAPE, "node '%s' (%s): empty GEMM %lldx%lldx%lld", d->name,
                       d->op, (long long)d->M, (long long)d->K, (long long)d->N);
    l->k_tiles = ceil_div(d->K, c->array_rows);
    l->n_tiles = ceil_div(d->N, c->array_cols);
    int64_t rows = c->accumulator_rows / (2 * c->mxu_count);
    uint64_t ub = (uint64_t)c->unified_buffer_bytes;       /* UB operands are 32-bit */
    if (ub > 0xffffffffull) ub = 0xffffffffull;
    ub = ub > tab_bytes(c, l) ? ub - tab_bytes(c, l) : 0;  /* ACTIVATE's tables after the results */
    if (rows > d->M) rows = d->M;
    while (rows > 1 && in_bytes(c, l, rows) + out_bytes(c, l, rows) > ub) rows = (rows + 1) / 2;
    char need[32], have[32];
    if (in_bytes(c, l, rows) + out_bytes(c, l, rows) > ub)
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "node '%s' (%s): needs %s of Unified Buffer for one "
                       "row of input and output (K=%lld, N=%lld), %s has %s; use a chip with a larger "
                       "unified_buffer_bytes (--set) or split the layer", d->name, d->op,
                       size_str((uint64_t)(in_bytes(c, l, 1) + out_bytes(c, l, 1)), need, sizeof need),
                       (long long)d->K, (long long)d->N, c->name,
                       size_str((uint64_t)c->unified_buffer_bytes, have, sizeof have));
    l->mrows = rows;
    l->k_hwc = c->mxu_dtype == TPU_MXU_INT8 && d->is_conv;
    l->n_chunks = ceil_div(d->M, rows);
    l->single_chunk = l->n_chunks == 1 && d->groups == 1 && !d->resident;
    uint64_t a_total = (uint64_t)(d->groups * l->n_chunks) * in_bytes(c, l, rows);
    uint64_t o_total = (uint64_t)(d->groups * l->n_chunks) * out_bytes(c, l, rows);
    l->host_out_off = a_total;
    l->host_bytes = a_total + o_total;
    if (l->host_bytes > 0xffffffffull)
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "node '%s' (%s): %llu bytes of host data exceed "
                       "the 32-bit host address space", d->name, d->op,
                       (unsigned long long)l->host_bytes);
    return TPU_STATUS_OK;
}

/*---- Weight image ----*/
static int64_t tile_index(const struct tpu_lowered *l, int64_t g, int64_t kt, int64_t nt)
{
    return (g * l->k_tiles + kt) * l->n_tiles + nt;
}


/* Symmetric per-column int8 scales: max |w| / 127 (1 for an all-zero column).
** Along contiguous memory in either weight layout; the running max skips a
** NaN as fmaxf does, and the maximum is the same in any order. */
static void column_scales(const struct tpu_lowered *l, const float *w)
{
    const struct tpu_mm_desc *d = &l->d;
    const int64_t K = d->K, N = d->N;
    for (int64_t g = 0; g < d->groups; g++) {
        float *mx = l->w_scale + g * N;
        for (int64_t n = 0; n < N; n++) mx[n] = d->raw_i8 ? 1.0f : 0.0f;
        if (d->raw_i8) continue;                   /* integer weights: scale 1 */
        if (d->w_nk)
            for (int64_t n = 0; n < N; n++) mx[n] = tpu_max_abs_f32(w + (g * N + n) * K, K);
        else
            for (int64_t k = 0; k < K; k++) {
                const float *row = w + (g * K + k) * N;
                for (int64_t n = 0; n < N; n++) {
                    float v = fabsf(row[n]);
                    mx[n] = v > mx[n] ? v : mx[n];
                }
            }
        for (int64_t n = 0; n < N; n++) mx[n] = mx[n] > 0 ? mx[n] / 127.0f : 1.0f;
    }
}

/* Index along K in w ([groups][K][N] or [groups][N][K], K in (channel, ky,
** kx) order) of the tile row k: the same k unless the packing runs K as
** (ky, kx, channel). */
static int64_t weight_row(const struct tpu_lowered *l, int64_t k)
{
    const struct tpu_mm_desc *d = &l->d;
    if (!l->k_hwc) return k;
    int64_t cg = d->c_in / d->groups, c = k % cg, kx = k / cg % d->kw, ky = k / (cg * d->kw);
    return (c * d->kh + ky) * d->kw + kx;
}

/* int8 row: rintf(v / scale) clamped to +-127, as driver.c quantises. For
** |v / scale| < 128 adding and subtracting 1.5 * 2^23 rounds to nearest even
** exactly as rintf does; the loop has no calls and no branches, and when
** some value is outside that range (or NaN) the row is redone with rintf.
** step: scale[i x step] (0: one scale for the row). */
static inline void quantise_row_step(const float *v, const float *scale, int64_t step, int64_t n, int8_t *q)
{
    const volatile float magic_v = 12582912.0f;
    const float magic = magic_v;
    int out = 0;
    for (int64_t i = 0; i < n; i++) {
        float x = v[i] / scale[i * step], r = (x + magic) - magic;
        r = r > 127 ? 127 : r;
        r = r < -127 ? -127 : r;
        out |= !(fabsf(x) < 128.0f);
        q[i] = (int8_t)(int32_t)r;
    }
    for (int64_t i = 0; out && i < n; i++) {
        float r = rintf(v[i] / scale[i * step]);
        q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
    }
}

static void quantise_row(const float *v, const float *scale, int64_t n, int8_t *q)
{
    quantise_row_step(v, scale, 1, n, q);
}

/* int8 chips, [N][K] weights: every column quantised once, along its K
** contiguous values (the same v / scale per value as quantise_row, by
** driver.c's tpu_quantise_i8), into q [groups][N][K]; the tiles are then byte
** transposes (fill_tile_q8). Each column's scale (column_scales' for [N][K]
** float weights) just before, while its K values are in the cache. */
static void quantise_columns(const struct tpu_lowered *l, const float *w, int8_t *q)
{
    const struct tpu_mm_desc *d = &l->d;
    for (int64_t c = 0; c < d->groups * d->N; c++) {
        float mx = tpu_max_abs_f32(w + c * d->K, d->K);
        l->w_scale[c] = mx > 0 ? mx / 127.0f : 1.0f;
        tpu_quantise_i8(w + c * d->K, d->K, l->w_scale[c], q + c * d->K);   /* = quantise_row's bytes */
    }
}

/* The quantised columns' K bytes put in tile-row order (weight_row) where
** that is not their own: the (ky, kx, channel) packing, whose column is the
** [channel][tap] byte matrix transposed to [tap][channel] (taps = kh x kw).
** 16 channels at a time through a 16 x 16 byte transpose when taps <= 16 and
** the channels come in 16s (q has 16 bytes of slack past its end for the
** last rows read), else byte by byte; through a K-byte scratch row. 0, or
** -1 without memory (q unchanged). */
static int rows_in_tile_order(const struct tpu_lowered *l, int8_t *q)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t K = d->K, taps = d->kh * d->kw, cg = d->c_in / d->groups;
    if (!l->k_hwc || taps == 1) return 0;
    int64_t *from = malloc((size_t)K * sizeof *from);
    int8_t *row = malloc((size_t)K), blk[256];
    if (!from || !row) { free(from); free(row); return -1; }
    for (int64_t k = 0; k < K; k++) from[k] = weight_row(l, k);
    int blocks = taps <= 16 && cg % 16 == 0 && K == taps * cg;
    for (int64_t col = 0; col < d->groups * d->N; col++) {
        int8_t *qc = q + col * K;
        if (blocks)
            for (int64_t c0 = 0; c0 < cg; c0 += 16) {
                tpu_transpose16_i8(qc + c0 * taps, taps, blk, 16);      /* blk row t: tap t of 16 channels */
                for (int64_t t = 0; t < taps; t++) memcpy(row + t * cg + c0, blk + 16 * t, 16);
            }
        else
            for (int64_t k = 0; k < K; k++) row[k] = qc[from[k]];
        memcpy(qc, row, (size_t)K);
    }
    free(from);
    free(row);
    return 0;
}

/* Tile (g, kt, nt) of the quantised [N][K] weights into dst: 16 columns x
** 16 tile rows at a time a byte transpose, the edges byte by byte. ordered:
** q's rows already in tile-row order (rows_in_tile_order), else read
** through weight_row. */
static void fill_tile_q8(const struct tpu_chip *c, const struct tpu_lowered *l, const int8_t *q, int64_t g,
                         int64_t kt, int64_t nt, int ordered, uint8_t *dst)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, C = c->array_cols, rows[1024];
    int64_t k_end = min64(R, d->K - kt * R), n_end = min64(C, d->N - nt * C);
    for (int64_t kk = 0; kk < k_end; kk++) rows[kk] = ordered ? kt * R + kk : weight_row(l, kt * R + kk);
    for (int64_t n0 = 0; n0 < n_end; n0 += 16) {
        int64_t nb = n_end - n0 < 16 ? n_end - n0 : 16, kk = 0;
        const int8_t *src = q + (g * d->N + nt * C + n0) * d->K;
        if (ordered && nb == 16)
            for (; kk + 16 <= k_end; kk += 16)
                tpu_transpose16_i8(src + rows[kk], d->K, (int8_t *)dst + kk * C + n0, C);
        for (; kk < k_end; kk++) {
            const int8_t *s = src + rows[kk];
            uint8_t *o = dst + kk * C + n0;
            for (int64_t j = 0; j < nb; j++) o[j] = (uint8_t)s[j * d->K];
        }
    }
}

/* Tile (g, kt, nt) of w into dst. buf: array_rows x array_cols floats for
** [N][K] weights (NULL: element by element). */
static void fill_tile(const struct tpu_chip *c, const struct tpu_lowered *l, const float *w,
                      int64_t g, int64_t kt, int64_t nt, float *buf, uint8_t *dst)
{
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, C = c->array_cols;
    int64_t k_end = min64(R, d->K - kt * R), n_end = min64(C, d->N - nt * C);
    if (d->raw_i8) {                                /* integers in [-128, 127], [K][N] */
        for (int64_t kk = 0; kk < k_end; kk++)
            for (int64_t nn = 0; nn < n_end; nn++) {
                int64_t k = weight_row(l, kt * R + kk), n = nt * C + nn;
                float v = d->w_nk ? w[(g * d->N + n) * d->K + k] : w[(g * d->K + k) * d->N + n];
                dst[kk * C + nn] = (uint8_t)(int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
            }
        return;
    }
    if (d->w_nk && buf) {                           /* [N][K]: the tile transposed into buf */
        int64_t rows[1024];
        for (int64_t kk = 0; kk < k_end; kk++) rows[kk] = weight_row(l, kt * R + kk);
        for (int64_t n0 = 0; n0 < n_end; n0 += 16) {           /* 16 columns at a time */
            int64_t nb = n_end - n0 < 16 ? n_end - n0 : 16;
            const float *src = w + (g * d->N + nt * C + n0) * d->K;
            for (int64_t kk = 0; kk < k_end; kk++) {
                const float *s = src + rows[kk];
                float *o = buf + kk * C + n0;
                for (int64_t j = 0; j < nb; j++) o[j] = s[j * d->K];
            }
        }
        for (int64_t kk = 0; kk < k_end; kk++) {
            const float *v = buf + kk * C;
            if (c->mxu_dtype == TPU_MXU_BF16)
                for (int64_t nn = 0; nn < n_end; nn++) {
                    uint16_t h = tpu_f32_to_bf16(v[nn]);
                    memcpy(dst + 2 * (kk * C + nn), &h, 2);
                }
            else quantise_row(v, l->w_scale + g * d->N + nt * C, n_end, (int8_t *)dst + kk * C);
        }
        return;
    }
    for (int64_t kk = 0; kk < k_end; kk++) {
        int64_t k = weight_row(l, kt * R + kk);
        if (d->w_nk) {                              /* no buf: element by element */
            for (int64_t nn = 0; nn < n_end; nn++) {
                int64_t n = nt * C + nn;
                float v = w[(g * d->N + n) * d->K + k];
                if (c->mxu_dtype == TPU_MXU_BF16) {
                    uint16_t h = tpu_f32_to_bf16(v);
                    memcpy(dst + 2 * (kk * C + nn), &h, 2);
                } else quantise_row(&v, l->w_scale + g * d->N + n, 1, (int8_t *)dst + kk * C + nn);
            }
            continue;
        }
        const float *src = w + (g * d->K + k) * d->N + nt * C;
        if (c->mxu_dtype == TPU_MXU_BF16)
            for (int64_t nn = 0; nn < n_end; nn++) {
                uint16_t h = tpu_f32_to_bf16(src[nn]);
                memcpy(dst + 2 * (kk * C + nn), &h, 2);
            }
        else quantise_row(src, l->w_scale + g * d->N + nt * C, n_end, (int8_t *)dst + kk * C);
    }
}

static enum tpu_status build_weights(struct tpu_ctx *ctx, const struct tpu_chip *c,
                                     struct tpu_lowered *l, const float *w)
{
    int64_t n_tiles = l->d.groups * l->k_tiles * l->n_tiles, tb = tpu_chip_tile_bytes(c);
    struct tpu_program *p = l->prog;
    p->weights_virtual = w == NULL;
    enum tpu_status rc = tpu_program_add_weights(ctx, p, NULL, (uint64_t)(n_tiles * tb), NULL);
    if (rc || !w) return rc;
    int q8 = c->mxu_dtype == TPU_MXU_INT8 && l->d.w_nk && !l->d.raw_i8 && c->array_rows <= 1024;
    int8_t *q = q8 ? malloc((size_t)(l->d.groups * l->d.N * l->d.K) + 16) : NULL;   /* NULL: tile by tile */
    if (c->mxu_dtype == TPU_MXU_INT8) {
        l->w_scale = tpu_malloc(ctx, (size_t)(l->d.groups * l->d.N) * sizeof(float));
        if (!l->w_scale) { free(q); return TPU_ERR_NOMEM; }
        if (!q) column_scales(l, w);               /* with q: quantise_columns, column by column */
    }
    float *buf = !q && l->d.w_nk && c->array_rows <= 1024 ? malloc(sizeof(float) * (size_t)tb) : NULL;
    if (q) quantise_columns(l, w, q);
    int ordered = q && rows_in_tile_order(l, q) == 0;
    for (int64_t g = 0; g < l->d.groups; g++)
        for (int64_t kt = 0; kt < l->k_tiles; kt++)
            for (int64_t nt = 0; nt < l->n_tiles; nt++) {
                uint8_t *dst = p->weights + tile_index(l, g, kt, nt) * tb;
                if (q) fill_tile_q8(c, l, q, g, kt, nt, ordered, dst);
                else fill_tile(c, l, w, g, kt, nt, buf, dst);
            }
    free(q);
    free(buf);
    return TPU_STATUS_OK;
}

/*---- Instruction stream ----*/
struct tile_use { int64_t g, kt, nt; uint16_t mxu; };

/* Per-MXU weight streaming over the whole op: RD_WEIGHTS runs up to fifo
** depth tiles ahead of the LD_WEIGHTS that consume them, in program order,
** across pass boundaries (the next pass's first tiles arrive while this one
** drains and writes back). */
struct stream {
    const struct tile_use *uses;
    int64_t n_uses;
    int64_t next_rd[64];                  /* per MXU: index into uses to fetch next */
    int64_t in_fifo[64];                  /* per MXU: tiles fetched, not yet loaded */
};

static int64_t next_use_of(const struct stream *s, int64_t from, int mxu)
{
    while (from < s->n_uses && s->uses[from].mxu != mxu) from++;
    return from;
}

static void top_up(struct emitter *e, struct stream *s, int mxu)
{
    while (s->in_fifo[mxu] < e->chip->weight_fifo_tiles) {
        int64_t u = next_use_of(s, s->next_rd[mxu], mxu);
        if (u >= s->n_uses) return;
        const struct tile_use *t = &s->uses[u];
        int64_t idx = tile_index(e->l, t->g, t->kt, t->nt);
        emit(e, TPU_INSN_RD_WEIGHTS, (uint32_t)(idx * tpu_chip_tile_bytes(e->chip)), 0, 1, 0,
             (uint16_t)mxu, 0);
        s->next_rd[mxu] = u + 1;
        s->in_fifo[mxu]++;
    }
}

/* The tile uses of pass (g, mc) in order: groups of mxu_count n-tiles (one
** per MXU), k-tile by k-tile, MXUs interleaved so that consecutive MATMULs go
** to different MXUs and overlap. */
static int64_t list_uses(const struct tpu_lowered *l, int64_t n_mxu, int64_t g, struct tile_use *uses)
{
    int64_t n = 0;
    for (int64_t nt0 = 0; nt0 < l->n_tiles; nt0 += n_mxu)
        for (int64_t kt = 0; kt < l->k_tiles; kt++)
            for (int64_t nt = nt0; nt < nt0 + n_mxu && nt < l->n_tiles; nt++)
                uses[n++] = (struct tile_use){ g, kt, nt, (uint16_t)(nt % n_mxu) };
    return n;
}

/* ACTIVATE of one finished n-tile: 32-bit results (+raw) to the UB, with
** the layer's bias and function; SET_CFG points it at the n-tile's tables. */
static void emit_activate(struct emitter *e, uint32_t acc, uint32_t ub, int64_t rows, uint32_t tab)
{
    const struct tpu_mm_desc *d = &e->l->d;
    uint32_t C = (uint32_t)e->chip->array_cols;
    if (d->bias) emit(e, TPU_INSN_SET_CFG, tab, 0, 0, 0, TPU_CFG_BIAS_ADDR, 0);
    if (d->act == TPU_ACT_CLIP)
        emit(e, TPU_INSN_SET_CFG, tab + (d->bias ? C * 4 : 0), 0, 0, 0, TPU_CFG_CLAMP_ADDR, 0);
    emit(e, TPU_INSN_ACTIVATE, acc, ub, (uint32_t)rows, 0, (uint16_t)d->act, (uint8_t)(1 | (d->bias ? 2 : 0)));
}

static void emit_pass(struct emitter *e, int64_t g, int64_t mc, struct stream *s, int64_t u0)
{
    const struct tpu_chip *c = e->chip;
    struct tpu_lowered *l = e->l;
    const struct tpu_mm_desc *d = &l->d;
    int64_t R = c->array_rows, C = c->array_cols, n_mxu = c->mxu_count;
    int64_t rows = pass_rows(l, mc), elem = tpu_chip_elem_bytes(c);
    uint64_t pass = (uint64_t)(g * l->n_chunks + mc);
    uint32_t ub_out = (uint32_t)in_bytes(c, l, l->mrows);
    uint32_t ub_tab = ub_out + (uint32_t)out_bytes(c, l, l->mrows), tab_w = (uint32_t)tpu_mm_tab_words(d, C);
    int in_ub = (d->resident & TPU_RESIDENT_IN) != 0;
    if (!in_ub && mc == 0 && l->tab_bytes)               /* the group's tables, once */
        emit(e, TPU_INSN_RD_HOST, (uint32_t)(l->host_tab_off + (uint64_t)g * l->tab_bytes), ub_tab,
             (uint32_t)l->tab_bytes, 0, 0, 0);
    if (!in_ub) {
        emit(e, TPU_INSN_RD_HOST, (uint32_t)(pass * in_bytes(c, l, l->mrows)), 0,
             (uint32_t)in_bytes(c, l, rows), 0, 0, 0);
        emit(e, TPU_INSN_SYNC, 0, 0, 0, 0, UNIT_BIT(TPU_UNIT_HOST), 0);
    }
    if (l->single_chunk) emit(e, TPU_INSN_DEBUG, TPU_TAG_HOST_IN, 0, 0, 0, 0, 0);
    for (int m = 0; m < n_mxu; m++) top_up(e, s, m);
    for (int64_t u = u0; u < u0 + l->k_tiles * l->n_tiles; u++) {
        int mxu = s->uses[u].mxu;
        int64_t kt = s->uses[u].kt, nt = s->uses[u].nt;
        int64_t k_used = min64(R, d->K - kt * R), n_used = min64(C, d->N - nt * C);
        int64_t block = ((int64_t)pass * ((l->n_tiles + n_mxu - 1) / n_mxu) + nt / n_mxu) % 2;
        uint32_t acc = (uint32_t)((mxu * 2 + block) * l->mrows);
        emit(e, TPU_INSN_LD_WEIGHTS, (uint32_t)k_used, (uint32_t)n_used, 0, 0, (uint16_t)mxu, 0);
        s->in_fifo[mxu]--;
        top_up(e, s, mxu);
        emit(e, TPU_INSN_MATMUL, (uint32_t)(kt * rows * R * elem), acc, (uint32_t)rows, 0,
             (uint16_t)mxu, kt > 0);
        if (kt == l->k_tiles - 1) emit_activate(e, acc, ub_out + (uint32_t)(nt * rows * C * 4), rows,
                                                ub_tab + (uint32_t)nt * tab_w * 4);
    }
    if (d->resident & TPU_RESIDENT_OUT) return;   /* the result stays: no barrier */
    emit(e, TPU_INSN_SYNC, 0, 0, 0, 0, UNIT_BIT(TPU_UNIT_ACT), 0);
    if (l->single_chunk) emit(e, TPU_INSN_DEBUG, TPU_TAG_COMPUTE, 0, 0, 0, 0, 0);
    emit(e, TPU_INSN_WR_HOST, (uint32_t)(l->host_out_off + pass * out_bytes(c, l, l->mrows)),
         ub_out, (uint32_t)out_bytes(c, l, rows), 0, 0, 0);
    emit(e, TPU_INSN_SYNC, 0, 0, 0, 0, UNIT_BIT(TPU_UNIT_HOST), 0);
}

static void emit_all(struct emitter *e, struct tile_use *uses)
{
    struct tpu_lowered *l = e->l;
    int64_t per_pass = l->k_tiles * l->n_tiles, n = 0;
    for (int64_t g = 0; g < l->d.groups; g++)
        for (int64_t mc = 0; mc < l->n_chunks; mc++) n += list_uses(l, e->chip->mxu_count, g, uses + n);
    struct stream s = { uses, n, { 0 }, { 0 } };
    for (int64_t g = 0, u0 = 0; g < l->d.groups && !e->rc; g++)
        for (int64_t mc = 0; mc < l->n_chunks && !e->rc; mc++, u0 += per_pass) emit_pass(e, g, mc, &s, u0);
    if (l->d.resident & TPU_RESIDENT_OUT) emit(e, TPU_INSN_SYNC, 0, 0, 0, 0, UNIT_BIT(TPU_UNIT_ACT), 0);
}

enum tpu_status tpu_lower_mm(struct tpu_ctx *ctx, const struct tpu_chip *chip,
                             const struct tpu_mm_desc *d, const float *weights,
                             struct tpu_lowered *out)
{
    memset(out, 0, sizeof *out);
    out->d = *d;
    if (d->act < 0 || d->act >= TPU_ACT_COUNT ||
        (chip->mxu_dtype != TPU_MXU_BF16 && (d->act == TPU_ACT_SIGMOID || d->act == TPU_ACT_TANH)))
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "node '%s' (%s): activation %d not available on %s "
                       "(sigmoid/tanh need a bf16 chip)", d->name, d->op, d->act, chip->name);
    enum tpu_status rc = plan(ctx, chip, out);
    if (rc) return rc;
    out->tab_bytes = tab_bytes(chip, out);
    out->host_tab_off = out->host_bytes;
    out->host_bytes += (uint64_t)d->groups * out->tab_bytes;
    if (out->host_bytes > 0xffffffffull)
        return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "node '%s' (%s): %llu bytes of host data exceed "
                       "the 32-bit host address space", d->name, d->op,
                       (unsigned long long)out->host_bytes);
    out->prog = tpu_program_new(ctx);
    if (!out->prog) return TPU_ERR_NOMEM;
    snprintf(out->prog->chip, sizeof out->prog->chip, "%s", chip->name);
    out->prog->array_rows = (uint32_t)chip->array_rows;
    out->prog->array_cols = (uint32_t)chip->array_cols;
    rc = build_weights(ctx, chip, out, weights);
    size_t n_uses = (size_t)(d->groups * out->n_chunks * out->k_tiles * out->n_tiles);
    struct tile_use *uses = rc ? NULL : tpu_malloc(ctx, n_uses * sizeof *uses);
    if (!rc && !uses) rc = TPU_ERR_NOMEM;
    struct emitter e = { ctx, chip, out, rc };
    if (!out->single_chunk) emit(&e, TPU_INSN_DEBUG, TPU_TAG_HOST_IN, 0, 0, 0, 0, 0);
    if (!e.rc) emit_all(&e, uses);
    if (!out->single_chunk) emit(&e, TPU_INSN_DEBUG, TPU_TAG_COMPUTE, 0, 0, 0, 0, 0);
    emit(&e, TPU_INSN_DEBUG, TPU_TAG_HOST_OUT, 0, 0, 0, 0, 0);
    emit(&e, TPU_INSN_HALT, 0, 0, 0, 0, 0, 0);
    free(uses);
    if (e.rc) tpu_lowered_free(out);
    return e.rc;
}

void tpu_lowered_free(struct tpu_lowered *l)
{
    if (!l) return;
    tpu_program_free(l->prog);
    free(l->w_scale);
    l->prog = NULL;
    l->w_scale = NULL;
}
