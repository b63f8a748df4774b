/*
** compile/check.c: `tpusim check MODEL --chip NAME` — the compatibility
** report. Every live node with its placement (compile/place.c): unit, MACs,
** estimated time, reason; then per unit class the node count and the share of
** MACs and of estimated time; then what the user could change (each distinct
** suggestion once, with the nodes it concerns).
**
** In:  a prepared graph, a chip. Out: text on a FILE, a JSON file.
*/
#include "compile/ub_plan.h"
#include "report/report.h"
#include <errno.h>
#include <string.h>

struct class_sum { int n_nodes; int64_t macs; double seconds; };

struct check {
    struct tpu_place *places;             /* [g->n_nodes]; dead nodes unused   */
    struct tpu_ub_plan ub;                /* activations kept on chip          */
    struct class_sum  cls[TPU_PLACE_COUNT];
    int64_t           macs;
    double            seconds;
};

static enum tpu_status place_all(struct tpu_graph *g, const struct tpu_chip *chip, struct check *c)
{
    memset(c, 0, sizeof *c);
    c->places = tpu_calloc(g->ctx, (size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *c->places);
    if (!c->places) return TPU_ERR_NOMEM;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        struct tpu_place *p = &c->places[i];
        tpu_place_node(g, &g->nodes[i], chip, p);
        c->cls[p->unit].n_nodes++;
        c->cls[p->unit].macs += p->macs;
        c->cls[p->unit].seconds += p->est_seconds;
        c->macs += p->macs;
        c->seconds += p->est_seconds;
    }
    return tpu_ub_plan(g, c->places, chip, &c->ub);
}

static double share(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0; }

static void print_nodes(struct tpu_graph *g, const struct check *c, FILE *f)
{
    fprintf(f, "%-36s %-18s %-11s %14s %10s  %s\n", "node", "op", "unit", "MACs", "est. us", "reason");
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        const struct tpu_place *p = &c->places[i];
        fprintf(f, "%-36.36s %-18.18s %-11s %14lld %10.3f  %s\n", g->nodes[i].name, g->nodes[i].op_type,
                tpu_place_class_name(p->unit), (long long)p->macs, p->est_seconds * 1e6, p->reason);
    }
}

static void print_classes(const struct check *c, FILE *f)
{
    fprintf(f, "by unit:\n");
    for (int u = 0; u < TPU_PLACE_COUNT; u++) {
        const struct class_sum *s = &c->cls[u];
        if (!s->n_nodes) continue;
        fprintf(f, "  %-11s %5d nodes  %6.2f%% of MACs  %6.2f%% of estimated time\n",
                tpu_place_class_name((enum tpu_place_class)u), s->n_nodes, share((double)s->macs, (double)c->macs),
                share(s->seconds, c->seconds));
    }
    fprintf(f, "estimated time %.3f us per inference (first order: ideal MXU time or weight streaming, "
            "plus host-link transfers; host CPU compute not included)\n", c->seconds * 1e6);
}

/* Index of the first live node with this suggestion (so each prints once). */
static int first_with(struct tpu_graph *g, const struct check *c, const char *s)
{
    for (int i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && strcmp(c->places[i].suggestion, s) == 0) return i;
    return -1;
}

static void print_suggestions(struct tpu_graph *g, const struct check *c, FILE *f)
{
    int any = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const char *s = c->places[i].suggestion;
        if (g->nodes[i].dead || !*s || first_with(g, c, s) != i) continue;
        int n = 0;
        for (int j = i; j < g->n_nodes; j++) n += !g->nodes[j].dead && !strcmp(c->places[j].suggestion, s);
        if (!any++) fprintf(f, "what you could change:\n");
        fprintf(f, "  - %s (%s '%s'%s)\n", s, g->nodes[i].op_type, g->nodes[i].name,
                n > 1 ? ", and more" : "");
    }
    if (c->cls[TPU_PLACE_HOST].n_nodes)
        fprintf(f, "host nodes run with `tpusim run MODEL --chip NAME --host-ops` (reference kernels on "
                "the host CPU)\n");
}

