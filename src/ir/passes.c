/*
** ir/passes.c: tpu_graph_prepare — the passes every loaded graph goes through
** before anything runs it.
**
** In:  a graph from onnx/ (or built by hand), optional --shape bindings.
** Out: the same graph, validated, in topological order, with dead nodes
**      removed, shapes inferred and constant subgraphs folded; g->prep
**      (ir/passes.h) records what the executor and the reports need.
** Then: ref/ref_exec.c runs it; report/ describes it; compile/ lowers it.
**
** Validation collects every problem (like SQLite's pParse->nErr) and reports
** them all, one per line, in the context's message.
*/
#include "ir/passes.h"
#include <string.h>

#define FOLD_MAX_ELEMENTS ((int64_t)1 << 20)   /* outputs larger stay runtime work */

/*---- Collected messages ----*/
struct msgs {
    struct tpu_ctx *ctx;
    char            buf[2048];      /* as much as the context's message holds */
    size_t          len;
    int             n, n_dropped;
    enum tpu_status rc;             /* first non-UNSUPPORTED status, else UNSUPPORTED */
};

/* Moves the context's current error into the collection and clears it. */
static void collect(struct msgs *m, enum tpu_status rc)
{
    const char *msg = tpu_errmsg(m->ctx);
    if (m->rc == TPU_STATUS_OK || (m->rc == TPU_ERR_UNSUPPORTED && rc != TPU_ERR_UNSUPPORTED))
        m->rc = rc;
    size_t k = strlen(msg);
    if (m->len + k + 2 < sizeof m->ctx->errmsg - 64) {     /* the rest is counted, not cut */
        if (m->len) m->buf[m->len++] = '\n';
        memcpy(m->buf + m->len, msg, k + 1);
        m->len += k;
    } else {
        m->n_dropped++;
    }
    m->n++;
    tpu_err_clear(m->ctx);
}

static enum tpu_status finish(struct msgs *m)
{
    if (m->rc == TPU_STATUS_OK) return TPU_STATUS_OK;
    if (m->n_dropped)
        snprintf(m->buf + m->len, sizeof m->buf - m->len, "\n... and %d more", m->n_dropped);
    tpu_err_clear(m->ctx);
    return tpu_err(m->ctx, m->rc, "%s", m->buf);
}

/*---- Shape bindings ----*/
static int find_input(const struct tpu_graph *g, const char *name, int len)
{
    for (int i = 0; i < g->n_inputs; i++) {
        const char *x = g->tensors[g->inputs[i]]->name;
        if (strncmp(x, name, (size_t)len) == 0 && x[len] == 0) return i;
    }
    return -1;
}

static void bind_one(struct tpu_graph *g, const struct tpu_shape_binding *b, struct msgs *m)
{
    int len = b->name_len > 0 ? b->name_len : (int)strlen(b->name);
    int i = find_input(g, b->name, len);
    if (i < 0) {
        tpu_err(g->ctx, TPU_ERR_USAGE, "%s: --shape: the model has no input named '%.*s'",
                g->path, len, b->name);
        collect(m, TPU_ERR_USAGE);
        return;
    }
    struct tpu_tensor *t = g->tensors[g->inputs[i]];
    if (b->n_dims < 0 || b->n_dims > TPU_MAX_DIMS || (t->n_dims >= 0 && t->n_dims != b->n_dims)) {
        tpu_tensor_err(g, t, TPU_ERR_USAGE, "--shape gives %d dims, the input has %d",
                       b->n_dims, t->n_dims);
        collect(m, TPU_ERR_USAGE);
        return;
    }
    for (int d = 0; d < b->n_dims; d++) {
        bool fixed = t->n_dims >= 0 && t->dims[d] >= 0 && !t->dim_param[d];
        if (b->dims[d] < 0 || (fixed && t->dims[d] != b->dims[d])) {
            tpu_tensor_err(g, t, TPU_ERR_USAGE, "--shape dim %d is %lld, the model fixes it to %lld",
                           d, (long long)b->dims[d], (long long)t->dims[d]);
            collect(m, TPU_ERR_USAGE);
        return;
        }
    }
    for (int d = 0; t->data && d < b->n_dims; d++) {
        if (t->dims[d] == b->dims[d]) continue;
        tpu_tensor_err(g, t, TPU_ERR_USAGE, "--shape dim %d is %lld, the value given has %lld",
                       d, (long long)b->dims[d], (long long)t->dims[d]);
        collect(m, TPU_ERR_USAGE);
        return;
    }
    if (t->n_dims < 0)
        for (int d = 0; d < b->n_dims; d++) t->dim_param[d] = NULL;
    t->n_dims = b->n_dims;
    for (int d = 0; d < b->n_dims; d++) t->dims[d] = b->dims[d];
}

