/*
** compile/run_vec.c: the chip runner's entry for a node the vector lowering
** takes (compile/lower_vec.c): lower it, pack its inputs into host memory,
** simulate the program (sim/, bit-exact fp32 vector unit), unpack the rows
** into the output tensor, add the "vector" layer row and compare it with the
** reference kernel on the same inputs. Each node is a program of its own:
** its input and output cross the host link (RD_HOST / WR_HOST, counted in
** time and energy); keeping activations on chip is a later step.
**
** In:  a node of a prepared graph whose inputs have values (or shapes only in
**      timing-only runs), the runner's simulator and report.
** Out: the node's output tensor, a layer row in the report.
*/
#include "compile/compile.h"
#include "compile/lower_vec.h"
#include "compile/mm_node.h"
#include "ref/ref_elem.h"
#include <math.h>
#include <string.h>

static struct tpu_layer_row *add_row(const struct tpu_vec_run *v, const char *name, const char *op,
                                     const char *unit, int64_t cycles)
{
    return tpu_report_add_row(v->ctx, v->r, name, op, unit, cycles, 0);
}

/* The node's rows: with one chunk "input" (RD_HOST, host link), the node
** (vector), "output" (WR_HOST), split at the DEBUG marks the lowering put
** after the input's SYNC and the vector work's SYNC; with several chunks
** (transfers overlap the work) one vector row. Returns the vector row. */
static struct tpu_layer_row *add_rows(const struct tpu_vec_run *v, struct tpu_node *n, int first_mark,
                                      int64_t t0)
{
    int64_t in_at = -1, out_at = -1, t_end = v->sim->end;
    for (int i = first_mark; i < v->sim->n_marks; i++) {
        if (v->sim->marks[i].tag == TPU_TAG_HOST_IN) in_at = v->sim->marks[i].cycle;
        if (v->sim->marks[i].tag == TPU_TAG_COMPUTE) out_at = v->sim->marks[i].cycle;
    }
    if (in_at < 0 || out_at < 0) return add_row(v, n->name, n->op_type, "vector", t_end - t0);
    char name[200];
    snprintf(name, sizeof name, "%s: input", n->name);
    if (!add_row(v, name, "RD_HOST", "host", in_at - t0)) return NULL;
    struct tpu_layer_row *row = add_row(v, n->name, n->op_type, "vector", out_at - in_at);
    if (!row) return NULL;
    int at = (int)(row - v->r->rows);
    snprintf(name, sizeof name, "%s: output", n->name);
    if (!add_row(v, name, "WR_HOST", "host", t_end - out_at)) return NULL;
    return &v->r->rows[at];                       /* add_row may have moved the rows */
}

/* The reference kernel's output into t (already shaped), compared with y. */
static void compare_ref(const struct tpu_vec_run *v, struct tpu_node *n, struct tpu_tensor *t, const float *y,
                        int64_t count, struct tpu_layer_row *row)
{
    enum tpu_status rc = tpu_op_ref_fn(n->op)(v->g, n);
    if (rc) { tpu_err_clear(v->ctx); return; }     /* not comparable: row says n/a */
    double err2 = 0, ref2 = 0, mx = 0;
    const float *ref = t->data;
    for (int64_t i = 0; i < count; i++) {            /* equal values (infinities too) add no error */
        double e = y[i] == ref[i] ? 0 : (double)y[i] - ref[i];
        err2 += e * e;
        if (isfinite(ref[i])) ref2 += (double)ref[i] * ref[i];
        mx = fmax(mx, fabs(e));
    }
    row->compared = 1;
    row->nmse = ref2 > 0 ? err2 / ref2 : err2;
    row->max_abs_err = mx;
}

static enum tpu_status run_values(const struct tpu_vec_run *v, struct tpu_node *n, struct tpu_vec_plan *p,
                                  const struct tpu_program *prog, float **y_out)
{
    for (int i = 0; i < n->n_inputs; i++) {
        const struct tpu_tensor *t = tpu_in(v->g, n, i);
        if (t && !tpu_ir_omitted(t) && !t->data)
            return tpu_node_err(v->g, n, TPU_ERR_UNSUPPORTED, "input %d ('%s') has no values", i, t->name);
    }
    uint8_t *host = tpu_calloc(v->ctx, (size_t)p->host_bytes, 1);
    float *y = host ? tpu_malloc(v->ctx, (size_t)p->out_numel * sizeof(float)) : NULL;
    if (!y) { free(host); return TPU_ERR_NOMEM; }
    tpu_vec_pack(v->g, n, p, host);
    enum tpu_status rc = tpu_sim_run(v->sim, prog, host, p->host_bytes);
    if (!rc) tpu_vec_unpack(p, host, y);
    free(host);
    if (rc) { free(y); return rc; }
    *y_out = y;
    return TPU_STATUS_OK;
}

