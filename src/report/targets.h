/*
** report/targets.h: the hardware targets `tpusim bench` compares (TPUs, GPUs,
** CPU) — peak rates, memory, power and price — read from one sourced data file.
**
** In:  data/targets.txt (format documented at its top), plus command-line
**      overrides ("price h100=2.49", "h100.busy_w=650").
** Out: struct tpu_target lookups for the GPU model (report/gpu_model.c), the
**      bench report and the charts (report/svg.c).
**
** Example:
**   struct tpu_targets *ts = NULL;
**   if (tpu_targets_load(ctx, "data/targets.txt", &ts) != TPU_STATUS_OK) ...;
**   tpu_targets_override(ctx, ts, "price h100=2.49");
**   const struct tpu_target *h = tpu_targets_find(ts, "h100");
**   double bw = tpu_target_get(h, TPU_TF_MEM_BW_BYTES_PER_S);   // NAN if "-"
**   tpu_targets_free(ts);
*/
#ifndef TPU_REPORT_TARGETS_H
#define TPU_REPORT_TARGETS_H

#include "tpu_impl.h"
#include <stdbool.h>

/* The numeric fields, in file order: X(ENUM suffix, key in the file). */
#define TPU_TARGET_FIELDS(X) \
    X(CLOCK_HZ,           "clock_hz")           \
    X(PEAK_FP32_FLOPS,    "peak_fp32_flops")    \
    X(PEAK_BF16_FLOPS,    "peak_bf16_flops")    \
    X(PEAK_INT8_OPS,      "peak_int8_ops")      \
    X(MEM_BW_BYTES_PER_S, "mem_bw_bytes_per_s") \
    X(MEM_BYTES,          "mem_bytes")          \
    X(TDP_W,              "tdp_w")              \
    X(BUSY_W,             "busy_w")             \
    X(IDLE_W,             "idle_w")             \
    X(PRICE_USD_PER_HOUR, "price_usd_per_hour")

enum tpu_target_field {
#define X(e, key) TPU_TF_##e,
    TPU_TARGET_FIELDS(X)
#undef X
    TPU_TF_COUNT
};

enum tpu_target_kind { TPU_TARGET_TPU, TPU_TARGET_GPU, TPU_TARGET_CPU };

/* How much a number can be trusted (see data/targets.txt). */
enum tpu_conf {
    TPU_CONF_MISSING = 0,   /* field absent from the section               */
    TPU_CONF_V, TPU_CONF_S, TPU_CONF_DERIVED, TPU_CONF_UNVERIFIED, TPU_CONF_ESTIMATE,
    TPU_CONF_OVERRIDE,      /* set on the command line                      */
};

/* Numeric precision a model runs at; selects the peak rate and element bytes. */
enum tpu_precision { TPU_PREC_FP32, TPU_PREC_BF16, TPU_PREC_INT8 };

#define TPU_TARGET_NAME_MAX   32
#define TPU_TARGET_SOURCE_MAX 256

struct tpu_target_value {
    double        v;                             /* NAN when "-" (not published) */
    enum tpu_conf conf;
    char          source[TPU_TARGET_SOURCE_MAX];
};

struct tpu_target {
    char                     name[TPU_TARGET_NAME_MAX];  /* "h100"               */
    char                     desc[128];
    enum tpu_target_kind     kind;
    int                      line;                       /* of its [name] line   */
    struct tpu_target_value  f[TPU_TF_COUNT];
};

struct tpu_targets {
    int                n_targets;
    struct tpu_target *targets;           /* heap; file order                  */
    char               path[256];         /* for messages                      */
};

/* Reads and parses a targets file. On success *out is owned by the caller
** (tpu_targets_free); on failure *out is NULL and the message names
** "path:line". Every section must have kind and every numeric field. */
enum tpu_status tpu_targets_load(struct tpu_ctx *ctx, const char *path, struct tpu_targets **out);
/* Same, from text in memory; `path` is only used in messages. */
enum tpu_status tpu_targets_parse(struct tpu_ctx *ctx, const char *path, const char *text,
                                  struct tpu_targets **out);
void            tpu_targets_free(struct tpu_targets *ts);          /* NULL: no-op */

/* The target named `name` (case-sensitive), or NULL. */
const struct tpu_target *tpu_targets_find(const struct tpu_targets *ts, const char *name);

/* Applies one override: "price NAME=USD_PER_HOUR" or "NAME.KEY=VALUE". The value
** is marked TPU_CONF_OVERRIDE with source "override". TPU_ERR_USAGE for an
** unknown target or key or a bad number. */
enum tpu_status tpu_targets_override(struct tpu_ctx *ctx, struct tpu_targets *ts, const char *spec);

double      tpu_target_get(const struct tpu_target *t, enum tpu_target_field f);   /* NAN: unknown */
/* Peak operations per second at a precision (2 x MACs/s); NAN if not published. */
double      tpu_target_peak(const struct tpu_target *t, enum tpu_precision p);
const char *tpu_target_field_key(enum tpu_target_field f);       /* "busy_w"         */
const char *tpu_conf_name(enum tpu_conf c);                      /* "V", "ESTIMATE"  */
const char *tpu_precision_name(enum tpu_precision p);            /* "bf16"           */
/* "fp32" / "bf16" / "fp16" (= bf16 rates) / "int8"; -1 if unknown. */
int         tpu_precision_from_name(const char *s);
size_t      tpu_precision_bytes(enum tpu_precision p);           /* 4, 2, 1          */

/*---- Derived metrics of one (target, batch) run, for the bench report ----*/
struct tpu_run_metrics {
    double latency_s;                 /* per batch                               */
    double latency_per_inf_s;         /* latency_s / batch                       */
    double inf_per_s;                 /* batch / latency_s (one chip, back to back) */
    double energy_per_inf_j;          /* busy_w x latency_s / batch; NAN if no power */
    double usd_per_million;           /* price x latency_s / 3600 / batch x 1e6; NAN if no price */
    double inf_per_j, inf_per_usd;    /* reciprocals of the two above            */
};
/* Fills m from a batch's latency on t (docs/cost-model.md section 3). batch >= 1
** and latency_s > 0 are the caller's to guarantee. */
void tpu_run_metrics(const struct tpu_target *t, int64_t batch, double latency_s,
                     struct tpu_run_metrics *m);
/* Index of the batch with the highest inf_per_s whose latency_s <= slo_s, or -1
** when none meets the SLO. Ties go to the smaller batch. */
int  tpu_best_batch_under_slo(const struct tpu_run_metrics *m, const int64_t *batch, int n, double slo_s);

#endif /* TPU_REPORT_TARGETS_H */
