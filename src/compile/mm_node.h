/*
** compile/mm_node.h: one MXU node of the graph (Gemm, MatMul, Conv,
** ConvTranspose, QLinearMatMul, QLinearConv) to its lowered program, by one
** sequence that every user shares: `tpusim run` (compile/run.c, which also
** asks tpu_mm_node_check whether the MXU takes a node), `compile -o`
** (compile/prog_file.c), the `tpusim bench` timing loop (report/bench.c) and
** the placement `check --chip` prints (compile/place.c). The sequence
** (compile/mm_node.c): describe the node (tpu_mm_from_node, ConvTranspose
** rewritten as a Conv; tpu_qlinear_desc), block-diagonal weights for narrow
** groups, the bf16 split of --precision, what ACTIVATE does after it
** (compile/mm_act.c: bias, fused Relu / Clip / Sigmoid / Tanh), lower.
**
** In:  a graph node (ir/), a chip, options.
** Out: struct tpu_mm_node: the op's desc, the lowered program, the fusion
**      plan and the values the host driver packs with it.
*/
#ifndef TPU_COMPILE_MM_NODE_H
#define TPU_COMPILE_MM_NODE_H

#include "compile/compile.h"

/* The activation f after an MXU node n (compile/mm_act.c): f is the only
** reader of n's output (not a graph output). ACTIVATE computes relu, clip
** and (bf16 chips) sigmoid / tanh when nothing is added after the chip's
** output (alpha 1, Gemm's C absent or per column: it becomes the bias).
** Otherwise, with --host-ops only, a Relu / Clip is applied by the host
** driver (docs/compiler.md "Fused activations"). */
struct tpu_mm_fusion {
    struct tpu_node *f;                   /* NULL: none                       */
    int   act;                            /* enum tpu_act_func                */
    int   on_chip;                        /* 1: ACTIVATE does it              */
    float lo, hi;                         /* relu / clip bounds               */
};

struct tpu_mm_node_opts {
    int values;                           /* 1: weight values in the program
                                             (and QLinear's integer weights
                                             for its tables); 0: timing only */
    int bf16_passes;                      /* --precision on bf16 chips: 1, 3, 6 */
    int host_ops;                         /* 1: a Relu / Clip ACTIVATE cannot
                                             do is fused on the host (fz.f) */
    int resident;                         /* d.resident (TPU_RESIDENT_* bits):
                                             what stays in the unified buffer
                                             (bench --resident, run's estimate) */
};

struct tpu_mm_node {
    struct tpu_mm_desc   d0;              /* the op as described, before the
                                             block-diagonal / bf16 rewrites */
    struct tpu_lowered   l;               /* the program; l.d is what it runs */
    struct tpu_mm_fusion fz;
    int                  qlinear;         /* 1: QLinearMatMul / QLinearConv */
    int                  described;       /* 1: the node itself was accepted;
                                             an error after that is the
                                             lowering's (the chip's size)   */
    const float         *bias;            /* ACTIVATE's per-column bias
                                             values (Conv's B, Gemm's
                                             beta*C), or NULL               */
    float               *bias_owned;
    float               *wq;              /* values, QLinear: the integer
                                             weights tpu_qlinear_pack sums  */
};

/* 1: op has an MXU lowering (Gemm, MatMul, Conv, ConvTranspose, QLinearMatMul, QLinearConv). */
int tpu_mm_node_op(enum tpu_op op);

/* Lowers node n for chip (m zeroed first; free it with tpu_mm_node_free,
** also after an error). The error names the node and why the MXU does not
** take it. */
enum tpu_status tpu_mm_lower_node(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_node *n,
                                  const struct tpu_chip *chip, const struct tpu_mm_node_opts *o,
                                  struct tpu_mm_node *m);
void tpu_mm_node_free(struct tpu_mm_node *m);

/* Whether the MXU takes n: the lowering above, timing only (no weight values
** needed). d0 (may be NULL) gets the op's desc when it does. */
enum tpu_status tpu_mm_node_check(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_node *n,
                                  const struct tpu_chip *chip, const struct tpu_mm_node_opts *o,
                                  struct tpu_mm_desc *d0);

/* The MACs a layer row counts: the op's own (d->model_macs) when the GEMM
** does more work (block-diagonal groups, bf16 passes, inserted zeros). */
static inline int64_t tpu_mm_macs(const struct tpu_mm_desc *d)
{
    return d->model_macs ? d->model_macs : d->groups * d->M * d->K * d->N;
}

/* compile/mm_act.c: the fusion plan behind tpu_mm_activate_plan (compile.h). */
void tpu_mm_plan_activate(struct tpu_graph *g, const struct tpu_chip *chip, int host_ops, struct tpu_node *n,
                          struct tpu_mm_desc *d, struct tpu_mm_fusion *fz);
/* The per-column bias values of d->bias: Conv's B (checked: float32, one per
** output channel), Gemm's beta*C (*owned, tpu_malloc'd). */
enum tpu_status tpu_mm_bias_values(struct tpu_graph *g, struct tpu_node *n, const struct tpu_mm_desc *d,
                                   const float **bias, float **owned);

#endif /* TPU_COMPILE_MM_NODE_H */
