/*
** tests/pe_model.c: the PE-by-PE weight-stationary array model (contract in
** pe_model.h). Every PE has three registers — its weight, the activation
** passing right, the partial sum passing down — and every cycle all PEs
** compute their next registers from the current ones (a synchronous clock
** edge). Values carry a valid bit and the input row they belong to, so the
** model can check that each partial sum meets the right activations.
*/
#include "pe_model.h"

#include <stdlib.h>
#include <string.h>

struct pe_value {
    int      valid;         /* carries data of input row `row`     */
    int      row;           /* t, the input row                    */
    uint32_t i;             /* int8 value / int32 partial sum      */
    float    f;             /* bf16 value / fp32 partial sum       */
};

struct pe {
    uint32_t        w_i;    /* the weight held (int8, sign-extended) */
    float           w_f;    /* the weight held (bf16 as fp32)        */
    struct pe_value act;    /* activation register, passes right     */
    struct pe_value psum;   /* partial-sum register, passes down     */
};

struct pe_array {
    const struct pe_fold *f;
    struct pe            *cur, *next;  /* R×C each, row-major        */
    int64_t               n_out;       /* outputs that have left      */
    int                   bad;         /* model inconsistency seen    */
};

static float bf16_to_float(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Tile element (k, n), zero outside the k_used × n_used tile. */
static void tile_weight(const struct pe_fold *f, int k, int n, uint32_t *w_i, float *w_f)
{
    *w_i = 0;
    *w_f = 0.0f;
    if (k >= f->k_used || n >= f->n_used)
        return;
    size_t at = (size_t)k * f->n_used + n;
    if (f->dtype == PE_DTYPE_I8)
        *w_i = (uint32_t)(int32_t)((const int8_t *)f->W)[at];
    else
        *w_f = bf16_to_float(((const uint16_t *)f->W)[at]);
}

/* What enters row r from the left at `cycle`: input row t = cycle - L - r
** (the one-cycle-per-row skew), element r of it, zero past k_used. */
static struct pe_value left_input(const struct pe_fold *f, int64_t cycle, int64_t load_cycles, int r)
{
    struct pe_value v = { 0, 0, 0, 0.0f };
    int64_t t = cycle - load_cycles - r;
    if (t < 0 || t >= f->T)
        return v;
    v.valid = 1;
    v.row = (int)t;
    if (r < f->k_used) {
        size_t at = (size_t)t * f->k_used + r;
        if (f->dtype == PE_DTYPE_I8)
            v.i = (uint32_t)(int32_t)((const int8_t *)f->X)[at];
        else
            v.f = bf16_to_float(((const uint16_t *)f->X)[at]);
    }
    return v;
}

/* One PE's multiply-accumulate: psum_out = psum_in + a·w, the product and
** the sum rounded separately for bf16 (two statements: no FMA contraction). */
static struct pe_value pe_mac(const struct pe_fold *f, struct pe_value psum_in, struct pe_value a,
                              const struct pe *p)
{
    struct pe_value out = a;
    if (f->dtype == PE_DTYPE_I8) {
        out.i = psum_in.i + a.i * p->w_i;
    } else {
        float prod = a.f * p->w_f;
        out.f = psum_in.f + prod;
    }
    return out;
}

/* The output of column c for input row t lands in its accumulator. */
static void accumulate_output(struct pe_array *s, int c, struct pe_value v)
{
    const struct pe_fold *f = s->f;
    s->n_out++;
    if (c >= f->n_used)
        return;                                 /* padded column: thrown away */
    size_t at = (size_t)v.row * f->n_used + c;
    if (f->dtype == PE_DTYPE_I8) {
        uint32_t *o = (uint32_t *)f->out + at;
        *o = (f->accumulate ? *o : 0) + v.i;
    } else {
        float *o = (float *)f->out + at;
        *o = (f->accumulate ? *o : 0.0f) + v.f;
    }
}

/* One clock: every PE's next registers from the current ones. */
static void step(struct pe_array *s, int64_t cycle, int64_t load_cycles)
{
    const struct pe_fold *f = s->f;
    int R = f->R, C = f->C;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            const struct pe *cur = &s->cur[r * C + c];
            struct pe *nx = &s->next[r * C + c];
            *nx = *cur;
            if (cycle < load_cycles) {          /* weights shift down one row */
                if (r == 0)
                    tile_weight(f, R - 1 - (int)cycle, c, &nx->w_i, &nx->w_f);
                else
                    nx->w_i = s->cur[(r - 1) * C + c].w_i, nx->w_f = s->cur[(r - 1) * C + c].w_f;
            }
            struct pe_value a = c == 0 ? left_input(f, cycle, load_cycles, r) : s->cur[r * C + c - 1].act;
            struct pe_value p_in = { a.valid, a.row, 0, 0.0f };   /* row 0: sum starts at +0 */
            if (r > 0)
                p_in = s->cur[(r - 1) * C + c].psum;
            if (a.valid != p_in.valid || (a.valid && a.row != p_in.row))
                s->bad = 1;
            nx->act = a;
            nx->psum = a.valid ? pe_mac(f, p_in, a, cur) : a;
        }
    for (int c = 0; c < C; c++)
        if (s->next[(R - 1) * C + c].psum.valid)
            accumulate_output(s, c, s->next[(R - 1) * C + c].psum);
    struct pe *tmp = s->cur;
    s->cur = s->next;
    s->next = tmp;
}

int64_t pe_run_fold(const struct pe_fold *f)
{
    if (f->R < 1 || f->C < 1 || f->k_used < 1 || f->k_used > f->R || f->n_used < 1 ||
        f->n_used > f->C || f->T < 0 || f->R > 4096 || f->C > 4096)
        return -1;
    struct pe_array s = { f, calloc((size_t)f->R * f->C, sizeof(struct pe)),
                          calloc((size_t)f->R * f->C, sizeof(struct pe)), 0, 0 };
    int64_t load_cycles = f->weights_preloaded ? 0 : f->R, cycle = 0;
    int64_t want_out = (int64_t)f->T * f->C;
    int64_t give_up = load_cycles + f->T + 2 * ((int64_t)f->R + f->C) + 8;
    if (!s.cur || !s.next)
        cycle = -1;
    if (s.cur && f->weights_preloaded)          /* the tile is already in place */
        for (int r = 0; r < f->R; r++)
            for (int c = 0; c < f->C; c++)
                tile_weight(f, r, c, &s.cur[r * f->C + c].w_i, &s.cur[r * f->C + c].w_f);
    while (cycle >= 0 && (cycle < load_cycles || s.n_out < want_out)) {
        step(&s, cycle, load_cycles);
        cycle = s.bad || cycle + 1 > give_up ? -1 : cycle + 1;
    }
    free(s.cur);
    free(s.next);
    return cycle;
}
