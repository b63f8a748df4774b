/*
** compile/driver.h: the host driver's pass-level pieces (compile/driver.c),
** shared by the buffered path (tpu_mm_pack_input / tpu_mm_unpack_output
** through a host buffer) and the linked one (compile/driver_link.c: straight
** into and out of the simulated unified buffer at RD_HOST / WR_HOST).
** Private to compile/; both paths give the same bytes by construction.
*/
#ifndef TPU_COMPILE_DRIVER_H
#define TPU_COMPILE_DRIVER_H

/* After compile/compile.h (its second half has no include guard). */

/* The quantised input the packing copies rows from, l->in_scale set: int8
** conv (l->k_hwc) the NHWC int8 copy, otherwise x quantised (int8) or
** rounded (bf16) in its own order, elem bytes a value. NULL (nothing set)
** when there is no fast path for the chip or no memory: the element path
** (tpu_mm_pack_input_ref) packs then. malloc'd; the caller frees. */
uint8_t *tpu_mm_quantise(const struct tpu_chip *c, struct tpu_lowered *l, const float *x);
/* Pass (g, mc) of the packed input (what its RD_HOST reads) from q into dst:
** all its k_tiles x rows x array_rows x elem bytes written. */
void tpu_mm_pack_pass(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *q, int64_t g,
                      int64_t mc, uint8_t *dst);
/* The same; tail_zero: the bytes past K of each row (up to k_tiles x
** array_rows) already hold zeros at dst (an earlier pass of as many rows
** packed there, nothing else written there since), so they are left be
** ((ky, kx, channel) packing; the other packings write every byte). */
void tpu_mm_pack_pass_tail(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *q, int64_t g,
                           int64_t mc, int tail_zero, uint8_t *dst);
/* ACTIVATE's tables (tpu_mm_pack_tables) at t: groups x tab_bytes bytes. */
void tpu_mm_pack_tables_at(const struct tpu_chip *c, const struct tpu_lowered *l, const float *bias,
                           float lo, float hi, uint8_t *t);
/* int8 quantisation of n values, as the packing's element path: rintf(x /
** scale) clamped to +-127 (AVX-512 where the CPU has it; the same bytes).
** Also the weight columns' (compile/lower.c). */
void tpu_quantise_i8(const float *x, int64_t n, float scale, int8_t *q);
/* 16 x 16 bytes transposed: dst row i (at dst + i x ds) = byte i of each of
** the 16 src rows (at src + r x ss). */
void tpu_transpose16_i8(const int8_t *src, int64_t ss, int8_t *dst, int64_t ds);
/* Rows the unpacking dequantises together (tpu_mm_unpack_pass's blk). */
#define TPU_MM_UNPACK_RB 32
/* Pass (g, mc) of the results (what its WR_HOST writes, at base) into y, as
** tpu_mm_unpack_output does. blk: TPU_MM_UNPACK_RB x array_cols floats of scratch,
** or NULL (slower, the same values). */
void tpu_mm_unpack_pass(const struct tpu_chip *c, const struct tpu_lowered *l, const uint8_t *base,
                        int64_t g, int64_t mc, float alpha, const float *bias, float *y, float *blk);

/* Runs l's program on s with the host side done at the host link itself
** (driver_link.c): each RD_HOST of a pass packs the pass straight into the
** UB, each WR_HOST of a pass unpacks it straight from the UB into y (groups x
** M x N floats, as tpu_mm_unpack_output: alpha, out_bias), the tables come
** from a small buffer; no host buffer for the input or the results. The UB
** bytes, cycles and counters are those of the buffered path (the DMA
** instructions run as before, only the copy through host memory is gone).
** *taken 0: nothing was run (a host access that is not one whole pass, no
** fast packing for the chip, or memory short): use the buffered path. */
enum tpu_status tpu_mm_run_linked(struct tpu_sim *s, const struct tpu_chip *c, struct tpu_lowered *l,
                                  const float *x, const float *bias, float lo, float hi, float alpha,
                                  const float *out_bias, float *y, int *taken);

#endif /* TPU_COMPILE_DRIVER_H */
