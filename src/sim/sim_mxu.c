/*
** sim/sim_mxu.c: the matrix path of the block diagram — weight memory → weight
** FIFO → the array's two weight buffers → MATMUL → accumulators → ACTIVATE →
** unified buffer (ACTIVATE: per-column bias, relu / clip / sigmoid / tanh,
** requant, pooling). Values through sim/sim_gemm.h, fill/drain through
** sim/sim_systolic.h, Table-3 accounting of every idle MXU cycle here. An
** int8 MATMUL multiplies only over its tile's nonzero box (found at
** LD_WEIGHTS): the same sums, less host work for narrow or short tiles.
**
** In:  decoded RD_WEIGHTS / LD_WEIGHTS / MATMUL / ACTIVATE (sim/sim_exec.c).
** Out: accumulator and UB contents, s->start / s->done, counters.
*/
#include "sim/sim.h"
#include "sim/sim_gemm.h"
#include "sim/sim_systolic.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int64_t cycles_for(double bytes, double bytes_per_cycle)
{
    return (int64_t)ceil(bytes / bytes_per_cycle - 1e-9);
}

static struct sim_mxu *get_mxu(struct tpu_sim *s, const struct tpu_insn *in)
{
    if (in->x >= s->chip->mxu_count) {
        sim_fault(s, TPU_FAULT_BAD_OPERAND, "mxu %u, chip has %lld", in->x,
                  (long long)s->chip->mxu_count);
        return NULL;
    }
    return &s->mxu[in->x];
}

/*---- Weight memory → FIFO ----*/
int sim_rd_weights(struct tpu_sim *s, const struct tpu_insn *in)
{
    struct sim_mxu *m = get_mxu(s, in);
    if (!m) return 1;
    const struct tpu_chip *c = s->chip;
    uint64_t tile = (uint64_t)tpu_chip_tile_bytes(c);
    if (!sim_range_ok(in->a, (uint64_t)in->c * tile, s->dram_bytes))
        return sim_fault(s, TPU_FAULT_DRAM_RANGE, "tiles [%u, %u + %u x %llu) beyond the %llu-byte "
                         "weight image", in->a, in->a, in->c, (unsigned long long)tile,
                         (unsigned long long)s->dram_bytes);
    if (m->fifo_count + (int64_t)in->c > c->weight_fifo_tiles)
        return sim_fault(s, TPU_FAULT_FIFO_OVERFLOW, "%d tiles queued + %u > depth %lld",
                         m->fifo_count, in->c, (long long)c->weight_fifo_tiles);
    double bpc = tpu_chip_dram_bytes_per_cycle(c);
    for (uint32_t i = 0; i < in->c; i++) {
        int slot = (int)((m->fifo_head + m->fifo_count) % c->weight_fifo_tiles);
        int64_t t = sim_max(sim_max(s->issue, s->unit_free[TPU_UNIT_DRAM]), m->fifo_slot_free[slot]);
        s->unit_free[TPU_UNIT_DRAM] = t + cycles_for((double)tile, bpc);
        m->fifo_arrive[slot] = s->unit_free[TPU_UNIT_DRAM];
        m->fifo_request[slot] = s->issue;
        m->fifo_dram[slot] = in->a + i * tile;
        m->fifo_count++;
        s->ctr.dram_bytes_read += (int64_t)tile;
        s->done = m->fifo_arrive[slot];
    }
    return 0;
}

/*---- FIFO → shadow weight buffer ----*/
/* Bounding box of the nonzero weights in the first k rows of an int8 tile:
** rows past *kz and columns past *nz are all zero, so the MATMUL's GEMM may
** skip them exactly (a zero weight adds zero to the integer sum). */
static void nonzero_box(const int8_t *w, int64_t k, int64_t C, uint32_t *kz, uint32_t *nz)
{
    uint8_t any[1024];
    int64_t last_row = -1;
    if (C > (int64_t)sizeof any) { *kz = (uint32_t)k; *nz = (uint32_t)C; return; }
    memset(any, 0, (size_t)C);
    for (int64_t r = 0; r < k; r++) {
        const uint8_t *row = (const uint8_t *)w + r * C;
        uint8_t o = 0;
        for (int64_t j = 0; j < C; j++) { any[j] |= row[j]; o |= row[j]; }
        if (o) last_row = r;
    }
    int64_t n = C;
    while (n > 0 && !any[n - 1]) n--;
    *kz = (uint32_t)(last_row + 1);
    *nz = (uint32_t)n;
}

