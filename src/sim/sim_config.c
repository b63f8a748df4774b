/*
** sim/sim_config.c: reads a chip description (chips/NAME.chip, format in
** sim/sim_config.h) into struct tpu_chip, applies --set / --array overrides and
** checks every value. Keys come from sim/sim_config.def.
**
** In:  a file name or preset name ("tpu-v1" → chips/tpu-v1.chip), overrides.
** Out: struct tpu_chip for compile/ and sim/.
*/
#include "sim/sim_config.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <string.h>

enum key_kind { KIND_INT, KIND_REAL, KIND_DTYPE, KIND_STR };

struct key_row {
    const char   *name;
    enum key_kind kind;
    int           required;
    double        min, max;
    size_t        offset;
    const char   *help;
};

static const struct key_row key_rows[] = {
#define CHIP_KEY(f, kind, req, lo, hi, help) \
    { #f, KIND_##kind, req, lo, hi, offsetof(struct tpu_chip, f), help },
#include "sim/sim_config.def"
#undef CHIP_KEY
};
enum { N_KEYS = (int)(sizeof key_rows / sizeof key_rows[0]) };

int64_t tpu_chip_elem_bytes(const struct tpu_chip *c) { return c->mxu_dtype == TPU_MXU_BF16 ? 2 : 1; }
int64_t tpu_chip_tile_bytes(const struct tpu_chip *c)
{
    return c->array_rows * c->array_cols * tpu_chip_elem_bytes(c);
}
double tpu_chip_dram_bytes_per_cycle(const struct tpu_chip *c)
{
    return c->weight_memory_gb_per_s * 1e9 / (c->clock_mhz * 1e6);
}
double tpu_chip_host_bytes_per_cycle(const struct tpu_chip *c)
{
    return c->host_link_gb_per_s * 1e9 / (c->clock_mhz * 1e6);
}

static const struct key_row *find_key(const char *name, size_t len)
{
    for (int i = 0; i < N_KEYS; i++)
        if (strlen(key_rows[i].name) == len && strncmp(key_rows[i].name, name, len) == 0)
            return &key_rows[i];
    return NULL;
}

/* Parses a whole number or real; returns 0 on success. */
static int parse_number(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) ? (double)strtoll(s, &end, 16)
                                                            : strtod(s, &end);
    if (end == s || *end != 0 || errno != 0 || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* Stores value text v into key k of c; where names the place for messages. */
static enum tpu_status set_value(struct tpu_ctx *ctx, struct tpu_chip *c, const struct key_row *k,
                                 const char *v, const char *where)
{
    char *field = (char *)c + k->offset;
    if (k->kind == KIND_STR) {
        if (!*v || strlen(v) >= sizeof c->name)
            return tpu_err(ctx, TPU_ERR_CONFIG, "%s: bad value '%s' for '%s' (1-63 characters)",
                           where, v, k->name);
        snprintf(field, sizeof c->name, "%s", v);
    } else if (k->kind == KIND_DTYPE) {
        if (strcmp(v, "int8") == 0) *(int64_t *)field = TPU_MXU_INT8;
        else if (strcmp(v, "bf16") == 0) *(int64_t *)field = TPU_MXU_BF16;
        else return tpu_err(ctx, TPU_ERR_CONFIG, "%s: bad value '%s' for '%s' (int8 or bf16)",
                            where, v, k->name);
    } else {
        double d;
        if (parse_number(v, &d) != 0)
            return tpu_err(ctx, TPU_ERR_CONFIG, "%s: bad value '%s' for '%s': not a number",
                           where, v, k->name);
        if (d < k->min || d > k->max)
            return tpu_err(ctx, TPU_ERR_CONFIG, "%s: value %s for '%s' out of range [%g, %g]",
                           where, v, k->name, k->min, k->max);
        if (k->kind == KIND_INT && d != floor(d))
            return tpu_err(ctx, TPU_ERR_CONFIG, "%s: value %s for '%s' must be a whole number",
                           where, v, k->name);
        if (k->kind == KIND_INT) *(int64_t *)field = (int64_t)d;
        else *(double *)field = d;
    }
    c->set_mask |= 1ull << (k - key_rows);
    return TPU_STATUS_OK;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) s[--n] = 0;
    return s;
}

/* One "key = value" (comment already stripped). */
static enum tpu_status parse_kv(struct tpu_ctx *ctx, struct tpu_chip *c, char *line,
                                const char *where)
{
    char *eq = strchr(line, '=');
    if (!eq) return tpu_err(ctx, TPU_ERR_CONFIG, "%s: expected 'key = value', got '%s'", where, line);
    *eq = 0;
    char *key = trim(line), *val = trim(eq + 1);
    const struct key_row *k = find_key(key, strlen(key));
    if (!k) return tpu_err(ctx, TPU_ERR_CONFIG, "%s: unknown key '%s'", where, key);
    if (!*val) return tpu_err(ctx, TPU_ERR_CONFIG, "%s: key '%s' has no value", where, key);
    return set_value(ctx, c, k, val, where);
}

static void set_defaults(struct tpu_chip *c)
{
    memset(c, 0, sizeof *c);
    c->acc_overflow_trap = 0;
}

enum tpu_status tpu_chip_parse(struct tpu_ctx *ctx, const char *path, const char *text,
                               struct tpu_chip *out)
{
    set_defaults(out);
    snprintf(out->path, sizeof out->path, "%s", path);
    int line_no = 0;
    for (const char *p = text; *p; ) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        char line[512], where[300];
        line_no++;
        snprintf(where, sizeof where, "%s:%d", path, line_no);
        if (len >= sizeof line) return tpu_err(ctx, TPU_ERR_CONFIG, "%s: line too long", where);
        memcpy(line, p, len);
        line[len] = 0;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (*s) {
            enum tpu_status rc = parse_kv(ctx, out, s, where);
            if (rc) return rc;
        }
        p += len + (nl != NULL);
    }
    for (int i = 0; i < N_KEYS; i++)
        if (key_rows[i].required && !(out->set_mask & (1ull << i)))
            return tpu_err(ctx, TPU_ERR_CONFIG, "%s: missing required key '%s' (%s)", path,
                           key_rows[i].name, key_rows[i].help);
    return tpu_chip_validate(ctx, out);
}

