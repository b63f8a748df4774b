/*
** compile/place.c: where each node of a model runs on a chip — the MXU, the
** activation or vector unit, the host CPU, or nowhere (unsupported) — with the
** reason and what the user could change. The table is compile/place.def; the
** per-node rules here refine it (unknown ops, float64, the MXU lowering's own
** shape checks, whether the chip has a vector unit). Also a first-order time
** estimate per node: the ideal MXU time or weight streaming, whichever is
** longer, plus the node's host-link transfers.
**
** In:  a prepared graph (ir/), a chip (sim/sim_config.h).
** Out: struct tpu_place per node, read by compile/check.c and compile/run.c.
*/
#include "compile/place.h"
#include "compile/lower_vec.h"
#include "compile/mm_node.h"
#include <string.h>

enum place_kind { KIND_NONE, KIND_MXU, KIND_ACT, KIND_VEC, KIND_LAYOUT, KIND_HOST };

struct place_row { enum place_kind kind; const char *reason, *suggestion; };

static const struct place_row place_rows[TPU_OP_COUNT] = {
#define PLACE(op, kind, reason, suggestion) [TPU_OP_##op] = { KIND_##kind, reason, suggestion },
#include "compile/place.def"
#undef PLACE
};

const char *tpu_place_class_name(enum tpu_place_class u)
{
    static const char *names[TPU_PLACE_COUNT] = { "mxu", "activation", "vector", "host", "unsupported" };
    return u < TPU_PLACE_COUNT ? names[u] : "?";
}

static void set(struct tpu_place *p, enum tpu_place_class u, const char *could, const char *suggestion,
                const char *fmt, const char *a, const char *b)
{
    p->unit = u;
    p->could = could;
    snprintf(p->reason, sizeof p->reason, fmt, a, b);
    snprintf(p->suggestion, sizeof p->suggestion, "%s", suggestion ? suggestion : "");
}

/* Bytes of the node's non-constant inputs and of its outputs (host-link traffic). */
static void io_bytes(const struct tpu_graph *g, const struct tpu_node *n, int64_t *in, int64_t *out)
{
    *in = *out = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const struct tpu_tensor *t = tpu_in(g, n, i);
        if (t && !t->is_const && tpu_tensor_numel(t) > 0)
            *in += tpu_tensor_numel(t) * (int64_t)tpu_dtype_size(t->dtype);
    }
    for (int i = 0; i < n->n_outputs; i++) {
        const struct tpu_tensor *t = tpu_out(g, n, i);
        if (t && tpu_tensor_numel(t) > 0) *out += tpu_tensor_numel(t) * (int64_t)tpu_dtype_size(t->dtype);
    }
}

static int has_dtype(const struct tpu_graph *g, const struct tpu_node *n, enum tpu_dtype dt)
{
    for (int i = 0; i < n->n_inputs; i++) if (tpu_in(g, n, i) && tpu_in(g, n, i)->dtype == dt) return 1;
    for (int i = 0; i < n->n_outputs; i++) if (tpu_out(g, n, i) && tpu_out(g, n, i)->dtype == dt) return 1;
    return 0;
}

/* The MXU lowering itself (compile/mm_node.c, timing only, as run and bench
** ask it); a node it refuses goes to the host with its message. */
static void place_mxu(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                      const struct place_row *row, struct tpu_place *p)
{
    struct tpu_mm_desc d;
    char msg[sizeof p->reason];
    struct tpu_mm_node_opts mo = { 0, 1, 0, 0 };
    enum tpu_status rc = tpu_mm_node_check(g->ctx, g, n, chip, &mo, &d);
    if (rc == TPU_STATUS_OK) {
        set(p, TPU_PLACE_MXU, NULL, row->suggestion, "%s%s", row->reason, "");
        p->weight_elems = d.groups * d.K * d.N;
        p->mxu_rows = d.groups * d.M;
        return;
    }
    const char *m = tpu_errmsg(g->ctx), *tail = strstr(m, "): ");
    snprintf(msg, sizeof msg, "%s", tail ? tail + 3 : m);
    tpu_err_clear(g->ctx);
    set(p, TPU_PLACE_HOST, "mxu", "", "the MXU lowering refuses it (%s): host", msg, "");
}

