/*
** compile/driver_link.c: the host driver at the host link itself. The
** buffered path packs a matrix op's whole input into a host buffer, the
** simulated RD_HOST copies each pass of it into the unified buffer, WR_HOST
** copies each pass of results out to the host buffer and the driver unpacks
** them after the run: two copies of every byte through a buffer as large as
** the op's input and 32-bit results (hundreds of MB for a batch-8 first
** convolution). Here sim/'s host_link hook does the host side at each
** transfer instead: RD_HOST of a pass packs that pass straight into the UB
** (tpu_mm_pack_pass, the bytes the buffer would have held), WR_HOST of a pass
** dequantises it straight from the UB into the output (tpu_mm_unpack_pass).
** The instructions, their timing and counters are untouched.
**
** In:  a lowered matrix op (compile/lower.c: one RD_HOST per pass, one per
**      group's tables, one WR_HOST per pass), its fp32 input.
** Out: the fp32 output, the simulator's cycles and counters.
*/
#include "compile/compile.h"
#include "compile/driver.h"
#include <stdlib.h>
#include <string.h>

struct link {
    const struct tpu_chip    *c;
    const struct tpu_lowered *l;
    const uint8_t            *q;          /* tpu_mm_quantise's copy           */
    const uint8_t            *tab;        /* groups x tab_bytes               */
    float                     alpha;
    const float              *out_bias;
    float                    *y, *blk;
    int                       keep_tail;  /* only RD_HOST writes the input rows (inputs_alone) */
    const uint8_t            *tail_ub;    /* where the last pass was packed, */
    int64_t                   tail_rows;  /* its rows: their K tails are zeros */
};

static uint64_t pass_in(const struct tpu_chip *c, const struct tpu_lowered *l, int64_t rows)
{
    return (uint64_t)(l->k_tiles * rows * c->array_rows * tpu_chip_elem_bytes(c));
}
static uint64_t pass_out(const struct tpu_chip *c, const struct tpu_lowered *l, int64_t rows)
{
    return (uint64_t)(l->n_tiles * rows * c->array_cols * 4);
}

enum { LINK_NONE = -1, LINK_TABLES = -2 };

/* Which host range [a, a + n) is: a whole pass's input (RD_HOST) or results
** (WR_HOST), its index; LINK_TABLES: inside the tables (RD_HOST); LINK_NONE:
** anything else. */
static int64_t link_match(const struct tpu_chip *c, const struct tpu_lowered *l, int to_host,
                          uint64_t a, uint64_t n)
{
    int64_t passes = l->d.groups * l->n_chunks;
    uint64_t tab_end = l->host_tab_off + (uint64_t)l->d.groups * l->tab_bytes;
    if (!to_host && l->tab_bytes && a >= l->host_tab_off && n <= tab_end - a && a < tab_end)
        return LINK_TABLES;
    uint64_t base = to_host ? l->host_out_off : 0;
    uint64_t full = to_host ? pass_out(c, l, l->mrows) : pass_in(c, l, l->mrows);
    if (a < base || !full || (a - base) % full) return LINK_NONE;
    int64_t p = (int64_t)((a - base) / full);
    if (p >= passes) return LINK_NONE;
    int64_t mc = p % l->n_chunks, rows = l->d.M - mc * l->mrows < l->mrows ? l->d.M - mc * l->mrows : l->mrows;
    if (n != (to_host ? pass_out(c, l, rows) : pass_in(c, l, rows))) return LINK_NONE;
    if (!to_host && base + (uint64_t)p * full + n > l->host_out_off) return LINK_NONE;
    return p;
}

/* 1 when every RD_HOST / WR_HOST of l's program is one link_match takes. */
static int link_covers(const struct tpu_chip *c, const struct tpu_lowered *l)
{
    const struct tpu_program *p = l->prog;
    for (int64_t i = 0; i < p->n_insns; i++) {
        const struct tpu_insn *in = &p->insns[i];
        if (in->opcode != TPU_INSN_RD_HOST && in->opcode != TPU_INSN_WR_HOST) continue;
        if (link_match(c, l, in->opcode == TPU_INSN_WR_HOST, in->a, in->c) == LINK_NONE) return 0;
    }
    return 1;
}

