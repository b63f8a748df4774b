/*
** report/report_json.c: a minimal streaming JSON writer (objects, arrays,
** strings, numbers) and the temp-file-then-rename helpers every report file
** goes through, so a failed command never leaves a partial file behind.
*/
#include "report/report.h"
#include <math.h>
#include <string.h>
#include <unistd.h>

void tpu_json_init(struct tpu_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
    j->first[0] = true;
}

void tpu_json_put_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
        else if (*p == '\n') fputs("\\n", f);
        else if (*p < 0x20) fprintf(f, "\\u%04x", *p);
        else fputc(*p, f);
    }
    fputc('"', f);
}

/* Comma, newline + indent, and the key when inside an object. */
static void item(struct tpu_json *j, const char *key)
{
    if (!j->first[j->depth]) fputc(',', j->f);
    j->first[j->depth] = false;
    if (j->depth) fprintf(j->f, "\n%*s", 2 * j->depth, "");
    if (key) { tpu_json_put_string(j->f, key); fputs(": ", j->f); }
}

void tpu_json_begin(struct tpu_json *j, const char *key, char bracket)
{
    TPU_ASSERT(j->depth + 1 < TPU_JSON_MAX_DEPTH);
    item(j, key);
    fputc(bracket, j->f);
    j->first[++j->depth] = true;
}

void tpu_json_end(struct tpu_json *j, char bracket)
{
    TPU_ASSERT(j->depth > 0);
    bool empty = j->first[j->depth--];
    if (!empty) fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(bracket, j->f);
    if (j->depth == 0) fputc('\n', j->f);
}

void tpu_json_str(struct tpu_json *j, const char *key, const char *s) { item(j, key); tpu_json_put_string(j->f, s); }
void tpu_json_int(struct tpu_json *j, const char *key, int64_t v) { item(j, key); fprintf(j->f, "%lld", (long long)v); }
void tpu_json_bool(struct tpu_json *j, const char *key, bool v) { item(j, key); fputs(v ? "true" : "false", j->f); }

void tpu_json_num(struct tpu_json *j, const char *key, double v)
{
    item(j, key);
    if (isfinite(v)) fprintf(j->f, "%.9g", v);
    else fputs("null", j->f);
}

void tpu_json_dims(struct tpu_json *j, const char *key, const struct tpu_tensor *t)
{
    item(j, key);
    if (t->n_dims < 0) { fputs("null", j->f); return; }
    fputc('[', j->f);
    for (int d = 0; d < t->n_dims; d++) {
        if (d) fputs(", ", j->f);
        if (t->dims[d] >= 0) fprintf(j->f, "%lld", (long long)t->dims[d]);
        else if (t->dim_param[d]) tpu_json_put_string(j->f, t->dim_param[d]);
        else fputs("null", j->f);
    }
    fputc(']', j->f);
}

/*---- Whole files or none ----*/
FILE *tpu_file_begin(struct tpu_ctx *ctx, const char *path, char *tmp, size_t n_tmp)
{
    snprintf(tmp, n_tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) tpu_err(ctx, TPU_ERR_IO, "%s: cannot write it", path);
    return f;
}

enum tpu_status tpu_file_commit(struct tpu_ctx *ctx, FILE *f, const char *path, const char *tmp, bool ok)
{
    bool failed = ferror(f) != 0;
    failed |= fclose(f) != 0;
    if (ok && !failed && rename(tmp, path) == 0) return TPU_STATUS_OK;
    unlink(tmp);
    if (!ok) return TPU_STATUS_OK;
    return tpu_err(ctx, TPU_ERR_IO, "%s: cannot write it", path);
}
