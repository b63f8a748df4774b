/*
** sim/sim_vector.c: the vector unit — elementwise fp32 arithmetic (two
** operands, a per-row or per-column broadcast operand, a scalar immediate, a
** unary function), row reductions and transposes on the unified buffer: the
** pieces of softmax, layernorm, pooling and residual adds that
** compile/lower_vec.c emits. activation_lanes elements per cycle.
**
** Numerics: fp32 throughout, in the order written here (row sums: eight
** interleaved partial sums combined pairwise, as lanes reduce);
** Max/Min propagate NaN like numpy. The functions are computed as the
** reference kernels (ref/ref_elem.c) compute them in float32, so a lowered
** elementwise op is bit-exact against the reference.
**
** In:  decoded V* instructions (sim/sim_exec.c).
** Out: UB contents, s->start / s->done, counters.
*/
#include "sim/sim.h"
#include <math.h>
#include <string.h>

/* Element counts: how many floats each operand spans, and the work (elements
** through the lanes). */
static void spans(const struct tpu_insn *in, uint64_t *n_dst, uint64_t *n_src, uint64_t *n_src2,
                  uint64_t *work)
{
    uint64_t n = in->d;
    *n_src2 = 0;
    switch (in->opcode) {
    case TPU_INSN_VADD: case TPU_INSN_VMUL: case TPU_INSN_VMAX:
    case TPU_INSN_VSUB: case TPU_INSN_VMIN: case TPU_INSN_VDIV: case TPU_INSN_VSEL:
        *n_dst = *n_src = *n_src2 = *work = n; break;
    case TPU_INSN_VRSUM: case TPU_INSN_VRMAX:
        *n_dst = n; *n_src = *work = n * in->c; break;
    case TPU_INSN_VBSUB: case TPU_INSN_VBMUL: case TPU_INSN_VBADD: case TPU_INSN_VBDIV:
        *n_dst = *n_src = *work = n * in->x; *n_src2 = n; break;
    case TPU_INSN_VCADD: case TPU_INSN_VCSUB: case TPU_INSN_VCMUL: case TPU_INSN_VCDIV:
        *n_dst = *n_src = *work = n * in->x; *n_src2 = in->x; break;
    case TPU_INSN_VTRANS:
        *n_dst = *n_src = *work = (uint64_t)in->c * in->d * (in->x ? in->x : 1); break;
    default:
        *n_dst = *n_src = *work = n; break;
    }
}

/* Binary operations shared by the elementwise, broadcast and immediate forms. */
enum vbin { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN, B_POW };

static float vbin(enum vbin op, float x, float y)
{
    switch (op) {
    case B_ADD: return x + y;
    case B_SUB: return x - y;
    case B_MUL: return x * y;
    case B_DIV: return x / y;
    case B_MAX: return x > y || x != x ? x : y;
    case B_MIN: return x < y || x != x ? x : y;
    case B_POW: return powf(x, y);
    }
    return x;
}

static enum vbin bin_of(int opcode)
{
    switch (opcode) {
    case TPU_INSN_VADD: case TPU_INSN_VBADD: case TPU_INSN_VCADD: return B_ADD;
    case TPU_INSN_VSUB: case TPU_INSN_VBSUB: case TPU_INSN_VCSUB: return B_SUB;
    case TPU_INSN_VMUL: case TPU_INSN_VBMUL: case TPU_INSN_VCMUL: return B_MUL;
    case TPU_INSN_VDIV: case TPU_INSN_VBDIV: case TPU_INSN_VCDIV: return B_DIV;
    case TPU_INSN_VMAX: return B_MAX;
    default:            return B_MIN;
    }
}

/* dst[i] = src[i] op src2[i * step2 / ...]: one loop per op so each is a
** plain vectorisable loop. */
#define EACH_OP(op, LOOP) do { switch (op) { \
    case B_ADD: LOOP(x + y); break; case B_SUB: LOOP(x - y); break; \
    case B_MUL: LOOP(x * y); break; case B_DIV: LOOP(x / y); break; \
    case B_MAX: LOOP(x > y || x != x ? x : y); break; \
    case B_MIN: LOOP(x < y || x != x ? x : y); break; \
    case B_POW: LOOP(powf(x, y)); break; } } while (0)

static void elementwise(enum vbin op, float *d, const float *a, const float *b, uint64_t n)
{
#define L(e) for (uint64_t i = 0; i < n; i++) { float x = a[i], y = b[i]; d[i] = (e); }
    EACH_OP(op, L);
#undef L
}

