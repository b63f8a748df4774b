/*
** compile/lower_vec.c: the vector-unit lowering of one non-matrix node
** (compile/lower_vec.h). tpu_vec_plan_node decides whether the node runs on
** the vector unit and as which rows x len work with which instruction steps;
** tpu_lower_vec tiles the rows to the unified buffer (two buffer sets, so the
** next chunk's RD_HOST overlaps this chunk's vector work) and emits the
** program; the host driver's side (tpu_vec_pack / tpu_vec_unpack) is
** compile/driver_vec.c.
**
** In:  a prepared graph node (ir/), a chip with vector_unit = 1.
** Out: a plan, a program (isa/), packed host memory.
*/
#include "compile/compile.h"
#include "compile/lower_vec.h"
#include "ref/ref_elem.h"
#include "ref/ref_nn.h"
#include <math.h>
#include <string.h>

#define X_MAX 65535                       /* the 16-bit len slot of VB* / VC* */

static int no(char *why, size_t n, const char *msg, const char *arg)
{
    snprintf(why, n, msg, arg);
    return 0;
}

static int known_f32(const struct tpu_tensor *t)
{
    return t && t->dtype == TPU_DTYPE_F32 && t->n_dims >= 0 && tpu_tensor_numel(t) >= 0;
}

static void step(struct tpu_vec_plan *p, int opcode, int x, int dst, int src, int src2, float imm)
{
    TPU_ASSERT(p->n_steps < TPU_VEC_MAX_STEPS);
    p->steps[p->n_steps++] = (struct tpu_vec_step){ (uint8_t)opcode, (uint16_t)x, (uint8_t)dst,
                                                    (uint8_t)src, (uint8_t)src2, imm };
}

/* Scalar float32 constant input i, when it is one. */
static int const_scalar(struct tpu_graph *g, struct tpu_node *n, int i, float *v)
{
    const struct tpu_tensor *t = i < n->n_inputs ? tpu_in(g, n, i) : NULL;
    if (!t || !t->data || !t->is_const || t->dtype != TPU_DTYPE_F32 || tpu_tensor_numel(t) != 1) return 0;
    *v = ((const float *)t->data)[0];
    return 1;
}

/*---- Binary ops ----*/
/* o's dims right-aligned with the output's: 1 when every dim of o before
** `from` is 1 and every dim from `from` on equals the output's (col form), or
** the reverse (row form). */
static int bcast_form(const struct tpu_tensor *o, int rank, const int64_t *od, int k, int col)
{
    for (int i = 0; i < rank; i++) {
        int j = i - (rank - o->n_dims);
        int64_t d = j >= 0 ? o->dims[j] : 1;
        int keep = col ? i >= k : i < k;
        if (keep ? d != od[i] : d != 1) return 0;
    }
    return 1;
}