enum tpu_status tpu_graph_bind_shapes(struct tpu_ctx *ctx, struct tpu_graph *g,
                                      const struct tpu_shape_binding *bindings, int n_bindings)
{
    tpu_err_clear(ctx);
    struct msgs *m = tpu_calloc(ctx, 1, sizeof *m);
    if (!m) return TPU_ERR_NOMEM;
    m->ctx = ctx;
    for (int b = 0; b < n_bindings; b++) bind_one(g, &bindings[b], m);
    enum tpu_status rc = finish(m);
    free(m);
    return rc;
}

enum tpu_status tpu_shape_binding_parse(struct tpu_ctx *ctx, const char *s, struct tpu_shape_binding *b)
{
    const char *eq = strrchr(s, '=');
    memset(b, 0, sizeof *b);
    if (!eq || eq == s)
        return tpu_err(ctx, TPU_ERR_USAGE, "--shape %s: expected NAME=d0,d1,...", s);
    b->name = s;
    b->name_len = (int)(eq - s);
    for (const char *p = eq + 1; *p;) {
        char *end;
        long long v = strtoll(p, &end, 10);
        if (end == p || v < 0 || v > ((int64_t)1 << 40) || (*end && *end != ',') || b->n_dims == TPU_MAX_DIMS)
            return tpu_err(ctx, TPU_ERR_USAGE, "--shape %s: dims must be up to %d numbers >= 0, comma-separated",
                           s, TPU_MAX_DIMS);
        b->dims[b->n_dims++] = v;
        p = *end ? end + 1 : end;
    }
    return TPU_STATUS_OK;
}

int tpu_graph_default_dims(struct tpu_graph *g, int64_t value, char *notes, size_t n_notes)
{
    int n_set = 0;
    size_t k = 0;
    if (notes && n_notes) notes[0] = 0;
    for (int i = 0; i < g->n_inputs; i++) {
        struct tpu_tensor *t = g->tensors[g->inputs[i]];
        if (t->data) continue;
        for (int d = 0; d < t->n_dims; d++) {
            if (t->dims[d] >= 0) continue;
            t->dims[d] = value;
            n_set++;
            if (notes && k + 1 < n_notes)
                k += (size_t)snprintf(notes + k, n_notes - k, "input '%s': dim %d ('%s') not bound, using %lld\n",
                                      t->name, d, t->dim_param[d] ? t->dim_param[d] : "?", (long long)value);
        }
    }
    return n_set;
}

/*---- Structural validation ----*/
static int effective_count(const int *ids, int n)
{
    while (n > 0 && ids[n - 1] < 0) n--;
    return n;
}