/* nonzero_box of the tile at weight-image offset off for its first k rows,
** remembered per tile for the run (the image does not change while it runs;
** a node's passes load the same tiles again). */
static void tile_box(struct tpu_sim *s, uint64_t off, uint32_t k, uint32_t *kz, uint32_t *nz)
{
    uint64_t tile = (uint64_t)tpu_chip_tile_bytes(s->chip);
    struct sim_nz *e = off % tile == 0 && off / tile < (uint64_t)s->nz_n ? &s->nz_cache[off / tile] : NULL;
    if (e && e->k1 == k + 1) { *kz = e->kz; *nz = e->nz; return; }
    nonzero_box((const int8_t *)(s->dram + off), k, s->chip->array_cols, kz, nz);
    if (e) *e = (struct sim_nz){ k + 1, *kz, *nz };
}

void sim_weights_begin(struct tpu_sim *s)
{
    uint64_t tile = (uint64_t)tpu_chip_tile_bytes(s->chip);
    int64_t n = s->timing_only || !tile ? 0 : (int64_t)(s->dram_bytes / tile);
    if (n > s->nz_cap) {
        struct sim_nz *c = realloc(s->nz_cache, (size_t)n * sizeof *c);
        if (c) { s->nz_cache = c; s->nz_cap = n; }
    }
    s->nz_n = n <= s->nz_cap ? n : 0;             /* no memory: no cache */
    if (s->nz_n) memset(s->nz_cache, 0, (size_t)s->nz_n * sizeof *s->nz_cache);
}

/* The active and shadow tiles into the MXU's own buffers (promote swaps the
** pointers only, so one may sit in the other's buffer: swap those first). */
void sim_keep_tiles(struct tpu_sim *s)
{
    if (s->timing_only) return;
    size_t tile = (size_t)tpu_chip_tile_bytes(s->chip);
    for (int i = 0; i < s->chip->mxu_count; i++) {
        struct sim_mxu *m = &s->mxu[i];
        if (m->active_w == m->w_shadow || m->shadow_w == m->w_active) {
            uint8_t *t = m->w_active;
            m->w_active = m->w_shadow;
            m->w_shadow = t;
        }
        if (m->active_w != m->w_active) memcpy(m->w_active, m->active_w, tile);
        if (m->shadow_w != m->w_shadow) memcpy(m->w_shadow, m->shadow_w, tile);
        m->active_w = m->w_active;
        m->shadow_w = m->w_shadow;
    }
}

int sim_ld_weights(struct tpu_sim *s, const struct tpu_insn *in)
{
    struct sim_mxu *m = get_mxu(s, in);
    if (!m) return 1;
    const struct tpu_chip *c = s->chip;
    if (in->a > c->array_rows || in->b > c->array_cols)
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "tile %ux%u larger than the %lldx%lld array",
                         in->a, in->b, (long long)c->array_rows, (long long)c->array_cols);
    if (m->fifo_count == 0) return sim_fault(s, TPU_FAULT_FIFO_EMPTY, "no RD_WEIGHTS pending");
    if (m->shadow_valid)
        return sim_fault(s, TPU_FAULT_SHADOW_BUSY, "the previous tile was never multiplied");
    int slot = m->fifo_head;
    int64_t start = sim_max(sim_max(s->issue, m->fifo_arrive[slot]), m->shadow_free);
    if (!s->timing_only) {
        m->shadow_w = s->dram + m->fifo_dram[slot];        /* the image is the program's, read-only */
        m->shadow_kz = in->a;
        m->shadow_nz = (uint32_t)c->array_cols;
        if (c->mxu_dtype == TPU_MXU_INT8) tile_box(s, m->fifo_dram[slot], in->a, &m->shadow_kz, &m->shadow_nz);
    }
    m->fifo_slot_free[slot] = start;
    m->fifo_head = (int)((m->fifo_head + 1) % c->weight_fifo_tiles);
    m->fifo_count--;
    m->shadow_valid = 1;
    m->shadow_k = in->a;
    m->shadow_n = in->b;
    m->shadow_arrive = m->fifo_arrive[slot];
    m->shadow_request = m->fifo_request[slot];
    m->shadow_shift_start = start;
    m->shadow_shift_done = start + c->array_rows;
    s->start = start;
    s->done = m->shadow_shift_done;
    return 0;
}

/*---- MATMUL ----*/
/* Splits the MXU's idle time before `start` into Table-3 classes: waiting
** while the tile was requested but not yet delivered is weight stall, waiting
** while it shifted in is weight shift, the rest (inputs, sync, drain) is
** non-matrix. */
static void account_gap(struct tpu_sim *s, struct sim_mxu *m, int64_t start, int promoted)
{
    int64_t g0 = m->free_at, gap = start - g0;
    if (gap <= 0) return;
    int64_t stall = 0, shift = 0;
    if (promoted) {
        stall = sim_max(0, sim_min(start, m->shadow_arrive) - sim_max(g0, m->shadow_request));
        shift = sim_max(0, sim_min(start, m->shadow_shift_done) - sim_max(g0, m->shadow_shift_start));
    }
    s->ctr.weight_stall_cycles += stall;
    s->ctr.weight_shift_cycles += shift;
    s->ctr.non_matrix_cycles += gap - stall - shift;
}