static int plan_binary(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *a = tpu_in(g, n, 0), *b = tpu_in(g, n, 1);
    if (n->n_inputs != 2 || !known_f32(a) || !known_f32(b))
        return no(why, wn, "%s: needs two float32 inputs of known shape: host", n->op_type);
    int rank = a->n_dims > b->n_dims ? a->n_dims : b->n_dims;
    int64_t od[TPU_MAX_DIMS], numel = 1;
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - a->n_dims), ib = i - (rank - b->n_dims);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return no(why, wn, "%s: shapes do not broadcast: host", n->op_type);
        od[i] = da == 1 ? db : da;
        numel *= od[i];
    }
    enum tpu_op op = n->op;
    int arith = op == TPU_OP_ADD || op == TPU_OP_SUB || op == TPU_OP_MUL || op == TPU_OP_DIV;
    int k_op = op == TPU_OP_ADD ? 0 : op == TPU_OP_SUB ? 1 : op == TPU_OP_MUL ? 2 : op == TPU_OP_DIV ? 3 :
               op == TPU_OP_MAX ? 4 : op == TPU_OP_MIN ? 5 : 6;
    static const int elem_op[] = { TPU_INSN_VADD, TPU_INSN_VSUB, TPU_INSN_VMUL, TPU_INSN_VDIV, TPU_INSN_VMAX,
                                   TPU_INSN_VMIN, 0 };
    static const int sop[] = { TPU_VSOP_ADD, TPU_VSOP_SUB, TPU_VSOP_MUL, TPU_VSOP_DIV, TPU_VSOP_MAX,
                               TPU_VSOP_MIN, TPU_VSOP_POW };
    static const int col_op[] = { TPU_INSN_VCADD, TPU_INSN_VCSUB, TPU_INSN_VCMUL, TPU_INSN_VCDIV };
    static const int row_op[] = { TPU_INSN_VBADD, TPU_INSN_VBSUB, TPU_INSN_VBMUL, TPU_INSN_VBDIV };
    int commutes = op == TPU_OP_ADD || op == TPU_OP_MUL || op == TPU_OP_MAX || op == TPU_OP_MIN;
    int a_full = tpu_tensor_numel(a) == numel, b_full = tpu_tensor_numel(b) == numel;
    float imm;
    p->kind = VK_BINARY;
    p->out_numel = numel;
    p->rows = numel;
    p->len = p->out_w = 1;
    p->n_in = 1;
    p->in_w[0] = 1;
    p->operand = 0;
    /* A scalar constant: the immediate form. */
    if (a_full && const_scalar(g, n, 1, &imm)) {
        step(p, TPU_INSN_VSOP, sop[k_op], TPU_VB_OUT, TPU_VB_IN0, 0, imm);
        return 1;
    }
    if (b_full && const_scalar(g, n, 0, &imm) && op != TPU_OP_POW) {
        int x = op == TPU_OP_SUB ? TPU_VSOP_RSUB : op == TPU_OP_DIV ? TPU_VSOP_RDIV : sop[k_op];
        p->operand = 1;
        step(p, TPU_INSN_VSOP, x, TPU_VB_OUT, TPU_VB_IN0, 0, imm);
        return 1;
    }
    if (op == TPU_OP_POW) return no(why, wn, "%s: only a scalar constant exponent runs on the vector unit: host", n->op_type);
    const struct tpu_tensor *o = a_full ? b : a;
    if (!a_full && b_full && commutes) p->operand = 1;
    if ((a_full || (b_full && commutes)) && !(a_full && b_full) && arith) {
        for (int k = 0; k <= rank; k++) {          /* the widest column form first */
            if (!bcast_form(o, rank, od, k, 1)) continue;
            int64_t len = 1;
            for (int i = k; i < rank; i++) len *= od[i];
            if (len > X_MAX) break;
            p->len = p->in_w[0] = p->out_w = len;
            p->rows = numel / (len ? len : 1);
            p->n_const = 1;
            step(p, col_op[k_op], 0, TPU_VB_OUT, TPU_VB_IN0, TPU_VB_K0, 0);
            return 1;
        }
        for (int k = rank; k >= 0; k--) {           /* row form: o varies over the leading dims */
            if (!bcast_form(o, rank, od, k, 0)) continue;
            int64_t rows = 1, len, sub = 1;
            for (int i = 0; i < k; i++) rows *= od[i];
            len = rows ? numel / rows : 1;
            while (len / sub > X_MAX || len % sub) sub++;
            p->sub = sub;
            p->rows = rows * sub;
            p->len = p->in_w[0] = p->out_w = len / sub;
            p->n_in = 2;
            p->in_w[1] = 1;
            step(p, row_op[k_op], 0, TPU_VB_OUT, TPU_VB_IN0, TPU_VB_IN1, 0);
            return 1;
        }
    }
    /* Anything else: the host driver expands both operands to the output shape. */
    p->operand = 0;
    p->n_in = 2;
    p->in_w[1] = 1;
    step(p, elem_op[k_op], 0, TPU_VB_OUT, TPU_VB_IN0, TPU_VB_IN1, 0);
    p->expand_both = 1;
    return 1;
}

/*---- Unary ops ----*/
static int clip_bound(struct tpu_graph *g, struct tpu_node *n, int i, const char *attr, float def, float *v)
{
    if (n->opset > 0 && n->opset < 11) { *v = tpu_attr_float(n, attr, def); return 1; }
    const struct tpu_tensor *t = i < n->n_inputs ? tpu_in(g, n, i) : NULL;
    if (!t || tpu_ir_omitted(t)) { *v = def; return 1; }
    return const_scalar(g, n, i, v);
}

static int plan_unary(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if (!known_f32(x)) return no(why, wn, "%s: needs a float32 input of known shape: host", n->op_type);
    p->kind = VK_UNARY;
    p->rows = p->out_numel = tpu_tensor_numel(x);
    p->len = p->out_w = p->in_w[0] = 1;
    p->n_in = 1;
    static const int fn[] = { [TPU_OP_RELU] = TPU_VFN_RELU + 1, [TPU_OP_SIGMOID] = TPU_VFN_SIGMOID + 1,
        [TPU_OP_TANH] = TPU_VFN_TANH + 1, [TPU_OP_ERF] = TPU_VFN_ERF + 1, [TPU_OP_SQRT] = TPU_VFN_SQRT + 1,
        [TPU_OP_NEG] = TPU_VFN_NEG + 1, [TPU_OP_ABS] = TPU_VFN_ABS + 1 };
    enum tpu_op op = n->op;
    if (op == TPU_OP_EXP) { step(p, TPU_INSN_VEXP, 0, TPU_VB_OUT, TPU_VB_IN0, 0, 0); return 1; }
    if (op == TPU_OP_RECIPROCAL) { step(p, TPU_INSN_VRECIP, 0, TPU_VB_OUT, TPU_VB_IN0, 0, 0); return 1; }
    if (op < (int)(sizeof fn / sizeof fn[0]) && fn[op]) {
        step(p, TPU_INSN_VFN, fn[op] - 1, TPU_VB_OUT, TPU_VB_IN0, 0, 0);
        return 1;
    }
    if (op == TPU_OP_CLIP) {
        float lo, hi;
        if (!clip_bound(g, n, 1, "min", -INFINITY, &lo) || !clip_bound(g, n, 2, "max", INFINITY, &hi))
            return no(why, wn, "%s: bounds must be float32 scalar constants: host", n->op_type);
        step(p, TPU_INSN_VSOP, TPU_VSOP_CLIP_LO, TPU_VB_T0, TPU_VB_IN0, 0, lo);
        step(p, TPU_INSN_VSOP, TPU_VSOP_CLIP_HI, TPU_VB_OUT, TPU_VB_T0, 0, hi);
        return 1;
    }
    /* HardSigmoid / HardSwish: clamp01(alpha x + beta) (x * that), as ref/ computes it in fp32. */
    int swish = op == TPU_OP_HARD_SWISH;
    float alpha = swish ? 1.0f / 6 : tpu_attr_float(n, "alpha", 0.2f);
    float beta = swish ? 0.5f : tpu_attr_float(n, "beta", 0.5f);
    step(p, TPU_INSN_VSOP, TPU_VSOP_MUL, TPU_VB_T0, TPU_VB_IN0, 0, alpha);
    step(p, TPU_INSN_VSOP, TPU_VSOP_ADD, TPU_VB_T0, TPU_VB_T0, 0, beta);
    step(p, TPU_INSN_VFN, TPU_VFN_CLAMP01, swish ? TPU_VB_T0 : TPU_VB_OUT, TPU_VB_T0, 0, 0);
    if (swish) step(p, TPU_INSN_VMUL, 0, TPU_VB_OUT, TPU_VB_IN0, TPU_VB_T0, 0);
    return 1;
}

