/*
** compile/compile.h: lowering of the matrix ops (Gemm, MatMul, Conv) onto the
** MXU. Every op becomes a (grouped) GEMM: T = rows streamed (batch x output
** pixels), K = reduction (kernel window x input channels per group),
** N = output channels per group. lower.c tiles it to the array (K by
** array_rows, N by array_cols), the accumulators (rows per pass) and the
** unified buffer, and emits the program; driver.c packs host memory (im2col,
** quantisation) and unpacks the results.
**
** In:  a tpu_graph node (ir/) or a hand-made struct tpu_mm_desc, a chip.
** Out: struct tpu_lowered: a program (isa/) plus the host-memory layout.
*/
#ifndef TPU_COMPILE_H
#define TPU_COMPILE_H

#include "ir/ir.h"
#include "isa/isa.h"
#include "sim/sim_config.h"

/* tpu_mm_desc.resident, tpu_vec_plan.resident: which host-link transfers a
** chip program leaves out because the data stays in the Unified Buffer
** between chip nodes (timing only: bench --resident and run's on-chip
** estimate, residency decided per node by tpu_ub_residency in ub_plan.c). */
enum { TPU_RESIDENT_IN = 1, TPU_RESIDENT_OUT = 2, TPU_RESIDENT_BOTH = 3 };

/* One matrix op as a grouped GEMM, with the convolution geometry that maps
** input pixels to GEMM rows (a Gemm/MatMul is a 1x1 "convolution" on a 1x1
** image with batch = M). */
struct tpu_mm_desc {
    char    name[128];                    /* ONNX node name                    */
    char    op[32];                       /* "Gemm", "MatMul", "Conv"          */
    int     is_conv;
    int64_t groups;
    int64_t M, K, N;                      /* per group                         */
    int64_t batch, c_in, h, w, c_out;     /* conv input NCHW, output channels  */
    int64_t kh, kw, sh, sw, dh, dw, pt, pl, oh, ow;
    int64_t model_macs;                   /* the op's MACs when the GEMM does
                                             more (block-diagonal groups); 0:
                                             groups x M x K x N                */
    int     resident;                     /* TPU_RESIDENT_* bits: the input /
                                             result stays in the UB (no host
                                             DMA); timing-only use             */
    int     w_nk;                         /* 1: weights come as [groups][N][K]
                                             (ONNX Conv, Gemm transB: no
                                             transpose); 0: [groups][K][N]     */
    int     passes;                       /* bf16 passes (compile/precision.c):
                                             0 or 1 one; 3 or 6: K holds them  */
    int64_t up_h, up_w;                   /* ConvTranspose (compile/mm_convt.c):
                                             the input's zero-insertion factors
                                             (h, w above are after it); 0 or 1:
                                             a plain Conv                      */
    int     bias;                         /* 1: ACTIVATE adds a per-column bias
                                             (table from tpu_mm_pack_tables)   */
    int     act;                          /* ACTIVATE func (enum tpu_act_func):
                                             0 none, relu, sigmoid/tanh (bf16
                                             chips), clip (lo/hi table)        */
    int     wide;                         /* TPU_WIDE_*: 16-bit operands as a
                                             wider int8 GEMM (compile/wide.c)  */
    int     raw_i8;                       /* 1: weights are integers in
                                             [-128, 127] put in the tiles as
                                             they are (scale 1; compile/
                                             qlinear.c)                        */
};

/* 32-bit words of ACTIVATE's tables for one n-tile: bias[C] with d->bias,
** then lo[C], hi[C] with func clip (compile/lower.c, compile/driver.c). */
static inline int64_t tpu_mm_tab_words(const struct tpu_mm_desc *d, int64_t cols)
{
    return (d->bias ? cols : 0) + (d->act == TPU_ACT_CLIP ? 2 * cols : 0);
}