static void promote(struct sim_mxu *m, int64_t start)
{
    const uint8_t *t = m->active_w;
    m->active_w = m->shadow_w;
    m->shadow_w = t;
    m->active_valid = 1;
    m->shadow_valid = 0;
    m->active_k = m->shadow_k;
    m->active_n = m->shadow_n;
    m->active_kz = m->shadow_kz;
    m->active_nz = m->shadow_nz;
    m->shadow_free = start;
}

/* int8 MATMUL with the overflow trap on: products into a scratch block, then
** added with a check. */
static int matmul_i8_trap(struct tpu_sim *s, const struct sim_mxu *m, const int8_t *a, int lda,
                          int32_t *acc, int rows, int accumulate)
{
    int C = (int)s->chip->array_cols;
    int32_t *tmp = tpu_malloc(s->ctx, (size_t)rows * (size_t)C * 4);
    if (!tmp) return sim_fault(s, TPU_FAULT_BAD_OPERAND, "no memory for the overflow check");
    tpu_gemm_i8(rows, C, (int)m->active_k, a, lda, (const int8_t *)m->active_w, C, tmp, C, 0);
    int bad = -1;
    for (int i = 0; i < rows * C && bad < 0; i++) {
        int64_t v = (int64_t)tmp[i] + (accumulate ? acc[i] : 0);
        if (v > INT32_MAX || v < INT32_MIN) bad = i;
        else acc[i] = (int32_t)v;
    }
    free(tmp);
    if (bad >= 0)
        return sim_fault(s, TPU_FAULT_ACC_OVERFLOW, "int32 accumulator overflow at row %d column %d",
                         bad / C, bad % C);
    return 0;
}

void sim_acc_settle(struct tpu_sim *s, int64_t r0, int64_t n, int64_t upto)
{
    int64_t C = s->chip->array_cols;
    for (int64_t r = r0; r < r0 + n; r++) {
        int32_t *live = &s->acc_live[r];
        if (*live >= upto) continue;
        memset(s->acc + ((size_t)r * (size_t)C + (size_t)*live) * 4, 0, (size_t)(upto - *live) * 4);
        *live = (int32_t)upto;
    }
}

static int matmul_values(struct tpu_sim *s, const struct sim_mxu *m, const struct tpu_insn *in,
                         uint64_t stride)
{
    const struct tpu_chip *c = s->chip;
    int C = (int)c->array_cols, rows = (int)in->c, accumulate = in->flags & 1;
    int64_t elem = tpu_chip_elem_bytes(c);
    uint8_t *acc = s->acc + (size_t)in->b * (size_t)C * 4;
    int32_t *live = s->acc_live + in->b;
    int fast = c->mxu_dtype != TPU_MXU_BF16 && !c->acc_overflow_trap;
    if (!fast) sim_acc_settle(s, in->b, rows, C);          /* these paths take whole rows */
    if (c->mxu_dtype == TPU_MXU_BF16) {
        tpu_gemm_bf16(rows, C, (int)m->active_k, (const uint16_t *)(s->ub + in->a),
                      (int)(stride / 2), (const uint16_t *)m->active_w, C, (float *)acc, C,
                      accumulate, (int)c->array_rows);
        return 0;
    }
    if (c->acc_overflow_trap)
        return matmul_i8_trap(s, m, (const int8_t *)(s->ub + in->a), (int)(stride / (uint64_t)elem),
                              (int32_t *)acc, rows, accumulate);
    /* only the nonzero box of the tile (exact: the rest adds zero); columns
    ** past it keep their sums (+acc) or become 0, as the full GEMM leaves
    ** them: 0 by acc_live (stored when something reads them, sim_acc_settle) */
    int kz = (int)m->active_kz, nz = (int)m->active_nz;
    nz = kz == 0 ? 0 : (nz + 15) / 16 * 16 < C ? (nz + 15) / 16 * 16 : C;
    if (accumulate) sim_acc_settle(s, in->b, rows, nz);   /* the sums it adds to, stored */
    tpu_gemm_i8(rows, nz, kz, (const int8_t *)(s->ub + in->a), (int)stride,
                (const int8_t *)m->active_w, C, (int32_t *)acc, C, accumulate);
    for (int r = 0; r < rows; r++) live[r] = accumulate && live[r] > nz ? live[r] : nz;
    return 0;
}