/*---- Row ops: softmax, layernorm, reductions, pools, batchnorm ----*/
static void rows_of(struct tpu_vec_plan *p, const struct tpu_tensor *x, int a0, int a1, int old)
{
    p->outer = 1; p->len = 1; p->stride = 1;
    for (int i = 0; i < x->n_dims; i++) {
        if (i < a0) p->outer *= x->dims[i];
        else if (i <= a1 || old) p->len *= x->dims[i];
        else p->stride *= x->dims[i];
    }
    p->rows = p->outer * p->stride;
    p->in_w[0] = p->len;
    p->n_in = 1;
}

static int plan_softmax(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if (!known_f32(x) || x->n_dims < 1) return no(why, wn, "%s: needs a float32 input of known shape: host", n->op_type);
    int old = n->opset > 0 && n->opset < 13, r = x->n_dims, axis = (int)tpu_attr_int(n, "axis", old ? 1 : -1);
    if (axis < 0) axis += r;
    if (axis < 0 || axis >= r) return no(why, wn, "%s: axis out of range: host", n->op_type);
    p->kind = VK_SOFTMAX;
    rows_of(p, x, axis, axis, old);
    p->out_w = p->len;
    p->out_numel = tpu_tensor_numel(x);
    if (p->len > X_MAX) return no(why, wn, "%s: rows longer than 65535 elements: host", n->op_type);
    step(p, TPU_INSN_VRMAX, 0, TPU_VB_T1, TPU_VB_IN0, 0, 0);
    step(p, TPU_INSN_VBSUB, 0, TPU_VB_T0, TPU_VB_IN0, TPU_VB_T1, 0);
    step(p, TPU_INSN_VEXP, 0, TPU_VB_T0, TPU_VB_T0, 0, 0);
    step(p, TPU_INSN_VRSUM, 0, TPU_VB_T1, TPU_VB_T0, 0, 0);
    step(p, TPU_INSN_VBDIV, 0, TPU_VB_OUT, TPU_VB_T0, TPU_VB_T1, 0);
    return 1;
}

static int extra_outputs(const struct tpu_node *n)
{
    for (int i = 1; i < n->n_outputs; i++) if (n->outputs[i] >= 0) return 1;
    return 0;
}

static int plan_layer_norm(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0), *s = tpu_in(g, n, 1);
    const struct tpu_tensor *b = n->n_inputs > 2 && !tpu_ir_omitted(tpu_in(g, n, 2)) ? tpu_in(g, n, 2) : NULL;
    if (!known_f32(x) || !known_f32(s) || (b && !known_f32(b)) || x->n_dims < 1)
        return no(why, wn, "%s: needs float32 input, scale and bias of known shape: host", n->op_type);
    if (extra_outputs(n)) return no(why, wn, "%s: the Mean / InvStdDev outputs are used: host", n->op_type);
    int axis = (int)tpu_attr_int(n, "axis", -1);
    if (axis < 0) axis += x->n_dims;
    if (axis < 0 || axis >= x->n_dims) return no(why, wn, "%s: axis out of range: host", n->op_type);
    p->kind = VK_LAYER_NORM;
    rows_of(p, x, axis, x->n_dims - 1, 0);
    p->out_w = p->len;
    p->out_numel = tpu_tensor_numel(x);
    p->n_const = b ? 2 : 1;
    if (p->len > X_MAX) return no(why, wn, "%s: rows longer than 65535 elements: host", n->op_type);
    float len = (float)p->len, eps = tpu_attr_float(n, "epsilon", 1e-5f);
    step(p, TPU_INSN_VRSUM, 0, TPU_VB_T1, TPU_VB_IN0, 0, 0);
    step(p, TPU_INSN_VSOP, TPU_VSOP_DIV, TPU_VB_T1, TPU_VB_T1, 0, len);          /* mean */
    step(p, TPU_INSN_VBSUB, 0, TPU_VB_T0, TPU_VB_IN0, TPU_VB_T1, 0);
    step(p, TPU_INSN_VMUL, 0, TPU_VB_T2, TPU_VB_T0, TPU_VB_T0, 0);
    step(p, TPU_INSN_VRSUM, 0, TPU_VB_T1, TPU_VB_T2, 0, 0);
    step(p, TPU_INSN_VSOP, TPU_VSOP_DIV, TPU_VB_T1, TPU_VB_T1, 0, len);          /* variance */
    step(p, TPU_INSN_VSOP, TPU_VSOP_ADD, TPU_VB_T1, TPU_VB_T1, 0, eps);
    step(p, TPU_INSN_VRSQRT, 0, TPU_VB_T1, TPU_VB_T1, 0, 0);
    step(p, TPU_INSN_VBMUL, 0, TPU_VB_T0, TPU_VB_T0, TPU_VB_T1, 0);
    step(p, TPU_INSN_VCMUL, 0, b ? TPU_VB_T0 : TPU_VB_OUT, TPU_VB_T0, TPU_VB_K0, 0);
    if (b) step(p, TPU_INSN_VCADD, 0, TPU_VB_OUT, TPU_VB_T0, TPU_VB_K1, 0);
    return 1;
}

