/*
** compile/ub_plan.c: Unified Buffer planning by liveness — how much on-chip
** activation memory a model needs if every tensor that flows between nodes
** placed on the chip stays in the UB (the TPU v1 paper's 24 MiB UB holds the
** activations between layers; weights live in weight memory).
**
** A tensor is chip-resident when a chip node (mxu, activation or vector
** class, compile/place.c) produces it, or reads it (a graph input or host
** output is read into the UB before its first chip reader). It lives from its
** producer's step (a host-made one: its first chip reader's) to its last chip
** reader's step (at least its producer's: a result leaving the chip is written
** out right after it is made). An MXU result read only by activations fused
** into its ACTIVATE stage is never stored. Bytes: the MXU input format (1
** int8, 2 bf16), 4 (fp32) where a vector-unit op makes or reads it (it works
** in fp32 on the chips we model).
**
** Offsets: tensors are placed largest first, each at the lowest
** row-aligned offset that overlaps no already placed tensor alive at the same
** time (greedy offset assignment; the peak is an upper bound, the largest sum
** of bytes alive at one step a lower bound on any plan).
**
** In:  a prepared graph, its placements, a chip. Out: struct tpu_ub_plan.
*/
#include "compile/ub_plan.h"
#include <stdlib.h>
#include <string.h>

struct live { int tensor, first, last; uint64_t bytes, off; };

static int on_chip(enum tpu_place_class u)
{
    return u == TPU_PLACE_MXU || u == TPU_PLACE_ACTIVATION || u == TPU_PLACE_VECTOR;
}

static uint64_t round_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

/* Lifetime and size of tensor t from the live nodes that touch it; 0 when
** it never enters the UB (or has no known size). */
static int tensor_life(const struct tpu_graph *g, const struct tpu_place *pl, const struct tpu_chip *chip,
                       int t, struct live *lv)
{
    const struct tpu_tensor *x = g->tensors[t];
    int64_t numel = tpu_tensor_numel(x);
    if (x->is_const || numel <= 0) return 0;
    int prod = -1, first_rd = -1, last_rd = -1, wide = 0, readers = 0, fused_readers = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct tpu_node *n = &g->nodes[i];
        if (n->dead) continue;
        int chip_node = on_chip(pl[i].unit), vec = pl[i].unit == TPU_PLACE_VECTOR;
        for (int k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] == t) { prod = i; wide |= vec; if (!chip_node) prod = -2 - i; }
        for (int k = 0; k < n->n_inputs; k++)
            if (n->inputs[k] == t) {
                readers++;
                fused_readers += pl[i].unit == TPU_PLACE_ACTIVATION;
                if (!chip_node) continue;
                if (first_rd < 0) first_rd = i;
                last_rd = i;
                wide |= vec;
            }
    }
    int made_on_chip = prod >= 0;
    if (!made_on_chip && first_rd < 0) return 0;
    if (made_on_chip && pl[prod].unit == TPU_PLACE_MXU && readers && readers == fused_readers && !x->is_output)
        return 0;                       /* only read by ACTIVATE's fused function: never stored */
    lv->tensor = t;
    lv->first = made_on_chip ? prod : first_rd;
    lv->last = last_rd > lv->first ? last_rd : lv->first;
    uint64_t elem = wide ? 4 : (uint64_t)tpu_chip_elem_bytes(chip);
    lv->bytes = round_up((uint64_t)numel * elem, (uint64_t)(chip->array_rows * tpu_chip_elem_bytes(chip)));
    return 1;
}

static int by_size_desc(const void *a, const void *b)
{
    const struct live *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->tensor - y->tensor;                /* deterministic order */
}