static int matmul_check(struct tpu_sim *s, const struct sim_mxu *m, const struct tpu_insn *in,
                        uint64_t stride)
{
    const struct tpu_chip *c = s->chip;
    uint64_t row_bytes = (uint64_t)(c->array_rows * tpu_chip_elem_bytes(c));
    if (in->c == 0) return sim_fault(s, TPU_FAULT_BAD_OPERAND, "rows = 0");
    if (in->a % (uint64_t)tpu_chip_elem_bytes(c) || stride % (uint64_t)tpu_chip_elem_bytes(c))
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "ub %u / stride %llu not element-aligned", in->a,
                         (unsigned long long)stride);
    if (!sim_range_ok(in->a, (uint64_t)(in->c - 1) * stride + row_bytes, (uint64_t)c->unified_buffer_bytes))
        return sim_fault(s, TPU_FAULT_UB_RANGE, "input rows end past the %lld-byte unified buffer",
                         (long long)c->unified_buffer_bytes);
    if (!sim_range_ok(in->b, in->c, (uint64_t)c->accumulator_rows))
        return sim_fault(s, TPU_FAULT_ACC_RANGE, "accumulator rows [%u, %llu) beyond %lld", in->b,
                         (unsigned long long)in->b + in->c, (long long)c->accumulator_rows);
    if (!m->shadow_valid && !m->active_valid)
        return sim_fault(s, TPU_FAULT_NO_WEIGHTS, "no LD_WEIGHTS before this MATMUL");
    return 0;
}

int sim_matmul(struct tpu_sim *s, const struct tpu_insn *in)
{
    struct sim_mxu *m = get_mxu(s, in);
    if (!m) return 1;
    const struct tpu_chip *c = s->chip;
    uint64_t stride = in->d ? in->d : (uint64_t)(c->array_rows * tpu_chip_elem_bytes(c));
    if (matmul_check(s, m, in, stride)) return 1;
    int promoted = m->shadow_valid;
    int64_t start = sim_max(s->issue, m->free_at);
    if (promoted) start = sim_max(start, m->shadow_shift_done);
    for (uint32_t r = 0; r < in->c; r++) start = sim_max(start, s->acc_read_done[in->b + r]);
    account_gap(s, m, start, promoted);
    if (promoted) promote(m, start);
    if (!s->timing_only && matmul_values(s, m, in, stride)) return 1;
    int64_t R = c->array_rows, C = c->array_cols, rows = in->c;
    for (int64_t r = 0; r < rows; r++) s->acc_write_done[in->b + r] = start + r + R + C - 1;
    m->free_at = start + rows;
    s->start = start;
    s->done = start + tpu_ws_fold_cycles((int)R, (int)C, (int)m->active_k, (int)m->active_n, rows, 1);
    s->ctr.array_active_cycles += rows;
    s->ctr.useful_macs += rows * m->active_k * m->active_n;
    s->ctr.unused_macs += rows * (R * C - (int64_t)m->active_k * m->active_n);
    s->ctr.ub_bytes_read += rows * R * tpu_chip_elem_bytes(c);
    s->ctr.acc_bytes_written += rows * C * 4;
    if (in->flags & 1) s->ctr.acc_bytes_read += rows * C * 4;
    return 0;
}

/*---- ACTIVATE ----*/
/* round(v / 2^sh) with ties to even, v any int64 with |v| < 2^62. */
static int64_t shift_round_even(int64_t v, int sh)
{
    if (sh == 0) return v;
    int64_t q = v >> sh;                          /* floor (arithmetic shift) */
    int64_t rem = v - q * ((int64_t)1 << sh), half = (int64_t)1 << (sh - 1);
    if (rem > half || (rem == half && (q & 1))) q++;
    return q;
}

/* The per-column tables one ACTIVATE reads from the UB (NULL: not used):
** bias[C] with +bias, lo[C] and hi[C] with func clip. 32-bit words, int32 on
** int8 chips, fp32 on bf16 chips. */
struct act_tables { const uint8_t *bias, *lo, *hi; };

static int32_t tab_i32(const uint8_t *t, int64_t j) { int32_t v; memcpy(&v, t + 4 * j, 4); return v; }
static float tab_f32(const uint8_t *t, int64_t j) { float v; memcpy(&v, t + 4 * j, 4); return v; }

/* fp32 functions, written as the host's reference kernels compare (x < 0,
** x > hi): -0 and NaN pass relu unchanged. */
static float act_f32(float v, int func, const struct act_tables *t, int64_t j)
{
    switch (func) {
    case TPU_ACT_RELU:    return v < 0 ? 0.0f : v;
    case TPU_ACT_SIGMOID: return 1.0f / (1.0f + expf(-v));
    case TPU_ACT_TANH:    return tanhf(v);
    case TPU_ACT_CLIP: {
        float lo = tab_f32(t->lo, j), hi = tab_f32(t->hi, j);
        v = v < lo ? lo : v;
        return v > hi ? hi : v;
    }
    default:              return v;
    }
}

/* int32-domain functions (int8 chips): relu, clip to [lo, hi] per column. */
static int64_t act_i64(int64_t v, int func, const struct act_tables *t, int64_t j)
{
    if (func == TPU_ACT_RELU) return v < 0 ? 0 : v;
    if (func != TPU_ACT_CLIP) return v;
    int64_t lo = tab_i32(t->lo, j), hi = tab_i32(t->hi, j);
    v = v < lo ? lo : v;
    return v > hi ? hi : v;
}