static int plan_reduce(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if (!known_f32(x)) return no(why, wn, "%s: needs a float32 input of known shape: host", n->op_type);
    bool mask[TPU_MAX_DIMS] = { 0 }, noop = false, known = true;
    if (tpu_ir_reduce_axes(g, n, x->n_dims, mask, &noop, &known) || !known || noop) {
        tpu_err_clear(g->ctx);
        return no(why, wn, "%s: axes out of range, not constant, or nothing reduced: host", n->op_type);
    }
    int a0 = -1, a1 = -1;
    for (int i = 0; i < x->n_dims; i++) {
        if (!mask[i]) continue;
        if (a1 >= 0 && a1 != i - 1) return no(why, wn, "%s: reduced axes are not contiguous: host", n->op_type);
        if (a0 < 0) a0 = i;
        a1 = i;
    }
    if (a0 < 0) { a0 = 0; a1 = x->n_dims - 1; }
    p->kind = VK_REDUCE;
    rows_of(p, x, a0, a1, 0);
    p->out_w = 1;
    p->out_numel = p->rows;
    step(p, n->op == TPU_OP_REDUCE_MAX ? TPU_INSN_VRMAX : TPU_INSN_VRSUM, 0, TPU_VB_OUT, TPU_VB_IN0, 0, 0);
    if (n->op == TPU_OP_REDUCE_MEAN) step(p, TPU_INSN_VSOP, TPU_VSOP_DIV, TPU_VB_OUT, TPU_VB_OUT, 0, (float)p->len);
    return 1;
}

static int plan_gap(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if (!known_f32(x) || x->n_dims < 3) return no(why, wn, "%s: needs a float32 N x C x ... input: host", n->op_type);
    p->kind = VK_GAP;
    rows_of(p, x, 2, x->n_dims - 1, 0);
    p->out_w = 1;
    p->out_numel = p->rows;
    step(p, TPU_INSN_VRSUM, 0, TPU_VB_OUT, TPU_VB_IN0, 0, 0);
    step(p, TPU_INSN_VSOP, TPU_VSOP_DIV, TPU_VB_OUT, TPU_VB_OUT, 0, (float)p->len);
    return 1;
}

static int plan_batch_norm(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if (!known_f32(x) || x->n_dims < 2 || n->n_inputs < 5)
        return no(why, wn, "%s: needs a float32 N x C x ... input: host", n->op_type);
    for (int i = 1; i < 5; i++) {
        const struct tpu_tensor *t = tpu_in(g, n, i);
        if (!known_f32(t) || tpu_tensor_numel(t) != x->dims[1])
            return no(why, wn, "%s: scale, B, mean and var must be float32 with one value per channel: host", n->op_type);
    }
    if (tpu_attr_int(n, "training_mode", 0) || extra_outputs(n))
        return no(why, wn, "%s: training mode: host", n->op_type);
    p->kind = VK_BATCH_NORM;
    rows_of(p, x, 2, x->n_dims - 1, 0);
    int64_t len = p->len, sub = 1;
    while (len / sub > X_MAX || len % sub) sub++;
    p->sub = sub;
    p->rows *= sub;
    p->len = p->in_w[0] = p->out_w = len / sub;
    p->out_numel = tpu_tensor_numel(x);
    p->n_in = 3;
    p->in_w[1] = p->in_w[2] = 1;
    step(p, TPU_INSN_VBMUL, 0, TPU_VB_T0, TPU_VB_IN0, TPU_VB_IN1, 0);
    step(p, TPU_INSN_VBADD, 0, TPU_VB_OUT, TPU_VB_T0, TPU_VB_IN2, 0);
    return 1;
}