static void row_bcast(enum vbin op, float *d, const float *a, const float *b, uint64_t rows, uint64_t len)
{
#define L(e) for (uint64_t r = 0; r < rows; r++) { float y = b[r]; \
        for (uint64_t j = 0; j < len; j++) { float x = a[r * len + j]; d[r * len + j] = (e); } }
    EACH_OP(op, L);
#undef L
}

static void col_bcast(enum vbin op, float *d, const float *a, const float *b, uint64_t rows, uint64_t len)
{
#define L(e) for (uint64_t r = 0; r < rows; r++) \
        for (uint64_t j = 0; j < len; j++) { float x = a[r * len + j], y = b[j]; d[r * len + j] = (e); }
    EACH_OP(op, L);
#undef L
}

static void scalar_op(unsigned op, float *d, const float *a, float imm, uint64_t n)
{
    static const enum vbin base[TPU_VSOP_COUNT] = { B_ADD, B_SUB, B_SUB, B_MUL, B_DIV, B_DIV, B_MAX,
                                                    B_MIN, B_POW, B_MAX, B_MIN };
    if (op == TPU_VSOP_CLIP_LO) { for (uint64_t i = 0; i < n; i++) d[i] = a[i] < imm ? imm : a[i]; return; }
    if (op == TPU_VSOP_CLIP_HI) { for (uint64_t i = 0; i < n; i++) d[i] = a[i] > imm ? imm : a[i]; return; }
    if (op == TPU_VSOP_RSUB || op == TPU_VSOP_RDIV) {
        for (uint64_t i = 0; i < n; i++) d[i] = vbin(base[op], imm, a[i]);
        return;
    }
#define L(e) for (uint64_t i = 0; i < n; i++) { float x = a[i], y = imm; d[i] = (e); }
    EACH_OP(base[op], L);
#undef L
}

/* tanh in float32 through one double exp, as ref/ref_elem.c's kernel. */
static float tanh_f32(float x)
{
    double a = fabs((double)x);
    if (a < 1e-4) return x;
    double t = exp(-2 * a);
    return (float)copysign((1 - t) / (1 + t), (double)x);
}

static void unary(unsigned fn, float *d, const float *a, uint64_t n)
{
    if (fn == TPU_VFN_COPY) { memmove(d, a, n * 4); return; }      /* the bits, as they are */
#define L(e) for (uint64_t i = 0; i < n; i++) { float x = a[i]; d[i] = (e); } break
    switch (fn) {
    case TPU_VFN_RELU:    L(x < 0 ? 0.0f : x);
    case TPU_VFN_SIGMOID: L((float)(1 / (1 + exp(-(double)x))));
    case TPU_VFN_TANH:    L(tanh_f32(x));
    case TPU_VFN_ERF:     L((float)erf((double)x));
    case TPU_VFN_SQRT:    L(sqrtf(x));
    case TPU_VFN_NEG:     L(-x);
    case TPU_VFN_ABS:     L(fabsf(x));
    case TPU_VFN_EXP:     L(expf(x));
    case TPU_VFN_CLAMP01: L(fminf(1.0f, fmaxf(0.0f, x)));
    default:              L(1.0f / x);
    }
#undef L
}

