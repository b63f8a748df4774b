/*
** ref/ref_extra.h: what the shape functions of the extra ops (ir/shape_extra.c)
** and their reference kernels (ref/ref_extra*.c) share, so both read the same
** attributes the same way.
*/
#ifndef TPU_REF_EXTRA_H
#define TPU_REF_EXTRA_H

#include "ir/ir.h"

/* Scatter reductions (ScatterElements / ScatterND `reduction`). */
enum tpu_scatter_red { TPU_SCATTER_NONE, TPU_SCATTER_ADD, TPU_SCATTER_MUL,
                       TPU_SCATTER_MIN, TPU_SCATTER_MAX };
/* The reduction named s, or -1 when s names none of them. */
int tpu_ref_reduction_of(const char *s);

/* MeanVarianceNormalization's axes (attribute, default [0,2,3]) as a mask over
** rank; TPU_ERR_SHAPE naming the node when one is out of range or repeated. */
enum tpu_status tpu_ref_mvn_axes(const struct tpu_graph *g, const struct tpu_node *n,
                                 int rank, bool mask[TPU_MAX_DIMS]);

/* Reads index i of t (any int dtype), adds len when negative, and checks it is
** in [0, len); TPU_ERR_SHAPE naming the node and `what` otherwise. */
enum tpu_status tpu_ref_index(const struct tpu_graph *g, const struct tpu_node *n,
                              const struct tpu_tensor *t, int64_t i, int64_t len,
                              const char *what, int64_t *out);

/* Product of dims[lo..hi). Dims are known and their product was checked by
** the allocation of the tensor they belong to. */
int64_t tpu_ref_prod(const int64_t *dims, int lo, int hi);

#endif /* TPU_REF_EXTRA_H */
