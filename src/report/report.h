/*
** report/report.h: the small JSON writer the reports share, and the atomic
** file helpers (write to a temp name, rename on success, remove on failure).
**
** In:  a FILE and values.  Out: JSON text, always well-formed when every
** begin has its end. Used by report/report_check.c, report_run.c and
** conformance.c.
*/
#ifndef TPU_REPORT_H
#define TPU_REPORT_H

#include "ir/passes.h"

#define TPU_JSON_MAX_DEPTH 16

struct tpu_json {
    FILE *f;
    int   depth;
    bool  first[TPU_JSON_MAX_DEPTH];    /* no comma before the next item      */
    bool  after_key;                    /* a key was just written             */
};

void tpu_json_init(struct tpu_json *j, FILE *f);
void tpu_json_begin(struct tpu_json *j, const char *key, char bracket);   /* '{' or '[' */
void tpu_json_end(struct tpu_json *j, char bracket);
void tpu_json_str(struct tpu_json *j, const char *key, const char *s);    /* key NULL in arrays */
void tpu_json_put_string(FILE *f, const char *s);   /* s quoted and escaped (NULL: ""), no comma */
void tpu_json_int(struct tpu_json *j, const char *key, int64_t v);
void tpu_json_num(struct tpu_json *j, const char *key, double v);         /* NaN/inf → null */
void tpu_json_bool(struct tpu_json *j, const char *key, bool v);
void tpu_json_dims(struct tpu_json *j, const char *key, const struct tpu_tensor *t); /* -1 → name or null */

/* Opens path.tmp<pid> for writing; tpu_file_commit renames it to path (or
** removes it when ok is false). Returns NULL and records TPU_ERR_IO. */
FILE           *tpu_file_begin(struct tpu_ctx *ctx, const char *path, char *tmp, size_t n_tmp);
enum tpu_status tpu_file_commit(struct tpu_ctx *ctx, FILE *f, const char *path, const char *tmp, bool ok);

#endif /* TPU_REPORT_H */