/* Value of accumulator element (row r, column j) after bias, func and
** requant, as the output type's value held in a double (exact for
** int8/int32/fp32). int8 chips: acc + bias in 64 bits, func, then requant and
** saturate to int8, or with +raw saturate to int32 (relu and clip commute
** with the monotone requant, so the order is the real pipeline's). */
static double act_value(const struct tpu_sim *s, const struct tpu_insn *in, const struct act_tables *t,
                        int64_t r, int64_t j)
{
    const uint8_t *row = s->acc + (size_t)r * (size_t)s->chip->array_cols * 4;
    int func = in->x, raw = in->flags & 1;
    if (s->chip->mxu_dtype == TPU_MXU_BF16) {
        float v = ((const float *)row)[j];
        if (t->bias) v += tab_f32(t->bias, j);
        v = act_f32(v, func, t, j);
        return raw ? v : tpu_bf16_to_f32(tpu_f32_to_bf16(v));
    }
    int64_t v = ((const int32_t *)row)[j];
    if (t->bias) v += tab_i32(t->bias, j);
    v = act_i64(v, func, t, j);
    if (!raw) {
        v = shift_round_even(v * s->cfg[TPU_CFG_REQUANT_MULT], s->cfg[TPU_CFG_REQUANT_SHIFT]);
        return (double)(v > 127 ? 127 : v < -128 ? -128 : v);
    }
    return (double)(v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v);
}

static void store_out(uint8_t *dst, int64_t elem, int is_bf16, int raw, double v)
{
    if (elem == 1) { *(int8_t *)dst = (int8_t)v; return; }
    if (elem == 2) { uint16_t h = tpu_f32_to_bf16((float)v); memcpy(dst, &h, 2); return; }
    if (is_bf16) { float f = (float)v; memcpy(dst, &f, 4); return; }
    int32_t i = (int32_t)v;
    memcpy(dst, &i, 4);
    (void)raw;
}

static int64_t act_out_elem(const struct tpu_chip *c, int raw)
{
    return raw ? 4 : c->mxu_dtype == TPU_MXU_BF16 ? 2 : 1;
}

/* Checks a table of `words` 32-bit words at cfg[reg] and points *at to it
** (NULL in timing-only mode); 0 if fine. */
static int table_at(struct tpu_sim *s, int reg, int64_t words, const uint8_t **at)
{
    uint32_t addr = (uint32_t)s->cfg[reg];
    const char *what = reg == TPU_CFG_BIAS_ADDR ? "bias" : "clamp";
    if (addr % 4 || !sim_range_ok(addr, (uint64_t)words * 4, (uint64_t)s->chip->unified_buffer_bytes))
        return sim_fault(s, TPU_FAULT_UB_RANGE, "%s table [%u, +%lld bytes) unaligned or beyond the "
                         "%lld-byte unified buffer (cfg[%d])", what, addr, (long long)words * 4,
                         (long long)s->chip->unified_buffer_bytes, reg);
    *at = s->timing_only ? NULL : s->ub + addr;
    s->ctr.ub_bytes_read += words * 4;
    return 0;
}

static int activate_tables(struct tpu_sim *s, const struct tpu_insn *in, struct act_tables *t)
{
    int64_t C = s->chip->array_cols;
    memset(t, 0, sizeof *t);
    if ((in->flags & 2) && table_at(s, TPU_CFG_BIAS_ADDR, C, &t->bias)) return 1;
    if (in->x == TPU_ACT_CLIP) {
        if (table_at(s, TPU_CFG_CLAMP_ADDR, 2 * C, &t->lo)) return 1;
        if (t->lo) t->hi = t->lo + 4 * C;
    }
    return 0;
}

static int activate_check(struct tpu_sim *s, const struct tpu_insn *in, int64_t pool)
{
    const struct tpu_chip *c = s->chip;
    int raw = in->flags & 1, is_bf16 = c->mxu_dtype == TPU_MXU_BF16;
    int64_t elem = act_out_elem(c, raw);
    if (in->x >= TPU_ACT_COUNT) return sim_fault(s, TPU_FAULT_BAD_OPERAND, "func %u undefined", in->x);
    if (!is_bf16 && (in->x == TPU_ACT_SIGMOID || in->x == TPU_ACT_TANH))
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "sigmoid/tanh need the fp32 (bf16 chip) path");
    if (!is_bf16 && !raw && (s->cfg[TPU_CFG_REQUANT_SHIFT] < 0 || s->cfg[TPU_CFG_REQUANT_SHIFT] > 62))
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "requant shift %d outside 0..62",
                         s->cfg[TPU_CFG_REQUANT_SHIFT]);
    if (in->c == 0 || in->c % pool)
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "rows %u not a positive multiple of pool %lld",
                         in->c, (long long)pool);
    if (!sim_range_ok(in->a, in->c, (uint64_t)c->accumulator_rows))
        return sim_fault(s, TPU_FAULT_ACC_RANGE, "accumulator rows [%u, %llu) beyond %lld", in->a,
                         (unsigned long long)in->a + in->c, (long long)c->accumulator_rows);
    if (in->b % (uint64_t)elem ||
        !sim_range_ok(in->b, (uint64_t)(in->c / pool) * (uint64_t)c->array_cols * (uint64_t)elem,
                      (uint64_t)c->unified_buffer_bytes))
        return sim_fault(s, TPU_FAULT_UB_RANGE, "output [%u, +%llu bytes) unaligned or beyond the "
                         "unified buffer", in->b,
                         (unsigned long long)(in->c / pool) * (uint64_t)c->array_cols * (uint64_t)elem);
    return 0;
}