struct tpu_lowered {
    struct tpu_program *prog;
    struct tpu_mm_desc  d;
    int64_t  mrows, n_chunks, k_tiles, n_tiles;
    int      single_chunk;                /* host in/out are separate layers   */
    uint64_t host_bytes;                  /* packed A, then 32-bit results     */
    uint64_t host_out_off;
    float   *w_scale;                     /* int8: per (group, column) scale   */
    float    in_scale;                    /* int8: per-tensor input scale      */
    float    in_scale_fixed;              /* int8: calibrated scale; 0: max|x|
                                             of this input at run time         */
    int      k_hwc;                       /* 1: conv K runs (ky, kx, channel)
                                             instead of (channel, ky, kx) in the
                                             packed rows and the weight tiles
                                             (int8: the same integer sums)     */
    uint64_t host_tab_off;                /* ACTIVATE tables in host memory,
                                             tab_bytes per group after the
                                             results                           */
    uint64_t tab_bytes;                   /* one group's tables: n_tiles x
                                             tpu_mm_tab_words x 4 (0: none)    */
};

/* DEBUG tags the lowering puts at section ends (the report's layer rows). */
enum { TPU_TAG_HOST_IN = 1, TPU_TAG_COMPUTE = 2, TPU_TAG_HOST_OUT = 3 };

/* Lowers d. weights: [groups][K][N] fp32 ([groups][N][K] when d->w_nk), or NULL for a timing-only program
** (virtual weight image). Quantises weights to int8 per column (symmetric) on
** int8 chips, to bf16 on bf16 chips. */
enum tpu_status tpu_lower_mm(struct tpu_ctx *ctx, const struct tpu_chip *chip,
                             const struct tpu_mm_desc *d, const float *weights,
                             struct tpu_lowered *out);
void            tpu_lowered_free(struct tpu_lowered *l);

/* Largest |x[i]| of n values (0 for none; NaNs skipped); compile/driver.c. */
float tpu_max_abs_f32(const float *x, int64_t n);

/* A's element (row m, column k) of group g, from the op's fp32 input x
** (NCHW for conv; [groups][M][K] otherwise). */
float tpu_mm_a_value(const struct tpu_mm_desc *d, const float *x, int64_t g, int64_t m, int64_t k);
/* Packs x into host memory (im2col, quantisation with l->in_scale). */
void  tpu_mm_pack_input(const struct tpu_chip *chip, struct tpu_lowered *l, const float *x,
                        uint8_t *host);
/* The same bytes, element by element (the old path; tests compare the two). */
void  tpu_mm_pack_input_ref(const struct tpu_chip *chip, struct tpu_lowered *l, const float *x,
                            uint8_t *host);
/* ACTIVATE's tables into host memory (after tpu_mm_pack_input: int8 tables
** depend on l->in_scale): bias [groups][N] fp32 (NULL: zero) and the clip
** bounds lo, hi. int8 chips: bias / (in_scale x w_scale[col]) rounded to
** nearest even, the bounds likewise rounded inward (ceil lo, floor hi: the
** output stays in [lo, hi]), saturated to int32 (+-inf: the int32 limits);
** bf16 chips: the fp32 values. No-op when l->tab_bytes is 0. */
void  tpu_mm_pack_tables(const struct tpu_chip *chip, const struct tpu_lowered *l, const float *bias,
                         float lo, float hi, uint8_t *host);
/* Unpacks the raw results into y (ONNX layout), y = alpha * acc (dequantised)
** + bias[column] (bias NULL: none, or added on chip by ACTIVATE). */
void  tpu_mm_unpack_output(const struct tpu_chip *chip, const struct tpu_lowered *l,
                           const uint8_t *host, float alpha, const float *bias, float *y);

/* Describes node n of g (shapes checked); weights gets [groups][K][N] fp32,
** or [groups][N][K] with d->w_nk set (Conv, Gemm transB: the ONNX layout),
** tpu_malloc'd (caller frees), when want_weights. */
enum tpu_status tpu_mm_from_node(struct tpu_graph *g, struct tpu_node *n, struct tpu_mm_desc *d,
                                 float **weights, int want_weights);
