/*
** ref/ref_nn.h: what the dense, convolution, pooling and quantised ops share
** between their shape functions (ir/shape_nn.c), their reference kernels
** (ref/ref_nn*.c, ref/ref_quant.c) and their MAC counters (ir/cost.c).
**
** In:  a node's input tensors and attributes.
** Out: the sliding-window geometry (struct tpu_nn_window), the float32 and
**      float64 convolution cores, and float64 staging buffers for the generic
**      (non-float32) kernels.
*/
#ifndef TPU_REF_NN_H
#define TPU_REF_NN_H

#include "ir/ir.h"
#include <cblas.h>

/* Sliding-window geometry of Conv, ConvTranspose, MaxPool and AveragePool.
** Spatial arrays are padded to 3 dims at the front (ONNX spatial dim i is
** slot 3 - n_sp + i) with in = k = out = stride = dil = 1 and pads 0, so
** kernels loop over three dims whatever the rank, the last one innermost. A
** size of -1 means "not known yet" (shape inference on symbolic dims). */
struct tpu_nn_window {
    int     n_sp;                     /* spatial dims of the ONNX tensor, 1..3  */
    int64_t n, c, m, group;           /* batch, in channels, out channels, groups */
    int64_t in[3], k[3], out[3];      /* input, kernel, output spatial sizes    */
    int64_t stride[3], dil[3];        /* ONNX strides, dilations                */
    int64_t pad0[3], pad1[3];         /* begin / end padding (elements)         */
};

enum tpu_nn_window_kind {
    TPU_NN_WIN_CONV,                  /* kernel from W dims 2..; out channels W[0]  */
    TPU_NN_WIN_CONV_TRANSPOSE,        /* kernel from W dims 2..; out = W[1]*group   */
    TPU_NN_WIN_POOL,                  /* kernel from 'kernel_shape'; ceil_mode      */
};

/* Validates attributes (strides, dilations, pads, auto_pad, kernel_shape,
** group, output_padding, output_shape) against x (N,C,spatial...) and, for
** convolutions, w; fills *win. Errors are TPU_ERR_SHAPE naming the attribute. */
enum tpu_status tpu_nn_window(const struct tpu_graph *g, const struct tpu_node *n,
                              const struct tpu_tensor *x, const struct tpu_tensor *w,
                              enum tpu_nn_window_kind kind, struct tpu_nn_window *win);
int64_t tpu_nn_window_k(const struct tpu_nn_window *win);      /* k[0]*k[1]*k[2] */
int64_t tpu_nn_window_in(const struct tpu_nn_window *win);     /* in[0]*in[1]*in[2] */
int64_t tpu_nn_window_out(const struct tpu_nn_window *win);    /* out[0]*out[1]*out[2] */

/* Convolution cores: x (N, C, in...), w (M, C/group, k...), bias (M) or NULL,
** y (N, M, out...), all row-major and contiguous. im2col + BLAS gemm, with a
** direct loop for depthwise and no copy for 1x1 stride-1 unpadded kernels.
** Returns TPU_ERR_NOMEM (recorded in ctx) if the column buffer cannot be had. */
enum tpu_status tpu_nn_conv_f32(struct tpu_ctx *ctx, const struct tpu_nn_window *win,
                                const float *x, const float *w, const float *bias, float *y);
/* Winograd F(2x2,3x3) for float32 2-D 3x3 stride-1 dilation-1 group-1
** convolutions with at least 8 input and output channels (ref_nn_winograd.c):
** 1 done, 0 not its case, -1 out of memory (*rc set). Opt-in: tpu_nn_conv_f32
** takes it first only when TPUSIM_CONV_WINOGRAD is set (and TPUSIM_CONV_IM2COL
** is not); its scalar transforms make it slower than the implicit GEMM. */
int tpu_nn_conv_winograd_f32(struct tpu_ctx *ctx, const struct tpu_nn_window *w, const float *x,
                             const float *wt, const float *bias, float *y, enum tpu_status *rc);
enum tpu_status tpu_nn_conv_f64(struct tpu_ctx *ctx, const struct tpu_nn_window *win,
                                const double *x, const double *w, const double *bias, double *y);

/* cblas_sgemm's shape (row-major only) over tpusim's own tpu_sgemm
** (base/sgemm.c): every float32 product of the nn kernels goes through it,
** so their speed does not hang on OpenBLAS recognising the CPU. */
void tpu_nn_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE ta, enum CBLAS_TRANSPOSE tb, int m, int n,
                  int k, float alpha, const float *a, int lda, const float *b, int ldb, float beta,
                  float *c, int ldc);

/* A tensor's values as a fresh float64 array (tpu_malloc'd; caller frees), or
** NULL with TPU_ERR_NOMEM recorded. t == NULL gives NULL without error. */
double *tpu_nn_to_f64(struct tpu_ctx *ctx, const struct tpu_tensor *t);
/* Stores n values of buf into t (dtype conversion as tpu_set_f64). */
void    tpu_nn_from_f64(struct tpu_tensor *t, const double *buf, int64_t n);

/* Matrix product dims of MatMul-like ops (numpy rules): batch dims of the
** output, M, K, N and whether A/B were 1-D. Returns 0, or -1 with *why set. */
struct tpu_nn_matmul_dims {
    int     n_batch;                  /* output batch rank                      */
    int64_t batch[TPU_MAX_DIMS];      /* broadcast batch dims                   */
    int64_t m, k, n;
    bool    a_vec, b_vec;             /* operand was 1-D (dim dropped in output) */
};
int tpu_nn_matmul_dims(const struct tpu_tensor *a, const struct tpu_tensor *b,
                       struct tpu_nn_matmul_dims *d, const char **why);
/* The batched product in float64 (cblas_dgemm); a and b give only the dims;
** dy has the output's element count. Exact for integer data below 2^53. */
void tpu_nn_matmul_f64(const struct tpu_nn_matmul_dims *d, const struct tpu_tensor *a,
                       const struct tpu_tensor *b, const double *da, const double *db, double *dy);

/* A parsed Einsum equation. Labels 0..51 are a-z, A-Z; 52.. are ellipsis
** dims (right-aligned over all operands). size[] is -1 where unknown. */
#define TPU_NN_EINSUM_MAX_OPS    8
#define TPU_NN_EINSUM_MAX_LABELS (52 + TPU_MAX_DIMS)
struct tpu_nn_einsum {
    int     n_ops, n_ell;                                   /* operands, ellipsis dims */
    int     op_rank[TPU_NN_EINSUM_MAX_OPS];
    int     op_label[TPU_NN_EINSUM_MAX_OPS][TPU_MAX_DIMS];  /* label per operand axis  */
    int     out_rank, out_label[TPU_MAX_DIMS];
    int64_t size[TPU_NN_EINSUM_MAX_LABELS];                 /* per label               */
    bool    used[TPU_NN_EINSUM_MAX_LABELS];
};
enum tpu_status tpu_nn_einsum_parse(const struct tpu_graph *g, const struct tpu_node *n,
                                    struct tpu_nn_einsum *e);

#endif /* TPU_REF_NN_H */