static void check_arity(struct tpu_graph *g, struct tpu_node *n, struct msgs *m)
{
    int n_in = effective_count(n->inputs, n->n_inputs), n_out = effective_count(n->outputs, n->n_outputs);
    int imin = tpu_op_in_min(n->op), imax = tpu_op_in_max(n->op);
    int omin = tpu_op_out_min(n->op), omax = tpu_op_out_max(n->op);
    if (n_in < imin || (imax >= 0 && n_in > imax)) {
        tpu_node_err(g, n, TPU_ERR_FORMAT, "has %d inputs; %s takes %d to %d", n_in, n->op_type, imin, imax);
        collect(m, TPU_ERR_FORMAT);
    }
    if (n_out < omin || (omax >= 0 && n_out > omax)) {
        tpu_node_err(g, n, TPU_ERR_FORMAT, "has %d outputs; %s gives %d to %d", n_out, n->op_type, omin, omax);
        collect(m, TPU_ERR_FORMAT);
    }
    for (int i = 0; i < imin && i < n_in; i++) {
        if (n->inputs[i] >= 0) continue;
        tpu_node_err(g, n, TPU_ERR_FORMAT, "input %d is required but omitted", i);
        collect(m, TPU_ERR_FORMAT);
    }
}

/* Sets producer and n_consumers of every tensor; reports double producers. */
static void link_tensors(struct tpu_graph *g, struct msgs *m)
{
    for (int t = 0; t < g->n_tensors; t++) {
        g->tensors[t]->producer = -1;
        g->tensors[t]->n_consumers = 0;
    }
    for (int k = 0; k < g->n_nodes; k++) {
        struct tpu_node *n = &g->nodes[k];
        for (int i = 0; i < n->n_inputs; i++)
            if (n->inputs[i] >= 0) g->tensors[n->inputs[i]]->n_consumers++;
        for (int o = 0; o < n->n_outputs; o++) {
            if (n->outputs[o] < 0) continue;
            struct tpu_tensor *t = g->tensors[n->outputs[o]];
            if (t->producer >= 0 || t->is_const || t->is_input) {
                const char *who = t->producer >= 0 ? g->nodes[t->producer].name : NULL;
                if (who) tpu_node_err(g, n, TPU_ERR_FORMAT, "output '%s' is also produced by node '%s'", t->name, who);
                else tpu_node_err(g, n, TPU_ERR_FORMAT, "output '%s' is also a graph input or initializer", t->name);
                collect(m, TPU_ERR_FORMAT);
                continue;
            }
            t->producer = k;
        }
    }
}

static bool has_value_source(const struct tpu_tensor *t)
{
    return t->producer >= 0 || t->is_input || t->is_const;
}

static void check_dangling(struct tpu_graph *g, struct msgs *m)
{
    for (int k = 0; k < g->n_nodes; k++) {
        struct tpu_node *n = &g->nodes[k];
        if (n->op != TPU_OP_UNKNOWN) check_arity(g, n, m);
        for (int i = 0; i < n->n_inputs; i++) {
            if (n->inputs[i] < 0 || has_value_source(g->tensors[n->inputs[i]])) continue;
            tpu_node_err(g, n, TPU_ERR_FORMAT,
                         "input '%s' is not produced by any node, nor a graph input or initializer",
                         g->tensors[n->inputs[i]]->name);
            collect(m, TPU_ERR_FORMAT);
        }
    }
    for (int i = 0; i < g->n_outputs; i++) {
        struct tpu_tensor *t = g->tensors[g->outputs[i]];
        if (has_value_source(t)) continue;
        tpu_tensor_err(g, t, TPU_ERR_FORMAT, "graph output is not produced by any node, nor a graph input or initializer");
        collect(m, TPU_ERR_FORMAT);
    }
}

/*---- Topological order (Kahn, smallest file index first) ----*/
struct heap { int *v; int n; };

static void heap_push(struct heap *h, int x)
{
    int i = h->n++;
    h->v[i] = x;
    while (i > 0 && h->v[(i - 1) / 2] > h->v[i]) {
        int p = (i - 1) / 2, tmp = h->v[p];
        h->v[p] = h->v[i]; h->v[i] = tmp; i = p;
    }
}

static int heap_pop(struct heap *h)
{
    int top = h->v[0], i = 0;
    h->v[0] = h->v[--h->n];
    for (;;) {
        int l = 2 * i + 1, r = l + 1, s = i;
        if (l < h->n && h->v[l] < h->v[s]) s = l;
        if (r < h->n && h->v[r] < h->v[s]) s = r;
        if (s == i) return top;
        int tmp = h->v[s]; h->v[s] = h->v[i]; h->v[i] = tmp; i = s;
    }
}