static void place_by_row(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                         struct tpu_place *p)
{
    const struct place_row *row = &place_rows[n->op];
    switch (row->kind) {
    case KIND_MXU:
        place_mxu(g, n, chip, row, p);
        break;
    case KIND_ACT:
        if (tpu_vec_fused_act(g, n, chip, 0)) set(p, TPU_PLACE_ACTIVATION, NULL, row->suggestion, "%s%s", row->reason, "");
        else set(p, TPU_PLACE_HOST, "activation", row->suggestion, "%s; %s: host", row->reason,
                 n->op == TPU_OP_MAX_POOL || n->op == TPU_OP_AVERAGE_POOL ? "not fused by the lowering yet"
                 : "not fusable here");
        break;
    case KIND_VEC:
        if (!chip->vector_unit)
            set(p, TPU_PLACE_HOST, "vector", row->suggestion, "no vector unit on %s: host", chip->name, "");
        else
            set(p, TPU_PLACE_HOST, "vector", row->suggestion,
                "%s; no vector lowering yet: host", row->reason, "");
        break;
    case KIND_LAYOUT:
        set(p, TPU_PLACE_HOST, NULL, row->suggestion, "%s: host (no on-chip layout lowering yet)",
            row->reason, "");
        break;
    case KIND_HOST:
        set(p, TPU_PLACE_HOST, NULL, row->suggestion, "%s: host", row->reason, "");
        break;
    default:
        set(p, TPU_PLACE_HOST, NULL, "", "no chip lowering for %s: host", n->op_type, "");
    }
}

/* Ops the vector lowering covers, on chips with a vector unit: placed where
** compile/run_vec.c runs them (the lowering's own decision). Returns 1 when
** it decided. */
static int place_vec(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip, struct tpu_place *p)
{
    if (!chip->vector_unit || !tpu_vec_covers(n->op) || tpu_vec_fused_act(g, n, chip, 0)) return 0;
    struct tpu_vec_plan v;
    char why[sizeof p->reason];
    const char *sug = place_rows[n->op].suggestion;
    if (tpu_vec_plan_node(g, n, chip, &v, why, sizeof why)) {
        set(p, TPU_PLACE_VECTOR, NULL, "", "%s on the vector unit: %s", n->op_type, v.insns);
        p->vec_elems = v.rows * v.len * v.n_steps;
        p->vec_link_bytes = (int64_t)v.host_bytes;
    } else
        set(p, TPU_PLACE_HOST, "vector", sug, "%s%s", why, "");
    return 1;
}

/* Per-node special cases before the table. Returns 1 when it decided. */
static int place_special(struct tpu_graph *g, struct tpu_node *n, struct tpu_place *p)
{
    if (n->op == TPU_OP_UNKNOWN) {
        set(p, TPU_PLACE_UNSUPPORTED, NULL, "replace it with standard ONNX ops, or re-export with "
            "torch.onnx.export(..., opset_version=17)", "op %s has no lowering and no host kernel%s",
            n->op_type, "");
        return 1;
    }
    if (has_dtype(g, n, TPU_DTYPE_F64)) {
        set(p, TPU_PLACE_HOST, NULL, "export in float32 (model.float() before torch.onnx.export)",
            "dtype float64: host%s%s", "", "");
        return 1;
    }
    if (n->op == TPU_OP_RESIZE) {
        const char *mode = tpu_attr_str(n, "mode", "nearest");
        set(p, TPU_PLACE_HOST, NULL, strcmp(mode, "cubic") == 0 ? "use mode 'nearest' or 'linear' "
            "(F.interpolate(mode='nearest'))" : "", "Resize mode %s: host%s", mode, "");
        return 1;
    }
    return 0;
}

/* First-order time: MXU nodes max(ideal MAC time, weight streaming) plus
** their host transfers (the current lowering moves every layer's input and
** output over the host link); vector nodes their program's host-link bytes
** (gathered rows in, results out) plus their elements through the lanes;
** host nodes their inputs and outputs. */
static void estimate(const struct tpu_graph *g, const struct tpu_node *n, const struct tpu_chip *c,
                     struct tpu_place *p)
{
    int64_t in, out;
    io_bytes(g, n, &in, &out);
    double host_cyc = (double)(in + out) / tpu_chip_host_bytes_per_cycle(c), cyc = 0;
    if (p->unit == TPU_PLACE_MXU) {
        double mac_cyc = (double)p->macs / (double)(c->array_rows * c->array_cols * c->mxu_count);
        double w_cyc = (double)(p->weight_elems * tpu_chip_elem_bytes(c)) / tpu_chip_dram_bytes_per_cycle(c);
        cyc = (mac_cyc > w_cyc ? mac_cyc : w_cyc) + host_cyc;
    } else if (p->unit == TPU_PLACE_VECTOR)
        cyc = (double)p->vec_link_bytes / tpu_chip_host_bytes_per_cycle(c) +
              (double)p->vec_elems / (double)c->activation_lanes;
    else if (p->unit == TPU_PLACE_HOST) cyc = host_cyc;
    p->host_bytes = in + out;
    p->est_seconds = cyc / (c->clock_mhz * 1e6);
}

void tpu_place_node(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                    struct tpu_place *p)
{
    memset(p, 0, sizeof *p);
    p->macs = n->op != TPU_OP_UNKNOWN ? tpu_op_macs_fn(n->op)(g, n) : 0;
    if (p->macs < 0) p->macs = 0;
    if (!place_special(g, n, p) && !place_vec(g, n, chip, p)) place_by_row(g, n, chip, p);
    estimate(g, n, chip, p);
}