/* MaxPool / AveragePool: the host driver gathers each output's window into a
** row (as im2col does; -inf padding for max, 0 for average), the unit takes
** the row max, or the row sum divided by the row's tap count (per row: the
** taps inside the input, or inside the padded input with count_include_pad). */
static int plan_pool(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    struct tpu_nn_window w;
    if (!known_f32(x) || x->n_dims < 3) return no(why, wn, "%s: needs a float32 N x C x ... input: host", n->op_type);
    if (extra_outputs(n)) return no(why, wn, "%s: the Indices output is used: host", n->op_type);
    if (tpu_nn_window(g, n, x, NULL, TPU_NN_WIN_POOL, &w)) {
        tpu_err_clear(g->ctx);
        return no(why, wn, "%s: window attributes the reference refuses: host", n->op_type);
    }
    p->kind = VK_POOL;
    p->rows = p->out_numel = w.n * w.c * tpu_nn_window_out(&w);
    p->len = p->in_w[0] = tpu_nn_window_k(&w);
    p->out_w = 1;
    p->n_in = 1;
    if (n->op == TPU_OP_MAX_POOL) {
        step(p, TPU_INSN_VRMAX, 0, TPU_VB_OUT, TPU_VB_IN0, 0, 0);
        return 1;
    }
    p->n_in = 2;
    p->in_w[1] = 1;
    step(p, TPU_INSN_VRSUM, 0, TPU_VB_T1, TPU_VB_IN0, 0, 0);
    step(p, TPU_INSN_VDIV, 0, TPU_VB_OUT, TPU_VB_T1, TPU_VB_IN1, 0);
    return 1;
}

/* Transpose whose perm swaps two adjacent groups of dims (identity before
** and after them): [outer, A, B, inner] -> [outer, B, A, inner], one VTRANS
** (rows A, cols B, elem inner) per outer slice. Covers the attention heads'
** [1, 0, 2], [1, 2, 0], [0, 2, 1, 3], [0, 2, 3, 1]. */
static int plan_transpose(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *x = tpu_in(g, n, 0);
    if (!known_f32(x) || x->n_dims < 2) return no(why, wn, "%s: needs a float32 input of rank >= 2: host", n->op_type);
    int r = x->n_dims, perm[TPU_MAX_DIMS];
    const int64_t *pv = NULL;
    int np = tpu_attr_ints(n, "perm", &pv);
    if (np && np != r) return no(why, wn, "%s: perm does not match the rank: host", n->op_type);
    for (int i = 0; i < r; i++) perm[i] = np ? (int)pv[i] : r - 1 - i;
    int a = 0, k = r;
    while (a < r && perm[a] == a) a++;
    while (k > a && perm[k - 1] == k - 1) k--;
    if (a >= k) return no(why, wn, "%s: the identity permutation: host", n->op_type);
    int j = perm[a], ok = j > a && j < k;
    for (int i = a; ok && i < k; i++) ok = perm[i] == (i - a < k - j ? j + (i - a) : a + (i - a - (k - j)));
    if (!ok) return no(why, wn, "%s: perm is not a swap of two adjacent dim groups: host", n->op_type);
    int64_t outer = 1, A = 1, B = 1, inner = 1;
    for (int i = 0; i < r; i++) *(i < a ? &outer : i < j ? &A : i < k ? &B : &inner) *= x->dims[i];
    if (inner > X_MAX) return no(why, wn, "%s: trailing block over 65535 elements: host", n->op_type);
    p->kind = VK_TRANSPOSE;
    p->rows = outer;
    p->len = p->in_w[0] = p->out_w = A * B * inner;
    p->n_in = 1;
    p->out_numel = tpu_tensor_numel(x);
    p->tr_rows = A; p->tr_cols = B; p->tr_elem = inner;
    step(p, TPU_INSN_VTRANS, 0, TPU_VB_OUT, TPU_VB_IN0, 0, 0);
    return 1;
}

/* Where(cond, x, y): the driver expands the three to the output shape (cond
** as fp32 0 / 1); the unit copies y, then VSEL puts x where cond holds. */
static int plan_where(struct tpu_graph *g, struct tpu_node *n, struct tpu_vec_plan *p, char *why, size_t wn)
{
    const struct tpu_tensor *c = tpu_in(g, n, 0), *x = tpu_in(g, n, 1), *y = tpu_in(g, n, 2);
    if (!c || c->dtype != TPU_DTYPE_BOOL || c->n_dims < 0 || tpu_tensor_numel(c) < 0 || !known_f32(x) || !known_f32(y))
        return no(why, wn, "%s: needs a bool condition and float32 values of known shapes: host", n->op_type);
    const struct tpu_tensor *t[3] = { c, x, y };
    int rank = 0;
    for (int k = 0; k < 3; k++) rank = t[k]->n_dims > rank ? t[k]->n_dims : rank;
    int64_t numel = 1;
    for (int i = 0; i < rank; i++) {
        int64_t d = 1;
        for (int k = 0; k < 3; k++) {
            int j = i - (rank - t[k]->n_dims);
            int64_t dk = j >= 0 ? t[k]->dims[j] : 1;
            if (dk != 1 && d != 1 && dk != d) return no(why, wn, "%s: shapes do not broadcast: host", n->op_type);
            if (dk != 1) d = dk;
        }
        numel *= d;
    }
    p->kind = VK_WHERE;
    p->rows = p->out_numel = numel;
    p->len = p->out_w = 1;
    p->n_in = 3;
    p->in_w[0] = p->in_w[1] = p->in_w[2] = 1;
    step(p, TPU_INSN_VFN, TPU_VFN_COPY, TPU_VB_OUT, TPU_VB_IN2, 0, 0);
    step(p, TPU_INSN_VSEL, 0, TPU_VB_OUT, TPU_VB_IN0, TPU_VB_IN1, 0);
    return 1;
}