/* Names a cycle among the nodes left with in-degree > 0: walks producers
** from one of them until a node repeats; that node is on the cycle. */
static void report_cycle(struct tpu_graph *g, const int *indeg, struct msgs *m)
{
    int start = 0, *seen = tpu_calloc(g->ctx, (size_t)g->n_nodes, sizeof *seen);
    if (!seen) { collect(m, TPU_ERR_NOMEM); return; }
    while (indeg[start] == 0) start++;
    int k = start;
    while (!seen[k]) {
        seen[k] = 1;
        struct tpu_node *n = &g->nodes[k];
        for (int i = 0; i < n->n_inputs; i++) {
            int p = n->inputs[i] >= 0 ? g->tensors[n->inputs[i]]->producer : -1;
            if (p >= 0 && indeg[p] > 0) { k = p; break; }
        }
    }
    char path[512];
    size_t len = (size_t)snprintf(path, sizeof path, "%s", g->nodes[k].name);
    for (int j = k, steps = 0; steps < 64; steps++) {
        struct tpu_node *n = &g->nodes[j];
        for (int i = 0; i < n->n_inputs; i++) {
            int p = n->inputs[i] >= 0 ? g->tensors[n->inputs[i]]->producer : -1;
            if (p >= 0 && indeg[p] > 0 && seen[p]) { j = p; break; }
        }
        if (len < sizeof path) len += (size_t)snprintf(path + len, sizeof path - len, " <- %s", g->nodes[j].name);
        if (j == k) break;
    }
    free(seen);
    tpu_node_err(g, &g->nodes[k], TPU_ERR_FORMAT, "is on a cycle (%s)", path);
    collect(m, TPU_ERR_FORMAT);
}

/* Fills order[0..n_nodes) with a topological order; reports a cycle. */
static enum tpu_status topo_order(struct tpu_graph *g, int *order, struct msgs *m)
{
    int nn = g->n_nodes, n_done = 0;
    int *indeg = tpu_calloc(g->ctx, (size_t)nn + 1, sizeof *indeg);
    int *cstart = tpu_calloc(g->ctx, (size_t)g->n_tensors + 1, sizeof *cstart);
    int *cfill = tpu_calloc(g->ctx, (size_t)g->n_tensors + 1, sizeof *cfill);
    int *clist = NULL;
    struct heap h = { tpu_calloc(g->ctx, (size_t)nn + 1, sizeof(int)), 0 };
    size_t n_edges = 0;
    for (int k = 0; k < nn; k++) n_edges += (size_t)g->nodes[k].n_inputs;
    clist = tpu_calloc(g->ctx, n_edges + 1, sizeof *clist);
    enum tpu_status rc = TPU_ERR_NOMEM;
    if (!indeg || !cstart || !cfill || !clist || !h.v) goto out;
    for (int k = 0; k < nn; k++)               /* consumers of each tensor, CSR */
        for (int i = 0; i < g->nodes[k].n_inputs; i++)
            if (g->nodes[k].inputs[i] >= 0) cstart[g->nodes[k].inputs[i] + 1]++;
    for (int t = 0; t < g->n_tensors; t++) cstart[t + 1] += cstart[t];
    for (int k = 0; k < nn; k++)
        for (int i = 0; i < g->nodes[k].n_inputs; i++) {
            int t = g->nodes[k].inputs[i];
            if (t < 0) continue;
            clist[cstart[t] + cfill[t]++] = k;
            if (g->tensors[t]->producer >= 0) indeg[k]++;
        }
    for (int k = 0; k < nn; k++) if (indeg[k] == 0) heap_push(&h, k);
    while (h.n) {
        int k = heap_pop(&h);
        order[n_done++] = k;
        for (int o = 0; o < g->nodes[k].n_outputs; o++) {
            int t = g->nodes[k].outputs[o];
            if (t < 0 || g->tensors[t]->producer != k) continue;
            for (int c = cstart[t]; c < cstart[t + 1]; c++)
                if (--indeg[clist[c]] == 0) heap_push(&h, clist[c]);
        }
    }
    rc = TPU_STATUS_OK;
    if (n_done < nn) {
        report_cycle(g, indeg, m);
        rc = TPU_ERR_FORMAT;
    }
out:
    if (rc == TPU_ERR_NOMEM) collect(m, TPU_ERR_NOMEM);
    free(indeg); free(cstart); free(cfill); free(clist); free(h.v);
    return rc;
}

