/*
** ref/ref_elem.h: what the elementwise/reduction shape functions (ir/shape_elem.c)
** and their reference kernels (ref/ref_elem*.c, ref/ref_reduce.c) share: the
** reading of a reduction's axes, so both agree on which axes go away.
*/
#ifndef TPU_REF_ELEM_H
#define TPU_REF_ELEM_H

#include "ir/ir.h"

/* The axes a Reduce* node reduces, for an input of rank `rank` (>= 0).
** ONNX ReduceSum-13 / Reduce*-18: axes come from the optional input 1; older
** opsets use the `axes` attribute (we accept whichever is present). Empty axes
** mean "all axes", or "none" when noop_with_empty_axes=1.
** Sets mask[d] for every reduced axis d and *noop when the node is an identity.
** Sets *known=false (and returns OK) when input 1's values are not known yet.
** Bad axes (out of range, repeated) are a TPU_ERR_SHAPE naming the node. */
enum tpu_status tpu_ir_reduce_axes(const struct tpu_graph *g, const struct tpu_node *n,
                                   int rank, bool mask[TPU_MAX_DIMS], bool *noop,
                                   bool *known);

/* ONNX PRelu-1/6 (before numpy broadcasting): a 1-D slope of X's channel
** count applies per channel (axis 1). True when node n uses that form. */
bool tpu_ir_prelu_channel_slope(const struct tpu_node *n, const struct tpu_tensor *x,
                                const struct tpu_tensor *slope);

/* True when t is absent: NULL or a tensor with an empty name (ONNX's way of
** leaving out an optional input in the middle of the list). */
bool tpu_ir_omitted(const struct tpu_tensor *t);

#endif /* TPU_REF_ELEM_H */
