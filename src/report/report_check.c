/*
** report/report_check.c: `tpusim check` — what a model is and what tpusim
** supports of it: opsets and producer, inputs and outputs, parameters, the op
** histogram, MACs per inference and a per-node record (supported or not).
**
** In:  a graph after tpu_graph_prepare (ir/passes.c), prepare's message.
** Out: text to a FILE, JSON to a file (via report_json.c). The per-node JSON
**      record is an object so later stages can add fields (chip placement).
*/
#include "report/report.h"
#include <string.h>

struct op_count { const char *op_type; int n; };

struct summary {
    int64_t          n_params, n_param_bytes, macs;
    int              n_param_tensors;
    struct op_count *ops;           /* [n_ops] live nodes, by count then name */
    int              n_ops;
    struct op_count *ops_file;      /* [n_ops_file] every node in the file    */
    int              n_ops_file;
};

static int cmp_op_count(const void *a, const void *b)
{
    const struct op_count *x = a, *y = b;
    if (x->n != y->n) return y->n - x->n;
    return strcmp(x->op_type, y->op_type);
}

static void count_op(struct op_count *ops, int *n_ops, const char *op_type)
{
    int i = 0;
    while (i < *n_ops && strcmp(ops[i].op_type, op_type) != 0) i++;
    if (i == *n_ops) ops[(*n_ops)++].op_type = op_type;
    ops[i].n++;
}

static enum tpu_status summarize(struct tpu_graph *g, struct summary *s)
{
    memset(s, 0, sizeof *s);
    for (int t = 0; t < g->n_tensors; t++) {
        const struct tpu_tensor *x = g->tensors[t];
        if (!x->is_const || x->owner == TPU_DATA_HEAP || tpu_tensor_numel(x) < 0) continue;
        s->n_param_tensors++;
        s->n_params += tpu_tensor_numel(x);
        s->n_param_bytes += tpu_tensor_numel(x) * (int64_t)tpu_dtype_size(x->dtype);
    }
    s->ops = tpu_calloc(g->ctx, (size_t)g->n_nodes + 1, sizeof *s->ops);
    s->ops_file = tpu_calloc(g->ctx, (size_t)g->n_nodes + 1, sizeof *s->ops_file);
    if (!s->ops || !s->ops_file) { free(s->ops); free(s->ops_file); return TPU_ERR_NOMEM; }
    for (int k = 0; k < g->n_nodes; k++) {
        const struct tpu_node *n = &g->nodes[k];
        count_op(s->ops_file, &s->n_ops_file, n->op_type);
        if (n->dead) continue;
        if (n->op != TPU_OP_UNKNOWN) s->macs += tpu_op_macs_fn(n->op)(g, n);
        count_op(s->ops, &s->n_ops, n->op_type);
    }
    qsort(s->ops, (size_t)s->n_ops, sizeof *s->ops, cmp_op_count);
    qsort(s->ops_file, (size_t)s->n_ops_file, sizeof *s->ops_file, cmp_op_count);
    return TPU_STATUS_OK;
}

/* Node k is the first of its domain (other than the default one). */
static bool first_of_domain(const struct tpu_graph *g, int k)
{
    const char *d = g->nodes[k].domain;
    if (!*d || !strcmp(d, "ai.onnx")) return false;
    for (int i = 0; i < k; i++) if (!strcmp(g->nodes[i].domain, d)) return false;
    return true;
}

/*---- Text ----*/
static void text_io(FILE *f, const struct tpu_graph *g, const char *title, int n, const int *ids)
{
    char buf[256];
    fprintf(f, "%s:\n", title);
    for (int i = 0; i < n; i++) {
        const struct tpu_tensor *t = g->tensors[ids[i]];
        fprintf(f, "  %-24s %-8s %s\n", t->name, tpu_dtype_name(t->dtype), tpu_shape_str(t, buf, sizeof buf));
    }
}

