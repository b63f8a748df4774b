/*
** report/gpu_model.h: the analytical (roofline) model that prices a prepared
** tpu_graph on a GPU or CPU target, and the calibration file that replaces
** modelled per-node times with measured ones.
**
** In:  a prepared tpu_graph (every node's tensors have dtype and dims; ir/ir.h),
**      a target from report/targets.h, a batch size and a precision; optionally
**      a calibration file written by tools/gpu_calibrate.py.
** Out: per-node FLOPs, bytes, time (compute- or memory-bound) and totals with
**      energy and dollars, for the bench report and the roofline chart (svg.c).
**
** Per node:  time = max(FLOPs / (peak x EFF_COMPUTE), bytes / (bw x EFF_MEM))
**                   + launch overhead;  docs/cost-model.md explains every term.
**
** Example:
**   struct tpu_gpu_options o = tpu_gpu_options_default();
**   o.batch = 64; o.precision = TPU_PREC_BF16; o.model_name = "mlp0";
**   struct tpu_gpu_result r;
**   if (tpu_gpu_model_run(ctx, g, tpu_targets_find(ts, "h100"), &o, &r) == TPU_STATUS_OK)
**       printf("%.3f ms, %.3f J\n", r.time_s * 1e3, r.energy_j);
**   tpu_gpu_result_free(&r);
*/
#ifndef TPU_REPORT_GPU_MODEL_H
#define TPU_REPORT_GPU_MODEL_H

#include "ir/ir.h"
#include "report/targets.h"

/*---- Model constants (justification next to each in gpu_model.c) ----*/
#define TPU_GPU_EFF_COMPUTE      0.70    /* of peak, matmul-class ops on tensor cores */
#define TPU_GPU_EFF_MEM          0.85    /* of peak HBM/GDDR bandwidth                */
#define TPU_GPU_LAUNCH_S         4e-6    /* per kernel                                */
#define TPU_CPU_EFF_COMPUTE      0.50    /* of peak, vectorised GEMM                  */
#define TPU_CPU_EFF_MEM          0.70    /* of peak DRAM bandwidth                    */
#define TPU_CPU_LAUNCH_S         1e-6    /* per op dispatch                           */

/*---- Calibration: measured per-node times ----*/
/* File format (CSV, one measurement per line; '#' lines are comments):
**   # tpusim-calibration v1           <- first line, required
**   model,node,op,batch,seconds,gpu,date   <- column line (after optional '#' lines)
**   mlp0,fc1,Gemm,200,0.000123,h100,2026-11-22
** model: the model's base name without ".onnx"; node: the ONNX node name; op: its
** op_type (checked against the graph); batch: the batch it was measured at;
** seconds: median time of the node's kernels; gpu: the target name in
** data/targets.txt; date: ISO date of the measurement. Commas are not allowed
** inside fields. A row applies to (model, node, batch, gpu) exactly. */
struct tpu_calib_row {
    char   model[64], node[128], op[48], gpu[32], date[32];
    int64_t batch;
    double seconds;
};
struct tpu_calib {
    int                   n_rows;
    struct tpu_calib_row *rows;            /* heap                        */
    char                  path[256];
};
enum tpu_status tpu_calib_load(struct tpu_ctx *ctx, const char *path, struct tpu_calib **out);
enum tpu_status tpu_calib_parse(struct tpu_ctx *ctx, const char *path, const char *text,
                                struct tpu_calib **out);
void            tpu_calib_free(struct tpu_calib *c);                 /* NULL: no-op */
/* The matching row, or NULL. */
const struct tpu_calib_row *tpu_calib_find(const struct tpu_calib *c, const char *model,
                                           const char *node, const char *gpu, int64_t batch);

/*---- The model ----*/
struct tpu_gpu_options {
    enum tpu_precision      precision;     /* element size and which peak       */
    int64_t                 batch;         /* batch to price (>= 1)             */
    int64_t                 graph_batch;   /* batch the graph's shapes are at   */
    const char             *model_name;    /* for calibration lookups, or NULL  */
    const struct tpu_calib *calib;         /* NULL: everything modelled         */
};
struct tpu_gpu_options tpu_gpu_options_default(void);  /* bf16, batch 1, graph batch 1 */

struct tpu_gpu_node {
    const char *name, *op_type;    /* borrowed from the graph                        */
    int         node_index;        /* in g->nodes                                    */
    double      macs;              /* at the priced batch                            */
    double      flops;             /* 2 x MACs for matmul-like ops, else elementwise */
    double      weight_bytes;      /* constant inputs (not scaled by batch)          */
    double      act_bytes;         /* other inputs + outputs (scaled by batch)       */
    double      compute_s, memory_s, launch_s;
    double      time_s;            /* modelled, or measured when calibrated          */
    bool        matmul_like;       /* priced at the tensor-core peak                 */
    bool        memory_bound;      /* memory_s > compute_s                           */
    bool        calibrated;        /* time_s comes from the calibration file         */
    bool        free_view;         /* reshape-like: no kernel, no time               */
};

struct tpu_gpu_result {
    const struct tpu_target *target;
    enum tpu_precision       precision;
    int64_t                  batch;
    int                      n_nodes;
    struct tpu_gpu_node     *nodes;         /* heap; tpu_gpu_result_free        */
    double flops, bytes, time_s;            /* totals                           */
    double energy_j;                        /* busy_w x time_s                  */
    double cost_usd;                        /* price_usd_per_hour x time_s/3600 */
    int    n_calibrated;                    /* nodes timed from measurements    */
    int    n_kernels;                       /* nodes that launch a kernel       */
};

/* Prices every live node of g on target t. The graph's shapes are taken to be at
** o->graph_batch; FLOPs and activation bytes scale by batch/graph_batch, weight
** bytes do not. Errors: TPU_ERR_USAGE for a TPU target (use the simulator), a
** missing peak/bandwidth or a bad batch; TPU_ERR_SHAPE naming the node for
** unknown shapes. On failure *r is zeroed and owns nothing. */
enum tpu_status tpu_gpu_model_run(struct tpu_ctx *ctx, const struct tpu_graph *g,
                                  const struct tpu_target *t, const struct tpu_gpu_options *o,
                                  struct tpu_gpu_result *r);
void            tpu_gpu_result_free(struct tpu_gpu_result *r);   /* NULL: no-op */

/* MACs of one node: the op table's count (ir/cost.c); 0 when unknown. */
int64_t         tpu_gpu_node_macs(const struct tpu_graph *g, const struct tpu_node *n);

#endif /* TPU_REPORT_GPU_MODEL_H */
