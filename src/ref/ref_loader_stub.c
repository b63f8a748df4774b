/*
** ref/ref_loader_stub.c: TEMPORARY weak stand-ins for the ONNX loader's entry
** points (onnx/), so the runtime builds before the loader lands in main.
** The loader's real (strong) definitions replace these at link time; this
** file is deleted once the loader is merged.
*/
#include "ref/ref.h"

__attribute__((weak)) enum tpu_status tpu_load_onnx(struct tpu_ctx *ctx, const char *path,
                                                    struct tpu_graph **out)
{
    *out = NULL;
    return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "%s: the ONNX loader is not built in yet", path);
}

__attribute__((weak)) struct tpu_tensor *tpu_tensor_load_pb(struct tpu_ctx *ctx, const char *path)
{
    tpu_err(ctx, TPU_ERR_UNSUPPORTED, "%s: the TensorProto loader is not built in yet", path);
    return NULL;
}

__attribute__((weak)) enum tpu_status tpu_tensor_save_pb(struct tpu_ctx *ctx, const char *path,
                                                         const struct tpu_tensor *t)
{
    return tpu_err(ctx, TPU_ERR_UNSUPPORTED, "%s: the TensorProto writer is not built in yet", path);
}

__attribute__((weak)) void tpu_tensor_free(struct tpu_tensor *t) { (void)t; }