/* want_weights = TPU_MM_BORROW for a Gemm, MatMul or Conv: *weights is the
** weight tensor's own values (read only, the graph's), not a copy. */
enum { TPU_MM_BORROW = 2 };

/* The GEMM geometry (groups, M, K, N, strides, pads, dilations, output
** size; d->is_conv set) of 2-D Conv-like node n with input x [N,C,H,W] and
** weights w [M, C/group, kH, kW] (shapes known, any dtype). */
enum tpu_status tpu_mm_conv_geometry(struct tpu_graph *g, struct tpu_node *n, const struct tpu_tensor *x,
                                     const struct tpu_tensor *w, struct tpu_mm_desc *d);

/* A grouped Conv narrower than the array becomes one GEMM with block-
** diagonal weights (d and *w rewritten, d->model_macs keeps the op's MACs;
** w may point at NULL for timing only). No change when not worth it. */
enum tpu_status tpu_mm_block_diagonal(struct tpu_ctx *ctx, const struct tpu_chip *chip, struct tpu_mm_desc *d,
                                      float **w);

/*---- QLinearMatMul / QLinearConv on the int8 MXU (compile/qlinear.c) ----*/
/* Describes QLinearMatMul / QLinearConv node n for chip (all checks: dtypes,
** constant B / w, scales and zero points, int32 bounds); weights gets the
** integer weight tiles' values as [groups][K][N] fp32 (tpu_malloc'd) when not
** NULL. An error names why the node stays on the host. */
enum tpu_status tpu_qlinear_desc(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                                 struct tpu_mm_desc *d, float **weights);
/* Packs A's bytes (uint8: a - 128) and ACTIVATE's zero-point table (wq: the
** weights tpu_qlinear_desc gave) into host memory. */
void tpu_qlinear_pack(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *c,
                      const struct tpu_lowered *l, const float *wq, uint8_t *host);
/* Requantises the int32 results into n's output tensor (allocated here). */
enum tpu_status tpu_qlinear_unpack(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *c,
                                   const struct tpu_lowered *l, const uint8_t *host);

/*---- ConvTranspose as a Conv (compile/mm_convt.c) ----*/
/* The Conv that equals ConvTranspose node n (called by tpu_mm_from_node). */
enum tpu_status tpu_mm_from_conv_transpose(struct tpu_graph *g, struct tpu_node *n, struct tpu_mm_desc *d,
                                           float **weights, int want);
/* The zero-inserted input ([batch][c_in][h][w] of d) of the node's input x
** (tpu_calloc'd; NULL on allocation failure). */
float *tpu_mm_convt_input(struct tpu_ctx *ctx, const struct tpu_mm_desc *d, const float *x);

/*---- 16-bit operands on an int8 MXU (compile/wide.c; run --precision) ----*/
enum { TPU_WIDE_WEIGHTS = 2, TPU_WIDE_BOTH = 4 };   /* the passes: half, quarter speed */
/* A conv's input channels as the op has them, before a bf16 split (x passes)
** or a 16-bit one (x 2) widened d->c_in. */
static inline int64_t tpu_mm_op_c_in(const struct tpu_mm_desc *d)
{
    return d->passes > 1 ? d->c_in / d->passes : d->wide == TPU_WIDE_BOTH ? d->c_in / 2 : d->c_in;
}
/* The mode --precision asks of an int8 chip: high (3) 16-bit weights, highest
** (6) 16-bit both; 0 on bf16 chips (their passes are bf16 ones). */
int    tpu_wide_mode(const struct tpu_chip *chip, int passes);
/* Rewrites d (one group; d->N doubles, d->K too for TPU_WIDE_BOTH) and *w
** (w or *w NULL: timing only) into the integer hi / lo GEMM; *col_scale gets
** the [2N] per-column dequantisation factors (tpu_malloc'd; NULL without
** weights) for the lowered l->w_scale. mode 0: no change. */
enum tpu_status tpu_mm_split_wide(struct tpu_ctx *ctx, struct tpu_mm_desc *d, float **w, int mode,
                                  float **col_scale);