/* The generic value loop: every (output row, column) through act_value, in
** double. The reference the specialised loops below are tested against
** (tests/test-sim.c), and the path of sigmoid/tanh and of bf16 pooling. */
static void activate_generic(struct tpu_sim *s, const struct tpu_insn *in, const struct act_tables *t,
                             int64_t pool)
{
    const struct tpu_chip *c = s->chip;
    int raw = in->flags & 1;
    int64_t C = c->array_cols, rows = in->c, elem = act_out_elem(c, raw);
    for (int64_t o = 0; o < rows / pool; o++)
        for (int64_t j = 0; j < C; j++) {
            double v = act_value(s, in, t, in->a + o * pool, j);
            for (int64_t p = 1; p < pool; p++) v = fmax(v, act_value(s, in, t, in->a + o * pool + p, j));
            store_out(s->ub + in->b + (size_t)(o * C + j) * (size_t)elem, elem, c->mxu_dtype == TPU_MXU_BF16,
                      raw, v);
        }
}

/* Widest array the specialised loops take (their per-column tables live on
** the stack); wider arrays take the generic loop. */
enum { ACT_FAST_MAX_COLS = 1024 };

/* int8 chips, one accumulator row: (acc + bias) clamped to [lo, hi] (relu:
** [0, max], none: unbounded, clip: the table), then requant and saturate to
** int8, or with raw saturate to int32, into out[C] (the same arithmetic as
** act_value, without the per-element calls and branches). */
/* +raw on int8 chips, one row: sat32(acc + bias) clamped to [lo, hi] (int32
** tables: relu [0, max], none the whole range). Equal to act_value's clamp
** in 64 bits then saturate, as the bounds are int32: both give lo below lo,
** hi above hi (and hi for every value when lo > hi). 32-bit lanes vectorise. */
__attribute__((target_clones("avx512f", "avx2", "default")))
static void act_row_raw(const int32_t *acc, const int32_t *bias, const int32_t *lo, const int32_t *hi,
                        int64_t C, int32_t *out)
{
    for (int64_t j = 0; j < C; j++) {
        int32_t a = acc[j], b = bias[j], v = (int32_t)((uint32_t)a + (uint32_t)b);
        int32_t sat = a < 0 ? INT32_MIN : INT32_MAX;
        v = ((a ^ v) & (b ^ v)) < 0 ? sat : v;          /* signed overflow: a, b same sign, v not */
        v = v < lo[j] ? lo[j] : v;
        out[j] = v > hi[j] ? hi[j] : v;
    }
}

/* Without raw, one row: requant and saturate to int8 (as act_value). */
static void act_row_i8(const int32_t *acc, const int64_t *bias, const int64_t *lo, const int64_t *hi,
                       int64_t C, int64_t mult, int sh, int32_t *out)
{
    int64_t mask = sh ? ((int64_t)1 << sh) - 1 : 0, half = sh ? (int64_t)1 << (sh - 1) : 1;
    for (int64_t j = 0; j < C; j++) {
        int64_t v = (int64_t)acc[j] + bias[j];
        v = v < lo[j] ? lo[j] : v;
        v = v > hi[j] ? hi[j] : v;
        int64_t m = v * mult, q = m >> sh, rem = m & mask;
        q += (rem > half) | ((rem == half) & (q & 1));
        out[j] = (int32_t)(q > 127 ? 127 : q < -128 ? -128 : q);
    }
}