/* A row sum as lanes reduce it: eight interleaved partial sums (element j
** into partial j mod 8, each in ascending order), combined pairwise. */
static float row_sum(const float *p, uint64_t len)
{
    float s[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
    uint64_t j = 0;
    for (; j + 8 <= len; j += 8)
        for (int k = 0; k < 8; k++) s[k] += p[j + (uint64_t)k];
    for (int k = 0; j < len; j++, k++) s[k] += p[j];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void reduce_rows(int is_sum, float *d, const float *a, uint64_t rows, uint64_t len)
{
    for (uint64_t r = 0; r < rows; r++) {
        const float *p = a + r * len;
        float acc = -INFINITY;
        if (is_sum) acc = row_sum(p, len);
        else for (uint64_t j = 0; j < len; j++) acc = p[j] > acc || p[j] != p[j] ? p[j] : acc;
        d[r] = acc;
    }
}

static void compute(struct tpu_sim *s, const struct tpu_insn *in)
{
    uint64_t n = in->d;
    float *d = (float *)(void *)(s->ub + in->a);
    const float *a = (const float *)(void *)(s->ub + in->b);
    const float *b = (const float *)(void *)(s->ub + in->c);
    switch (in->opcode) {
    case TPU_INSN_VADD: case TPU_INSN_VMUL: case TPU_INSN_VMAX:
    case TPU_INSN_VSUB: case TPU_INSN_VMIN: case TPU_INSN_VDIV:
        elementwise(bin_of(in->opcode), d, a, b, n);
        break;
    case TPU_INSN_VSEL:   for (uint64_t i = 0; i < n; i++) if (a[i] != 0.0f) memcpy(&d[i], &b[i], 4); break;
    case TPU_INSN_VEXP:   unary(TPU_VFN_EXP, d, a, n); break;
    case TPU_INSN_VRECIP: unary(TPU_VFN_RECIP, d, a, n); break;
    case TPU_INSN_VRSQRT: for (uint64_t i = 0; i < n; i++) d[i] = 1.0f / sqrtf(a[i]); break;
    case TPU_INSN_VFN:    unary(in->x, d, a, n); break;
    case TPU_INSN_VSOP: {
        float imm;
        memcpy(&imm, &in->c, 4);
        scalar_op(in->x, d, a, imm, n);
        break;
    }
    case TPU_INSN_VRSUM: case TPU_INSN_VRMAX:
        reduce_rows(in->opcode == TPU_INSN_VRSUM, d, a, n, in->c);
        break;
    case TPU_INSN_VBSUB: case TPU_INSN_VBMUL: case TPU_INSN_VBADD: case TPU_INSN_VBDIV:
        row_bcast(bin_of(in->opcode), d, a, b, n, in->x);
        break;
    case TPU_INSN_VCADD: case TPU_INSN_VCSUB: case TPU_INSN_VCMUL: case TPU_INSN_VCDIV:
        col_bcast(bin_of(in->opcode), d, a, b, n, in->x);
        break;
    case TPU_INSN_VTRANS: {
        uint64_t w = in->x ? in->x : 1;
        if (w == 1) {
            for (uint64_t r = 0; r < in->c; r++)
                for (uint64_t j = 0; j < in->d; j++) d[j * in->c + r] = a[r * in->d + j];
        } else {
            for (uint64_t r = 0; r < in->c; r++)
                for (uint64_t j = 0; j < in->d; j++) memcpy(d + (j * in->c + r) * w, a + (r * in->d + j) * w, w * 4);
        }
        break;
    }
    default:
        break;
    }
}

/* Operands must lie in the UB; a reduction or broadcast must not write over
** its own source in a way the row loop would read back (dst == src is fine
** for the elementwise and broadcast forms, which read each element before
** writing it). */
static int check(struct tpu_sim *s, const struct tpu_insn *in, uint64_t n_dst, uint64_t n_src,
                 uint64_t n_src2)
{
    uint64_t ub = (uint64_t)s->chip->unified_buffer_bytes;
    if ((in->a | in->b) % 4 || (n_src2 && in->c % 4))
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "fp32 operands must be 4-byte aligned");
    if (!sim_range_ok(in->a, 4 * n_dst, ub) || !sim_range_ok(in->b, 4 * n_src, ub) ||
        (n_src2 && !sim_range_ok(in->c, 4 * n_src2, ub)))
        return sim_fault(s, TPU_FAULT_UB_RANGE, "a vector operand ends past the %llu-byte unified "
                         "buffer", (unsigned long long)ub);
    int overlap = in->a < in->b + 4 * n_src && in->b < in->a + 4 * n_dst;
    if ((in->opcode == TPU_INSN_VTRANS || in->opcode == TPU_INSN_VRSUM || in->opcode == TPU_INSN_VRMAX) &&
        overlap)
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "%s dst overlaps src",
                         in->opcode == TPU_INSN_VTRANS ? "VTRANS" : "row reduction");
    if (in->opcode == TPU_INSN_VSOP && in->x >= TPU_VSOP_COUNT)
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "VSOP op %u is not defined", in->x);
    if (in->opcode == TPU_INSN_VFN && in->x >= TPU_VFN_COUNT)
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "VFN func %u is not defined", in->x);
    return 0;
}

int sim_vector(struct tpu_sim *s, const struct tpu_insn *in)
{
    uint64_t n_dst, n_src, n_src2, work;
    spans(in, &n_dst, &n_src, &n_src2, &work);
    if (check(s, in, n_dst, n_src, n_src2)) return 1;
    if (!s->timing_only) compute(s, in);
    const struct tpu_chip *c = s->chip;
    int64_t start = sim_max(s->issue, s->unit_free[TPU_UNIT_VEC]);
    int64_t busy = (int64_t)((work + (uint64_t)c->activation_lanes - 1) / (uint64_t)c->activation_lanes);
    s->unit_free[TPU_UNIT_VEC] = start + busy;
    s->start = start;
    s->done = start + busy + c->activation_latency_cycles;
    s->ctr.ub_bytes_read += (int64_t)(4 * (n_src + n_src2));
    s->ctr.ub_bytes_written += (int64_t)(4 * n_dst);
    s->ctr.vector_elems += (int64_t)work;
    return 0;
}
