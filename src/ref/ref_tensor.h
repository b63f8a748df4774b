/*
** ref/ref_tensor.h: what the shape functions of the data-movement ops
** (ir/shape_tensor.c) and their reference kernels (ref/ref_tensor*.c) share,
** so that a shape and the values written into it can never disagree.
**
** In:  a node whose inputs carry values (Slice starts/ends/axes/steps, Resize
**      roi/scales/sizes, index lists).
** Out: validated plans; every index in a plan is in range for the input.
** The plan helpers (tpu_ir_*) are defined in ir/shape_tensor.c, the kernel
** helpers (tpu_ref_*) in ref/ref_tensor.c.
*/
#ifndef TPU_REF_TENSOR_H
#define TPU_REF_TENSOR_H

#include "ir/ir.h"

/* Reads an index list (int32/int64, rank 0 or 1, at most max values) from t.
** *n_vals = -1 when t has no values yet; TPU_ERR_SHAPE naming `what` when t
** has the wrong dtype, rank or length. */
enum tpu_status tpu_ir_read_ints(const struct tpu_graph *g, const struct tpu_node *n,
                                 const struct tpu_tensor *t, const char *what,
                                 int64_t *vals, int max, int *n_vals);

/* Normalises a possibly negative axis against rank; -1 when out of range. */
int tpu_ir_axis(int64_t axis, int rank);

/* ONNX Slice: out[i] = in[start[a] + i * step[a]] on every axis a (axes not
** named by the node get start 0, step 1). */
struct tpu_slice_plan {
    int64_t start[TPU_MAX_DIMS];    /* first input index read, per axis    */
    int64_t step[TPU_MAX_DIMS];     /* input index stride, never 0         */
    int64_t len[TPU_MAX_DIMS];      /* output extent, -1 when not known    */
    bool    known;                  /* false: some input values missing    */
};
enum tpu_status tpu_ir_slice_plan(const struct tpu_graph *g, const struct tpu_node *n,
                                  struct tpu_slice_plan *p);

/* ONNX Resize: output extents and the per-axis scale and roi they imply. */
enum tpu_resize_coord {
    TPU_RESIZE_HALF_PIXEL, TPU_RESIZE_PYTORCH_HALF_PIXEL, TPU_RESIZE_ALIGN_CORNERS,
    TPU_RESIZE_ASYMMETRIC, TPU_RESIZE_TF_HALF_PIXEL_FOR_NN, TPU_RESIZE_TF_CROP_AND_RESIZE,
    TPU_RESIZE_HALF_PIXEL_SYMMETRIC,
};
enum tpu_resize_nearest {
    TPU_NEAREST_ROUND_PREFER_FLOOR, TPU_NEAREST_ROUND_PREFER_CEIL,
    TPU_NEAREST_FLOOR, TPU_NEAREST_CEIL,
    TPU_NEAREST_SIMPLE,             /* opset < 11: floor up, ceil down     */
};
struct tpu_resize_plan {
    int                     rank;
    bool                    linear;         /* linear or cubic; else nearest */
    bool                    cubic;          /* 4 taps: cubic_coeff_a, exclude_outside */
    double                  cubic_a;        /* cubic_coeff_a (default -0.75) */
    bool                    exclude_outside;
    enum tpu_resize_coord   coord;
    enum tpu_resize_nearest nearest;
    double                  extrapolation;  /* tf_crop_and_resize outside   */
    double                  scale[TPU_MAX_DIMS];     /* out / in, per axis  */
    double                  roi_start[TPU_MAX_DIMS]; /* normalised, per axis */
    double                  roi_end[TPU_MAX_DIMS];
    int64_t                 out[TPU_MAX_DIMS];       /* -1 when not known   */
    bool                    known;
};
enum tpu_status tpu_ir_resize_plan(const struct tpu_graph *g, const struct tpu_node *n,
                                   struct tpu_resize_plan *p);

/*---- Kernel helpers (ref/ref_tensor.c) ----*/
/* Input 0 and output 0 of n, both with values; TPU_ERR_INTERNAL otherwise. */
enum tpu_status tpu_ref_io(const struct tpu_graph *g, const struct tpu_node *n,
                           struct tpu_tensor **x, struct tpu_tensor **y);
/* Row-major strides of t, in elements. */
void tpu_ref_strides(const struct tpu_tensor *t, int64_t *st);
/* Writes the r-D block odims contiguously to dst, reading element idx from
** src + sum(idx[i] * istr[i]) elements (istr may be 0 or negative). */
void tpu_ref_strided_copy(uint8_t *dst, const uint8_t *src, int r, const int64_t *odims,
                          const int64_t *istr, size_t es);
/* Writes `count` copies of the es-byte value to dst. */
void tpu_ref_fill(uint8_t *dst, const void *value, size_t es, int64_t count);

#endif /* TPU_REF_TENSOR_H */
