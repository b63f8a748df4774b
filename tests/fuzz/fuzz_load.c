/*
** tests/fuzz/fuzz_load.c: libFuzzer target for the ONNX loader (and, once a
** model loads, the passes and the reference executor on small graphs).
** Build and run: make fuzz FUZZ_SECONDS=60 (clang, -fsanitize=fuzzer,address,undefined).
** The corpus in tests/fuzz/corpus is small valid models; libFuzzer mutates them.
*/
#include "tpusim.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/tpusim-fuzz-%d.onnx", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct tpu_ctx *ctx = tpu_init();
    struct tpu_graph *g = NULL;
    if (tpu_load_onnx(ctx, path, &g) == TPU_STATUS_OK) {
#ifdef TPU_FUZZ_RUN
        TPU_FUZZ_RUN(ctx, g);
#endif
        tpu_graph_free(g);
    }
    tpu_free(ctx);
    return 0;
}