/* TPU_WIDE_BOTH: the op's fp32 input as [hi | lo] values the driver rounds
** back exactly at scale *in_scale (set here: from the calibrated int8 scale
** when *in_scale > 0, else max |x|). tpu_malloc'd; NULL on allocation failure. */
float *tpu_mm_wide_input(struct tpu_ctx *ctx, const struct tpu_mm_desc *d, const float *x, float *in_scale);
/* The unpacked result's two column halves added into the op's N outputs, in
** place (y keeps its first M x N / B x N x P values). */
void   tpu_mm_wide_combine(const struct tpu_mm_desc *d, float *y);

/*---- Per-channel int8 scales for depthwise convs (compile/dw_scale.c) ----*/
/* 1: d (before any block-diagonal rewrite) is a depthwise Conv on an int8 chip. */
int    tpu_dw_per_channel(const struct tpu_chip *c, const struct tpu_mm_desc *d);
/* x with channel c divided by its max |x_c| (kept in chan_max[c], 1 for an
** all-zero channel); tpu_malloc'd, NULL on allocation failure. */
float *tpu_dw_scale_input(struct tpu_ctx *ctx, const struct tpu_mm_desc *d, const float *x, float *chan_max);
/* l's input scale to the unit 1/127 and each column's dequantisation scale
** times its channel's max (d: the op before a block-diagonal rewrite). */
void   tpu_dw_fold_scales(struct tpu_lowered *l, const struct tpu_mm_desc *d, const float *chan_max);

/*---- Multi-pass bf16 (compile/precision.c) ----*/
/* tpu_precision_passes, tpu_chip_is_bf16: include/tpusim.h. "default", "high", "highest". */
const char *tpu_passes_name(int passes);
/* Rewrites d (K, and c_in of a conv, times passes; d->passes set) and *w
** ([groups][K][N] -> [groups][passes*K][N] of bf16 parts; w or *w may be NULL
** for timing only). passes other than 3 or 6: no change. */
enum tpu_status tpu_mm_split_passes(struct tpu_ctx *ctx, struct tpu_mm_desc *d, float **w, int passes);
/* The op's fp32 input expanded to match a rewritten d (tpu_malloc'd; NULL on
** allocation failure). */
float *tpu_mm_split_input(struct tpu_ctx *ctx, const struct tpu_mm_desc *d, const float *x);

/*---- Running a model on a chip (compile/run.c) and its report (compile/report.c) ----*/
#include "sim/sim.h"

struct tpu_layer_row {
    char     name[160];
    char     op[32];
    const char *unit;                     /* "mxu" | "vector" | "host"        */
    int64_t  cycles, macs;
    int      compared;                    /* 1: nmse/max_abs_err against ref  */
    int      untimed;                     /* 1: ran on the host CPU (reference
                                             kernel), not simulated; cycles is
                                             the host-time estimate (run.c)   */
    int64_t  active_cycles, stall_cycles, shift_cycles;   /* mxu rows: Table-3
                                             split of cycles x mxu_count; the
                                             rest is non-matrix                */
    double   nmse, max_abs_err;
    double   energy_j;                    /* the events of the row's chip work
                                             (its node's, on its main row) plus
                                             static power over its cycles     */
    int      passes;                      /* mxu rows: the node's --precision
                                             passes (1, 3, 6), shown with
                                             --precision auto                 */
};

