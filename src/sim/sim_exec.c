/*
** sim/sim_exec.c: one case per instruction, SQLite-vdbe style. Each case has an
** `Insn:` line (the assembly form) and a `Synopsis:` line (what it does);
** tools/gen-isa-doc.sh turns these blocks into docs/isa.md. Cases are one call
** into the block that implements them (sim_mxu.c, sim_dma.c, sim_vector.c,
** sim_chip.c), which checks its operands first (require-style) and faults
** instead of touching memory out of range.
**
** In:  one decoded instruction and the chip state (sim/sim.h).
** Out: the state updated, s->start / s->done set for the timing loop.
*/
#include "sim/sim.h"

int sim_exec(struct tpu_sim *s, const struct tpu_insn *in)
{
    switch (in->opcode) {
    /* Insn: NOP
    ** Synopsis: do nothing for one issue slot */
    case TPU_INSN_NOP:
        return 0;

    /* Insn: HALT
    ** Synopsis: stop the program; the run ends when every unit has finished */
    case TPU_INSN_HALT:
        return 1;

    /* SYNC's block is at sim_sync() in sim/sim_chip.c. */
    case TPU_INSN_SYNC:
        return sim_sync(s, in);

    /* Insn: SET_CFG reg, value
    ** Synopsis: cfg[reg] = value (0 requant multiplier, 1 requant shift, 2 bias table, 3 clamp table)
    ** The parameters ACTIVATE uses: int8 requantisation, and the UB byte
    ** addresses of its per-column bias and clamp tables. */
    case TPU_INSN_SET_CFG:
        if (in->x >= TPU_CFG_COUNT)
            return sim_fault(s, TPU_FAULT_BAD_OPERAND, "no configuration register %u", in->x);
        s->cfg[in->x] = (int32_t)in->a;
        return 0;

    /* Insn: INTERRUPT code
    ** Synopsis: raise a host interrupt with `code`; execution continues */
    case TPU_INSN_INTERRUPT:
        return 0;

    /* Insn: DEBUG tag
    ** Synopsis: record (tag, issue cycle) in the trace; compile/ marks layer boundaries with it */
    case TPU_INSN_DEBUG:
        return 0;

    /* Insn: RD_HOST host, ub, bytes
    ** Synopsis: ub[ub..ub+bytes) = host[host..host+bytes) over the host link
    ** Read_Host_Memory. Takes bytes / host-link bytes per cycle on the host DMA unit. */
    case TPU_INSN_RD_HOST:
        return sim_host_dma(s, in, 0);

    /* Insn: WR_HOST host, ub, bytes
    ** Synopsis: host[host..host+bytes) = ub[ub..ub+bytes) over the host link
    ** Write_Host_Memory. Needs a SYNC after the ACTIVATE that produced the data. */
    case TPU_INSN_WR_HOST:
        return sim_host_dma(s, in, 1);

    /* Insn: RD_WEIGHTS dram, tiles, mxu
    ** Synopsis: push `tiles` weight tiles from weight memory at `dram` into MXU mxu's weight FIFO
    ** Read_Weights, decoupled access/execute: issues at once; each tile
    ** (array_rows x array_cols elements, row-major, K rows by N columns) lands
    ** when weight memory has delivered it. Faults if the FIFO would overflow. */
    case TPU_INSN_RD_WEIGHTS:
        return sim_rd_weights(s, in);

    /* Insn: LD_WEIGHTS k, n, mxu
    ** Synopsis: pop a tile from the FIFO and shift it into the MXU's second weight buffer (array_rows cycles)
    ** k and n are the tile's used rows and columns (for the useful-MAC count).
    ** The shift overlaps MATMULs on the current tile (double buffering); the
    ** next MATMUL on this MXU switches to the new tile. */
    case TPU_INSN_LD_WEIGHTS:
        return sim_ld_weights(s, in);

    /* Insn: MATMUL ub, acc, rows, ub_stride, mxu, +acc
    ** Synopsis: acc[acc+i] (+)= ub_row(ub + i*ub_stride) x W for i < rows, one row per cycle
    ** MatrixMultiply: each UB row holds array_rows input elements (int8 or
    ** bf16); each accumulator row array_cols 32-bit sums. +acc adds, otherwise
    ** overwrites. ub_stride 0 means array_rows x element bytes. Convolutions
    ** run as GEMMs (compile/ lays out the im2col rows). */
    case TPU_INSN_MATMUL:
        return sim_matmul(s, in);

    /* Insn: ACTIVATE acc, ub, rows, pool, func, +raw, +bias
    ** Synopsis: ub <- pool(func(acc[acc..acc+rows) + bias)) ; func 0 none, 1 relu, 2 sigmoid, 3 tanh, 4 clip
    ** Activate: the accumulators through the activation pipeline. +bias adds
    ** bias[column] from the table at UB cfg[2] (array_cols 32-bit words);
    ** clip clamps each column to [lo, hi] from the table at UB cfg[3]
    ** (array_cols lo words, then array_cols hi words). int8 chips: the tables
    ** are int32 (in the accumulator's scale); acc + bias in 64 bits, relu /
    ** clip, then without +raw y = sat8(round_half_even(v x cfg[0] / 2^cfg[1])),
    ** with +raw v saturated to int32; sigmoid/tanh fault. bf16 chips: fp32
    ** tables, v = acc + bias in fp32, then func (relu: v < 0 ? 0 : v; clip:
    ** v < lo ? lo : v, then v > hi ? hi : v); +raw writes fp32, otherwise bf16
    ** (round to nearest even). pool > 1: max over each group of `pool`
    ** consecutive rows. A table out of the UB or not 4-byte aligned faults. */
    case TPU_INSN_ACTIVATE:
        return sim_activate(s, in);

    /* Insn: VADD dst, src, src2, n
    ** Synopsis: dst[i] = src[i] + src2[i] for i < n (fp32 in the UB) */
    case TPU_INSN_VADD:
    /* Insn: VMUL dst, src, src2, n
    ** Synopsis: dst[i] = src[i] * src2[i] for i < n */
    case TPU_INSN_VMUL:
    /* Insn: VMAX dst, src, src2, n
    ** Synopsis: dst[i] = max(src[i], src2[i]) for i < n */
    case TPU_INSN_VMAX:
    /* Insn: VEXP dst, src, n
    ** Synopsis: dst[i] = exp(src[i]) for i < n */
    case TPU_INSN_VEXP:
    /* Insn: VRECIP dst, src, n
    ** Synopsis: dst[i] = 1 / src[i] for i < n */
    case TPU_INSN_VRECIP:
    /* Insn: VRSQRT dst, src, n
    ** Synopsis: dst[i] = 1 / sqrt(src[i]) for i < n */
    case TPU_INSN_VRSQRT:
    /* Insn: VRSUM dst, src, len, n
    ** Synopsis: dst[r] = sum of src[r*len .. r*len+len) for r < n (ascending order) */
    case TPU_INSN_VRSUM:
    /* Insn: VRMAX dst, src, len, n
    ** Synopsis: dst[r] = max of src[r*len .. r*len+len) for r < n */
    case TPU_INSN_VRMAX:
    /* Insn: VBSUB dst, src, src2, n, len
    ** Synopsis: dst[r*len+j] = src[r*len+j] - src2[r] for r < n, j < len */
    case TPU_INSN_VBSUB:
    /* Insn: VBMUL dst, src, src2, n, len
    ** Synopsis: dst[r*len+j] = src[r*len+j] * src2[r] for r < n, j < len */
    case TPU_INSN_VBMUL:
    /* Insn: VTRANS dst, src, rows, cols
    ** Synopsis: dst (cols x rows) = transpose of src (rows x cols); dst must not overlap src */
    case TPU_INSN_VTRANS:
        return sim_vector(s, in);

    default:
        return sim_fault(s, TPU_FAULT_BAD_OPCODE, "opcode 0x%02x is not an instruction", in->opcode);
    }
}