/* 1 when nothing but the passes' RD_HOSTs (at UB 0) writes the UB below a
** full pass's input bytes' end (ACTIVATE outputs and tables lie past it, no
** vector instructions): a pass's K-tail zeros then stay until the next pass
** packs over them. */
static int inputs_alone(const struct tpu_chip *c, const struct tpu_lowered *l)
{
    const struct tpu_program *p = l->prog;
    uint64_t in_end = pass_in(c, l, l->mrows);
    for (int64_t i = 0; i < p->n_insns; i++) {
        const struct tpu_insn *in = &p->insns[i];
        switch (in->opcode) {
        case TPU_INSN_ACTIVATE: if (in->b < in_end) return 0; break;
        case TPU_INSN_RD_HOST:                         /* there: a pass's input, packed at 0 */
            if (in->b < in_end && (in->b != 0 || link_match(c, l, 0, in->a, in->c) < 0)) return 0;
            break;
        case TPU_INSN_WR_HOST: case TPU_INSN_MATMUL: case TPU_INSN_RD_WEIGHTS:
        case TPU_INSN_LD_WEIGHTS: case TPU_INSN_SET_CFG: case TPU_INSN_SYNC: case TPU_INSN_NOP:
        case TPU_INSN_HALT: case TPU_INSN_DEBUG: case TPU_INSN_INTERRUPT: break;
        default: return 0;
        }
    }
    return 1;
}

static int link_io(void *user, int to_host, uint64_t a, uint8_t *ub, uint64_t n)
{
    struct link *k = user;
    const struct tpu_lowered *l = k->l;
    int64_t p = link_match(k->c, l, to_host, a, n);
    if (p == LINK_NONE) return 0;
    if (p == LINK_TABLES) { memcpy(ub, k->tab + (a - l->host_tab_off), (size_t)n); return 1; }
    int64_t g = p / l->n_chunks, mc = p % l->n_chunks;
    if (to_host) { tpu_mm_unpack_pass(k->c, l, ub, g, mc, k->alpha, k->out_bias, k->y, k->blk); return 1; }
    int64_t rows = l->d.M - mc * l->mrows < l->mrows ? l->d.M - mc * l->mrows : l->mrows;
    tpu_mm_pack_pass_tail(k->c, l, k->q, g, mc, k->keep_tail && k->tail_ub == ub && k->tail_rows == rows, ub);
    k->tail_ub = ub;
    k->tail_rows = rows;
    return 1;
}

enum tpu_status tpu_mm_run_linked(struct tpu_sim *s, const struct tpu_chip *c, struct tpu_lowered *l,
                                  const float *x, const float *bias, float lo, float hi, float alpha,
                                  const float *out_bias, float *y, int *taken)
{
    *taken = 0;
    if (s->timing_only || s->host_link || !link_covers(c, l)) return TPU_STATUS_OK;
    uint64_t tab_n = (uint64_t)l->d.groups * l->tab_bytes;
    if (tab_n > SIZE_MAX / 2) return TPU_STATUS_OK;
    uint8_t *tab = tab_n ? malloc((size_t)tab_n) : NULL;
    float *blk = malloc(sizeof(float) * (size_t)(TPU_MM_UNPACK_RB * c->array_cols));
    uint8_t *q = (tab || !tab_n) && blk ? tpu_mm_quantise(c, l, x) : NULL;
    if (!q) { free(tab); free(blk); return TPU_STATUS_OK; }
    if (tab) tpu_mm_pack_tables_at(c, l, bias, lo, hi, tab);
    struct link k = { c, l, q, tab, alpha, out_bias, y, blk, inputs_alone(c, l), NULL, 0 };
    s->host_link = link_io;
    s->host_link_user = &k;
    enum tpu_status rc = tpu_sim_run(s, l->prog, NULL, l->host_bytes);
    s->host_link = NULL;
    s->host_link_user = NULL;
    free(q); free(tab); free(blk);
    *taken = 1;
    return rc;
}