struct tpu_chip_report {
    char     chip[64];
    int64_t  array_rows, array_cols, mxu_count;
    int      bf16, timing_only, scalesim;
    double   clock_mhz;
    int64_t  batch;
    int64_t  cycles;                      /* sum of the layer rows            */
    int64_t  device_cycles;               /* mxu/vector rows only (no host)   */
    int64_t  macs;                        /* useful MACs of the model         */
    int64_t  host_op_bytes;               /* host-memory bytes of host-op rows */
    struct tpu_sim_counters ctr;          /* simulated counters (tpu schedule) */
    struct tpu_sim_energy   energy;
    int      n_rows, cap_rows;
    struct tpu_layer_row *rows;
    int      n_verify;                    /* graph outputs verified (verify.c) */
    struct tpu_chip_verify *verify;       /* [n_verify], or NULL              */
    char     verify_against[64];          /* "reference executor" | "--data"  */
    int      verify_failed;               /* 1: some output outside its bound */
    char     calib[320];                  /* how int8 activations were scaled  */
    struct tpu_onchip_estimate onchip;    /* set by the caller (report/onchip.c) */
    const struct tpu_prec_auto *prec_auto;   /* --precision auto's selection
                                             (the run options', borrowed), or NULL */
    int      wall_runs;                   /* run --repeat N: N, else 0         */
    double   wall_best_s, wall_mean_s;    /* host wall time of one whole run   */
};

/* Appends a layer row (cycles and macs added to the report's totals; not
** "host": to device_cycles too). NULL when out of memory; may move r->rows. */
struct tpu_layer_row *tpu_report_add_row(struct tpu_ctx *ctx, struct tpu_chip_report *r, const char *name,
                                         const char *op, const char *unit, int64_t cycles, int64_t macs);

/* tpu_chip_run_model_calib with flags: TPU_RUN_NO_LAYER_COMPARE skips the
** per-layer reference comparison (the nmse column; data-set runs verify the
** graph outputs instead). */
enum { TPU_RUN_NO_LAYER_COMPARE = 1 };
struct tpu_chip_calib;
enum tpu_status tpu_chip_run_model_ex(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                      const struct tpu_chip_run_opts *opts, const struct tpu_chip_calib *calib,
                                      int flags, struct tpu_chip_report **out);

/* int8 calibration (compile/calib.c): scales[node index] for every MXU node's
** activation input (tpu_malloc'd, caller frees). Source: o->dir, else
** o->n_random seeded random inputs, else g's own input values. */
struct tpu_calib_opts {
    const char *dir;
    int         n_random;
    int         percentile;               /* 1: 99.99th percentile of |x|; 0: max */
    uint64_t    seed;
};
enum tpu_status tpu_calibrate(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_calib_opts *o,
                              float **scales, int *n_samples);
/* The calibration sets of --calib DIR: DIR itself when it has input_0.pb,
** else each subfolder that has one, in name order (none: an error naming
** DIR). *paths: malloc'd, freed by tpu_calib_sets_free. */
enum tpu_status tpu_calib_sets(struct tpu_ctx *ctx, const char *dir, char ***paths, int *n_paths);
void            tpu_calib_sets_free(char **paths, int n_paths);

/* One graph output of a chip run against the expected values (compile/verify.c). */
struct tpu_chip_verify {
    char    name[128];
    int64_t numel;
    double  max_abs_error;
    double  rel_l2;                       /* ||chip - exp|| / ||exp||          */
    double  cosine;                       /* <chip, exp> / (||chip|| ||exp||)  */
    int64_t top1_rows;                    /* rows compared by argmax (0: n/a)  */
    double  top1_agreement;               /* share of rows with the same argmax */
    const char *bound;                    /* "cosine >= 0.99" | "rel_l2 <= 0.01" */
    int     within;                       /* 1: inside the documented bound    */
};
/* Verification sums over one output, possibly accumulated chunk by chunk. */
struct tpu_verify_acc { double d2, e2, g2, ge, mx; int64_t numel, classes, rows, same; };
void     tpu_verify_acc_add(struct tpu_verify_acc *a, const double *got, const double *exp, int64_t n,
                            int64_t classes);
