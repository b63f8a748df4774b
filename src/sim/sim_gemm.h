/*
** sim/sim_gemm.h: the chip's compute kernels — what the matrix unit computes,
** done fast on the host. The simulator (sim_exec.c, MATMUL) calls these to
** produce the values of a systolic-array pass; sim_systolic.h says how many
** cycles the same pass takes. tests/pe_model.c checks both against a
** PE-by-PE model of the array.
**
** Layout: every matrix is row-major with a leading dimension in elements:
** A is M×K (A[i*lda + k]), B is K×N (B[k*ldb + n]), C is M×N (C[i*ldc + n]).
** B is the weight tile (held in the array), A the activations streamed in.
** M, N or K ≤ 0 is allowed: with no rows or columns nothing is written; with
** K ≤ 0, C is zeroed (or left as is when accumulate is set).
** The functions cannot fail: the SIMD paths allocate one packing buffer per
** call (about 64·min(K, 8192) bytes for int8, 256·K bytes for bf16) and fall
** back to the portable path, with the same results, when that allocation fails.
*/
#ifndef TPU_SIM_GEMM_H
#define TPU_SIM_GEMM_H

#include <stdint.h>

/* C (+)= A·B over int8 with int32 results. Sums wrap modulo 2^32 (two's
** complement), exactly like a 32-bit accumulator that does not saturate; with
** |A|,|B| ≤ 128 a single call cannot wrap below K = 131072. When accumulate is
** 0, C is overwritten; otherwise the products are added to C's contents.
** The result is bit-identical on every dispatch path. */
void tpu_gemm_i8(int M, int N, int K, const int8_t *A, int lda, const int8_t *B, int ldb,
                 int32_t *C, int ldc, int accumulate);

/* C (+)= A·B over bfloat16 (raw bits, as tpu_bf16_to_f32 reads them) with
** float results, summed in the order a weight-stationary array sums them:
**
**     for each chunk of k_tile reduction rows [k0, k0 + k_tile):
**         t = +0.0f
**         for k = k0, k0+1, ... (ascending): p = fl(a[i][k] * b[k][j]); t = fl(t + p)
**         C[i][j] = fl(C[i][j] + t)          (C starts at +0.0f unless accumulate)
**
** fl() is IEEE-754 binary32 round-to-nearest-even; the product and the sum are
** rounded separately (no fused multiply-add). A bf16×bf16 product is exact in
** fp32 unless it overflows or falls below the normal range, so in practice
** only the sums round. A chunk is one weight tile of k_tile rows, summed down a
** column of the array; the accumulators then add the chunks in order.
** k_tile ≤ 0 or ≥ K means one chunk. Bit-identical on every dispatch path for
** all non-NaN results; a NaN result is a NaN on every path (payloads may
** differ). */
void tpu_gemm_bf16(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B, int ldb,
                   float *C, int ldc, int accumulate, int k_tile);

/* 1 when every product a·b of A's and B's values is 0 or an exact normal
** fp32: no subnormal, inf or NaN value, and the exponent fields keep each
** nonzero |a·b| in [2^-126, 2^127). Then fl(a·b + t) = fl(fl(a·b) + t) for
** any t, so the AVX-512 path may fuse the product and the sum (same bits). */
int tpu_bf16_products_exact(int M, int N, int K, const uint16_t *A, int lda, const uint16_t *B, int ldb);

/* The int8 path in use: "avx512-vnni", "avx2" or "portable". */
const char *tpu_gemm_impl_name(void);

/* on = 1: use the portable C path from now on (tests run every path);
** on = 0: back to the fastest path the CPU supports. */
void tpu_gemm_force_portable(int on);

/* Picks a path by name ("avx512-vnni", "avx2", "portable"; NULL = the fastest
** the CPU supports). Returns 0, or -1 when the CPU cannot run that path (the
** choice is then unchanged). For tests and benchmarks. */
int tpu_gemm_force_impl(const char *name);

#endif /* TPU_SIM_GEMM_H */
