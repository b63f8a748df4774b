/*
** report/targets.c: parses data/targets.txt (sections of "key = value ; conf ;
** source" lines) into struct tpu_targets, applies command-line overrides and
** answers lookups.
**
** In:  the targets file (or its text) and override strings.
** Out: struct tpu_target records for report/gpu_model.c and the bench report.
** Errors name "path:line" and never abort.
*/
#include "report/targets.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <string.h>

static const char *const field_keys[TPU_TF_COUNT] = {
#define X(e, key) key,
    TPU_TARGET_FIELDS(X)
#undef X
};

static const char *const conf_names[] = {
    "missing", "V", "S", "DERIVED", "UNVERIFIED", "ESTIMATE", "override",
};

#define TARGETS_MAX       64          /* sections per file                 */
#define TARGETS_FILE_MAX  (1 << 20)   /* bytes; the real file is ~8 KiB    */

/*---- Small string helpers ----*/

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* Splits s at the first `sep`, terminating the first part; returns the rest or NULL. */
static char *split_at(char *s, char sep)
{
    char *p = strchr(s, sep);
    if (!p) return NULL;
    *p = 0;
    return p + 1;
}

static int parse_number(const char *s, double *out)
{
    if (strcmp(s, "-") == 0) { *out = NAN; return 0; }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < 0) return -1;
    *out = v;
    return 0;
}

static int parse_conf(const char *s)
{
    for (int c = TPU_CONF_V; c <= TPU_CONF_ESTIMATE; c++)
        if (strcmp(s, conf_names[c]) == 0) return c;
    return -1;
}

static int field_from_key(const char *key)
{
    for (int f = 0; f < TPU_TF_COUNT; f++)
        if (strcmp(key, field_keys[f]) == 0) return f;
    return -1;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= TPU_TARGET_NAME_MAX) return false;
    for (size_t i = 0; i < n; i++)
        if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && s[i] != '-' && s[i] != '_')
            return false;
    return true;
}

/*---- Parser ----*/

struct parser {
    struct tpu_ctx     *ctx;
    struct tpu_targets *ts;
    const char         *path;
    int                 line;
};

