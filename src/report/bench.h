/*
** report/bench.h: `tpusim bench` — one model on several targets (simulated
** TPUs, modelled GPUs, the measured host CPU) at several batches; latency,
** throughput, utilisation, energy and cost per inference, the best batch under
** a latency SLO and the winner per metric.
**
** In:  an ONNX model (its batch dim symbolic, or fixed and equal to every batch
**      asked for), data/targets.txt (report/targets.h), optional calibration
**      (report/gpu_model.h), chips/NAME.chip (sim/).
** Out: struct tpu_bench (rows per target x batch); bench_out.c prints the
**      aligned table and writes JSON, CSV and SVG charts (report/svg.h).
**
** How each kind of target gets its latency (docs/cost-model.md section 6):
**   tpu  the cycle simulator, timing-only, every Gemm/MatMul/Conv on the MXU;
**        other ops run on the host CPU and are timed by running their reference
**        kernels on this machine (measured, added to the latency), or with
**        host_model by the roofline model of the `cpu` target (deterministic);
**        one functional run at the first batch checks values against ref/.
**   gpu  the analytical roofline model (gpu_model.c), calibrated where a
**        calibration file has the node; the rows say "modelled"/"calibrated".
**   cpu  measured: the reference executor on this machine, one thread.
**   ort  measured: ONNX Runtime's CPU provider on this machine, one thread
**        (bench/ort_run.js; needs node and tools/npm_install.sh), priced with
**        the `cpu` section's price and power.
*/
#ifndef TPU_REPORT_BENCH_H
#define TPU_REPORT_BENCH_H

#include "report/targets.h"
#include <stdio.h>

#define TPU_BENCH_MAX_TARGETS   16
#define TPU_BENCH_MAX_BATCHES   16
#define TPU_BENCH_MAX_OVERRIDES 32

struct tpu_bench_opts {
    const char *model;
    const char *targets_path;          /* NULL: data/targets.txt                */
    const char *calib_path;            /* GPU calibration CSV, or NULL          */
    const char *targets[TPU_BENCH_MAX_TARGETS];
    int         n_targets;
    int64_t     batches[TPU_BENCH_MAX_BATCHES];
    int         n_batches;
    double      slo_s;                 /* <= 0: no SLO                          */
    const char *overrides[TPU_BENCH_MAX_OVERRIDES];   /* tpu_targets_override specs */
    int         n_overrides;
    const char *json, *csv, *svg_dir;  /* outputs, or NULL                      */
    int         no_verify;             /* 1: skip the functional TPU run        */
    int         progress;              /* 1: progress lines on stderr           */
    int         node_times;            /* 1: each node's measured time on stderr */
    int         resident;              /* 1: activations stay in the unified buffer
                                          between layers (TPU_BENCH_RESIDENT)   */
    int         passes;                /* --precision: 1 (default), 3 (high), 6
                                          (highest); 0: 1                       */
    int         host_model;            /* 1: host-CPU ops of TPU targets priced by the
                                          roofline model on the `cpu` target instead
                                          of measured (deterministic)            */
};

/* One (target, batch) result. */
struct tpu_bench_row {
    char    target[TPU_TARGET_NAME_MAX];
    enum tpu_target_kind kind;
    int64_t batch;
    const char *source;                /* "simulated", "modelled", "calibrated", "measured" */
    double  latency_s;                 /* per batch: device_s + host_s          */
    double  device_s, host_s;          /* chip / GPU time; host-CPU ops (TPU)   */
    int     n_host_ops;                /* TPU: nodes run on the host CPU        */
    uint64_t ub_need_bytes;            /* TPU --resident: the liveness plan; 0:
                                          it fits (or no --resident)            */
    double  ops;                       /* 2 x MACs per batch                    */
    double  util;                      /* TPU: MXU utilisation over device time;
                                          GPU: achieved / peak; CPU: NAN        */
    struct tpu_run_metrics m;
};

/* One layer of the roofline chart (matrix ops at the largest batch). */
struct tpu_bench_point {
    char   label[64];
    int    roof;                       /* index of the target in the bench      */
    double ops, bytes, seconds;
};

/* The functional run of a TPU target. */
struct tpu_bench_verify {
    char    target[TPU_TARGET_NAME_MAX];
    int64_t batch;
    int     n_compared;                /* MXU layers compared with ref/         */
    double  max_nmse;                  /* worst layer                           */
    char    note[512];                 /* "not run: why", or ""                 */
};

struct tpu_bench {
    char                     model[256];
    struct tpu_targets      *ts;
    const struct tpu_target *t[TPU_BENCH_MAX_TARGETS];
    enum tpu_precision       prec[TPU_BENCH_MAX_TARGETS];
    int                      n_targets;
    int64_t                  batches[TPU_BENCH_MAX_BATCHES];
    int                      n_batches;
    double                   slo_s;
    int                      n_rows;
    struct tpu_bench_row     rows[TPU_BENCH_MAX_TARGETS * TPU_BENCH_MAX_BATCHES];
    int                      n_points, cap_points;
    struct tpu_bench_point  *points;
    int                      n_verify;
    struct tpu_bench_verify  verify[TPU_BENCH_MAX_TARGETS];
    int                      calibrated_nodes;      /* over all GPU rows       */
    int                      host_model;            /* opts.host_model         */
    int                      resident;              /* opts.resident           */
    int                      passes;                /* opts.passes, 1 at least */
    struct tpu_target        ort;                   /* the `ort` target: [cpu]'s
                                                       numbers, ONNX Runtime's time */
};