/* Instruction names of the steps, each once, for the placement reason. */
static void list_insns(struct tpu_vec_plan *p)
{
    size_t at = 0;
    p->insns[0] = 0;
    for (int i = 0; i < p->n_steps; i++) {
        int seen = 0;
        for (int j = 0; j < i; j++) seen |= p->steps[j].opcode == p->steps[i].opcode;
        if (seen) continue;
        const struct tpu_insn_info *f = tpu_insn_info(p->steps[i].opcode);
        at += (size_t)snprintf(p->insns + at, at < sizeof p->insns ? sizeof p->insns - at : 0, "%s%s",
                               at ? ", " : "", f ? f->name : "?");
        if (at >= sizeof p->insns) break;
    }
}

static enum tpu_status layout(const struct tpu_chip *chip, struct tpu_vec_plan *p, char *why, size_t wn);

int tpu_vec_covers(enum tpu_op op)
{
    switch (op) {
    case TPU_OP_ADD: case TPU_OP_SUB: case TPU_OP_MUL: case TPU_OP_DIV: case TPU_OP_MAX:
    case TPU_OP_MIN: case TPU_OP_POW:
    case TPU_OP_RELU: case TPU_OP_SIGMOID: case TPU_OP_TANH: case TPU_OP_ERF: case TPU_OP_SQRT:
    case TPU_OP_NEG: case TPU_OP_ABS: case TPU_OP_EXP: case TPU_OP_RECIPROCAL: case TPU_OP_CLIP:
    case TPU_OP_HARD_SIGMOID: case TPU_OP_HARD_SWISH:
    case TPU_OP_SOFTMAX: case TPU_OP_LAYER_NORM: case TPU_OP_REDUCE_MEAN: case TPU_OP_REDUCE_SUM:
    case TPU_OP_REDUCE_MAX: case TPU_OP_GLOBAL_AVERAGE_POOL: case TPU_OP_BATCH_NORM:
    case TPU_OP_MAX_POOL: case TPU_OP_AVERAGE_POOL: case TPU_OP_TRANSPOSE: case TPU_OP_WHERE:
        return 1;
    default:
        return 0;
    }
}

int tpu_vec_plan_node(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip,
                      struct tpu_vec_plan *p, char *why, size_t wn)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", n->name);
    snprintf(p->op, sizeof p->op, "%s", n->op_type);
    p->stride = p->outer = p->sub = 1;
    if (!chip->vector_unit) return no(why, wn, "no vector unit on %s: host", chip->name);
    if (n->n_outputs < 1 || n->outputs[0] < 0) return no(why, wn, "%s: no output: host", n->op_type);
    if (!tpu_vec_covers(n->op)) return no(why, wn, "%s has no vector lowering: host", n->op_type);
    int ok;
    switch (n->op) {
    case TPU_OP_ADD: case TPU_OP_SUB: case TPU_OP_MUL: case TPU_OP_DIV: case TPU_OP_MAX:
    case TPU_OP_MIN: case TPU_OP_POW:
        ok = plan_binary(g, n, p, why, wn); break;
    case TPU_OP_RELU: case TPU_OP_SIGMOID: case TPU_OP_TANH: case TPU_OP_ERF: case TPU_OP_SQRT:
    case TPU_OP_NEG: case TPU_OP_ABS: case TPU_OP_EXP: case TPU_OP_RECIPROCAL: case TPU_OP_CLIP:
    case TPU_OP_HARD_SIGMOID: case TPU_OP_HARD_SWISH:
        ok = plan_unary(g, n, p, why, wn); break;
    case TPU_OP_SOFTMAX:
        ok = plan_softmax(g, n, p, why, wn); break;
    case TPU_OP_LAYER_NORM:
        ok = plan_layer_norm(g, n, p, why, wn); break;
    case TPU_OP_REDUCE_MEAN: case TPU_OP_REDUCE_SUM: case TPU_OP_REDUCE_MAX:
        ok = plan_reduce(g, n, p, why, wn); break;
    case TPU_OP_GLOBAL_AVERAGE_POOL:
        ok = plan_gap(g, n, p, why, wn); break;
    case TPU_OP_BATCH_NORM:
        ok = plan_batch_norm(g, n, p, why, wn); break;
    case TPU_OP_MAX_POOL: case TPU_OP_AVERAGE_POOL:
        ok = plan_pool(g, n, p, why, wn); break;
    case TPU_OP_TRANSPOSE:
        ok = plan_transpose(g, n, p, why, wn); break;
    case TPU_OP_WHERE:
        ok = plan_where(g, n, p, why, wn); break;
    default:
        return no(why, wn, "%s has no vector lowering: host", n->op_type);
    }
    if (!ok) return 0;
    const struct tpu_tensor *y = tpu_out(g, n, 0);
    if (y && y->dtype != TPU_DTYPE_F32 && y->dtype != TPU_DTYPE_UNDEFINED)
        return no(why, wn, "%s: output is not float32: host", n->op_type);
    if (p->rows <= 0 || p->len <= 0) return no(why, wn, "%s: empty tensor: host", n->op_type);
    list_insns(p);
    return layout(chip, p, why, wn) == TPU_STATUS_OK;
}