static void text_nodes(FILE *f, struct tpu_graph *g)
{
    char buf[256];
    fprintf(f, "nodes (in run order):\n");
    for (int k = 0; k < g->n_nodes; k++) {
        const struct tpu_node *n = &g->nodes[k];
        if (n->dead) continue;
        const struct tpu_tensor *y = tpu_out(g, n, 0);
        fprintf(f, "  %-32s %-20s %-12s %s\n", n->name, n->op_type,
                tpu_node_supported(g, n) ? "ref" : "unsupported", y ? tpu_shape_str(y, buf, sizeof buf) : "");
    }
}

static void text_report(FILE *f, struct tpu_graph *g, const struct summary *s, const char *notes,
                        const char *problems)
{
    const struct tpu_prep *p = tpu_graph_prep(g);
    fprintf(f, "model: %s\n", g->path);
    fprintf(f, "  producer: %s %s, ir_version %lld, opset %d", *g->producer_name ? g->producer_name : "?",
            g->producer_version, (long long)g->ir_version, g->opset);
    for (int k = 0; k < g->n_nodes; k++)
        if (first_of_domain(g, k)) fprintf(f, ", %s %d", g->nodes[k].domain, g->nodes[k].opset);
    fprintf(f, "\n");
    text_io(f, g, "inputs", g->n_inputs, g->inputs);
    text_io(f, g, "outputs", g->n_outputs, g->outputs);
    fprintf(f, "parameters: %lld in %d tensors, %lld bytes\n", (long long)s->n_params,
            s->n_param_tensors, (long long)s->n_param_bytes);
    fprintf(f, "MACs per inference: %lld\n", (long long)s->macs);
    if (p)
        fprintf(f, "nodes: %d in the file, %d to run, %d folded into constants, %d reach no output\n",
                p->n_nodes_file, p->n_live, p->n_folded, p->n_dead);
    fprintf(f, "ops to run:");
    for (int i = 0; i < s->n_ops; i++) fprintf(f, "%s %s x%d", i ? "," : "", s->ops[i].op_type, s->ops[i].n);
    fprintf(f, "\nops in the file:");
    for (int i = 0; i < s->n_ops_file; i++)
        fprintf(f, "%s %s x%d", i ? "," : "", s->ops_file[i].op_type, s->ops_file[i].n);
    fprintf(f, "\n");
    text_nodes(f, g);
    fprintf(f, "supported: %s (%d of %d nodes unsupported)\n", p && p->n_unsupported ? "no" : "yes",
            p ? p->n_unsupported : 0, p ? p->n_live : 0);
    if (notes && *notes) fprintf(f, "notes:\n%s", notes);
    if (problems && *problems) fprintf(f, "problems:\n%s\n", problems);
}

/*---- JSON ----*/
static void json_io(struct tpu_json *j, const struct tpu_graph *g, const char *key, int n, const int *ids)
{
    tpu_json_begin(j, key, '[');
    for (int i = 0; i < n; i++) {
        const struct tpu_tensor *t = g->tensors[ids[i]];
        tpu_json_begin(j, NULL, '{');
        tpu_json_str(j, "name", t->name);
        tpu_json_str(j, "dtype", tpu_dtype_name(t->dtype));
        tpu_json_dims(j, "shape", t);
        tpu_json_end(j, '}');
    }
    tpu_json_end(j, ']');
}

static void json_node(struct tpu_json *j, struct tpu_graph *g, const struct tpu_node *n)
{
    tpu_json_begin(j, NULL, '{');
    tpu_json_str(j, "name", n->name);
    tpu_json_str(j, "op", n->op_type);
    tpu_json_str(j, "domain", n->domain);
    tpu_json_bool(j, "supported", tpu_node_supported(g, n));
    tpu_json_int(j, "macs", n->op != TPU_OP_UNKNOWN ? tpu_op_macs_fn(n->op)(g, n) : 0);
    tpu_json_begin(j, "inputs", '[');
    for (int i = 0; i < n->n_inputs; i++) tpu_json_str(j, NULL, tpu_in(g, n, i) ? tpu_in(g, n, i)->name : "");
    tpu_json_end(j, ']');
    tpu_json_begin(j, "outputs", '[');
    for (int o = 0; o < n->n_outputs; o++) {
        const struct tpu_tensor *t = tpu_out(g, n, o);
        if (!t) continue;
        tpu_json_begin(j, NULL, '{');
        tpu_json_str(j, "name", t->name);
        tpu_json_str(j, "dtype", tpu_dtype_name(t->dtype));
        tpu_json_dims(j, "shape", t);
        tpu_json_end(j, '}');
    }
    tpu_json_end(j, ']');
    tpu_json_end(j, '}');
}