/*---- Dead nodes: those no graph output depends on ----*/
static int mark_dead(struct tpu_graph *g, const int *order)
{
    for (int k = 0; k < g->n_nodes; k++) g->nodes[k].dead = true;
    for (int i = 0; i < g->n_outputs; i++) {
        int p = g->tensors[g->outputs[i]]->producer;
        if (p >= 0) g->nodes[p].dead = false;
    }
    int n_dead = 0;
    for (int j = g->n_nodes - 1; j >= 0; j--) {     /* reverse topological order */
        struct tpu_node *n = &g->nodes[order[j]];
        if (n->dead) { n_dead++; continue; }
        for (int i = 0; i < n->n_inputs; i++) {
            int p = n->inputs[i] >= 0 ? g->tensors[n->inputs[i]]->producer : -1;
            if (p >= 0) g->nodes[p].dead = false;
        }
    }
    return n_dead;
}

/* Rewrites g->nodes as order[] (live nodes first, then dead, each in the
** given order) and renumbers the producers. */
static enum tpu_status reorder(struct tpu_graph *g, const int *order)
{
    struct tpu_node *nodes = tpu_arena_alloc(&g->arena, (size_t)(g->n_nodes + 1) * sizeof *nodes);
    if (!nodes) return TPU_ERR_NOMEM;
    int j = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < g->n_nodes; i++) {
            const struct tpu_node *n = &g->nodes[order[i]];
            if (n->dead != (pass == 1)) continue;
            nodes[j] = *n;
            for (int o = 0; o < n->n_outputs; o++) {
                struct tpu_tensor *t = n->outputs[o] >= 0 ? g->tensors[n->outputs[o]] : NULL;
                if (t && t->producer == order[i] && !t->is_const) t->producer = j;
                else if (t && t->producer == order[i]) t->producer = -1;
            }
            j++;
        }
    g->nodes = nodes;
    g->cap_nodes = g->n_nodes + 1;
    return TPU_STATUS_OK;
}

/*---- Shape inference and constant folding ----*/
static bool is_known_value(const struct tpu_tensor *t) { return t->is_const && t->data; }

/* ONNX Shape (opset 15: start/end attributes) and Size read only dims. */
static bool fold_shape_op(struct tpu_graph *g, struct tpu_node *n)
{
    struct tpu_tensor *x = tpu_in(g, n, 0), *y = tpu_out(g, n, 0);
    if (!x || !y || !tpu_tensor_shape_known(x) || y->dtype != TPU_DTYPE_I64) return false;
    int64_t r = x->n_dims, start = 0, end = r;
    if (n->op == TPU_OP_SHAPE) {
        start = tpu_attr_int(n, "start", 0);
        end = tpu_attr_int(n, "end", r);
        if (start < 0) start += r;
        if (end < 0) end += r;
        start = start < 0 ? 0 : start > r ? r : start;
        end = end < start ? start : end > r ? r : end;
        if (y->n_dims != 1 || y->dims[0] != end - start) return false;
    } else if (tpu_tensor_numel(y) != 1) {
        return false;
    }
    if (tpu_tensor_alloc(g->ctx, y)) return false;
    int64_t *v = y->data;
    if (n->op == TPU_OP_SHAPE) for (int64_t d = start; d < end; d++) v[d - start] = x->dims[d];
    else v[0] = tpu_tensor_numel(x);
    return true;
}