enum tpu_status tpu_run_vec_node(const struct tpu_vec_run *v, struct tpu_node *n)
{
    struct tpu_vec_plan p;
    char why[320];
    if (!tpu_vec_plan_node(v->g, n, v->chip, &p, why, sizeof why))
        return tpu_node_err(v->g, n, TPU_ERR_UNSUPPORTED, "%s", why);
    enum tpu_status rc = tpu_op_shape_fn(n->op)(v->g, n);
    struct tpu_tensor *t = tpu_out(v->g, n, 0);
    if (!rc && tpu_tensor_numel(t) != p.out_numel)
        rc = tpu_node_err(v->g, n, TPU_ERR_SHAPE, "vector lowering made %lld values, the output has %lld",
                          (long long)p.out_numel, (long long)tpu_tensor_numel(t));
    struct tpu_program *prog = NULL;
    if (!rc) rc = tpu_lower_vec(v->ctx, v->chip, &p, &prog);
    int64_t t0 = v->sim->end;
    int first_mark = v->sim->n_marks;
    struct tpu_sim_counters c0 = v->sim->ctr;
    float *y = NULL;
    if (!rc && v->timing_only) rc = tpu_sim_run(v->sim, prog, NULL, p.host_bytes);
    else if (!rc) rc = run_values(v, n, &p, prog, &y);
    tpu_program_free(prog);
    struct tpu_layer_row *row = rc ? NULL : add_rows(v, n, first_mark, t0);
    if (!rc && !row) rc = TPU_ERR_NOMEM;
    if (!rc) row->energy_j += tpu_sim_dynamic_energy(v->chip, &v->sim->ctr, &c0);   /* the node's events */
    if (!rc && y) {
        t->dtype = TPU_DTYPE_F32;
        rc = tpu_tensor_alloc(v->ctx, t);
        if (!rc && v->compare) compare_ref(v, n, t, y, p.out_numel, row);
        if (!rc) memcpy(t->data, y, (size_t)p.out_numel * sizeof(float));
    }
    free(y);
    return rc;
}

enum tpu_status tpu_vec_sim_timing(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_node *n,
                                   const struct tpu_chip *chip, struct tpu_sim *s, int resident)
{
    struct tpu_vec_plan p;
    char why[320];
    if (!tpu_vec_plan_node(g, n, chip, &p, why, sizeof why))
        return tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "%s", why);
    p.resident = resident;
    struct tpu_program *prog = NULL;
    enum tpu_status rc = tpu_lower_vec(ctx, chip, &p, &prog);
    if (!rc) rc = tpu_sim_run(s, prog, NULL, p.host_bytes);
    tpu_program_free(prog);
    return rc;
}

/* f is fused into the MXU node m that makes its input when m's lowering
** (compile/mm_node.c, the fusion plan of mm_act.c) says so: ACTIVATE applies
** it, or, with host_ops, the host driver applies a Relu / Clip to m's output.
** Either way f has no program of its own. An m the lowering refuses runs on
** the host, and f after it. */
int tpu_vec_fused_act(struct tpu_graph *g, struct tpu_node *f, const struct tpu_chip *chip, int host_ops)
{
    const struct tpu_tensor *x = f->n_inputs > 0 && f->inputs[0] >= 0 ? tpu_in(g, f, 0) : NULL;
    if (!x || x->producer < 0) return 0;
    struct tpu_node *m = &g->nodes[x->producer];
    if (!tpu_mm_node_op(m->op)) return 0;
    struct tpu_mm_node mn;
    struct tpu_mm_node_opts mo = { 0, 1, host_ops, 0 };      /* timing only, as run lowers m */
    int fused = 0;
    if (tpu_mm_lower_node(g->ctx, g, m, chip, &mo, &mn)) tpu_err_clear(g->ctx);
    else fused = mn.fz.f == f;                    /* on chip, or (host_ops) by the host driver */
    tpu_mm_node_free(&mn);
    return fused;
}