static int overlaps_time(const struct live *a, const struct live *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* Lowest offset for lv[k] clear of every placed lv[0..k) alive with it
** (their indices gathered in ov): candidates are 0 and the end of each. */
static uint64_t first_fit(const struct live *lv, int k, int *ov)
{
    int m = 0;
    for (int j = 0; j < k; j++) if (overlaps_time(&lv[j], &lv[k])) ov[m++] = j;
    uint64_t best = UINT64_MAX;
    for (int c = -1; c < m; c++) {
        uint64_t off = c < 0 ? 0 : lv[ov[c]].off + lv[ov[c]].bytes;
        if (off >= best) continue;
        int clash = 0;
        for (int i = 0; i < m && !clash; i++) {
            const struct live *o = &lv[ov[i]];
            clash = off < o->off + o->bytes && o->off < off + lv[k].bytes;
        }
        if (!clash) best = off;
    }
    return best;
}

static void lower_bound(const struct tpu_graph *g, const struct live *lv, int n, struct tpu_ub_plan *p)
{
    for (int s = 0; s < g->n_nodes; s++) {
        uint64_t sum = 0;
        for (int i = 0; i < n; i++) if (lv[i].first <= s && s <= lv[i].last) sum += lv[i].bytes;
        if (sum > p->lower_bound_bytes) { p->lower_bound_bytes = sum; p->peak_node = s; }
    }
}

enum tpu_status tpu_ub_plan(struct tpu_graph *g, const struct tpu_place *places, const struct tpu_chip *chip,
                            struct tpu_ub_plan *p)
{
    memset(p, 0, sizeof *p);
    p->capacity_bytes = (uint64_t)chip->unified_buffer_bytes;
    p->peak_node = -1;
    p->largest_tensor = -1;
    size_t cap = (size_t)(g->n_tensors ? g->n_tensors : 1);
    struct live *lv = tpu_calloc(g->ctx, cap, sizeof *lv);
    int *ov = lv ? tpu_calloc(g->ctx, cap, sizeof *ov) : NULL;
    if (!ov) { free(lv); return TPU_ERR_NOMEM; }
    int n = 0;
    for (int t = 0; t < g->n_tensors; t++) n += tensor_life(g, places, chip, t, &lv[n]);
    qsort(lv, (size_t)n, sizeof *lv, by_size_desc);
    for (int k = 0; k < n; k++) {
        lv[k].off = first_fit(lv, k, ov);
        if (lv[k].off + lv[k].bytes > p->peak_bytes) p->peak_bytes = lv[k].off + lv[k].bytes;
    }
    lower_bound(g, lv, n, p);
    p->n_tensors = n;
    if (n) { p->largest_tensor = lv[0].tensor; p->largest_bytes = lv[0].bytes; }
    p->fits = p->peak_bytes <= p->capacity_bytes;
    free(ov);
    free(lv);
    return TPU_STATUS_OK;
}

/*---- Which transfers an on-chip schedule leaves out ----*/
/* 1 when t is no graph output and every live reader of it runs on the chip;
** a fused activation (ACTIVATE stage) passes the question on to its own
** results, as what leaves the MXU node is what that function makes. */
static int chip_only_readers(const struct tpu_graph *g, const struct tpu_place *pl, int t, int depth)
{
    if (g->tensors[t]->is_output || depth > 4) return 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const struct tpu_node *n = &g->nodes[i];
        if (n->dead) continue;
        for (int k = 0; k < n->n_inputs; k++) {
            if (n->inputs[k] != t) continue;
            if (!on_chip(pl[i].unit)) return 0;
            if (pl[i].unit == TPU_PLACE_ACTIVATION)
                for (int o = 0; o < n->n_outputs; o++)
                    if (n->outputs[o] >= 0 && !chip_only_readers(g, pl, n->outputs[o], depth + 1)) return 0;
        }
    }
    return 1;
}

