/*
** report/bench_impl.h: what bench.c (the sweep, TPU and GPU targets) and
** bench_host.c (the host CPU: measured reference kernels, the cpu roofline for
** host ops, ONNX Runtime) share. Internal to report/bench*.c.
*/
#ifndef TPU_REPORT_BENCH_IMPL_H
#define TPU_REPORT_BENCH_IMPL_H

#include "report/bench.h"
#include "report/gpu_model.h"
#include "ir/ir.h"

/* The state of one tpu_bench_run. */
struct sweep {
    struct tpu_ctx              *ctx;
    const struct tpu_bench_opts *o;
    struct tpu_bench            *b;
    struct tpu_chip             *chip[TPU_BENCH_MAX_TARGETS];
    struct tpu_calib            *calib;
    char                         model_name[64];
};

/* Host CPU time of every live node at one batch; node_s[k]: live node k. */
struct host_times { double total_s; double *node_s; int n_nodes; };

/* bench.c */
struct tpu_bench_row *tpu_bench_new_row(struct sweep *s, int ti, int64_t batch, const char *source);
void                  tpu_bench_finish_row(struct sweep *s, int ti, struct tpu_bench_row *r);

/* bench_host.c */
/* Seeds g's inputs and runs every node's reference kernel, timing each
** (h->node_s, h->total_s); intermediates freed after their last use. */
enum tpu_status tpu_bench_host_pass(struct sweep *s, struct tpu_graph *g, struct host_times *h);
/* h->node_s from the roofline model of the `cpu` target (deterministic). */
enum tpu_status tpu_bench_model_host(struct sweep *s, const struct tpu_graph *g, int64_t batch,
                                     struct host_times *h);
/* The `cpu` row (the measured pass) and the `ort` row (ONNX Runtime on g's inputs). */
void            tpu_bench_run_cpu(struct sweep *s, int ti, int64_t batch, const struct host_times *h, double macs);
enum tpu_status tpu_bench_run_ort(struct sweep *s, int ti, int64_t batch, struct tpu_graph *g, double macs);

#endif /* TPU_REPORT_BENCH_IMPL_H */