static void json_report(FILE *f, struct tpu_graph *g, const struct summary *s, const char *notes,
                        const char *problems)
{
    const struct tpu_prep *p = tpu_graph_prep(g);
    struct tpu_json j;
    tpu_json_init(&j, f);
    tpu_json_begin(&j, NULL, '{');
    tpu_json_str(&j, "model", g->path);
    tpu_json_str(&j, "producer_name", g->producer_name);
    tpu_json_str(&j, "producer_version", g->producer_version);
    tpu_json_int(&j, "ir_version", g->ir_version);
    tpu_json_int(&j, "opset", g->opset);
    tpu_json_begin(&j, "opsets", '{');
    tpu_json_int(&j, "ai.onnx", g->opset);
    for (int k = 0; k < g->n_nodes; k++)
        if (first_of_domain(g, k)) tpu_json_int(&j, g->nodes[k].domain, g->nodes[k].opset);
    tpu_json_end(&j, '}');
    json_io(&j, g, "inputs", g->n_inputs, g->inputs);
    json_io(&j, g, "outputs", g->n_outputs, g->outputs);
    tpu_json_int(&j, "parameters", s->n_params);
    tpu_json_int(&j, "parameter_bytes", s->n_param_bytes);
    tpu_json_int(&j, "parameter_tensors", s->n_param_tensors);
    tpu_json_int(&j, "macs", s->macs);
    tpu_json_int(&j, "nodes_in_file", p ? p->n_nodes_file : g->n_nodes);
    tpu_json_int(&j, "nodes_live", p ? p->n_live : 0);
    tpu_json_int(&j, "nodes_folded", p ? p->n_folded : 0);
    tpu_json_int(&j, "nodes_dead", p ? p->n_dead : 0);
    tpu_json_int(&j, "nodes_unsupported", p ? p->n_unsupported : 0);
    tpu_json_bool(&j, "supported", p && !p->n_unsupported);
    tpu_json_begin(&j, "op_histogram", '{');                    /* nodes left to run */
    for (int i = 0; i < s->n_ops; i++) tpu_json_int(&j, s->ops[i].op_type, s->ops[i].n);
    tpu_json_end(&j, '}');
    tpu_json_begin(&j, "op_histogram_file", '{');               /* before folding */
    for (int i = 0; i < s->n_ops_file; i++) tpu_json_int(&j, s->ops_file[i].op_type, s->ops_file[i].n);
    tpu_json_end(&j, '}');
    tpu_json_begin(&j, "nodes", '[');
    for (int k = 0; k < g->n_nodes; k++)
        if (!g->nodes[k].dead) json_node(&j, g, &g->nodes[k]);
    tpu_json_end(&j, ']');
    tpu_json_str(&j, "notes", notes ? notes : "");
    tpu_json_str(&j, "problems", problems ? problems : "");
    tpu_json_end(&j, '}');
}

enum tpu_status tpu_report_check(struct tpu_ctx *ctx, struct tpu_graph *g, FILE *txt,
                                 const char *json_path, const char *notes)
{
    char problems[2048], tmp[4200];
    snprintf(problems, sizeof problems, "%s", tpu_errmsg(ctx));
    tpu_err_clear(ctx);
    struct summary s;
    enum tpu_status rc = summarize(g, &s);
    if (rc) return rc;
    if (txt) text_report(txt, g, &s, notes, problems);
    if (json_path) {
        FILE *f = tpu_file_begin(ctx, json_path, tmp, sizeof tmp);
        if (!f) rc = TPU_ERR_IO;
        else {
            json_report(f, g, &s, notes, problems);
            rc = tpu_file_commit(ctx, f, json_path, tmp, true);
        }
    }
    free(s.ops);
    free(s.ops_file);
    return rc;
}
