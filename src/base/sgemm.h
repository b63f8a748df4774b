/*
** base/sgemm.h: tpusim's own single-thread float32 matrix product, for the
** reference executor's MatMul/Gemm/Conv (im2col) in place of cblas_sgemm.
** Row-major only. No ML knowledge, no context, no failure mode: when the
** packing buffers cannot be allocated it falls back to a slower direct loop.
**
** Summation order (so results are reproducible): K is cut into blocks of
** TPU_SGEMM_KC (the last one shorter). Within a block each C element's
** products are summed in float in ascending k, starting from 0; the block
** sums are then added into C in ascending block order:
**     C = alpha*S_0 + beta*C;   C = alpha*S_b + C  for b = 1, 2, ...
** (beta == 0: C = alpha*S_0, C's old contents are never read, NaN-safe).
** On the AVX2/AVX-512 paths each step is one fused multiply-add; on the
** portable path a multiply then an add. Exceptions: tiny products
** (M*N*K <= TPU_SGEMM_DIRECT_MAX), and any product whose buffers could not be
** allocated, take a direct loop (one K block, multiply then add); on the
** AVX-512 path, M <= 3 with trans_b and not trans_a sums each K block as 16
** lane sums (lane l: k = l mod 16, ascending) added by a fixed tree. Same
** inputs, same machine, same path -> bit-identical outputs, independent of
** buffer alignment or of the call's history.
*/
#ifndef TPU_SGEMM_H
#define TPU_SGEMM_H

#include <stddef.h>

#define TPU_SGEMM_KC         384      /* K block (floats)                    */
#define TPU_SGEMM_DIRECT_MAX 4096     /* M*N*K at or below: no packing       */
#define TPU_SGEMM_PACK_MAX_N 512      /* most columns one pack call is given */

/* C (M x N, row stride ldc) = alpha * op(A) * op(B) + beta * C.
** op(A) is M x K: A is M x K (lda >= K) or, with trans_a, K x M (lda >= M).
** op(B) is K x N: B is K x N (ldb >= N) or, with trans_b, N x K (ldb >= K).
** M, N <= 0: nothing. K == 0 or alpha == 0: C = beta * C without reading A, B.
** Leading dimensions too small for the shape are a caller bug (TPU_ASSERT). */
void tpu_sgemm(int trans_a, int trans_b, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta,
               float *C, int ldc);

/* Implicit B, batched: for b < n_batch,
**     C_b = alpha * A * B_b + beta * C_b,   C_b = C + b * c_batch (row stride ldc),
** or with bias (M floats, non-NULL) C_b = alpha * A * B_b + bias (per row i:
** exactly as if C_b's row i were filled with bias[i] and beta were 1; C's
** old contents are not read),
** where the B_b (K x N) are never stored: the caller packs them, one block
** of at most TPU_SGEMM_PACK_MAX_N columns at a time.
** pack(ctx, b, pc, kc, j0, cols, nr, ps, dst) writes B_b[pc + k][j0 + j],
** for k < kc and j < cols, to panel j / nr: dst[(j / nr)*ps + k*nr + j % nr],
** zero in each panel's columns past cols (ps >= kc*nr); dst and ps*4 are 64-byte
** aligned; nr is the micro-tile width of the path in use (32 avx512, 16
** avx2, 8 portable). A (not transposed, lda >= K) is packed once per block
** for all b. Same blocking, kernels and summation order as tpu_sgemm's packed
** path, for every size (no direct or skinny shortcut): when M*N*K >
** TPU_SGEMM_DIRECT_MAX and not (M <= 3 on avx512) each C_b is bit-identical
** to tpu_sgemm on the materialised B_b. Returns 0, or -1 (C untouched) when
** its packing buffers cannot be allocated. */
typedef void (*tpu_sgemm_pack_fn)(const void *ctx, int b, int pc, int kc, int j0, int cols, int nr,
                                  ptrdiff_t ps, float *dst);
int tpu_sgemm_implicit_b(int M, int N, int K, float alpha, const float *A, int lda,
                         tpu_sgemm_pack_fn pack, const void *ctx, const float *bias, float beta,
                         float *C, int ldc, int n_batch, ptrdiff_t c_batch);

/* The path tpu_sgemm takes now: "avx512", "avx2" or "portable". */
const char *tpu_sgemm_impl_name(void);

/* on != 0: every later call takes the portable path (tests); 0: the best the
** CPU has. */
void tpu_sgemm_force_portable(int on);

/* Every later call takes the path named ("avx512", "avx2", "portable"), or the
** best the CPU has when name is NULL. Returns 0, or -1 (nothing changed) when
** the name is unknown or this CPU cannot run that path. For tests and bench/. */
int tpu_sgemm_force_impl(const char *name);

#endif