static bool foldable(const struct tpu_graph *g, const struct tpu_node *n)
{
    int n_present = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        struct tpu_tensor *t = tpu_in(g, n, i);
        if (!t) continue;
        if (!is_known_value(t)) return false;
        n_present++;
    }
    for (int o = 0; o < n->n_outputs; o++) {
        struct tpu_tensor *t = tpu_out(g, n, o);
        if (!t) continue;
        int64_t numel = tpu_tensor_numel(t);
        if (numel < 0 || numel > FOLD_MAX_ELEMENTS) return false;
    }
    return n_present > 0;
}

/* Runs n at prepare time when its value cannot change; NOMEM is the only error. */
static enum tpu_status try_fold(struct tpu_graph *g, struct tpu_node *n)
{
    bool done;
    if (n->op == TPU_OP_SHAPE || n->op == TPU_OP_SIZE) {
        done = fold_shape_op(g, n);
    } else {
        if (!foldable(g, n)) return TPU_STATUS_OK;
        enum tpu_status rc = TPU_STATUS_OK;
        for (int o = 0; o < n->n_outputs && !rc; o++)
            if (tpu_out(g, n, o)) rc = tpu_tensor_alloc(g->ctx, tpu_out(g, n, o));
        if (!rc) rc = tpu_op_ref_fn(n->op)(g, n);
        done = rc == TPU_STATUS_OK;
        if (rc == TPU_ERR_NOMEM) return rc;
    }
    if (g->ctx->status == TPU_ERR_NOMEM) return TPU_ERR_NOMEM;
    tpu_err_clear(g->ctx);
    for (int o = 0; o < n->n_outputs; o++) {
        struct tpu_tensor *t = tpu_out(g, n, o);
        if (!t) continue;
        if (!done) { tpu_tensor_drop_data(t); continue; }
        t->is_const = true;
    }
    if (done) n->dead = true;
    return TPU_STATUS_OK;
}

static void taint_outputs(const struct tpu_graph *g, const struct tpu_node *n, bool *tainted)
{
    for (int o = 0; o < n->n_outputs; o++)
        if (n->outputs[o] >= 0) tainted[n->outputs[o]] = true;
}

/* Infers shapes of every live node (in order) and folds what it can. Nodes
** downstream of an unsupported or failing node are left unshaped, quietly. */
static enum tpu_status infer_and_fold(struct tpu_graph *g, const int *order, struct tpu_prep *p,
                                      struct msgs *m)
{
    bool *tainted = tpu_calloc(g->ctx, (size_t)g->n_tensors + 1, sizeof *tainted);
    if (!tainted) return TPU_ERR_NOMEM;
    for (int j = 0; j < g->n_nodes; j++) {
        struct tpu_node *n = &g->nodes[order[j]];
        if (n->dead) continue;
        bool skip = false;
        for (int i = 0; i < n->n_inputs; i++) skip |= n->inputs[i] >= 0 && tainted[n->inputs[i]];
        if (n->op == TPU_OP_UNKNOWN) {
            p->unsupported[order[j]] = true;
            tpu_node_err(g, n, TPU_ERR_UNSUPPORTED, "op %s%s%s is not supported by tpusim",
                         *n->domain ? n->domain : "", *n->domain ? "." : "", n->op_type);
            collect(m, TPU_ERR_UNSUPPORTED);
            skip = true;
        }
        if (skip) { taint_outputs(g, n, tainted); continue; }
        enum tpu_status rc = tpu_op_shape_fn(n->op)(g, n);
        if (rc == TPU_ERR_NOMEM) { free(tainted); return rc; }
        if (rc) {
            if (rc == TPU_ERR_UNSUPPORTED) p->unsupported[order[j]] = true;
            if (!*tpu_errmsg(g->ctx)) tpu_node_err(g, n, rc, "shape inference failed");
            collect(m, rc);
            taint_outputs(g, n, tainted);
            continue;
        }
        if (try_fold(g, n)) { free(tainted); return TPU_ERR_NOMEM; }
        if (n->dead) p->n_folded++;
    }
    free(tainted);
    return TPU_STATUS_OK;
}