int tpu_vec_takes(struct tpu_graph *g, struct tpu_node *n, const struct tpu_chip *chip)
{
    struct tpu_vec_plan p;
    char why[8];
    return tpu_vec_plan_node(g, n, chip, &p, why, sizeof why);
}

/*---- Tiling and the program ----*/
static int64_t width(const struct tpu_vec_plan *p, int b)
{
    switch (b) {
    case TPU_VB_IN0: case TPU_VB_IN1: case TPU_VB_IN2: return p->in_w[b - TPU_VB_IN0];
    case TPU_VB_T1: return 1;
    case TPU_VB_OUT: return p->out_w;
    default: return p->len;                            /* T0, T2, K0, K1 */
    }
}

static int used(const struct tpu_vec_plan *p, int b)
{
    if (b >= TPU_VB_IN0 && b <= TPU_VB_IN2) return b - TPU_VB_IN0 < p->n_in;
    for (int i = 0; i < p->n_steps; i++) {
        const struct tpu_vec_step *s = &p->steps[i];
        int has2 = s->opcode != TPU_INSN_VSOP && s->opcode != TPU_INSN_VFN && s->opcode != TPU_INSN_VEXP &&
                   s->opcode != TPU_INSN_VRECIP && s->opcode != TPU_INSN_VRSQRT &&
                   s->opcode != TPU_INSN_VRSUM && s->opcode != TPU_INSN_VRMAX;
        if (s->dst == b || s->src == b || (has2 && s->src2 == b)) return 1;
    }
    return b == TPU_VB_OUT;
}

/* Floats per row of the per-row buffers (inputs, temporaries, output). */
static int64_t row_floats(const struct tpu_vec_plan *p)
{
    int64_t f = 0;
    for (int b = 0; b < TPU_VB_COUNT; b++)
        if (b != TPU_VB_K0 && b != TPU_VB_K1 && used(p, b)) f += width(p, b);
    return f;
}

/* Chunk rows and host offsets; refuses what cannot fit. */
static enum tpu_status layout(const struct tpu_chip *chip, struct tpu_vec_plan *p, char *why, size_t wn)
{
    int64_t ub = chip->unified_buffer_bytes, k_bytes = 4 * p->len * p->n_const, per_row = 4 * row_floats(p);
    int64_t maxw = p->len > p->out_w ? p->len : p->out_w;
    for (int i = 0; i < p->n_in; i++) maxw = p->in_w[i] > maxw ? p->in_w[i] : maxw;
    int64_t r = ub > k_bytes ? (ub - k_bytes) / (2 * per_row) : 0;
    if (r > ((int64_t)1 << 29) / maxw) r = ((int64_t)1 << 29) / maxw;   /* 32-bit n and byte counts */
    if (r < 1) { no(why, wn, "%s: one row does not fit the unified buffer: host", p->op); return TPU_ERR_UNSUPPORTED; }
    p->chunk_rows = r < p->rows ? r : p->rows;
    p->n_chunks = (p->rows + p->chunk_rows - 1) / p->chunk_rows;
    uint64_t at = 0;
    for (int i = 0; i < p->n_in; i++) { p->host_in_off[i] = at; at += 4 * (uint64_t)(p->rows * p->in_w[i]); }
    for (int i = 0; i < p->n_const; i++) { p->host_k_off[i] = at; at += 4 * (uint64_t)p->len; }
    p->host_out_off = at;
    at += 4 * (uint64_t)(p->rows * p->out_w);
    p->host_bytes = at;
    if (at > UINT32_MAX) { no(why, wn, "%s: over 4 GiB of host memory: host", p->op); return TPU_ERR_UNSUPPORTED; }
    return TPU_STATUS_OK;
}

struct vemit { struct tpu_ctx *ctx; struct tpu_program *prog; enum tpu_status rc; };

static void emit(struct vemit *e, int op, uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint16_t x)
{
    if (e->rc) return;
    struct tpu_insn in = { (uint8_t)op, 0, x, a, b, c, d };
    e->rc = tpu_program_emit(e->ctx, e->prog, &in);
}

/* UB address of buffer b in buffer set `set` (K0/K1 are shared). */
static uint32_t ub_addr(const struct tpu_vec_plan *p, int b, int set)
{
    if (b == TPU_VB_K0 || b == TPU_VB_K1) return (uint32_t)(4 * p->len * (b - TPU_VB_K0));
    int64_t at = 4 * p->len * p->n_const + set * 4 * p->chunk_rows * row_floats(p);
    for (int i = 0; i < b; i++)
        if (i != TPU_VB_K0 && i != TPU_VB_K1 && used(p, i)) at += 4 * p->chunk_rows * width(p, i);
    return (uint32_t)at;
}

static void emit_reads(struct vemit *e, const struct tpu_vec_plan *p, int64_t chunk)
{
    if (p->resident & TPU_RESIDENT_IN) return;               /* already in the UB */
    int64_t r0 = chunk * p->chunk_rows, rows = sim_min(p->chunk_rows, p->rows - r0);
    for (int i = 0; i < p->n_in; i++)
        emit(e, TPU_INSN_RD_HOST, (uint32_t)(p->host_in_off[i] + 4 * (uint64_t)(r0 * p->in_w[i])),
             ub_addr(p, TPU_VB_IN0 + i, (int)(chunk & 1)), (uint32_t)(4 * rows * p->in_w[i]), 0, 0);
}

