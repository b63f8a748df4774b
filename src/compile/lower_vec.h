/*
** compile/lower_vec.h: lowering of the non-matrix ops (elementwise binary
** with broadcasting, unary functions, Softmax, LayerNormalization, row
** reductions, pooling, BatchNormalization) onto the vector unit of chips with
** vector_unit = 1 (sim/sim_vector.c). Every op becomes rows x len fp32 work:
** the host driver gathers the input into rows (layout changes, windows,
** broadcast operands), the program streams the rows through the unified
** buffer in chunks (RD_HOST, V* instructions, WR_HOST; double-buffered), the
** driver scatters the result rows back to the ONNX layout.
**
** In:  a prepared graph node with known float32 shapes, a chip.
** Out: struct tpu_vec_plan (tpu_vec_plan_node), a program (tpu_lower_vec),
**      packed / unpacked host memory (tpu_vec_pack / tpu_vec_unpack).
*/
#ifndef TPU_COMPILE_LOWER_VEC_H
#define TPU_COMPILE_LOWER_VEC_H

#include "ir/ir.h"
#include "isa/isa.h"
#include "sim/sim.h"

/* What a plan computes (tpu_vec_plan.kind). */
enum tpu_vec_kind { VK_BINARY, VK_UNARY, VK_SOFTMAX, VK_LAYER_NORM, VK_REDUCE, VK_GAP, VK_BATCH_NORM, VK_POOL,
                    VK_TRANSPOSE, VK_WHERE };

/* UB buffers a step names: per-row inputs, once-loaded column vectors,
** temporaries (T0, T2 len wide, T1 one per row), the output. */
enum tpu_vbuf { TPU_VB_IN0, TPU_VB_IN1, TPU_VB_IN2, TPU_VB_K0, TPU_VB_K1, TPU_VB_T0, TPU_VB_T1,
                TPU_VB_T2, TPU_VB_OUT, TPU_VB_COUNT };

struct tpu_vec_step {
    uint8_t  opcode;                      /* a V* instruction (isa/isa.def)    */
    uint16_t x;                           /* VSOP op / VFN func                */
    uint8_t  dst, src, src2;              /* enum tpu_vbuf                     */
    float    imm;                         /* VSOP's immediate                  */
};

#define TPU_VEC_MAX_STEPS 12
#define TPU_VEC_MAX_INPUTS 3
#define TPU_VEC_MAX_CONSTS 2

struct tpu_vec_plan {
    char     name[128], op[32];
    int      kind;                        /* enum tpu_vec_kind                 */
    int64_t  rows, len;                   /* the work: rows x len floats       */
    int64_t  out_w;                       /* output floats per row (len or 1)  */
    int64_t  outer, stride;               /* row r = (r / stride, r % stride);
                                             element j of it is input element
                                             (r/stride)*len*stride + j*stride + r%stride */
    int64_t  sub;                         /* long rows split into sub pieces   */
    int      n_in, n_const;
    int64_t  in_w[TPU_VEC_MAX_INPUTS];    /* floats per row of each input      */
    int      n_steps;
    struct tpu_vec_step steps[TPU_VEC_MAX_STEPS];
    int      operand;                     /* binary: the full-size operand (0/1) */
    int      expand_both;                 /* binary: both operands expanded to
                                             the output shape by the driver    */
    int64_t  tr_rows, tr_cols, tr_elem;   /* Transpose: VTRANS per row          */
    int64_t  out_numel;
    int      out_rank;
    int64_t  out_dims[TPU_MAX_DIMS];
    char     insns[96];                   /* "VRMAX, VBSUB, VEXP, ..." for check */
    /* chunking (tpu_lower_vec) */
    int64_t  chunk_rows, n_chunks;
    int      resident;                    /* timing only, TPU_RESIDENT_* bits:
                                             operands already in the UB / result
                                             stays (bench --resident)          */
    uint64_t host_bytes, host_out_off;
    uint64_t host_in_off[TPU_VEC_MAX_INPUTS], host_k_off[TPU_VEC_MAX_CONSTS];
};

/* 1 when the vector lowering takes node n on chip (vector_unit, float32,
** known shapes, an op and attributes it covers, fits the UB); p filled. 0 with
** why (a sentence for `check --chip`) otherwise. Never sets an error. */
int tpu_vec_plan_node(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                      struct tpu_vec_plan *p, char *why, size_t why_n);
int tpu_vec_takes(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip);
/* 1 for the ops tpu_vec_plan_node knows (whether or not a node's shapes fit). */
int tpu_vec_covers(enum tpu_op op);

/* The program of plan p (chunk sizes chosen here). */
enum tpu_status tpu_lower_vec(struct tpu_ctx *ctx, const struct tpu_chip *chip, struct tpu_vec_plan *p,
                              struct tpu_program **out);
/* Host memory (compile/driver_vec.c): the node's input values gathered into
** p's streams; the output rows scattered into y (out_numel floats, ONNX layout). */
void tpu_vec_pack(struct tpu_graph *g, struct tpu_node *n, const struct tpu_vec_plan *p, uint8_t *host);
void tpu_vec_unpack(const struct tpu_vec_plan *p, const uint8_t *host, float *y);

/* The runner's entry (compile/run_vec.c): lower, pack, simulate, unpack, set
** the output tensor, add the "vector" layer row, compare with the reference. */
struct tpu_chip_report;
struct tpu_vec_run {
    struct tpu_ctx *ctx;
    struct tpu_graph *g;
    const struct tpu_chip *chip;
    struct tpu_sim *sim;
    struct tpu_chip_report *r;
    int timing_only, compare;
};
enum tpu_status tpu_run_vec_node(const struct tpu_vec_run *v, struct tpu_node *n);

/* For timing-only loops outside the runner (report/bench.c): simulates node
** n's vector program on s without values; resident (TPU_RESIDENT_* bits): no
** host-link transfers of its operands / result (they stay in the UB, as bench --resident
** assumes for the MXU layers). */
enum tpu_status tpu_vec_sim_timing(struct tpu_ctx *ctx, struct tpu_graph *g, struct tpu_node *n,
                                   const struct tpu_chip *chip, struct tpu_sim *s, int resident);
/* 1 when compile/run.c fuses f into the MXU node producing its input (its
** ACTIVATE stage, or with host_ops the host driver's Relu / Clip), so f gets
** no program of its own. */
int tpu_vec_fused_act(struct tpu_graph *g, struct tpu_node *f, const struct tpu_chip *chip, int host_ops);

#endif /* TPU_COMPILE_LOWER_VEC_H */