enum tpu_status tpu_chip_set_kv(struct tpu_ctx *ctx, struct tpu_chip *c, const char *origin,
                                const char *kv)
{
    char line[512];
    if (strlen(kv) >= sizeof line) return tpu_err(ctx, TPU_ERR_CONFIG, "%s: too long", origin);
    snprintf(line, sizeof line, "%s", kv);
    enum tpu_status rc = parse_kv(ctx, c, trim(line), origin);
    return rc ? rc : tpu_chip_validate(ctx, c);
}

enum tpu_status tpu_chip_validate(struct tpu_ctx *ctx, const struct tpu_chip *c)
{
    const char *p = c->path[0] ? c->path : c->name;
    if (c->accumulator_rows < 2 * c->mxu_count)
        return tpu_err(ctx, TPU_ERR_CONFIG,
                       "%s: accumulator_rows %lld is less than two rows per MXU (%lld MXUs)", p,
                       (long long)c->accumulator_rows, (long long)c->mxu_count);
    int64_t rows_bytes = c->array_rows * tpu_chip_elem_bytes(c) + c->array_cols * 4;
    if (c->unified_buffer_bytes < rows_bytes)
        return tpu_err(ctx, TPU_ERR_CONFIG, "%s: unified_buffer_bytes %lld cannot hold one input row "
                       "and one 32-bit output row (%lld bytes)", p, (long long)c->unified_buffer_bytes,
                       (long long)rows_bytes);
    return TPU_STATUS_OK;
}

void tpu_chip_print(const struct tpu_chip *c, FILE *f)
{
    for (int i = 0; i < N_KEYS; i++) {
        const char *field = (const char *)c + key_rows[i].offset;
        fprintf(f, "%-30s = ", key_rows[i].name);
        switch (key_rows[i].kind) {
        case KIND_STR:   fprintf(f, "%s", field); break;
        case KIND_DTYPE: fprintf(f, "%s", *(const int64_t *)field ? "bf16" : "int8"); break;
        case KIND_INT:   fprintf(f, "%lld", (long long)*(const int64_t *)field); break;
        case KIND_REAL:  fprintf(f, "%.10g", *(const double *)field); break;
        }
        fprintf(f, "   # %s\n", key_rows[i].help);
    }
}