static void emit_steps(struct vemit *e, const struct tpu_vec_plan *p, int64_t chunk)
{
    int set = (int)(chunk & 1);
    uint32_t rows = (uint32_t)sim_min(p->chunk_rows, p->rows - chunk * p->chunk_rows);
    for (int i = 0; i < p->n_steps; i++) {
        const struct tpu_vec_step *s = &p->steps[i];
        uint32_t a = ub_addr(p, s->dst, set), b = ub_addr(p, s->src, set), c = 0, d, x = 0;
        switch (s->opcode) {
        case TPU_INSN_VRSUM: case TPU_INSN_VRMAX:
            c = (uint32_t)width(p, s->src); d = rows; break;
        case TPU_INSN_VBSUB: case TPU_INSN_VBMUL: case TPU_INSN_VBADD: case TPU_INSN_VBDIV:
        case TPU_INSN_VCADD: case TPU_INSN_VCSUB: case TPU_INSN_VCMUL: case TPU_INSN_VCDIV:
            c = ub_addr(p, s->src2, set); d = rows; x = (uint32_t)width(p, s->src); break;
        case TPU_INSN_VSOP:
            memcpy(&c, &s->imm, 4); d = rows * (uint32_t)width(p, s->dst); x = s->x; break;
        case TPU_INSN_VFN:
            d = rows * (uint32_t)width(p, s->dst); x = s->x; break;
        case TPU_INSN_VEXP: case TPU_INSN_VRECIP: case TPU_INSN_VRSQRT:
            d = rows * (uint32_t)width(p, s->dst); break;
        case TPU_INSN_VTRANS:                              /* one per row (outer slice) */
            for (uint32_t r = 0; r + 1 < rows; r++)
                emit(e, s->opcode, a + 4 * r * (uint32_t)p->len, b + 4 * r * (uint32_t)p->len,
                     (uint32_t)p->tr_rows, (uint32_t)p->tr_cols, (uint16_t)(p->tr_elem > 1 ? p->tr_elem : 0));
            a += 4 * (rows - 1) * (uint32_t)p->len;
            b += 4 * (rows - 1) * (uint32_t)p->len;
            c = (uint32_t)p->tr_rows; d = (uint32_t)p->tr_cols; x = p->tr_elem > 1 ? (uint32_t)p->tr_elem : 0;
            break;
        default:
            c = ub_addr(p, s->src2, set); d = rows * (uint32_t)width(p, s->dst); break;
        }
        emit(e, s->opcode, a, b, c, d, (uint16_t)x);
    }
}

enum tpu_status tpu_lower_vec(struct tpu_ctx *ctx, const struct tpu_chip *chip, struct tpu_vec_plan *p,
                              struct tpu_program **out)
{
    *out = NULL;
    struct vemit e = { ctx, tpu_program_new(ctx), TPU_STATUS_OK };
    if (!e.prog) return TPU_ERR_NOMEM;
    snprintf(e.prog->chip, sizeof e.prog->chip, "%s", chip->name);
    const uint16_t host = 1u << TPU_UNIT_HOST, vec = 1u << TPU_UNIT_VEC;
    for (int k = 0; k < p->n_const; k++)
        emit(&e, TPU_INSN_RD_HOST, (uint32_t)p->host_k_off[k], ub_addr(p, TPU_VB_K0 + k, 0),
             (uint32_t)(4 * p->len), 0, 0);
    emit_reads(&e, p, 0);
    for (int64_t c = 0; c < p->n_chunks; c++) {
        int next = c + 1 < p->n_chunks;
        if (next) emit_reads(&e, p, c + 1);                  /* overlaps this chunk's work */
        emit(&e, TPU_INSN_SYNC, next ? (uint32_t)p->n_in : 0, 0, 0, 0, host);
        if (p->n_chunks == 1) emit(&e, TPU_INSN_DEBUG, TPU_TAG_HOST_IN, 0, 0, 0, 0);
        emit_steps(&e, p, c);
        emit(&e, TPU_INSN_SYNC, 0, 0, 0, 0, vec);
        if (p->n_chunks == 1) emit(&e, TPU_INSN_DEBUG, TPU_TAG_COMPUTE, 0, 0, 0, 0);
        int64_t r0 = c * p->chunk_rows, rows = sim_min(p->chunk_rows, p->rows - r0);
        if (!(p->resident & TPU_RESIDENT_OUT))               /* the result stays in the UB */
            emit(&e, TPU_INSN_WR_HOST, (uint32_t)(p->host_out_off + 4 * (uint64_t)(r0 * p->out_w)),
                 ub_addr(p, TPU_VB_OUT, (int)(c & 1)), (uint32_t)(4 * rows * p->out_w), 0, 0);
    }
    emit(&e, TPU_INSN_SYNC, 0, 0, 0, 0, host);
    emit(&e, TPU_INSN_HALT, 0, 0, 0, 0, 0);
    if (e.rc) { tpu_program_free(e.prog); return e.rc; }
    *out = e.prog;
    return TPU_STATUS_OK;
}
