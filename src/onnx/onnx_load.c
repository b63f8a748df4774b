/*
** onnx/onnx_load.c: ModelProto → tpu_graph. (STUB until the loader lands.)
*/
#include "ir/ir.h"
#include "onnx.pb-c.h"

void tpu_onnx_unmap(struct tpu_graph *g) { (void)g; }