/*---- JSON ----*/

static void json_nodes(struct tpu_graph *g, const struct check *c, FILE *f)
{
    fprintf(f, "  \"nodes\": [");
    int k = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead) continue;
        const struct tpu_place *p = &c->places[i];
        fprintf(f, "%s\n    {\"name\": ", k++ ? "," : "");
        tpu_json_put_string(f, g->nodes[i].name);
        fprintf(f, ", \"op\": ");
        tpu_json_put_string(f, g->nodes[i].op_type);
        fprintf(f, ", \"unit\": \"%s\", \"could\": ", tpu_place_class_name(p->unit));
        if (p->could) tpu_json_put_string(f, p->could); else fprintf(f, "null");
        fprintf(f, ", \"macs\": %lld, \"est_seconds\": %.9g, \"reason\": ", (long long)p->macs, p->est_seconds);
        tpu_json_put_string(f, p->reason);
        fprintf(f, ", \"suggestion\": ");
        tpu_json_put_string(f, p->suggestion);
        fprintf(f, "}");
    }
    fprintf(f, "\n  ],\n");
}

static void json_classes(const struct check *c, FILE *f)
{
    fprintf(f, "  \"units\": {");
    for (int u = 0; u < TPU_PLACE_COUNT; u++) {
        const struct class_sum *s = &c->cls[u];
        fprintf(f, "%s\n    \"%s\": {\"nodes\": %d, \"macs\": %lld, \"macs_share\": %.9g, "
                "\"est_seconds\": %.9g, \"time_share\": %.9g}", u ? "," : "", tpu_place_class_name((enum tpu_place_class)u),
                s->n_nodes, (long long)s->macs, share((double)s->macs, (double)c->macs) / 100,
                s->seconds, share(s->seconds, c->seconds) / 100);
    }
    fprintf(f, "\n  },\n  \"macs\": %lld,\n  \"est_seconds\": %.9g\n}\n", (long long)c->macs, c->seconds);
}

static enum tpu_status write_json(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                  const struct check *c, const char *path)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(tmp, "w");
    if (!f) return tpu_err(ctx, TPU_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    fprintf(f, "{\n  \"model\": ");
    tpu_json_put_string(f, g->path ? g->path : "");
    fprintf(f, ",\n  \"chip\": ");
    tpu_json_put_string(f, chip->name);
    fprintf(f, ",\n  \"precision\": \"%s\",\n  \"vector_unit\": %s,\n", chip->mxu_dtype == TPU_MXU_BF16 ? "bf16" : "int8",
            chip->vector_unit ? "true" : "false");
    json_nodes(g, c, f);
    tpu_ub_plan_json(&c->ub, f);
    json_classes(c, f);
    if (f == stdout) return TPU_STATUS_OK;
    int bad = ferror(f);
    if (fclose(f) != 0 || bad || rename(tmp, path) != 0) {
        remove(tmp);
        return tpu_err(ctx, TPU_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return TPU_STATUS_OK;
}

enum tpu_status tpu_chip_check(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                               FILE *txt, const char *json_path)
{
    struct check c;
    enum tpu_status rc = place_all(g, chip, &c);
    if (rc) { free(c.places); return rc; }
    if (txt) {
        fprintf(txt, "chip check: %s on %s (%s, %lld MXU x %lldx%lld, %s)\n", g->path, chip->name,
                chip->mxu_dtype == TPU_MXU_BF16 ? "bf16" : "int8", (long long)chip->mxu_count,
                (long long)chip->array_rows, (long long)chip->array_cols,
                chip->vector_unit ? "vector unit" : "no vector unit");
        print_nodes(g, &c, txt);
        print_classes(&c, txt);
        tpu_ub_plan_print(g, chip, &c.ub, txt);
        print_suggestions(g, &c, txt);
    }
    if (json_path) rc = write_json(ctx, g, chip, &c, json_path);
    free(c.places);
    return rc;
}