void     tpu_verify_acc_finish(const struct tpu_verify_acc *a, int bf16, struct tpu_chip_verify *v);
int64_t  tpu_verify_classes(const struct tpu_tensor *t);     /* top-1 classes, 0: n/a */
double  *tpu_tensor_to_f64(struct tpu_ctx *ctx, const struct tpu_tensor *t, int64_t n);  /* tpu_malloc'd */
/* The documented bounds of a chip run against fp32 (docs/compiler.md). */
#define TPU_VERIFY_INT8_MIN_COSINE 0.99
#define TPU_VERIFY_BF16_MAX_REL_L2 1e-2

struct tpu_chip_run_opts;                 /* include/tpusim.h */

/* What ACTIVATE does after MXU node n as every user of the one lowering
** sequence (compile/mm_node.h) lowers it (compile/mm_act.c): sets d->bias
** (Conv's B, Gemm's per-column beta*C) and d->act (the Relu / Clip / Sigmoid /
** Tanh fused into it); for placement questions (compile/place.c, run_vec.c). */
void tpu_mm_activate_plan(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                          struct tpu_mm_desc *d);

/* --precision auto (compile/auto_prec.c): node k's passes (1, 3, 6) under a
** (NULL or k out of range: passes, the global --precision's). */
static inline int tpu_prec_node_passes(const struct tpu_prec_auto *a, int k, int passes)
{
    if (a && k >= 0 && k < a->n_nodes) return a->passes[k] > 1 ? a->passes[k] : 1;
    return passes > 1 ? passes : 1;
}
/* The mode names of the per-layer table: int8 chips "int8", "w16" (16-bit
** weights), "16x16"; bf16 chips "bf16", "bf16x3", "bf16x6". */
const char *tpu_prec_mode_name(int bf16, int passes);
/* The report's "precision auto:" line and its JSON keys ("precision",
** "precision_auto": {...}, each followed by ",\n"). */
void tpu_prec_auto_print(const struct tpu_prec_auto *a, FILE *f);
void tpu_prec_auto_json(const struct tpu_prec_auto *a, FILE *f);
/* tpu_chip_onchip_estimate with each node's passes from a (report/onchip.c). */
enum tpu_status tpu_chip_onchip_estimate_auto(struct tpu_ctx *ctx, struct tpu_graph *g, const struct tpu_chip *chip,
                                              int passes, const struct tpu_prec_auto *a,
                                              struct tpu_onchip_estimate *e);

/* Estimated chip cycles of an op run on the host CPU touching `bytes` of
** host memory (compile/run.c; docs/compiler.md "Host ops"). */
int64_t tpu_host_op_cycles(const struct tpu_chip *chip, int64_t bytes);

/* Pre-quantised models (compile/qdq.c): 1 and *scale when node n's input 0 is
** DequantizeLinear(int8, scalar scale > 0, zero point 0 or absent). */
int tpu_mm_qdq_input_scale(const struct tpu_graph *g, const struct tpu_node *n, float *scale);
/* Every MXU node's QDQ input scale (compile/qdq.c): *scales[node index], 0 where
** the node has none (tpu_malloc'd; NULL when no node has one). Returns how many
** nodes have one, or -1 (out of memory). */
int tpu_mm_qdq_scales(struct tpu_ctx *ctx, const struct tpu_graph *g, float **scales);
/* Scales saved by tpu_calib_saved_text, checked against g node by node
** (TPU_ERR_FORMAT on a mismatch): *scales[node index]; how gets the saved
** description of the calibration (compile/calib.c). */
enum tpu_status tpu_calib_load_saved(struct tpu_ctx *ctx, const struct tpu_graph *g, const char *text, size_t len,
                                     float **scales, char *how, size_t how_n);
/* What the calibration was, for reports: "int8 min/max over 3 seeded random inputs (--calib-random)". */
void tpu_calib_describe(const struct tpu_calib_opts *o, int n_samples, char *s, size_t n);

#endif /* TPU_COMPILE_H */