/* mask[i]: TPU_RESIDENT_IN when every activation chip node i reads is in the
** UB already (a chip node made it, or an earlier chip node read it in),
** TPU_RESIDENT_OUT when its results are read only on the chip. */
static void residency_masks(const struct tpu_graph *g, const struct tpu_place *pl, uint8_t *in_ub,
                            uint8_t *mask)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const struct tpu_node *n = &g->nodes[i];
        if (n->dead || !on_chip(pl[i].unit)) continue;
        int in = 1, out = 1;
        for (int k = 0; k < n->n_inputs; k++) {
            int t = n->inputs[k];
            if (t < 0 || g->tensors[t]->is_const || tpu_tensor_numel(g->tensors[t]) <= 0) continue;
            in &= in_ub[t];
            in_ub[t] = 1;
        }
        for (int o = 0; o < n->n_outputs; o++) {
            int t = n->outputs[o];
            if (t < 0) continue;
            out &= chip_only_readers(g, pl, t, 0);
            in_ub[t] = 1;
        }
        mask[i] = (uint8_t)((in ? TPU_RESIDENT_IN : 0) | (out ? TPU_RESIDENT_OUT : 0));
    }
}

enum tpu_status tpu_ub_residency(struct tpu_graph *g, const struct tpu_chip *chip, uint8_t *mask,
                                 struct tpu_ub_plan *plan)
{
    memset(mask, 0, (size_t)g->n_nodes);
    struct tpu_place *pl = tpu_calloc(g->ctx, (size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *pl);
    uint8_t *in_ub = pl ? tpu_calloc(g->ctx, (size_t)(g->n_tensors ? g->n_tensors : 1), 1) : NULL;
    if (!in_ub) { free(pl); return TPU_ERR_NOMEM; }
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead) tpu_place_node(g, &g->nodes[i], chip, &pl[i]);
    enum tpu_status rc = tpu_ub_plan(g, pl, chip, plan);
    if (!rc && plan->fits) residency_masks(g, pl, in_ub, mask);
    free(in_ub);
    free(pl);
    return rc;
}

const char *tpu_ub_size_str(uint64_t b, char *buf, size_t n)
{
    if (b >= (1ull << 20)) snprintf(buf, n, "%.1f MiB", (double)b / (1 << 20));
    else if (b >= 1024) snprintf(buf, n, "%.1f KiB", (double)b / 1024);
    else snprintf(buf, n, "%llu bytes", (unsigned long long)b);
    return buf;
}

void tpu_ub_plan_print(const struct tpu_graph *g, const struct tpu_chip *chip, const struct tpu_ub_plan *p,
                       FILE *f)
{
    char need[32], have[32], lb[32], big[32];
    if (!p->n_tensors) {
        fprintf(f, "unified buffer: no activation stays on the chip between nodes (every chip node's "
                "operands cross the host link)\n");
        return;
    }
    tpu_ub_size_str(p->peak_bytes, need, sizeof need);
    tpu_ub_size_str(p->capacity_bytes, have, sizeof have);
    tpu_ub_size_str(p->lower_bound_bytes, lb, sizeof lb);
    tpu_ub_size_str(p->largest_bytes, big, sizeof big);
    fprintf(f, "unified buffer plan (liveness, %d chip-resident tensors): needs %s (no plan can need "
            "less than %s, at node '%s'); largest tensor '%s' %s; %s has %s: %s\n",
            p->n_tensors, need, lb, p->peak_node >= 0 ? g->nodes[p->peak_node].name : "?",
            g->tensors[p->largest_tensor]->name, big, chip->name, have,
            p->fits ? "fits" : "does NOT fit (a smaller --batch, or a chip with a larger unified_buffer_bytes)");
    fprintf(f, "  (what an on-chip schedule needs; tpusim run moves each layer's operands over the "
            "host link and reports the on-chip schedule's time as an estimate, docs/compiler.md)\n");
}

void tpu_ub_plan_json(const struct tpu_ub_plan *p, FILE *f)
{
    fprintf(f, "  \"ub_plan\": {\"tensors\": %d, \"peak_bytes\": %llu, \"lower_bound_bytes\": %llu, "
            "\"largest_tensor_bytes\": %llu, \"capacity_bytes\": %llu, \"fits\": %s},\n", p->n_tensors,
            (unsigned long long)p->peak_bytes, (unsigned long long)p->lower_bound_bytes,
            (unsigned long long)p->largest_bytes, (unsigned long long)p->capacity_bytes,
            p->fits ? "true" : "false");
}
