/*
** onnx/onnx.h: the loader stage's internal interface. Nothing outside onnx/
** sees protobuf types; the rest of tpusim gets a tpu_graph (ir/ir.h).
**
** onnx_load.c  ModelProto walk: initializers, inputs/outputs, nodes, Constant nodes
** onnx_tensor.c TensorProto ↔ tpu_tensor: dtypes, raw/typed data, external data (mmap), .pb files
** onnx_map.c   per-op, per-opset normalisation to the opset-13+ input form
** onnx_raw.c   the model without its initializers' raw_data, for protobuf-c
*/
#ifndef TPU_ONNX_H
#define TPU_ONNX_H

#include "ir/ir.h"
#include "onnx.pb-c.h"

/* Decodes TensorProto tp into t (dtype, dims, values). Values are borrowed from
** tp's raw_data when possible (tp must then outlive t), else copied into the
** arena. External data is mmap'd relative to base_dir and recorded on g. `what`
** names the tensor in messages ("initializer 'w'"). */
enum tpu_status tpu_onnx_tensor_decode(struct tpu_graph *g, const Onnx__TensorProto *tp,
                                       struct tpu_tensor *t, const char *what);

/* Moves attributes older opsets used to the inputs ops.def expects. */
enum tpu_status tpu_onnx_normalize_node(struct tpu_graph *g, struct tpu_node *n);

/* Records a region to munmap / a pointer to free when g is freed. */
enum tpu_status tpu_onnx_keep_map(struct tpu_graph *g, void *addr, size_t len);
enum tpu_status tpu_onnx_keep_model(struct tpu_graph *g, Onnx__ModelProto *m);

/* Checks a protobuf message (of type d) for nesting deeper than `max_depth` before it is
** unpacked (protobuf-c recurses without a limit). Returns 0 if acceptable. */
int tpu_onnx_check_depth(const ProtobufCMessageDescriptor *d, const uint8_t *buf, size_t len,
                         int max_depth);

/* An initializer's raw_data in the model file (onnx_raw.c): present, the
** payload's offset and length in the file, the whole field's offset and
** length inside its TensorProto. */
struct tpu_onnx_raw {
    int      present;
    uint64_t off, len, field_at, field_len;
};
/* A copy of the model bytes with each top-level initializer's raw_data
** emptied (malloc'd, *out_len bytes), and per initializer in file order where
** its raw_data is in buf (*raw, malloc'd, *n_raw entries). NULL (nothing
** allocated) when the layout is not the plain one, or the payloads add up to
** less than min_bytes: unpack buf as it is then. */
uint8_t *tpu_onnx_strip_raw(const uint8_t *buf, size_t len, uint64_t min_bytes, size_t *out_len,
                            struct tpu_onnx_raw **raw, int *n_raw);

/* The same for one TensorProto (a .pb file): NULL when it has no (single)
** raw_data field; else the copy without it and where it is in buf. */
uint8_t *tpu_onnx_strip_tensor_raw(const uint8_t *buf, size_t len, size_t *out_len, struct tpu_onnx_raw *raw);

/* Releases what the loader kept for g (mapped external data, the message). */
void tpu_onnx_unmap(struct tpu_graph *g);

#endif
