/*
** tests/fuzz/fuzz_load.c: libFuzzer target for the ONNX loader, the graph
** passes and the reference executor. Every input is written to a file and
** loaded; a model that loads is prepared (symbolic dims set to 1) and, when its
** inputs are small, run on the reference executor with seeded inputs.
** Build and run: make fuzz FUZZ_SECONDS=60 (clang, -fsanitize=fuzzer,address,undefined).
** The seed corpus in tests/fuzz/corpus is small valid models.
*/
#include "tpusim.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define FUZZ_ALLOC_LIMIT ((size_t)64 << 20)   /* keeps every run far inside -rss_limit_mb */
#define FUZZ_MAX_INPUT_ELEMS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void prepare_and_run(struct tpu_ctx *ctx, struct tpu_graph *g)
{
    tpu_graph_default_dims(g, 1, NULL, 0);
    if (tpu_graph_prepare(ctx, g, NULL, 0) != TPU_STATUS_OK) return;
    int64_t total = 0;
    for (int i = 0; i < tpu_graph_n_inputs(g); i++) {
        int64_t n = tpu_tensor_numel(tpu_graph_input(g, i));
        if (n < 0) return;
        total += n;
    }
    if (total > FUZZ_MAX_INPUT_ELEMS) return;
    if (tpu_graph_fill_random_inputs(ctx, g, 1) == TPU_STATUS_OK) tpu_ref_run(ctx, g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    if (!path[0]) snprintf(path, sizeof path, "/tmp/tpusim-fuzz-%d.onnx", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    struct tpu_ctx *ctx = tpu_init();
    tpu_set_alloc_limit(ctx, FUZZ_ALLOC_LIMIT);
    struct tpu_graph *g = NULL;
    if (tpu_load_onnx(ctx, path, &g) == TPU_STATUS_OK) {
        prepare_and_run(ctx, g);
        tpu_graph_free(g);
    }
    tpu_free(ctx);
    return 0;
}