/* bf16 chips without pooling, func none/relu/clip: fp32 acc (+ bias), the
** function, then bf16 (the stored bits act_value + store_out give), or with
** raw the fp32 word. */
static void act_rows_bf16(struct tpu_sim *s, const struct tpu_insn *in, const struct act_tables *t)
{
    int64_t C = s->chip->array_cols, rows = in->c;
    int raw = in->flags & 1, func = in->x;
    for (int64_t r = 0; r < rows; r++) {
        const float *acc = (const float *)(s->acc + (size_t)(in->a + r) * (size_t)C * 4);
        uint8_t *dst = s->ub + in->b + (size_t)(r * C) * (raw ? 4 : 2);
        for (int64_t j = 0; j < C; j++) {
            float v = acc[j];
            if (t->bias) v += tab_f32(t->bias, j);
            if (func == TPU_ACT_RELU) v = v < 0 ? 0.0f : v;
            else if (func == TPU_ACT_CLIP) v = act_f32(v, func, t, j);
            if (raw) { memcpy(dst + 4 * j, &v, 4); continue; }
            uint16_t h = tpu_f32_to_bf16((float)(double)tpu_bf16_to_f32(tpu_f32_to_bf16(v)));
            memcpy(dst + 2 * j, &h, 2);
        }
    }
}

/* int8 chips, +raw without pooling: each row straight into the UB
** (4-aligned: checked), its columns from acc_live on as val (the value of a
** 0). Inside a run (s->pad_on) those padding words are written only where
** s->pad_* does not already vouch for them (the same rows, the same values:
** a pass's ACTIVATE after the one before it into the same output rows); then
** what it vouches for is updated: in every row it knows, the words from the
** widest acc_live on hold val. */
static void act_rows_raw(struct tpu_sim *s, const struct tpu_insn *in, const int32_t *bias32,
                         const int32_t *lo32, const int32_t *hi32, const int32_t *val)
{
    int64_t C = s->chip->array_cols, rows = in->c;
    int same = s->pad_on && s->pad_rows > 0 && s->pad_ub == in->b &&
               memcmp(s->pad_val + s->pad_n, val + s->pad_n, (size_t)(C - s->pad_n) * 4) == 0;
    int64_t known = same ? s->pad_rows : 0, from = same ? s->pad_n : C, widest = same ? s->pad_n : 0;
    for (int64_t o = 0; o < rows; o++) {
        const int32_t *acc = (const int32_t *)(s->acc + (size_t)(in->a + o) * (size_t)C * 4);
        int32_t *out = (int32_t *)(s->ub + in->b + (size_t)(o * C) * 4);
        int64_t n = s->acc_live[in->a + o];
        act_row_raw(acc, bias32, lo32, hi32, n, out);
        if (o >= known || n < from) memcpy(out + n, val + n, (size_t)(C - n) * 4);
        widest = n > widest ? n : widest;
    }
    if (!s->pad_on) return;
    s->pad_ub = in->b;
    s->pad_rows = known > rows ? known : rows;
    s->pad_n = widest;
    memcpy(s->pad_val, val, (size_t)C * 4);
}

/* int8 chips, any func ACTIVATE allows there, bias, raw and pooling (max over
** each pool's rows of the output values, as the generic loop's fmax of exact
** integers). */
static void act_rows_i8(struct tpu_sim *s, const struct tpu_insn *in, const struct act_tables *t, int64_t pool)
{
    int64_t C = s->chip->array_cols, rows = in->c;
    int raw = in->flags & 1, func = in->x;
    int64_t bias[ACT_FAST_MAX_COLS], lo[ACT_FAST_MAX_COLS], hi[ACT_FAST_MAX_COLS];
    int32_t val[ACT_FAST_MAX_COLS], best[ACT_FAST_MAX_COLS];
    int32_t bias32[ACT_FAST_MAX_COLS], lo32[ACT_FAST_MAX_COLS], hi32[ACT_FAST_MAX_COLS];
    for (int64_t j = 0; j < C; j++) {
        bias[j] = bias32[j] = t->bias ? tab_i32(t->bias, j) : 0;
        lo[j] = func == TPU_ACT_CLIP ? tab_i32(t->lo, j) : func == TPU_ACT_RELU ? 0 : INT64_MIN;
        hi[j] = func == TPU_ACT_CLIP ? tab_i32(t->hi, j) : INT64_MAX;
        lo32[j] = func == TPU_ACT_CLIP ? tab_i32(t->lo, j) : func == TPU_ACT_RELU ? 0 : INT32_MIN;
        hi32[j] = func == TPU_ACT_CLIP ? tab_i32(t->hi, j) : INT32_MAX;
    }
    int64_t mult = s->cfg[TPU_CFG_REQUANT_MULT];
    int sh = raw ? 0 : s->cfg[TPU_CFG_REQUANT_SHIFT];
    if (raw && pool == 1) {                   /* columns past acc_live: the value of a 0 */
        static const int32_t zero[ACT_FAST_MAX_COLS];
        act_row_raw(zero, bias32, lo32, hi32, C, val);
        act_rows_raw(s, in, bias32, lo32, hi32, val);
        return;
    }
    sim_acc_settle(s, in->a, rows, C);
    for (int64_t o = 0; o < rows / pool; o++) {
        for (int64_t p = 0; p < pool; p++) {
            const int32_t *acc = (const int32_t *)(s->acc + (size_t)(in->a + o * pool + p) * (size_t)C * 4);
            if (raw) act_row_raw(acc, bias32, lo32, hi32, C, p ? val : best);
            else act_row_i8(acc, bias, lo, hi, C, mult, sh, p ? val : best);
            if (p) for (int64_t j = 0; j < C; j++) best[j] = val[j] > best[j] ? val[j] : best[j];
        }
        if (raw) { memcpy(s->ub + in->b + (size_t)(o * C) * 4, best, (size_t)C * 4); continue; }
        int8_t *dst = (int8_t *)(s->ub + in->b + (size_t)(o * C));
        for (int64_t j = 0; j < C; j++) dst[j] = (int8_t)best[j];
    }
}