#define PARSE_FAIL(p, ...) parse_fail(p, __VA_ARGS__)
static enum tpu_status parse_fail(struct parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static enum tpu_status parse_fail(struct parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tpu_err(p->ctx, TPU_ERR_FORMAT, "%s:%d: %s", p->path, p->line, msg);
}

static struct tpu_target *current(struct parser *p)
{
    return p->ts->n_targets ? &p->ts->targets[p->ts->n_targets - 1] : NULL;
}

static enum tpu_status parse_section(struct parser *p, char *s)
{
    size_t n = strlen(s);
    if (s[n - 1] != ']') return PARSE_FAIL(p, "section header '%s' lacks its ']'", s);
    s[n - 1] = 0;
    char *name = trim(s + 1);
    if (!name_ok(name))
        return PARSE_FAIL(p, "bad target name '%s' (lower case letters, digits, '-', '_'; at most %d)",
                          name, TPU_TARGET_NAME_MAX - 1);
    if (tpu_targets_find(p->ts, name))
        return PARSE_FAIL(p, "target '%s' defined twice", name);
    if (p->ts->n_targets == TARGETS_MAX)
        return PARSE_FAIL(p, "more than %d targets", TARGETS_MAX);
    struct tpu_target *t = &p->ts->targets[p->ts->n_targets++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = (enum tpu_target_kind)-1;
    t->line = p->line;
    for (int f = 0; f < TPU_TF_COUNT; f++) t->f[f].v = NAN;
    return TPU_STATUS_OK;
}

static enum tpu_status parse_kind(struct parser *p, struct tpu_target *t, const char *v)
{
    if (strcmp(v, "tpu") == 0) t->kind = TPU_TARGET_TPU;
    else if (strcmp(v, "gpu") == 0) t->kind = TPU_TARGET_GPU;
    else if (strcmp(v, "cpu") == 0) t->kind = TPU_TARGET_CPU;
    else return PARSE_FAIL(p, "kind '%s' is not tpu, gpu or cpu", v);
    return TPU_STATUS_OK;
}

/* "VALUE ; CONF ; SOURCE" for numeric field f. */
static enum tpu_status parse_field(struct parser *p, struct tpu_target *t, int f, char *v)
{
    char *conf = split_at(v, ';');
    char *source = conf ? split_at(conf, ';') : NULL;
    if (!conf || !source)
        return PARSE_FAIL(p, "'%s' needs 'value ; confidence ; source'", field_keys[f]);
    v = trim(v), conf = trim(conf), source = trim(source);
    struct tpu_target_value *tv = &t->f[f];
    if (tv->conf != TPU_CONF_MISSING) return PARSE_FAIL(p, "'%s' given twice", field_keys[f]);
    if (parse_number(v, &tv->v))
        return PARSE_FAIL(p, "'%s': '%s' is not a non-negative number or '-'", field_keys[f], v);
    int c = parse_conf(conf);
    if (c < 0)
        return PARSE_FAIL(p, "'%s': confidence '%s' is not V, S, DERIVED, UNVERIFIED or ESTIMATE",
                          field_keys[f], conf);
    if (!*source) return PARSE_FAIL(p, "'%s': empty source", field_keys[f]);
    tv->conf = (enum tpu_conf)c;
    snprintf(tv->source, sizeof tv->source, "%s", source);
    return TPU_STATUS_OK;
}

static enum tpu_status parse_line(struct parser *p, char *s)
{
    s = trim(s);
    if (!*s || *s == '#') return TPU_STATUS_OK;
    if (*s == '[') return parse_section(p, s);
    struct tpu_target *t = current(p);
    if (!t) return PARSE_FAIL(p, "'%s' before the first [target] section", s);
    char *v = split_at(s, '=');
    if (!v) return PARSE_FAIL(p, "expected 'key = value', got '%s'", s);
    char *key = trim(s);
    v = trim(v);
    if (strcmp(key, "kind") == 0) return parse_kind(p, t, v);
    if (strcmp(key, "desc") == 0) { snprintf(t->desc, sizeof t->desc, "%s", v); return TPU_STATUS_OK; }
    int f = field_from_key(key);
    if (f < 0) return PARSE_FAIL(p, "unknown key '%s'", key);
    return parse_field(p, t, f, v);
}

/* Every section needs a kind and every numeric field ("-" counts as given). */
static enum tpu_status check_complete(struct parser *p)
{
    for (int i = 0; i < p->ts->n_targets; i++) {
        struct tpu_target *t = &p->ts->targets[i];
        p->line = t->line;
        if ((int)t->kind < 0) return PARSE_FAIL(p, "target '%s' has no kind", t->name);
        for (int f = 0; f < TPU_TF_COUNT; f++)
            if (t->f[f].conf == TPU_CONF_MISSING)
                return PARSE_FAIL(p, "target '%s' lacks '%s' (write '- ; V ; not published' if unknown)",
                                  t->name, field_keys[f]);
    }
    return TPU_STATUS_OK;
}

enum tpu_status tpu_targets_parse(struct tpu_ctx *ctx, const char *path, const char *text,
                                  struct tpu_targets **out)
{
    *out = NULL;
    struct tpu_targets *ts = tpu_calloc(ctx, 1, sizeof *ts);
    if (!ts) return TPU_ERR_NOMEM;
    ts->targets = tpu_calloc(ctx, TARGETS_MAX, sizeof *ts->targets);
    char *buf = tpu_malloc(ctx, strlen(text) + 1);
    if (!ts->targets || !buf) { free(buf); tpu_targets_free(ts); return TPU_ERR_NOMEM; }
    snprintf(ts->path, sizeof ts->path, "%s", path);
    strcpy(buf, text);
    struct parser p = { ctx, ts, path, 0 };
    enum tpu_status rc = TPU_STATUS_OK;
    for (char *s = buf; s && *s && rc == TPU_STATUS_OK; ) {    /* no line after a final '\n' */
        char *next = split_at(s, '\n');
        p.line++;
        rc = parse_line(&p, s);
        s = next;
    }
    free(buf);
    if (rc == TPU_STATUS_OK && ts->n_targets == 0) { p.line = 1; rc = PARSE_FAIL(&p, "no [target] sections"); }
    if (rc == TPU_STATUS_OK) rc = check_complete(&p);
    if (rc != TPU_STATUS_OK) { tpu_targets_free(ts); return rc; }
    *out = ts;
    return TPU_STATUS_OK;
}

enum tpu_status tpu_targets_load(struct tpu_ctx *ctx, const char *path, struct tpu_targets **out)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return tpu_err(ctx, TPU_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    char *text = tpu_malloc(ctx, TARGETS_FILE_MAX + 1);
    if (!text) { fclose(f); return TPU_ERR_NOMEM; }
    size_t n = fread(text, 1, TARGETS_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    enum tpu_status rc;
    if (bad) rc = tpu_err(ctx, TPU_ERR_IO, "%s: read error", path);
    else if (n > TARGETS_FILE_MAX) rc = tpu_err(ctx, TPU_ERR_FORMAT, "%s: larger than %d bytes", path, TARGETS_FILE_MAX);
    else if (memchr(text, 0, n)) rc = tpu_err(ctx, TPU_ERR_FORMAT, "%s: contains a NUL byte", path);
    else { text[n] = 0; rc = tpu_targets_parse(ctx, path, text, out); }
    free(text);
    return rc;
}

void tpu_targets_free(struct tpu_targets *ts)
{
    if (!ts) return;
    free(ts->targets);
    free(ts);
}

/*---- Lookups and overrides ----*/

const struct tpu_target *tpu_targets_find(const struct tpu_targets *ts, const char *name)
{
    for (int i = 0; ts && i < ts->n_targets; i++)
        if (strcmp(ts->targets[i].name, name) == 0) return &ts->targets[i];
    return NULL;
}

enum tpu_status tpu_targets_override(struct tpu_ctx *ctx, struct tpu_targets *ts, const char *spec)
{
    char buf[160], name[TPU_TARGET_NAME_MAX + 1], key[64];
    if (strlen(spec) >= sizeof buf) return tpu_err(ctx, TPU_ERR_USAGE, "override '%.40s...' too long", spec);
    strcpy(buf, spec);
    char *s = trim(buf), *val = split_at(s, '=');
    if (!val) return tpu_err(ctx, TPU_ERR_USAGE, "override '%s': expected 'price NAME=USD' or 'NAME.KEY=VALUE'", spec);
    s = trim(s), val = trim(val);
    if (strncmp(s, "price", 5) == 0 && isspace((unsigned char)s[5])) {
        snprintf(name, sizeof name, "%s", trim(s + 5));
        snprintf(key, sizeof key, "price_usd_per_hour");
    } else {
        char *k = split_at(s, '.');
        if (!k) return tpu_err(ctx, TPU_ERR_USAGE, "override '%s': expected 'price NAME=USD' or 'NAME.KEY=VALUE'", spec);
        snprintf(name, sizeof name, "%s", trim(s));
        snprintf(key, sizeof key, "%s", trim(k));
    }
    struct tpu_target *t = (struct tpu_target *)tpu_targets_find(ts, name);
    if (!t) return tpu_err(ctx, TPU_ERR_USAGE, "override '%s': no target '%s' in %s", spec, name, ts->path);
    int f = field_from_key(key);
    if (f < 0) return tpu_err(ctx, TPU_ERR_USAGE, "override '%s': unknown key '%s'", spec, key);
    double v;
    if (parse_number(val, &v) || isnan(v))
        return tpu_err(ctx, TPU_ERR_USAGE, "override '%s': '%s' is not a non-negative number", spec, val);
    t->f[f].v = v;
    t->f[f].conf = TPU_CONF_OVERRIDE;
    snprintf(t->f[f].source, sizeof t->f[f].source, "override");
    return TPU_STATUS_OK;
}

double tpu_target_get(const struct tpu_target *t, enum tpu_target_field f)
{
    TPU_ASSERT(f >= 0 && f < TPU_TF_COUNT);
    return t->f[f].v;
}

double tpu_target_peak(const struct tpu_target *t, enum tpu_precision p)
{
    switch (p) {
    case TPU_PREC_FP32: return t->f[TPU_TF_PEAK_FP32_FLOPS].v;
    case TPU_PREC_BF16: return t->f[TPU_TF_PEAK_BF16_FLOPS].v;
    case TPU_PREC_INT8: return t->f[TPU_TF_PEAK_INT8_OPS].v;
    }
    return NAN;
}

const char *tpu_target_field_key(enum tpu_target_field f)
{
    return f >= 0 && f < TPU_TF_COUNT ? field_keys[f] : "?";
}

const char *tpu_conf_name(enum tpu_conf c)
{
    return c >= 0 && c <= TPU_CONF_OVERRIDE ? conf_names[c] : "?";
}

const char *tpu_precision_name(enum tpu_precision p)
{
    return p == TPU_PREC_FP32 ? "fp32" : p == TPU_PREC_BF16 ? "bf16" : "int8";
}

int tpu_precision_from_name(const char *s)
{
    if (strcmp(s, "fp32") == 0) return TPU_PREC_FP32;
    if (strcmp(s, "bf16") == 0 || strcmp(s, "fp16") == 0) return TPU_PREC_BF16;
    if (strcmp(s, "int8") == 0) return TPU_PREC_INT8;
    return -1;
}

size_t tpu_precision_bytes(enum tpu_precision p)
{
    return p == TPU_PREC_FP32 ? 4 : p == TPU_PREC_BF16 ? 2 : 1;
}

/*---- Derived metrics ----*/

void tpu_run_metrics(const struct tpu_target *t, int64_t batch, double latency_s,
                     struct tpu_run_metrics *m)
{
    TPU_ASSERT(batch >= 1 && latency_s > 0);
    double b = (double)batch;
    m->latency_s = latency_s;
    m->latency_per_inf_s = latency_s / b;
    m->inf_per_s = b / latency_s;
    m->energy_per_inf_j = t->f[TPU_TF_BUSY_W].v * latency_s / b;
    m->usd_per_million = t->f[TPU_TF_PRICE_USD_PER_HOUR].v * latency_s / 3600.0 / b * 1e6;
    m->inf_per_j = 1.0 / m->energy_per_inf_j;
    m->inf_per_usd = 1e6 / m->usd_per_million;
}

int tpu_best_batch_under_slo(const struct tpu_run_metrics *m, const int64_t *batch, int n, double slo_s)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!(m[i].latency_s <= slo_s)) continue;
        if (best < 0 || m[i].inf_per_s > m[best].inf_per_s ||
            (m[i].inf_per_s == m[best].inf_per_s && batch[i] < batch[best]))
            best = i;
    }
    return best;
}
