/*
** sim/sim_vector.c: the vector unit — elementwise fp32 arithmetic, row
** reductions, per-row broadcasts and transposes on the unified buffer: the
** pieces of softmax and layernorm. activation_lanes elements per cycle.
**
** In:  decoded V* instructions (sim/sim_exec.c).
** Out: UB contents, s->start / s->done, counters.
*/
#include "sim/sim.h"
#include <math.h>
#include <string.h>

static float ld(const struct tpu_sim *s, uint64_t addr, uint64_t i)
{
    float f;
    memcpy(&f, s->ub + addr + 4 * i, 4);
    return f;
}
static void st(struct tpu_sim *s, uint64_t addr, uint64_t i, float f) { memcpy(s->ub + addr + 4 * i, &f, 4); }

/* Element counts: how many floats each operand spans. */
static void spans(const struct tpu_insn *in, uint64_t *n_dst, uint64_t *n_src, uint64_t *n_src2,
                  uint64_t *work)
{
    uint64_t n = in->d;
    *n_src2 = 0;
    switch (in->opcode) {
    case TPU_INSN_VADD: case TPU_INSN_VMUL: case TPU_INSN_VMAX:
        *n_dst = *n_src = *n_src2 = *work = n; break;
    case TPU_INSN_VRSUM: case TPU_INSN_VRMAX:
        *n_dst = n; *n_src = *work = n * in->c; break;
    case TPU_INSN_VBSUB: case TPU_INSN_VBMUL:
        *n_dst = *n_src = *work = n * in->x; *n_src2 = n; break;
    case TPU_INSN_VTRANS:
        *n_dst = *n_src = *work = (uint64_t)in->c * in->d; break;
    default:
        *n_dst = *n_src = *work = n; break;
    }
}

static float reduce_row(const struct tpu_sim *s, const struct tpu_insn *in, uint64_t r)
{
    float acc = in->opcode == TPU_INSN_VRSUM ? 0.0f : -INFINITY;
    for (uint64_t j = 0; j < in->c; j++) {
        float v = ld(s, in->b, r * in->c + j);
        acc = in->opcode == TPU_INSN_VRSUM ? acc + v : fmaxf(acc, v);
    }
    return acc;
}

static void compute(struct tpu_sim *s, const struct tpu_insn *in)
{
    uint64_t n = in->d;
    switch (in->opcode) {
    case TPU_INSN_VADD:   for (uint64_t i = 0; i < n; i++) st(s, in->a, i, ld(s, in->b, i) + ld(s, in->c, i)); break;
    case TPU_INSN_VMUL:   for (uint64_t i = 0; i < n; i++) st(s, in->a, i, ld(s, in->b, i) * ld(s, in->c, i)); break;
    case TPU_INSN_VMAX:   for (uint64_t i = 0; i < n; i++) st(s, in->a, i, fmaxf(ld(s, in->b, i), ld(s, in->c, i))); break;
    case TPU_INSN_VEXP:   for (uint64_t i = 0; i < n; i++) st(s, in->a, i, expf(ld(s, in->b, i))); break;
    case TPU_INSN_VRECIP: for (uint64_t i = 0; i < n; i++) st(s, in->a, i, 1.0f / ld(s, in->b, i)); break;
    case TPU_INSN_VRSQRT: for (uint64_t i = 0; i < n; i++) st(s, in->a, i, 1.0f / sqrtf(ld(s, in->b, i))); break;
    case TPU_INSN_VRSUM: case TPU_INSN_VRMAX:
        for (uint64_t r = 0; r < n; r++) st(s, in->a, r, reduce_row(s, in, r));
        break;
    case TPU_INSN_VBSUB: case TPU_INSN_VBMUL:
        for (uint64_t r = 0; r < n; r++) {
            float b = ld(s, in->c, r);
            for (uint64_t j = 0; j < in->x; j++) {
                float v = ld(s, in->b, r * in->x + j);
                st(s, in->a, r * in->x + j, in->opcode == TPU_INSN_VBSUB ? v - b : v * b);
            }
        }
        break;
    case TPU_INSN_VTRANS:
        for (uint64_t r = 0; r < in->c; r++)
            for (uint64_t j = 0; j < in->d; j++) st(s, in->a, j * in->c + r, ld(s, in->b, r * in->d + j));
        break;
    default:
        break;
    }
}

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
    if (in->opcode == TPU_INSN_VTRANS && in->a < in->b + 4 * n_src && in->b < in->a + 4 * n_dst)
        return sim_fault(s, TPU_FAULT_BAD_OPERAND, "VTRANS dst overlaps src");
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