/*---- The prepare-time record ----*/
static struct tpu_prep *prep_new(struct tpu_graph *g)
{
    struct tpu_prep *p = tpu_arena_alloc(&g->arena, sizeof *p);
    if (!p) return NULL;
    p->n_nodes_file = g->n_nodes;
    p->n_inputs = g->n_inputs;
    p->inputs = tpu_arena_alloc(&g->arena, (size_t)(g->n_inputs + 1) * sizeof *p->inputs);
    p->unsupported = tpu_arena_alloc(&g->arena, (size_t)(g->n_nodes + 1) * sizeof *p->unsupported);
    if (!p->inputs || !p->unsupported) return NULL;
    for (int i = 0; i < g->n_inputs; i++) {
        const struct tpu_tensor *t = g->tensors[g->inputs[i]];
        p->inputs[i].n_dims = t->n_dims;
        for (int d = 0; d < t->n_dims; d++) p->inputs[i].dims[d] = t->dims[d];
    }
    return p;
}

/* Node flags follow the nodes when they are reordered. */
static enum tpu_status finish_prep(struct tpu_graph *g, struct tpu_prep *p, const int *order)
{
    bool *flags = tpu_arena_alloc(&g->arena, (size_t)(g->n_nodes + 1) * sizeof *flags);
    if (!flags) return TPU_ERR_NOMEM;
    int j = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < g->n_nodes; i++)
            if (g->nodes[order[i]].dead == (pass == 1)) flags[j++] = p->unsupported[order[i]];
    p->unsupported = flags;
    p->n_live = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[order[i]].dead) continue;
        p->n_live++;
        p->n_unsupported += p->unsupported[p->n_live - 1];
    }
    return reorder(g, order);
}

bool tpu_node_supported(const struct tpu_graph *g, const struct tpu_node *n)
{
    const struct tpu_prep *p = tpu_graph_prep(g);
    ptrdiff_t k = n - g->nodes;
    if (n->op == TPU_OP_UNKNOWN) return false;
    return !p || k < 0 || k >= g->n_nodes || !p->unsupported[k];
}

/*---- Entry point ----*/
enum tpu_status tpu_graph_prepare(struct tpu_ctx *ctx, struct tpu_graph *g,
                                  const struct tpu_shape_binding *bindings, int n_bindings)
{
    tpu_err_clear(ctx);
    if (g->prep) return tpu_err(ctx, TPU_ERR_USAGE, "%s: graph is already prepared", g->path);
    struct msgs *m = tpu_calloc(ctx, 1, sizeof *m);
    int *order = tpu_calloc(ctx, (size_t)g->n_nodes + 1, sizeof *order);
    if (!m || !order) { free(m); free(order); return TPU_ERR_NOMEM; }
    m->ctx = ctx;
    enum tpu_status rc = TPU_STATUS_OK;
    for (int b = 0; b < n_bindings; b++) bind_one(g, &bindings[b], m);
    link_tensors(g, m);
    check_dangling(g, m);
    if (m->rc == TPU_STATUS_OK) topo_order(g, order, m);
    if (m->rc != TPU_STATUS_OK) goto out;
    struct tpu_prep *p = prep_new(g);
    if (!p) { rc = TPU_ERR_NOMEM; goto out; }
    p->n_dead = mark_dead(g, order);
    rc = infer_and_fold(g, order, p, m);
    if (!rc) rc = finish_prep(g, p, order);
    if (!rc) g->prep = p;
out:
    free(order);
    if (rc == TPU_ERR_NOMEM) {
        free(m);
        if (ctx->status != TPU_ERR_NOMEM) { tpu_err_clear(ctx); tpu_err(ctx, rc, "%s: out of memory in prepare", g->path); }
        return rc;
    }
    rc = finish(m);
    free(m);
    return rc;
}