/* Runs the sweep. On success *out is the caller's (tpu_bench_free). */
enum tpu_status tpu_bench_run(struct tpu_ctx *ctx, const struct tpu_bench_opts *o, struct tpu_bench **out);
/* Monotonic seconds (report/bench_host.c): the host timings of bench, and of
** run --repeat (cli/). */
double          tpu_bench_now_s(void);
void            tpu_bench_free(struct tpu_bench *b);                 /* NULL: no-op */

/* Row index of (target i, batch j) or -1 when that run failed. */
int tpu_bench_row(const struct tpu_bench *b, int target, int batch);

/* bench_out.c: the aligned table (with notes on what is modelled), JSON, CSV, SVG. */
void            tpu_bench_print(const struct tpu_bench *b, FILE *f);
enum tpu_status tpu_bench_write_json(struct tpu_ctx *ctx, const struct tpu_bench *b, const char *path);
enum tpu_status tpu_bench_write_csv(struct tpu_ctx *ctx, const struct tpu_bench *b, const char *path);
/* roofline.svg, throughput.svg, cost.svg in dir (created if missing). */
enum tpu_status tpu_bench_write_svg(struct tpu_ctx *ctx, const struct tpu_bench *b, const char *dir);

/* The winner per metric: the row index, or -1. metric: 0 latency per inference,
** 1 throughput, 2 energy per inference, 3 dollars per million. */
int tpu_bench_winner(const struct tpu_bench *b, int metric);

/* bench.c: simulates every live node of the prepared g on the timing-only
** simulator s: the MXU nodes (Gemm, MatMul, Conv, ConvTranspose, QLinearMatMul,
** QLinearConv) the lowering accepts (compile/mm_node.c, as run), every other
** node (and matrix ops it rejects, e.g. a batched MatMul of two activations) on the host
** CPU for node_s[k] seconds (node_s NULL: 0). layer (may be NULL) sees every
** node, its descriptor (NULL: host) and its simulated cycles [t0, t1). */
struct tpu_graph;
struct tpu_node;
struct tpu_chip;
struct tpu_sim;
struct tpu_mm_desc;
struct tpu_bench_sim {
    int64_t  cycles, macs;
    int      n_chip, n_host;
    double   host_s;
    int      ub_fits;                      /* RESIDENT: the liveness plan fits the UB */
    uint64_t ub_need_bytes;                /* RESIDENT: the plan's extent            */
};
/* flags: TPU_BENCH_RESIDENT keeps activations in the unified buffer between
** chip nodes (the TPU v1 paper's way of running its apps, timing only): a
** chip node skips the host-link read of what a chip node made or read in
** before, and the write of a result no host node reads (tpu_ub_residency,
** compile/ub_plan.c); graph inputs, graph outputs and host ops' operands
** still cross the link; nothing stays when the liveness plan does not fit
** the UB (out->ub_fits 0). TPU_BENCH_ALL_RESIDENT: no chip node moves
** anything over the host link, graph inputs, outputs and host ops' operands
** included (the TPU v1 paper's apps: their vector layers ran on the chip,
** host I/O overlapped; bench/tpu-v1-paper). 0: each layer reads its input
** from and writes its output to host memory (the compiler's default). */
enum { TPU_BENCH_RESIDENT = 1, TPU_BENCH_ALL_RESIDENT = 2 };
/* flags | TPU_BENCH_PASSES(p): --precision's passes for the MXU layers (bf16
** passes on bf16 chips, 16-bit operands on int8 chips: compile/precision.c,
** compile/wide.c); 0 or 1: one pass, int8. */
#define TPU_BENCH_PASSES(p) ((unsigned)(p) << 8)
struct tpu_prec_auto;                     /* include/tpusim.h */
typedef void (*tpu_bench_layer_fn)(void *user, const struct tpu_graph *g, const struct tpu_node *n,
                                   const struct tpu_mm_desc *d, int64_t t0, int64_t t1);
enum tpu_status tpu_bench_sim_graph(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                    struct tpu_sim *s, const double *node_s, unsigned flags,
                                    struct tpu_bench_sim *out, tpu_bench_layer_fn layer, void *user);
/* The same with each MXU node's passes from pa (--precision auto; NULL: the
** flags' TPU_BENCH_PASSES for every node), as run lowers them. */
enum tpu_status tpu_bench_sim_graph_auto(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                         struct tpu_sim *s, const double *node_s, unsigned flags,
                                         const struct tpu_prec_auto *pa, struct tpu_bench_sim *out,
                                         tpu_bench_layer_fn layer, void *user);

/* bench_trace.c: a timing-only run of model on chip at batch written as a
** Chrome trace to path; one summary line on summary (may be NULL). */
enum tpu_status tpu_bench_trace(struct tpu_ctx *ctx, const char *model, const char *chip, int64_t batch,
                                const char *path, FILE *summary);

#endif /* TPU_REPORT_BENCH_H */