/* The values of one checked ACTIVATE into the UB: the raw-copy memcpy, the
** specialised loops where they apply, else (or with generic) the generic one. */
static void activate_values(struct tpu_sim *s, const struct tpu_insn *in, const struct act_tables *t,
                            int64_t pool, int generic)
{
    int64_t C = s->chip->array_cols;
    int raw = in->flags & 1, is_bf16 = s->chip->mxu_dtype == TPU_MXU_BF16;
    if (generic || C > ACT_FAST_MAX_COLS || is_bf16 || !raw || pool != 1 || (in->x == TPU_ACT_NONE && !t->bias))
        s->pad_rows = 0;                      /* only act_rows_raw keeps s->pad_* */
    if (generic || C > ACT_FAST_MAX_COLS || is_bf16 || (raw && pool == 1 && in->x == TPU_ACT_NONE && !t->bias))
        sim_acc_settle(s, in->a, in->c, C);    /* act_rows_i8 settles for itself */
    if (raw && pool == 1 && in->x == TPU_ACT_NONE && !t->bias)  /* raw copy: acc words as they are */
        memcpy(s->ub + in->b, s->acc + (size_t)in->a * (size_t)C * 4, (size_t)(in->c * C * 4));
    else if (generic || C > ACT_FAST_MAX_COLS) activate_generic(s, in, t, pool);
    else if (!is_bf16) act_rows_i8(s, in, t, pool);
    else if (pool == 1 && in->x != TPU_ACT_SIGMOID && in->x != TPU_ACT_TANH) act_rows_bf16(s, in, t);
    else activate_generic(s, in, t, pool);
}

static int activate(struct tpu_sim *s, const struct tpu_insn *in, int generic)
{
    const struct tpu_chip *c = s->chip;
    int64_t pool = in->d ? in->d : 1, C = c->array_cols, rows = in->c;
    struct act_tables t;
    if (activate_check(s, in, pool) || activate_tables(s, in, &t)) return 1;
    int raw = in->flags & 1;
    int64_t elem = act_out_elem(c, raw);
    if (!s->timing_only) activate_values(s, in, &t, pool, generic);
    int64_t start = sim_max(s->issue, s->unit_free[TPU_UNIT_ACT]);
    for (int64_t r = 0; r < rows; r++) start = sim_max(start, s->acc_write_done[in->a + r]);
    int64_t busy = (rows * C + c->activation_lanes - 1) / c->activation_lanes;
    s->unit_free[TPU_UNIT_ACT] = start + busy;
    s->start = start;
    s->done = start + busy + c->activation_latency_cycles;
    for (int64_t r = 0; r < rows; r++) s->acc_read_done[in->a + r] = s->done;
    s->ctr.acc_bytes_read += rows * C * 4;
    s->ctr.ub_bytes_written += rows / pool * C * elem;
    s->ctr.vector_elems += rows * C;
    return 0;
}

int sim_activate(struct tpu_sim *s, const struct tpu_insn *in) { return activate(s, in, 0); }

int sim_activate_generic(struct tpu_sim *s, const struct tpu_insn *in) { return activate(s, in, 1); }

/* Instructions that never write the UB keep s->pad_*, and RD_HOST keeps it
** outside its bytes; ACTIVATE updates it itself (activate_values); anything
** else (vector instructions, an unknown opcode) may write there. */
void sim_pad_forget(struct tpu_sim *s, const struct tpu_insn *in)
{
    uint64_t lo = s->pad_ub, hi = lo + (uint64_t)s->pad_rows * (uint64_t)s->chip->array_cols * 4;
    switch (in->opcode) {
    case TPU_INSN_NOP: case TPU_INSN_HALT: case TPU_INSN_SYNC: case TPU_INSN_SET_CFG:
    case TPU_INSN_INTERRUPT: case TPU_INSN_DEBUG: case TPU_INSN_WR_HOST: case TPU_INSN_RD_WEIGHTS:
    case TPU_INSN_LD_WEIGHTS: case TPU_INSN_MATMUL: case TPU_INSN_ACTIVATE:
        return;
    case TPU_INSN_RD_HOST:
        if ((uint64_t)in->b >= hi || (uint64_t)in->b + in->c <= lo) return;
        break;
    default:
        break;
    }
    s->pad_rows = 0;
}
